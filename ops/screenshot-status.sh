#!/usr/bin/env bash
# Renders the status page of a live three-site cluster with headless Chromium and checks what it
# shows: three sites on loopback clone one channel, changes flow for a while (so the lag chart has
# samples), one site is stopped (so a location shows offline), then Chromium loads
# /status/alice from A's admin listener. The rendered DOM must list three locations with their
# states and hold the lag chart; the screenshot goes to OUT (default docs/status-page.png).
# Installs chromium from Debian when missing.
#   ops/screenshot-status.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-docs/status-page.png}"
command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
bin="${NOMADSYNC_BIN:-.build/debug/nomadsync}"
[ -x "$bin" ] || swift build --product nomadsync 2>&1 | tail -n 1
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
read -r pa pb pc aa < <(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
export NOMADSYNC_PASSPHRASE="screenshot passphrase"
for s in "a:$pa" "b:$pb" "c:$pc"; do "$bin" init --url "http://127.0.0.1:${s#*:}" --data "$work/${s%:*}" >/dev/null 2>&1; done
"$bin" channel create alice --name Alice --data "$work/a" >/dev/null 2>&1
"$bin" channel export alice -o "$work/alice.nomad" --kdf interactive --data "$work/a" 2>/dev/null
for s in b c; do "$bin" channel import "$work/alice.nomad" --data "$work/$s" >/dev/null 2>&1; done
serve() { "$bin" serve --data "$work/$1" --listen "127.0.0.1:$2" --heartbeat 1 --poll 100 --status-sample 1 "${@:3}" >"$work/$1.log" 2>&1 & pids+=($!); }
serve a "$pa" --admin-listen "127.0.0.1:$aa"
serve b "$pb"
serve c "$pc"
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$aa/health" >/dev/null && break; sleep 0.1; done
# Changes on A for a while; C goes away halfway, so the chart shows its lag growing.
for i in $(seq 1 24); do
  for j in 1 2 3 4 5; do "$bin" change put alice item "n-$i-$j" --body "{\"n\":$i}" --data "$work/a" >/dev/null; done
  [ "$i" -eq 12 ] && kill "${pids[2]}"
  sleep 0.5
done
url="http://127.0.0.1:$aa/status/alice"
dom=$(chromium --headless --no-sandbox --disable-gpu --dump-dom "$url" 2>/dev/null)
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1100,760 --screenshot="$work/shot.png" "$url" >/dev/null 2>&1
states=$(grep -o 'class="state [a-z-]*"' <<<"$dom" | wc -l)
[ "$states" -eq 3 ] || { echo "the rendered page lists $states locations, not 3" >&2; exit 1; }
grep -q 'class="state offline"' <<<"$dom" || { echo "the stopped site is not shown offline" >&2; exit 1; }
grep -q '<polyline' <<<"$dom" || { echo "the lag chart is missing" >&2; exit 1; }
[ -s "$work/shot.png" ] || { echo "chromium saved no screenshot" >&2; exit 1; }
cp "$work/shot.png" "$out"
echo "status page: 3 locations rendered by $(chromium --version 2>/dev/null | head -n 1); screenshot in $out"
