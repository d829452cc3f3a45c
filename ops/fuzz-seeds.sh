#!/usr/bin/env bash
# Writes a seed corpus per fuzz target into DIR/<target>/ from real documents the nomadsync
# binary emits: two sites, a channel cloned between them, a sealed packet, its sync data, the log,
# an export file, and a sync page built from them.
#   ops/fuzz-seeds.sh BIN DIR
set -euo pipefail
bin=$1; dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
a="$work/a"; b="$work/b"
"$bin" init --url http://127.0.0.1:9101 --data "$a" >/dev/null 2>&1
"$bin" init --url http://127.0.0.1:9102 --data "$b" >/dev/null 2>&1
"$bin" channel create alice --data "$a" >/dev/null 2>&1
"$bin" change put alice item k1 --body '{"content":"hi","n":[1,2.5,null,true]}' --data "$a" >/dev/null
"$bin" change delete alice item k1 --data "$a" >/dev/null
echo "seed passphrase" > "$work/pass"
"$bin" channel export alice -o "$work/alice.nomad" --kdf interactive --passphrase-file "$work/pass" --data "$a" 2>/dev/null
"$bin" channel import "$work/alice.nomad" --passphrase-file "$work/pass" --data "$b" >/dev/null 2>&1
"$bin" site show --data "$b" > "$work/card-b.json"
"$bin" packet seal alice --to "$work/card-b.json" --data "$a" > "$work/envelope.json"
"$bin" packet open "$work/envelope.json" --decrypt-only --data "$b" > "$work/sync.json"
"$bin" log show alice --data "$b" > "$work/log.jsonl"
for t in signature-header date-header envelope sealed-payload sync-data change-entry sync-page export-container admin-batch channel-message discovery-document clone-ticket clone-claim config-file; do
  mkdir -p "$dir/$t"
done
cp "$work/envelope.json" "$dir/envelope/real-envelope"
python3 - "$work" "$dir" <<'PY'
import json, sys
work, out = sys.argv[1], sys.argv[2]
env = json.load(open(f"{work}/envelope.json"))
sync = json.load(open(f"{work}/sync.json"))
json.dump(env["data"], open(f"{out}/sealed-payload/real-payload", "w"))
json.dump(sync, open(f"{out}/sync-data/real-sync", "w"))
for i, line in enumerate(open(f"{work}/log.jsonl")):
    open(f"{out}/change-entry/real-entry-{i}", "w").write(line.strip())
origin = sync["entries"][0]["origin"] if sync["entries"] else "A" * 22
page = {"channel": sync["channel"], "from": sync["from"], "origin": origin, "after": 0,
        "entries": [e for e in sync["entries"] if e["origin"] == origin], "more": False,
        "vector": sync["vector"], "digest": sync["digest"]}
json.dump(page, open(f"{out}/sync-page/real-page", "w"))
sealed = {"success": True, "channel": sync["channel"], "site_id": sync["from"], "origin": origin, "after": 0,
          "data": env["data"], "signature": "ed25519." + "A" * 86}
json.dump(sealed, open(f"{out}/sync-page/real-sealed-page", "w"))
batch = [{"entity": e["entity"], "key": e["key"], "op": e["op"], "body": e["body"]} for e in sync["entries"]]
json.dump({"changes": batch}, open(f"{out}/admin-batch/real-batch", "w"))
PY
cp "$work/alice.nomad" "$dir/export-container/real-export"
printf 'Sun, 22 Nov 2026 05:49:42 GMT' > "$dir/date-header/real-date"
printf 'keyId="http://127.0.0.1:9101/channel/alice#ed25519",algorithm="hs2019",headers="(request-target) host date digest content-type x-zot-token",signature="%s"' \
  "$(head -c 64 /dev/urandom | base64 -w0)" > "$dir/signature-header/real-signature"
