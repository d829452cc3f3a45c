#!/usr/bin/env bash
# Produces every JSON shape with the built binary (two sites in temporary data dirs, then the same
# two sites serving on random loopback ports) and validates it against Schemas/ with
# python-jsonschema.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${NOMADSYNC_BIN:-.build/debug/nomadsync}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
a="$work/a"; b="$work/b"
read -r pa pb < <(python3 -c 'import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')
A="http://127.0.0.1:$pa"; B="http://127.0.0.1:$pb"
"$bin" init --url "$A" --data "$a" >/dev/null 2>&1
"$bin" init --url "$B" --data "$b" >/dev/null 2>&1
"$bin" channel create alice --name "Alice" --data "$a" >/dev/null 2>&1
"$bin" change put alice item k1 --body '{"content":"hi"}' --data "$a" >/dev/null
"$bin" change delete alice item k1 --data "$a" >/dev/null
"$bin" change put alice x-demo k2 --body '[1,2,3]' --data "$a" >/dev/null
"$bin" channel fallbacks alice http://127.0.0.1:9 --data "$a" > "$work/fallbacks.json" 2>/dev/null
echo "schema passphrase" > "$work/pass"
"$bin" channel export alice -o "$work/alice.nomad" --kdf interactive --passphrase-file "$work/pass" --data "$a" 2>/dev/null
"$bin" channel import "$work/alice.nomad" --passphrase-file "$work/pass" --data "$b" >/dev/null 2>&1
"$bin" site show --data "$a" > "$work/site.json"
"$bin" site show --data "$b" > "$work/card-b.json"
"$bin" channel show alice --json --data "$a" > "$work/show-a.json"
"$bin" channel show alice --json --data "$b" > "$work/show-b.json"
"$bin" log show alice --data "$b" > "$work/log.jsonl"
"$bin" state alice --json --all --data "$a" > "$work/state.json"
"$bin" packet seal alice --to "$work/card-b.json" --data "$a" > "$work/envelope.json"
"$bin" packet open "$work/envelope.json" --decrypt-only --data "$b" > "$work/sync.json"
v() { python3 ops/validate_json.py "$@"; }
v site-card.schema.json "$work/site.json"
v fallbacks.schema.json "$work/fallbacks.json"
v channel-show.schema.json "$work/show-a.json"
v channel-show.schema.json "$work/show-b.json"
v change-entry.schema.json "$work/log.jsonl" --lines
v state.schema.json "$work/state.json"
v envelope.schema.json "$work/envelope.json"
v sealed-payload.schema.json <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["data"]))' "$work/envelope.json")
v sync-data.schema.json "$work/sync.json"

# The same two sites serving: documents fetched over HTTP from running nodes.
"$bin" serve --data "$a" --listen "127.0.0.1:$pa" --heartbeat 0.5 --poll 50 >"$work/a.log" 2>&1 & pids+=($!)
"$bin" serve --data "$b" --listen "127.0.0.1:$pb" --heartbeat 0.5 --poll 50 >"$work/b.log" 2>&1 & pids+=($!)
# The admin API and /metrics answer on each node's own Unix socket, never on the federation port.
admin_a=(--unix-socket "$a/admin.sock")
for url in "$A" "$B"; do
  for _ in $(seq 1 100); do curl -fs "$url/health" >/dev/null && break; sleep 0.1; done
done
# B's import announced B to A; wait (bounded) until A lists both locations.
for _ in $(seq 1 100); do
  [ "$("$bin" status alice --json --data "$a" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["locations"]))')" = 2 ] && break
  sleep 0.1
done
curl -fs -H 'Accept: application/x-zot+json' "$A/channel/alice" > "$work/discovery.json"
curl -fs "$A/.well-known/webfinger?resource=acct:alice@127.0.0.1:$pa" > "$work/webfinger.json"
curl -fs -H 'Accept: application/activity+json' "$A/channel/alice" > "$work/actor-a.json"
curl -fs -H 'Accept: application/ld+json; profile="https://www.w3.org/ns/activitystreams"' "$B/channel/alice" > "$work/actor-b.json"
for _ in $(seq 1 100); do [ -S "$a/admin.sock" ] && break; sleep 0.1; done
curl -fs "${admin_a[@]}" -H "Authorization: Bearer $(cat "$a/admin.token")" "http://localhost/api/v1/channels/alice" > "$work/status-a.json"
curl -fs "${admin_a[@]}" -H "Authorization: Bearer $(cat "$a/admin.token")" "http://localhost/api/v1/channels/alice/actor" > "$work/actor-admin.json"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(cat "$a/admin.token")" "$A/api/v1/channels/alice")
[ "$code" = 404 ] || { echo "the admin API answered on the federation listener ($code)" >&2; exit 1; }
"$bin" status alice --json --data "$b" > "$work/status-b.json"
admin_b=(--unix-socket "$b/admin.sock")
for _ in $(seq 1 100); do [ -S "$b/admin.sock" ] && break; sleep 0.1; done
curl -fs "${admin_b[@]}" -H "Authorization: Bearer $(cat "$b/admin.token")" "http://localhost/api/v1/channels/alice/changes?local=true" > "$work/feed.json"
curl -fs "${admin_b[@]}" -H "Authorization: Bearer $(cat "$b/admin.token")" "http://localhost/api/v1/changes" > "$work/feed-all.json"
curl -fs "${admin_b[@]}" -H "Authorization: Bearer $(cat "$b/admin.token")" "http://localhost/api/v1/channels/alice/changes?snapshot=true" > "$work/snapshot.json"
code=$(curl -s -o "$work/error.json" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' --data '{}' "$A/zot")
[ "$code" = 415 ] || { echo "expected 415 from a wrong content type, got $code" >&2; exit 1; }
"$bin" change put alice item k3 --body '{"content":"pushed"}' --data "$a" >/dev/null
"$bin" sync push alice --to "$B" --data "$a" > "$work/answer.json" 2>/dev/null
writer=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["writer"])' "$work/show-a.json")
"$bin" sync pull alice --from "$A" --origin "$writer" --raw --data "$b" > "$work/page.json"
curl -fs "${admin_a[@]}" "http://localhost/metrics" > "$work/metrics.txt"
grep -q '^nomadsync_packets_in_total' "$work/metrics.txt" || { echo "no packet counters in /metrics" >&2; exit 1; }
v discovery.schema.json "$work/discovery.json"
v webfinger.schema.json "$work/webfinger.json"
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$work/show-a.json")
for actor in actor-a actor-b actor-admin; do
  v actor.schema.json "$work/$actor.json"
  python3 ops/check_jsonld.py "$work/$actor.json" "$key"
