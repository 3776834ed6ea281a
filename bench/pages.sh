#!/usr/bin/env bash
# Room page rate: nginx + huddle-fcgi versus nginx serving the very same
# bytes as a static file, same nginx, same run (docs/design.md, "Performance targets"; target:
# FastCGI >= 40% of static, p99 <= 5 ms at 50 connections).
#   BENCH_SECONDS (10)  BENCH_CONNECTIONS (50)  BENCH_THREADS (2)
#   HUDDLE_BUILD_DIR (build/, a release build)  HUDDLE_FCGI_THREADS
# Prints figures; it is not a test and asserts nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HUDDLE_BUILD_DIR:-$top/build}
secs=${BENCH_SECONDS:-10}
conns=${BENCH_CONNECTIONS:-50}
wthreads=${BENCH_THREADS:-2}
fcgi_bin=$build/fcgi/huddle-fcgi
[ -x "$fcgi_bin" ] || { echo "pages: $fcgi_bin missing (run make)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "pages: wrk missing (apt-get install wrk)" >&2; exit 1; }

dir=$(mktemp -d /tmp/huddle-bench-pages-XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$dir"
}
trap cleanup EXIT

# A port below the ephemeral range that no TCP socket uses.
port=$((20000 + RANDOM % 10000))
while awk -v p=":$(printf %04X $port)" 'substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
    /proc/net/tcp /proc/net/tcp6; do
    port=$((port + 1))
done
HUDDLE_FCGI_LISTEN=$dir/fcgi.sock HUDDLE_VIEWS_DIR=$top/views HUDDLE_LOG_LEVEL=warn \
    "$fcgi_bin" 2>"$dir/fcgi.log" &
pids+=($!)
cp -r "$top/public" "$dir/public"
NGINX_LISTEN=127.0.0.1:$port FCGI_ADDR=unix:$dir/fcgi.sock SIDECAR_ADDRS= \
    PUBLIC_DIR=$dir/public NGINX_ACCESS_LOG=off "$top/scripts/render-nginx.sh" "$dir/nginx"
nginx -e stderr -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>"$dir/nginx.log" &
pids+=($!)
for _ in $(seq 100); do
    curl -fso "$dir/public/bench-room.html" "http://127.0.0.1:$port/bench-room" && break
    sleep 0.05
done
[ -s "$dir/public/bench-room.html" ] || { echo "pages: stack did not start" >&2; cat "$dir"/*.log >&2; exit 1; }
cmp -s "$dir/public/bench-room.html" <(curl -fs "http://127.0.0.1:$port/assets/bench-room.html") ||
    { echo "pages: static copy differs" >&2; exit 1; }

# run NAME URL: prints "NAME req/s p99" and sets rps and p99 (ms).
run() {
    local out
    out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency "$2")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000}
               else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}
               print v}' <<<"$out")
    local errs
    errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
    printf '%-26s %10.0f req/s   p99 %7.3f ms %s\n' "$1" "$rps" "$p99" "$errs"
}

bytes=$(stat -c %s "$dir/public/bench-room.html")
echo "== room page ($bytes bytes), wrk -t$wthreads -c$conns -d${secs}s, loopback, $(nproc) cores"
run "nginx + huddle-fcgi" "http://127.0.0.1:$port/bench-room"
fcgi_rps=$rps fcgi_p99=$p99
run "nginx static, same bytes" "http://127.0.0.1:$port/assets/bench-room.html"
awk -v a="$fcgi_rps" -v b="$rps" -v p="$fcgi_p99" 'BEGIN {
    printf "ratio fcgi/static: %.1f%% (target >= 40%%); fcgi p99 %.3f ms (target <= 5 ms)\n", 100*a/b, p }'
