#!/usr/bin/env bash
# Three sites behind a real reverse proxy (nginx), sharing one domain with a "hub" that owns the
# root, /zot, /channel/ and /.well-known/webfinger. Each site's URL carries a path:
#   http://127.0.0.1:P/a   nginx strips /a    (proxy_pass …/;)
#   http://127.0.0.1:P/b   nginx keeps /b     (proxy_pass … without a path)
#   http://127.0.0.1:P/c   nginx strips /c
# A makes a channel; B and C become clones online by ticket through the proxy; each site writes;
# all three must converge (equal digests, three locations), and the hub's own routes must still be
# the hub's. Installs nginx (Debian's nginx-light) when missing.
#   ops/check-proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null; }
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
bin="${NOMADSYNC_BIN:-.build/debug/nomadsync}"
[ -x "$bin" ] || swift build --product nomadsync 2>&1 | tail -n 1
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
read -r P pa pb pc < <(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
mkdir -p "$work/nginx/logs"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx/logs/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server {
    listen 127.0.0.1:$P;
    # The hub owns the root of the domain and the Zot6 paths.
    location / { return 200 "hub\n"; }
    location /zot { return 200 "hub zot\n"; }
    location /channel/ { return 200 "hub channel\n"; }
    location /.well-known/webfinger { return 200 "hub webfinger\n"; }
    location /a/ { proxy_pass http://127.0.0.1:$pa/; proxy_set_header Host \$http_host; proxy_buffering off; client_max_body_size 16m; }
    location /b/ { proxy_pass http://127.0.0.1:$pb;  proxy_set_header Host \$http_host; proxy_buffering off; client_max_body_size 16m; }
    location /c/ { proxy_pass http://127.0.0.1:$pc/; proxy_set_header Host \$http_host; proxy_buffering off; client_max_body_size 16m; }
  }
}
CONF
"$nginx_bin" -c "$work/nginx.conf" -p "$work/nginx" -g "daemon on;" 2>"$work/nginx-start.log" || { cat "$work/nginx-start.log" >&2; exit 1; }
base="http://127.0.0.1:$P"
export NOMADSYNC_PASSPHRASE="proxy passphrase"
for s in a b c; do "$bin" init --url "$base/$s" --data "$work/$s" >/dev/null 2>&1; done
"$bin" channel create alice --name Alice --data "$work/a" >/dev/null 2>&1
serve() { "$bin" serve --data "$work/$1" --listen "127.0.0.1:$2" --heartbeat 0.5 --poll 50 >"$work/$1.log" 2>&1 & pids+=($!); }
serve a "$pa"; serve b "$pb"; serve c "$pc"
for s in a b c; do
  for _ in $(seq 1 100); do curl -fs "$base/$s/health" >/dev/null && break; sleep 0.1; done
  curl -fs "$base/$s/health" >/dev/null || { echo "site $s is not reachable through the proxy" >&2; tail -n 5 "$work/$s.log" >&2; exit 1; }
done
# B and C become clones online, every request going through nginx.
for s in b c; do
  ticket=$("$bin" clone invite alice --expires 10m --data "$work/a" 2>/dev/null)
  "$bin" clone accept "$ticket" --data "$work/$s" >/dev/null 2>"$work/accept-$s.log" || { cat "$work/accept-$s.log" >&2; exit 1; }
done
"$bin" change put alice item from-a --body '{"by":"a"}' --data "$work/a" >/dev/null
"$bin" change put alice item from-b --body '{"by":"b"}' --data "$work/b" >/dev/null
"$bin" change put alice item from-c --body '{"by":"c"}' --data "$work/c" >/dev/null
converged() {
  python3 - "$bin" "$work" <<'PY'
import json, subprocess, sys
bin, work = sys.argv[1], sys.argv[2]
statuses = [json.loads(subprocess.run([bin, "status", "alice", "--json", "--data", f"{work}/{s}"], capture_output=True, text=True).stdout or "{}")
            for s in "abc"]
ok = len({s.get("digest") for s in statuses}) == 1 and all(len(s.get("locations", [])) == 3 for s in statuses)
sys.exit(0 if ok else 1)
PY
}
start=$(date +%s%N)
for _ in $(seq 1 300); do converged && break; sleep 0.1; done
converged || { echo "the three sites behind nginx did not converge" >&2; for s in a b c; do "$bin" status alice --data "$work/$s" >&2 || true; tail -n 5 "$work/$s.log" >&2; done; exit 1; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
for s in a b c; do
  "$bin" state alice --json --data "$work/$s" | grep -q from-c || { echo "site $s lacks a change" >&2; exit 1; }
done
# The hub's routes are still the hub's; the sites answer under their paths.
[ "$(curl -fs "$base/zot")" = "hub zot" ] || { echo "the proxy let a site take the hub's /zot" >&2; exit 1; }
curl -fs -H 'Accept: application/x-zot+json' "$base/b/channel/alice" | grep -q '"primary"' || { echo "discovery under /b failed" >&2; exit 1; }
echo "proxy: three sites behind nginx (paths /a stripped, /b kept, /c stripped, the hub at the root) converged ${ms} ms after their writes"
