#!/usr/bin/env bash
# Room page rate: nginx + huddle-fcgi versus nginx serving the very same
# bytes as a static file, same nginx, same run (docs/design.md, "Performance targets"; target:
# FastCGI >= 40% of static, p99 <= 5 ms at 50 connections).
# The two alternate over BENCH_ROUNDS rounds and the medians are compared,
# so that a burst of other work on a shared machine does not fall on one
# side only; beside the rates, the server CPU per request (nginx workers
# and huddle-fcgi, from /proc/<pid>/stat), which other load moves less,
# and huddle-fcgi's own share of it.
#   BENCH_SECONDS (5, per run)  BENCH_ROUNDS (3)  BENCH_CONNECTIONS (50)  BENCH_THREADS (2)
#   HUDDLE_BUILD_DIR (build/, a release build)
#   NGINX_FCGI_KEEPALIVE and the other settings of scripts/render-nginx.sh
# Prints figures; it is not a test and asserts nothing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${HUDDLE_BUILD_DIR:-$top/build}
secs=${BENCH_SECONDS:-5}
rounds=${BENCH_ROUNDS:-3}
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
fcgi_pid=$!
cp -r "$top/public" "$dir/public"
NGINX_LISTEN=127.0.0.1:$port FCGI_ADDR=unix:$dir/fcgi.sock SIDECAR_ADDRS= \
    PUBLIC_DIR=$dir/public NGINX_ACCESS_LOG=off "$top/scripts/render-nginx.sh" "$dir/nginx"
nginx -e stderr -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>"$dir/nginx.log" &
pids+=($!)
nginx_pid=$!
for _ in $(seq 100); do
    curl -fso "$dir/public/bench-room.html" "http://127.0.0.1:$port/bench-room" && break
    sleep 0.05
done
[ -s "$dir/public/bench-room.html" ] || { echo "pages: stack did not start" >&2; cat "$dir"/*.log >&2; exit 1; }
cmp -s "$dir/public/bench-room.html" <(curl -fs "http://127.0.0.1:$port/assets/bench-room.html") ||
    { echo "pages: static copy differs" >&2; exit 1; }

# ticks PID...: utime + stime of those processes, in ticks.
ticks() {
    local t=0 p
    for p in "$@"; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0)))
    done
    echo "$t"
}
# server_ticks: huddle-fcgi and the nginx workers.
server_ticks() { ticks "$fcgi_pid" $(pgrep -P "$nginx_pid"); }

# run NAME URL: prints "NAME req/s p99 CPU" and appends "rps p99 us fcgi_us
# nginx_us" to $dir/NAME.txt (us: server CPU per request, made of
# huddle-fcgi's and nginx's).
run() {
    local out c0 c1 f0 f1 n us fus errs
    c0=$(server_ticks)
    f0=$(ticks "$fcgi_pid")
    out=$(wrk -t"$wthreads" -c"$conns" -d"${secs}s" --latency "$2")
    c1=$(server_ticks)
    f1=$(ticks "$fcgi_pid")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    n=$(awk '/requests in/ {print $1}' <<<"$out")
    p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000}
               else if (v ~ /ms$/) sub(/ms/,"",v); else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}
               print v}' <<<"$out")
    us=$(awk -v c=$((c1 - c0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
    fus=$(awk -v c=$((f1 - f0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", c * 1e6 / hz / n }')
    errs=$(grep -E "Non-2xx|Socket errors" <<<"$out" || true)
    printf '  %-26s %10.0f req/s   p99 %7.3f ms   server CPU %5.1f us/request (huddle-fcgi %4.1f) %s\n' \
        "$1" "$rps" "$p99" "$us" "$fus" "$errs"
    echo "$rps $p99 $us $fus $(awk -v a="$us" -v b="$fus" 'BEGIN { print a - b }')" >>"$dir/$3.txt"
}

# median FILE COLUMN: the median of that column.
median() { sort -g -k"$2,$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }

bytes=$(stat -c %s "$dir/public/bench-room.html")
echo "== room page ($bytes bytes), wrk -t$wthreads -c$conns -d${secs}s, $rounds rounds alternating, loopback, $(nproc) cores"
for r in $(seq "$rounds"); do
    echo " round $r"
    run "nginx + huddle-fcgi" "http://127.0.0.1:$port/bench-room" fcgi
    run "nginx static, same bytes" "http://127.0.0.1:$port/assets/bench-room.html" static
done
awk -v a="$(median "$dir/fcgi.txt" 1)" -v b="$(median "$dir/static.txt" 1)" \
    -v p="$(median "$dir/fcgi.txt" 2)" -v cf="$(median "$dir/fcgi.txt" 3)" \
    -v cs="$(median "$dir/static.txt" 3)" -v ff="$(median "$dir/fcgi.txt" 4)" \
    -v fn="$(median "$dir/fcgi.txt" 5)" 'BEGIN {
    printf "ratio fcgi/static (medians): %.1f%% (target >= 40%%); fcgi p99 %.3f ms (target <= 5 ms)\n", 100*a/b, p
    printf "server CPU per request (medians): fcgi %.1f us (huddle-fcgi %.1f, nginx %.1f), static %.1f us: static/fcgi %.1f%%\n", cf, ff, fn, cs, 100*cs/cf }'