done
# Each clone names the other in copiedTo: id plus copiedTo is the same set on both.
python3 - "$work/actor-a.json" "$work/actor-b.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
if a["copiedTo"] != [b["id"]] or b["copiedTo"] != [a["id"]]:
    sys.exit("copiedTo does not name the other clone: %s / %s" % (a["copiedTo"], b["copiedTo"]))
PY
v status.schema.json "$work/status-a.json"
v status.schema.json "$work/status-b.json"
"$bin" webhook add http://127.0.0.1:9/hook --channel alice --data "$b" > "$work/webhook-new.json" 2>/dev/null
"$bin" webhook list --data "$b" > "$work/webhook-list.json"
v webhook-new.schema.json "$work/webhook-new.json"
v webhook-list.schema.json "$work/webhook-list.json"
v changes-feed.schema.json "$work/feed.json"
v changes-feed.schema.json "$work/feed-all.json"
v feed-snapshot.schema.json "$work/snapshot.json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["changes"] else "the feed on B is empty")' "$work/feed.json"
v error-body.schema.json "$work/error.json"
v delivery-answer.schema.json "$work/answer.json"
v sync-page.schema.json "$work/page.json"
# A blob through the admin API and through the CLI.
head -c 70000 /dev/urandom > "$work/blob.bin"
curl -fs "${admin_a[@]}" -X PUT -H "Authorization: Bearer $(cat "$a/admin.token")" --data-binary @"$work/blob.bin" \
  "http://localhost/api/v1/channels/alice/blobs" > "$work/blob-put.json"
"$bin" blob put alice "$work/blob.bin" --key photo.bin --data "$a" > "$work/blob-cli.json" 2>/dev/null
v blob-reference.schema.json "$work/blob-put.json"
v blob-reference.schema.json "$work/blob-cli.json"
python3 - "$work/blob-put.json" "$work/blob.bin" <<'PY'
import hashlib, json, sys
ref = json.load(open(sys.argv[1]))
want = "sha256://" + hashlib.sha256(open(sys.argv[2], "rb").read()).hexdigest()
if ref["hash"] != want:
    sys.exit("the stored blob's name is not the SHA-256 of its bytes: %s vs %s" % (ref["hash"], want))
PY

# A third site C becomes a clone by ticket: the invitation, the claim and grant, the outcome.
c="$work/c"
"$bin" init --url "http://127.0.0.1:9" --data "$c" >/dev/null 2>&1
"$bin" clone invite alice --expires 10m --json --data "$a" > "$work/invitation.json"
ticket=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["ticket"])' "$work/invitation.json")
"$bin" clone claim "$ticket" --data "$c" > "$work/exchange.json"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
x = json.load(open(f"{w}/exchange.json"))
json.dump(x["claim"], open(f"{w}/claim.json", "w"))
json.dump(x["grant"], open(f"{w}/grant.json", "w"))
PY
"$bin" clone accept "$ticket" --json --data "$c" > "$work/bootstrap.json" 2>/dev/null
v clone-invitation.schema.json "$work/invitation.json"
v clone-claim.schema.json "$work/claim.json"
v clone-grant.schema.json "$work/grant.json"
v bootstrap-outcome.schema.json "$work/bootstrap.json"

# Rekey (link) on B, then migrate alice from A to B once B reported everything (heartbeats every
# 0.5 s): the outcomes, and A's documents that now point at B.
"$bin" channel rekey alice --json --data "$b" > "$work/rekey.json"
v rekey-outcome.schema.json "$work/rekey.json"
for _ in $(seq 1 100); do
  "$bin" channel migrate alice --to "$B" --json --data "$a" > "$work/migrate.json" 2>/dev/null && break
  sleep 0.1
done
v migrate-outcome.schema.json "$work/migrate.json"
curl -fs -H 'Accept: application/activity+json' "$A/channel/alice" > "$work/actor-moved.json"
curl -fs -H 'Accept: application/x-zot+json' "$A/channel/alice" > "$work/discovery-moved.json"
curl -fs "$A/.well-known/webfinger?resource=acct:alice@127.0.0.1:$pa" > "$work/webfinger-moved.json"
v actor.schema.json "$work/actor-moved.json"
v discovery.schema.json "$work/discovery-moved.json"
v webfinger.schema.json "$work/webfinger-moved.json"
moved_key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["public_key"])' "$work/discovery-moved.json")
python3 ops/check_jsonld.py "$work/actor-moved.json" "$moved_key"
python3 - "$work/actor-moved.json" "$B" <<'PY'
import json, sys
actor = json.load(open(sys.argv[1]))
if actor.get("movedTo") != sys.argv[2] + "/channel/alice":
    sys.exit("A's actor does not name B in movedTo: %s" % actor.get("movedTo"))
PY
echo "schemas: all documents valid"
