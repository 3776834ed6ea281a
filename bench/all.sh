#!/usr/bin/env bash
# `make bench`: runs every bench/*.sh (but this one) and bench/*.mjs in turn
# and prints their output. Benchmarks print figures; none of them asserts.
# A failing benchmark is reported and the others still run.
set -uo pipefail
cd "$(dirname "$0")/.."
export HUDDLE_BUILD_DIR=${HUDDLE_BUILD_DIR:-$(pwd)/build}
failed=0
for b in bench/*.sh bench/*.mjs; do
    [ -e "$b" ] || continue
    [ "$(basename "$b")" = all.sh ] && continue
    echo "=== $b"
    case $b in
    *.sh) bash "$b" ;;
    *.mjs) node "$b" ;;
    esac
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "=== $b failed (exit $rc)"
        failed=$((failed + 1))
    fi
    echo
done
echo "benchmarks: $failed failed"
[ "$failed" -eq 0 ]
