#!/usr/bin/env bash
# Produces every JSON shape with the built binary (two sites in temporary data dirs) and validates
# it against Schemas/ with python-jsonschema.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${NOMADSYNC_BIN:-.build/debug/nomadsync}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
a="$work/a"; b="$work/b"
"$bin" init --url http://127.0.0.1:18451 --data "$a" >/dev/null 2>&1
"$bin" init --url http://127.0.0.1:18452 --data "$b" >/dev/null 2>&1
"$bin" channel create alice --name "Alice" --data "$a" >/dev/null 2>&1
"$bin" change put alice item k1 --body '{"content":"hi"}' --data "$a" >/dev/null
"$bin" change delete alice item k1 --data "$a" >/dev/null
"$bin" change put alice x-demo k2 --body '[1,2,3]' --data "$a" >/dev/null
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
v channel-show.schema.json "$work/show-a.json"
v channel-show.schema.json "$work/show-b.json"
v change-entry.schema.json "$work/log.jsonl" --lines
v state.schema.json "$work/state.json"
v envelope.schema.json "$work/envelope.json"
v sealed-payload.schema.json <(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["data"]))' "$work/envelope.json")
v sync-data.schema.json "$work/sync.json"
echo "schemas: all documents valid"
