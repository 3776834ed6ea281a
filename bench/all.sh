#!/usr/bin/env bash
# `make bench`: bench/loadgen.mjs first (huddle-sidecar beside the Node
# reference; it writes bench/results/latest.md and latest.json), then every
# other bench/*.sh (but this one) and bench/*.mjs in turn; their output is
# printed and added to latest.md and latest.json, with the wall time of the
# whole run (from BENCH_T0, the epoch second `make bench` started, when
# given). Benchmarks print figures; none of them asserts. A failing
# benchmark is reported and the others still run.
set -uo pipefail
cd "$(dirname "$0")/.."
export HUDDLE_BUILD_DIR=${HUDDLE_BUILD_DIR:-$(pwd)/build}
t0=${BENCH_T0:-$(date +%s)}
results=bench/results
others=$(mktemp /tmp/huddle-bench-XXXXXX)
trap 'rm -f "$others"' EXIT
list=(bench/loadgen.mjs)
for b in bench/*.sh bench/*.mjs; do
    case $(basename "$b") in all.sh | lib.mjs | loadgen.mjs) ;; *) list+=("$b") ;; esac
done
failed=0
for b in "${list[@]}"; do
    case $b in
    bench/loadgen.mjs) echo "=== $b" && node "$b" ;;
    *.sh) echo "=== $b" | tee -a "$others" && bash "$b" 2>&1 | tee -a "$others" ;;
    *.mjs) echo "=== $b" | tee -a "$others" && node "$b" 2>&1 | tee -a "$others" ;;
    esac
    rc=${PIPESTATUS[0]}
    if [ "$rc" -ne 0 ]; then
        echo "=== $b failed (exit $rc)" | tee -a "$others"
        failed=$((failed + 1))
    fi
    echo | tee -a "$others"
done
wall=$(($(date +%s) - t0))
echo "benchmarks: $failed failed; make bench took ${wall} s"
if [ -f "$results/latest.json" ]; then
    {
        echo
        echo "## The other benchmarks, as they printed"
        echo
        echo '```'
        cat "$others"
        echo '```'
        echo
        echo "make bench took ${wall} s of wall time ($failed benchmarks failed)."
    } >>"$results/latest.md"
    node -e '
        const fs = require("fs");
        const [file, others, wall, failed] = process.argv.slice(1);
        const j = JSON.parse(fs.readFileSync(file, "utf8"));
        Object.assign(j, { others: fs.readFileSync(others, "utf8"), wall_s: Number(wall), failed: Number(failed) });
        fs.writeFileSync(file, JSON.stringify(j, null, 1) + "\n");' \
        "$results/latest.json" "$others" "$wall" "$failed"
fi
[ "$failed" -eq 0 ]
