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
# The browser tests keep the CPU busy; the integration tests mostly wait
# (for timeouts, reapers, restarts: one after the other, they kept a
# 2-core machine 8% busy over their seven minutes). So the integration
# tests, then the Docker step, run beside the browser tests, each in one
# node:test process taking its files one at a time; their reports are
# printed once the browser tests end. Every test starts its own servers on
# free ports, so the two never share one. (Not at a lower priority: the
# servers of an integration test would then wait behind Chromium and miss
# the times the test gives them.)
# Options: TESTS="tests/integration/fcgi.test.mjs ..." runs only those files
# (with the C and the front-end unit tests, without fuzz and lint).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
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

# node_test FILES...: runs node:test files with the reporter whose summary
# node_count reads. Exported: the stream beside the browser tests runs it.
node_test() {
    node --test --test-reporter=spec "$@"
}
export -f node_test

# node_count LABEL LOG: adds the counts of the node:test report in LOG.
node_count() {
    local label=$1 log=$2 np nf nc
    node_logs+=("$log")
    np=$(grep -E "^ℹ pass [0-9]+" "$log" | tail -n 1 | awk '{print $3}')
    nf=$(grep -E "^ℹ fail [0-9]+" "$log" | tail -n 1 | awk '{print $3}')
    nc=$(grep -E "^ℹ cancelled [0-9]+" "$log" | tail -n 1 | awk '{print $3}')
    if [ -z "$np" ]; then
        echo "$label: node:test produced no summary (see $log)"
        failed=$((failed + 1))
    else
        passed=$((passed + np))
        failed=$((failed + ${nf:-0} + ${nc:-0}))
    fi
}

# node_tests LABEL FILES...: runs node:test files in the foreground (the
# report shown as it comes), adds their counts.
node_tests() {
    local label=$1 log
    shift
    echo "== $label (node:test)"
    log=tests/artifacts/node-test-${label%% *}.log
    node_test "$@" 2>&1 | tee "$log"
    node_count "$label" "$log"
}

node_tests "front-end unit tests" tests/unit-js/*.test.mjs

if [ -n "${TESTS:-}" ]; then
    # shellcheck disable=SC2086 # a list of paths
    node_tests "selected tests" $TESTS
else
    ilog=tests/artifacts/node-test-integration.log
    dlog=tests/artifacts/node-test-docker.log
    rm -f "$ilog" "$dlog"
    # The stream beside is a process group of its own, stopped with this
    # script however it ends (Ctrl-C, a CI job's timeout): no Docker step
    # goes on alone, holding a dockerd the next run would find. The compose
    # stack on a real Docker engine builds images: minutes on a new
    # machine, seconds once cached.
    # shellcheck disable=SC2016 # $1 and $2 are bash -c's own
    setsid bash -c 'node_test tests/integration/*.test.mjs >"$1" 2>&1
        node_test tests/docker/*.test.mjs >"$2" 2>&1' _ "$ilog" "$dlog" &
    beside=$!
    trap 'kill -TERM -- "-$beside" 2>/dev/null' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    echo "(the integration tests, then the Docker step, run beside these: tail -f $ilog $dlog)"
    node_tests "browser tests" tests/e2e/*.test.mjs
    echo "== waiting for the integration tests and the Docker step (tail -f $ilog $dlog)"
    wait "$beside"
    trap - EXIT INT TERM
    echo "== integration tests (node:test)"
    cat "$ilog"
    node_count "integration tests" "$ilog"
    echo "== docker compose (node:test)"
    cat "$dlog"
    node_count "docker compose" "$dlog"
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
