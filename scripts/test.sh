#!/usr/bin/env bash
# Runs every test and ends with one line: "tests: N passed, N failed".
#   unit         ctest in the sanitizer build (build-asan/)
#   fuzz         every committed input of tests/fuzz replayed against its
#                libFuzzer harness (clang, ASan + UBSan; built in build-fuzz/)
#   lint         clang-format, cppcheck, clang-tidy on the C code
#                (scripts/lint.sh; the compile database of build/)
#   unit-js      node:test on the front end's modules imported from public/
#                (tests/unit-js/: names, roster, layout, shortcuts; no
#                browser, no server; page.test.mjs reads the bundle that
#                make builds into public/dist/)
#   integration  node:test, real nginx / fcgi / sidecars / redis-server
#   e2e          node:test + playwright-core driving Debian's chromium
#   docker       docker-compose.yml built and run on a real Docker engine
#                (tests/docker/; a private dockerd when none answers)
# The integration and browser tests run the sanitizer build's binaries, so a
# leak or memory error in a server fails the test that caused it.
# Options: TESTS="tests/integration/fcgi.test.mjs ..." runs only those files
# (with the C and the front-end unit tests, without fuzz and lint).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
export HUDDLE_BUILD_DIR=${HUDDLE_BUILD_DIR:-$top/build-asan}
mkdir -p tests/artifacts
passed=0
failed=0
node_logs=() # the node:test logs of this run, for the digest at the end

echo "== unit tests (ctest, $HUDDLE_BUILD_DIR)"
ctest_log=tests/artifacts/ctest.log
ctest --test-dir "$HUDDLE_BUILD_DIR" --output-on-failure -j 2 >"$ctest_log" 2>&1
grep -E "^ *[0-9]+/[0-9]+ Test|tests passed|Failed|\*\*\*" "$ctest_log" | tail -n 400
line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$ctest_log" | tail -n 1)
if [ -n "$line" ]; then
    total=$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")
    nfail=$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")
    passed=$((passed + total - nfail))
    failed=$((failed + nfail))
else
    echo "ctest produced no summary (see $ctest_log)"
    failed=$((failed + 1))
fi

# verdicts LABEL LOG COMMAND...: runs a step that prints one "<what>: ok"
# or "<what>: FAILED ..." line per test; each counts. A step that prints
# none counts as one failure.
verdicts() {
    local label=$1 log=$2 np nf
    shift 2
    echo "== $label"
    "$@" 2>&1 | tee "$log"
    np=$(grep -cE '^(fuzz|lint) [^ ]+: ok' "$log")
    nf=$(grep -cE '^(fuzz|lint) [^ ]+: FAILED' "$log")
    if [ $((np + nf)) -eq 0 ]; then
        echo "$label produced no verdict (see $log)"
        nf=1
    fi
    passed=$((passed + np))
    failed=$((failed + nf))
}

if [ -z "${TESTS:-}" ]; then
    verdicts "fuzz corpora replayed (tests/fuzz)" tests/artifacts/fuzz.log tests/fuzz/run.sh replay
    verdicts "static checks (scripts/lint.sh)" tests/artifacts/lint.log scripts/lint.sh
fi

# node_tests LABEL FILES...: runs node:test files, adds their counts.
node_tests() {
    local label=$1 log np nf nc
    shift
    echo "== $label (node:test)"
    log=tests/artifacts/node-test-${label%% *}.log
    node_logs+=("$log")
    node --test --test-reporter=spec "$@" 2>&1 | tee "$log"
    np=$(grep -E "^ℹ pass [0-9]+" "$log" | tail -n 1 | awk '{print $3}')
    nf=$(grep -E "^ℹ fail [0-9]+" "$log" | tail -n 1 | awk '{print $3}')
    nc=$(grep -E "^ℹ cancelled [0-9]+" "$log" | tail -n 1 | awk '{print $3}')
    if [ -z "$np" ]; then
        echo "node:test produced no summary (see $log)"
        failed=$((failed + 1))
    else
        passed=$((passed + np))
        failed=$((failed + ${nf:-0} + ${nc:-0}))
    fi
}

node_tests "front-end unit tests" tests/unit-js/*.test.mjs

if [ -n "${TESTS:-}" ]; then
    # shellcheck disable=SC2086 # a list of paths
    node_tests "selected tests" $TESTS
else
    node_tests "integration and browser tests" tests/integration/*.test.mjs tests/e2e/*.test.mjs
    # The compose stack on a real Docker engine: its own step, since it
    # builds images (minutes on a new machine, seconds once cached).
    node_tests "docker compose" tests/docker/*.test.mjs
fi

# Why each node:test test failed, short and last: the end of a long log
# (all a CI page may show) then says what broke, not only how many. The
# whole reports are in the logs named above.
failure_digest() {
    awk 'FNR == 1 { on = 0 }
         /^✖ failing tests:/ { on = 1; next }
         on && /^test at / { n = 0; print; next }
         on && /^✖ / { n = 0; print; next }
         on && n < 8 && NF && !/^ +at / { print substr($0, 1, 300); n++ }' "$@"
}
if [ "$failed" -gt 0 ]; then
    echo
    echo "== what failed (the first lines of each; the logs in tests/artifacts have the rest)"
    grep -E "^[[:space:]]*[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)\)" "$ctest_log"
    failure_digest "${node_logs[@]}"
fi
echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
