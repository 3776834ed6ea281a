#!/usr/bin/env bash
# `make run`: huddle in the foreground on http://localhost:$HUDDLE_PORT.
# Starts huddle-fcgi (unix socket in a private runtime dir), the sidecars,
# a redis-server when there is more than one sidecar, and nginx; prints the
# URL; on Ctrl-C or SIGTERM stops them all (by PID) and exits 0. If any of
# them dies, stops the rest and exits 1. The Makefile has built build/.
#
#   HUDDLE_PORT       nginx port (8080); it listens on 127.0.0.1 and ::1
#   HUDDLE_SIDECARS   number of huddle-sidecar processes (1); >1 adds Redis
#   HUDDLE_RUN_DIR    runtime dir: sockets, nginx config and logs (.run/)
#   HUDDLE_BUILD_DIR  where the binaries are (build/)
# Sidecars listen on the first free loopback ports above HUDDLE_PORT, Redis
# on the first free one above HUDDLE_PORT + 100. Any other HUDDLE_* variable
# (see README.md and docs/config.md) passes through to the programs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
port=${HUDDLE_PORT:-8080}
nsidecars=${HUDDLE_SIDECARS:-1}
run=${HUDDLE_RUN_DIR:-$top/.run}
build=${HUDDLE_BUILD_DIR:-$top/build}

say() { echo "run: $*" >&2; }
die() { say "$*"; exit 2; }

[[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "HUDDLE_PORT=$port is not a port"
[[ $nsidecars =~ ^[0-9]+$ ]] && ((nsidecars <= 32)) || die "HUDDLE_SIDECARS=$nsidecars: want 0 to 32"
[ -x "$build/fcgi/huddle-fcgi" ] || die "$build/fcgi/huddle-fcgi is missing: run make"
command -v nginx >/dev/null || die "nginx is missing: run make run as root, or apt-get install nginx-light"

# True when something accepts TCP connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# True when a TCP socket (listening or connected, IPv4 or IPv6; TIME_WAIT
# aside, which SO_REUSEADDR passes) has local port $1: bind() would fail.
in_use() {
    local h
    printf -v h '%04X' "$1"
    awk -v p=":$h" 'substr($2, length($2) - 4) == p && $4 != "06" { f = 1 }
                    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# The first port from $1 upwards that no socket uses and we did not take.
taken=" $port "
free_port() {
    local p=$1
    while in_use "$p" || [[ $taken == *" $p "* ]]; do p=$((p + 1)); done
    taken+="$p "
    echo "$p"
}

in_use "$port" && die "port $port is in use (set HUDDLE_PORT)"
mkdir -p "$run" && chmod 700 "$run" || die "cannot create $run"
run=$(cd "$run" && pwd)

names=()
pids=()
stopping=0

# start NAME CMD...: runs CMD in the background, remembers its PID.
start() {
    local name=$1
    shift
    "$@" </dev/null &
    pids+=($!)
    names+=("$name")
}

# Stops every child, newest first: SIGTERM, then SIGKILL after 5 s.
stop_all() {
    local i p t
    trap - INT TERM EXIT
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null
        for ((t = 0; t < 50; t++)); do
            kill -0 "${pids[i]}" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "${pids[i]}" 2>/dev/null
        wait "${pids[i]}" 2>/dev/null
    done
}
trap 'stopping=1' INT TERM
trap 'stop_all' EXIT

# wait_for NAME PID CHECK...: polls CHECK until it succeeds (10 s at most)
# or the process dies.
wait_for() {
    local name=$1 pid=$2 t
    shift 2
    for ((t = 0; t < 200; t++)); do
        "$@" && return 0
        kill -0 "$pid" 2>/dev/null || { say "$name exited at start"; exit 1; }
        ((stopping)) && exit 0
        sleep 0.05
    done
    say "$name did not come up"
    exit 1
}

sock=$run/fcgi.sock
HUDDLE_FCGI_LISTEN=$sock HUDDLE_VIEWS_DIR=${HUDDLE_VIEWS_DIR:-$top/views} \
    start huddle-fcgi "$build/fcgi/huddle-fcgi"
wait_for huddle-fcgi "${pids[-1]}" test -S "$sock"

redis_url=
if ((nsidecars > 1)); then
    command -v redis-server >/dev/null || die "redis-server is missing (apt-get install redis-server)"
    rport=$(free_port $((port + 100)))
    mkdir -p "$run/redis"
    cat >"$run/redis.conf" <<CONF
bind 127.0.0.1 -::1
port $rport
protected-mode yes
daemonize no
save ""
appendonly no
dir $run/redis
CONF
    start redis-server redis-server "$run/redis.conf"
    wait_for redis-server "${pids[-1]}" listening "$rport"
    redis_url=redis://127.0.0.1:$rport
fi

sidecar_addrs=
if ((nsidecars > 0)) && [ ! -x "$build/sidecar/huddle-sidecar" ]; then
    say "$build/sidecar/huddle-sidecar is not built: going on without /ws"
    nsidecars=0
fi
for ((i = 1; i <= nsidecars; i++)); do
    sport=$(free_port $((port + 1)))
    HUDDLE_LISTEN=127.0.0.1:$sport HUDDLE_NODE_ID=${HUDDLE_NODE_ID:-node}$i \
        HUDDLE_REDIS_URL=${redis_url:-${HUDDLE_REDIS_URL:-}} \
        start "huddle-sidecar $i" "$build/sidecar/huddle-sidecar"
    wait_for "huddle-sidecar $i" "${pids[-1]}" listening "$sport"
    sidecar_addrs+="127.0.0.1:$sport "
done

listen="127.0.0.1:$port"
grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null && listen+=" [::1]:$port"
NGINX_LISTEN=$listen FCGI_ADDR=unix:$sock SIDECAR_ADDRS=$sidecar_addrs \
    PUBLIC_DIR=$top/public "$top/scripts/render-nginx.sh" "$run/nginx" ||
    die "cannot render the nginx config"
start nginx nginx -e stderr -p "$run/nginx" -c "$run/nginx/nginx.conf"
wait_for nginx "${pids[-1]}" listening "$port"

echo "huddle is running on http://localhost:$port  (sidecars: $nsidecars; Ctrl-C stops it)"

while :; do
    wait -n "${pids[@]}"
    ((stopping)) && { say "stopping"; stop_all; exit 0; }
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[i]}" 2>/dev/null; then
            say "${names[i]} (pid ${pids[i]}) exited: stopping the rest"
            stop_all
            exit 1
        fi
    done
done
