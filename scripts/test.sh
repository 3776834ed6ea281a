#!/usr/bin/env bash
# Runs every test and ends with one line: "tests: N passed, N failed".
#   unit         ctest in the sanitizer build (build-asan/)
#   integration  node:test, real nginx / fcgi / sidecars / redis-server
#   e2e          node:test + playwright-core driving Debian's chromium
# The integration and browser tests run the sanitizer build's binaries, so a
# leak or memory error in a server fails the test that caused it.
# Options: TESTS="tests/integration/fcgi.test.mjs ..." runs only those files.
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
export HUDDLE_BUILD_DIR=${HUDDLE_BUILD_DIR:-$top/build-asan}
mkdir -p tests/artifacts
passed=0
failed=0

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

files=${TESTS:-$(ls tests/integration/*.test.mjs tests/e2e/*.test.mjs 2>/dev/null)}
if [ -n "$files" ]; then
    echo "== integration and browser tests (node:test)"
    node_log=tests/artifacts/node-test.log
    # shellcheck disable=SC2086
    node --test --test-reporter=spec $files 2>&1 | tee "$node_log"
    np=$(grep -E "^ℹ pass [0-9]+" "$node_log" | tail -n 1 | awk '{print $3}')
    nf=$(grep -E "^ℹ fail [0-9]+" "$node_log" | tail -n 1 | awk '{print $3}')
    nc=$(grep -E "^ℹ cancelled [0-9]+" "$node_log" | tail -n 1 | awk '{print $3}')
    if [ -z "$np" ]; then
        echo "node:test produced no summary (see $node_log)"
        failed=$((failed + 1))
    else
        passed=$((passed + np))
        failed=$((failed + ${nf:-0} + ${nc:-0}))
    fi
fi

echo
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
