#!/bin/sh
# Builds the libFuzzer harnesses with clang (ASan + UBSan) against the
# sources and runs each for N seconds (default 60) from its seed corpus.
#   tests/fuzz/run.sh [seconds] [target...]
# Everything it writes (binaries, grown corpora, crash files) goes under
# $FUZZ_OUT (default /tmp/huddle-fuzz), never into the repository.
# Word splitting of the flag and source lists is wanted (no spaces in them).
# shellcheck disable=SC2086,SC2046
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-msg router tpl bus_url cluster}
out=${FUZZ_OUT:-/tmp/huddle-fuzz}
cc=${CC_FUZZ:-clang}

warn="-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
  -Wformat=2 -Wwrite-strings -Wvla -Wimplicit-fallthrough"
flags="-g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined
  -fno-sanitize-recover=undefined -fno-omit-frame-pointer
  -I$root/common -I$root/sidecar -I$root/fcgi"
common="$root/common/roomid.c $root/common/log.c $root/common/env.c"
core="$root/sidecar/msg.c $root/sidecar/room.c $root/sidecar/hub.c
  $root/sidecar/ratelimit.c $root/sidecar/ice.c $root/sidecar/metrics.c"

build() { # name, sources..., then libs after --
    name=$1
    shift
    echo "build fuzz_$name"
    $cc $warn $flags -o "$out/bin/fuzz_$name" "$@"
}

mkdir -p "$out/bin"
for t in $targets; do
    case $t in
    msg)
        build msg "$here/fuzz_msg.c" $core $common \
            $(pkg-config --cflags --libs libcjson libcrypto) ;;
    router)
        build router "$here/fuzz_router.c" "$root/fcgi/router.c" \
            "$root/fcgi/pages.c" "$root/fcgi/tpl.c" $common \
            $(pkg-config --cflags --libs uuid) ;;
    tpl)
        build tpl "$here/fuzz_tpl.c" "$root/fcgi/tpl.c" $common ;;
    bus_url)
        build bus_url "$here/fuzz_bus_url.c" $common \
            $(pkg-config --cflags --libs hiredis libuv libcjson) ;;
    cluster)
        build cluster "$here/fuzz_cluster.c" "$root/sidecar/bus.c" \
            "$root/sidecar/ws.c" $core $common \
            $(pkg-config --cflags --libs libwebsockets hiredis libuv \
                libcjson libcrypto) ;;
    *)
        echo "unknown target: $t" >&2
        exit 2 ;;
    esac
done

status=0
for t in $targets; do
    mkdir -p "$out/corpus/$t" "$out/crashes/$t"
    echo "run fuzz_$t for ${secs}s"
    # The grown corpus lives in $out; the seeds in the repo are read only.
    if ! "$out/bin/fuzz_$t" -max_total_time="$secs" -max_len=8192 \
        -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$t/" \
        "$out/corpus/$t" "$here/corpus/$t" 2>"$out/$t.log"; then
        echo "fuzz_$t FAILED: see $out/$t.log and $out/crashes/$t/" >&2
        status=1
    fi
    grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' \
        "$out/$t.log" || true
done
exit $status
