#!/usr/bin/env bash
# Static checks of the C code (make test runs this; each check counts as one
# test). For each check it prints "lint <check>: ok" or "lint <check>:
# FAILED (N findings)", then the findings counted per file and listed; the
# whole output of each tool goes to tests/artifacts/lint-<check>.log.
#   clang-format  every tracked .c and .h file matches .clang-format
#   cppcheck      severities error, warning, performance, portability (the
#                 style class is taste: variable scope, const parameters)
#   clang-tidy    the checks of .clang-tidy on every source file in the
#                 compile database of the release build (programs and unit
#                 tests; the fuzz harnesses get the first two only)
# A finding that is wrong is silenced where it is, with a comment saying
# why: cppcheck-suppress <id> (cppcheck), NOLINT(<check>) (clang-tidy).
#   scripts/lint.sh [clang-format|cppcheck|clang-tidy ...]
# LINT_BUILD: the build dir holding compile_commands.json (default build/,
# made by `make`). JOBS: parallel clang-tidy runs (default: all cores).
set -uo pipefail
cd "$(dirname "$0")/.."
build=${LINT_BUILD:-build}
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
checks=${*:-clang-format cppcheck clang-tidy}
mkdir -p tests/artifacts
mapfile -t sources < <(git ls-files '*.c' '*.h')
status=0

# report CHECK FINDINGS-FILE: the verdict line, then the findings per file.
report() {
    local check=$1 findings=$2 n
    n=$(grep -c . "$findings")
    if [ "$n" -eq 0 ]; then
        echo "lint $check: ok"
        return 0
    fi
    echo "lint $check: FAILED ($n findings)"
    sed -E 's/:[0-9].*//' "$findings" | sort | uniq -c | sort -rn |
        awk '{printf "    %4d  %s\n", $1, $2}'
    sed 's/^/    /' "$findings"
    status=1
}

run_clang_format() {
    local log=tests/artifacts/lint-clang-format.log
    clang-format --dry-run --Werror "${sources[@]}" >"$log" 2>&1
    # One finding per place that would be reformatted.
    grep -E '^[^ ]+:[0-9]+:[0-9]+: error:' "$log" |
        sed -E 's/ error: code should be clang-formatted.*/ not clang-formatted/' \
            >"$log.findings"
    echo "== clang-format (${#sources[@]} files)"
    report clang-format "$log.findings"
}

run_cppcheck() {
    local log=tests/artifacts/lint-cppcheck.log
    local dirs=(common sidecar fcgi tests/unit tests/fuzz tests/fault)
    echo "== cppcheck (${dirs[*]})"
    cppcheck --enable=warning,performance,portability --std=c11 \
        --inline-suppr --quiet --error-exitcode=0 -D_GNU_SOURCE \
        -Icommon -Isidecar -Ifcgi \
        --template='{file}:{line}: {severity} ({id}): {message}' \
        "${dirs[@]}" >"$log" 2>&1
    grep -E '^[^ ]+:[0-9]+: ' "$log" | sort -u >"$log.findings"
    report cppcheck "$log.findings"
}

run_clang_tidy() {
    local log=tests/artifacts/lint-clang-tidy.log db=$build/compile_commands.json
    if [ ! -f "$db" ]; then
        echo "== clang-tidy"
        echo "lint clang-tidy: FAILED (no $db: run make)"
        status=1
        return
    fi
    # The database's files that git tracks, relative to here.
    local files
    files=$(sed -nE 's/^ *"file": "(.*)",?$/\1/p' "$db" | sed "s|^$(pwd)/||" |
        sort -u | grep -Fx -f <(printf '%s\n' "${sources[@]}"))
    echo "== clang-tidy ($(wc -l <<<"$files") files, $db, .clang-tidy)"
    # One file per run: clang-tidy 14 given env.c then log.c in one run
    # reports a va_list that va_start initialised as uninitialised.
    xargs -P "$jobs" -n 1 clang-tidy -p "$build" --quiet <<<"$files" >"$log" 2>&1
    # A finding in a header shows once per file including it: keep one.
    grep -E '^/[^ ]+:[0-9]+:[0-9]+: (warning|error): ' "$log" |
        sed "s|^$(pwd)/||" | sort -u >"$log.findings"
    report clang-tidy "$log.findings"
}

for c in $checks; do
    case $c in
    clang-format) run_clang_format ;;
    cppcheck) run_cppcheck ;;
    clang-tidy) run_clang_tidy ;;
    *)
        echo "lint: unknown check $c" >&2
        exit 2 ;;
    esac
done
exit $status
