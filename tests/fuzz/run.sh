#!/bin/sh
# The libFuzzer harnesses of tests/fuzz (README.md):
#   tests/fuzz/run.sh replay [target...]       every committed input once (make test)
#   tests/fuzz/run.sh fuzz SECONDS [target...] fuzz each target for SECONDS
#   tests/fuzz/run.sh merge [target...]        minimize what fuzz found into corpus/
# Targets: the fuzz_*.c files here (default: all). Builds them first with
# CMake (-DHUDDLE_FUZZ=ON, clang) in $FUZZ_BUILD (default build-fuzz/).
# Grown corpora, logs and crash files go under $FUZZ_OUT (default
# /tmp/huddle-fuzz); replay logs to tests/artifacts/fuzz-<target>.log.
# replay prints one "fuzz <target>: ok|FAILED" line per target.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
out=${FUZZ_OUT:-/tmp/huddle-fuzz}
cc=${CC_FUZZ:-clang}
jobs=${JOBS:-2}

mode=${1:-}
[ $# -gt 0 ] && shift
case $mode in
replay | merge) ;;
fuzz)
    secs=${1:?usage: run.sh fuzz SECONDS [target...]}
    shift ;;
*)
    sed -n '2,5p' "$0" >&2
    exit 2 ;;
esac
targets=$*
if [ -z "$targets" ]; then
    targets=$(cd "$here" && ls fuzz_*.c | sed 's/^fuzz_//; s/\.c$//')
fi

# Builds the harnesses (quietly unless it fails).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER="$cc" -DHUDDLE_FUZZ=ON \
    -DCMAKE_BUILD_TYPE=Debug && cmake --build "$build" --target fuzz -j "$jobs"; } \
    >"$log" 2>&1; then
    cat "$log" >&2
    echo "fuzz: build FAILED" >&2
    exit 1
fi
bin() { echo "$build/tests/fuzz/fuzz_$1"; }

# The committed inputs of target: seeds (named, kept by hand), corpus
# (minimized by merge) and regressions (inputs that once failed).
dirs() {
    for d in seeds corpus regressions; do
        if [ -d "$here/$d/$1" ]; then echo "$here/$d/$1"; fi
    done
}

status=0
case $mode in
replay)
    mkdir -p "$root/tests/artifacts"
    for t in $targets; do
        tlog=$root/tests/artifacts/fuzz-$t.log
        n=$(find $(dirs "$t") -type f | wc -l)
        # shellcheck disable=SC2046 # one argument per directory
        if "$(bin "$t")" -runs=0 -timeout=10 -rss_limit_mb=2048 \
            $(dirs "$t") >"$tlog" 2>&1; then
            echo "fuzz $t: ok ($n inputs)"
        else
            echo "fuzz $t: FAILED (see $tlog)"
            grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error|Test unit written|.*Assertion)" \
                "$tlog" | head -n 5
            status=1
        fi
    done ;;
fuzz)
    for t in $targets; do
        mkdir -p "$out/corpus/$t" "$out/crashes/$t"
        echo "fuzz_$t for ${secs}s"
        # The grown corpus lives in $out; the committed inputs are read only.
        # shellcheck disable=SC2046
        if ! "$(bin "$t")" -max_total_time="$secs" -max_len=8192 \
            -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
            -artifact_prefix="$out/crashes/$t/" \
            "$out/corpus/$t" $(dirs "$t") 2>"$out/$t.log"; then
            echo "fuzz_$t FAILED: see $out/$t.log and $out/crashes/$t/" >&2
            status=1
        fi
        # The last status line: inputs run, coverage (cov, ft), speed.
        grep -E '^#[0-9]+' "$out/$t.log" | tail -n 1 || true
        grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' \
            "$out/$t.log" || true
    done ;;
merge)
    for t in $targets; do
        # Merge into a copy of the seeds, so that corpus/ keeps only what
        # the seeds do not already cover; then drop the copies.
        tmp=$(mktemp -d)
        mkdir "$tmp/m"
        [ -d "$here/seeds/$t" ] && cp "$here/seeds/$t"/* "$tmp/m/"
        ls "$tmp/m" >"$tmp/seeds.list"
        mkdir -p "$out/corpus/$t" "$here/corpus/$t"
        "$(bin "$t")" -merge=1 -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
            "$tmp/m" "$here/corpus/$t" "$out/corpus/$t" >"$out/$t.merge.log" 2>&1 ||
            { echo "merge $t FAILED: see $out/$t.merge.log" >&2; status=1; }
        (cd "$tmp/m" && xargs rm -f <"$tmp/seeds.list")
        rm -f "$here/corpus/$t"/*
        cp "$tmp/m"/* "$here/corpus/$t/" 2>/dev/null || true
        echo "corpus/$t: $(ls "$here/corpus/$t" | wc -l) files beyond the seeds"
        grep -E "MERGE-OUTER: [0-9]+ new files" "$out/$t.merge.log" || true
        rm -rf "$tmp"
    done ;;
esac
exit $status
