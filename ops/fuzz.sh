#!/usr/bin/env bash
# Fuzzes every parser that takes outside bytes (NomadFuzzing's targets) with libFuzzer, SECONDS
# each (default 30). Builds the fuzz binary with swiftc -sanitize=fuzzer,address into .build-fuzz/,
# seeds each target's corpus from real documents the built nomadsync binary emits plus the inputs
# kept in Tests/Fixtures/fuzz/<target>/, and fails on the first crash, printing the input to keep.
#   ops/fuzz.sh [SECONDS] [TARGET…]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
ops/install-deps.sh
out=.build-fuzz
mkdir -p "$out/crashes"
flags=(-sanitize=fuzzer,address -parse-as-library -D FUZZING -swift-version 6 -package-name nomadsync -O -g -I "$out" -I Sources/CSodium)

# The modules the targets need, as static libraries with coverage instrumentation.
build_module() {
  local name=$1
  swiftc "${flags[@]}" -emit-library -static -emit-module -module-name "$name" \
    -emit-module-path "$out/$name.swiftmodule" -o "$out/lib$name.a" Sources/"$name"/*.swift
}
started=$(date +%s)
{
  for module in NomadCrypto NomadModel NomadTransport; do build_module "$module"; done
  swiftc "${flags[@]}" -module-name NomadFuzzing Sources/NomadFuzzing/*.swift -L "$out" \
    -lNomadTransport -lNomadModel -lNomadCrypto -lsodium -lFoundationNetworking -lFoundation -o "$out/nomadsync-fuzz"
} >"$out/build.log" 2>&1 || { grep -E "error" "$out/build.log" | head -n 20 >&2; echo "fuzz build failed (log: $out/build.log)" >&2; exit 1; }
echo "fuzz binary built in $(( $(date +%s) - started )) s"

# Seeds: real documents from the built binary, then the kept inputs.
bin="${NOMADSYNC_BIN:-.build/debug/nomadsync}"
[ -x "$bin" ] || swift build --product nomadsync 2>&1 | tail -n 1
ops/fuzz-seeds.sh "$bin" "$out/corpus"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(signature-header date-header envelope sealed-payload sync-data change-entry sync-page export-container admin-batch channel-message discovery-document clone-ticket clone-claim config-file site-heartbeat json-text)
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  cp Tests/Fixtures/fuzz/"$t"/* "$out/corpus/$t/" 2>/dev/null || true
  set +e
  NOMADSYNC_FUZZ_TARGET="$t" "$out/nomadsync-fuzz" -max_total_time="$seconds" -max_len=65536 -rss_limit_mb=4096 \
    -timeout=20 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" "$out/corpus/$t" \
    >"$out/$t.log" 2>&1
  status=$?
  set -e
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out/$t.log" | grep -Eo '[0-9]+$' || echo "?")
  if [ "$status" -ne 0 ]; then
    echo "fuzz $t: CRASH after $runs runs (exit $status); input kept in $out/crashes/:" >&2
    ls "$out/crashes/" | grep "^$t-" >&2 || true
    grep -E "ERROR|Fatal error|SUMMARY" "$out/$t.log" | head -n 5 >&2
    echo "copy the input into Tests/Fixtures/fuzz/$t/ as a regression, fix the parser, and run again" >&2
    exit 1
  fi
  echo "fuzz $t: $runs runs in ${seconds} s, no crash"
done
