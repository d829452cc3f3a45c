#!/usr/bin/env bash
# Installs what is missing, builds nomadsync, and sets up a node on ./data (or $NOMADSYNC_DATA).
# Until the HTTP server exists (next milestone), it initialises the site, creates a demo channel
# when there is none, and prints the site's status.
set -euo pipefail
cd "$(dirname "$0")/.."
ops/install-deps.sh
swift build -c debug 2>&1 | tail -n 2
bin=".build/debug/nomadsync"
data="${NOMADSYNC_DATA:-./data}"
url="${NOMADSYNC_URL:-http://127.0.0.1:8450}"
if [ ! -f "$data/nomadsync.sqlite" ]; then
  "$bin" init --url "$url" --data "$data"
fi
"$bin" site show --data "$data"
if [ -z "$("$bin" channel list --data "$data")" ]; then
  "$bin" channel create demo --name "Demo channel" --data "$data" >/dev/null
fi
"$bin" channel list --data "$data"
for nick in $("$bin" channel list --data "$data" | cut -f1); do
  "$bin" channel show "$nick" --data "$data"
done
echo "node ready in $data; try: $bin change put demo item hello --body '{\"content\":\"hi\"}' --data $data" >&2
