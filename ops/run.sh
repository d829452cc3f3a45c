#!/usr/bin/env bash
# Installs what is missing, builds the release binary (swift build -c release, what users run;
# the first build takes a few minutes), initialises a node on ./data (or $NOMADSYNC_DATA)
# if needed, creates a demo channel when there is none, and runs the server in the foreground
# on $NOMADSYNC_LISTEN (default 127.0.0.1:8450). Ctrl-C or SIGTERM stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/install-deps.sh
swift build -c release --product nomadsync 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]" | tail -n 3
bin=".build/release/nomadsync"
data="${NOMADSYNC_DATA:-./data}"
listen="${NOMADSYNC_LISTEN:-127.0.0.1:8450}"
url="${NOMADSYNC_URL:-http://$listen}"
if [ ! -f "$data/nomadsync.sqlite" ]; then
  "$bin" init --url "$url" --data "$data"
fi
if [ -z "$("$bin" channel list --data "$data")" ]; then
  "$bin" channel create demo --name "Demo channel" --data "$data" >/dev/null
fi
"$bin" channel list --data "$data"
cat >&2 <<MSG
node on $data, serving $url
  status:     $bin status demo --data $data
  a change:   $bin change put demo item hello --body '{"content":"hi"}' --data $data
  discovery:  curl -H 'Accept: application/x-zot+json' $url/channel/demo
  admin API:  curl --unix-socket $data/admin.sock -H "Authorization: Bearer \$(cat $data/admin.token)" http://localhost/api/v1/channels/demo
  metrics:    curl --unix-socket $data/admin.sock http://localhost/metrics
  status page: curl --unix-socket $data/admin.sock http://localhost/status   (or --admin-listen 127.0.0.1:8451 and a browser)
MSG
exec "$bin" serve --data "$data" --listen "$listen"
