#!/usr/bin/env bash
# Installs what is missing, builds once, runs the whole test suite, then validates the JSON the
# built binary emits against Schemas/ with a real JSON Schema validator (and the actor document
# with a JSON-LD processor).
set -euo pipefail
cd "$(dirname "$0")/.."
ops/install-deps.sh
python3 -c "import jsonschema" 2>/dev/null || python3 -m pip install -q jsonschema
python3 -c "import pyld" 2>/dev/null || python3 -m pip install -q pyld
python3 -c "import openapi_spec_validator, yaml" 2>/dev/null || python3 -m pip install -q openapi-spec-validator pyyaml
command -v schemathesis >/dev/null || python3 -m pip install -q schemathesis
start=$(date +%s)
swift build --build-tests 2>&1 | grep -vE "^\[[0-9]+/[0-9]+\]" | tail -n 5
echo "build: $(( $(date +%s) - start )) s"
start=$(date +%s)
log="${TMPDIR:-/tmp}/nomadsync-test.log"
set +e
swift test --skip-build >"$log" 2>&1
status=$?
set -e
# Failures in full, then Swift Testing's closing line.
grep -E "✘|error:|recorded an issue|Test run with" "$log" || tail -n 30 "$log"
echo "tests: $(( $(date +%s) - start )) s"
[ "$status" -eq 0 ] || { echo "swift test failed (full log: $log)"; exit "$status"; }
ops/validate-schemas.sh
# The benchmark, short: it must run to the end (times are not judged here; docs/PERFORMANCE.md).
.build/debug/nomadsync bench --quick
# The admin API's OpenAPI document: valid, matching the routes in the code and the answers of two
# running nodes, then schemathesis against it (NOMADSYNC_API_FUZZ_EXAMPLES per operation).
python3 ops/check_openapi.py --fuzz "${NOMADSYNC_API_FUZZ_EXAMPLES:-50}"
# Three sites behind a real nginx, under paths of a domain whose root belongs to a hub.
ops/check-proxy.sh
# Opt-in (installs Chromium): the status page of a live three-site cluster, rendered and checked.
if [ "${NOMADSYNC_SCREENSHOT:-0}" = 1 ]; then ops/screenshot-status.sh "${TMPDIR:-/tmp}/nomadsync-status-page.png"; fi
# Every outside-bytes parser under libFuzzer for a bounded time (NOMADSYNC_FUZZ_SECONDS, default 20 each).
ops/fuzz.sh "${NOMADSYNC_FUZZ_SECONDS:-20}"
