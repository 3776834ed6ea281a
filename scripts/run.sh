#!/usr/bin/env bash
# `make run`: huddle in the foreground on http://localhost:$HUDDLE_PORT and
# https://localhost:$HUDDLE_HTTPS_PORT. Starts huddle-fcgi (unix socket in a
# private runtime dir), the sidecars, a redis-server (Unix socket, password)
# when there is more than one sidecar, and nginx; prints the URLs.
#
# Supervision: a sidecar that dies is restarted on its port, after 0.5 s,
# doubling to 10 s while it keeps dying (back to 0.5 s once it stayed up
# 30 s); the rest stays up. If huddle-fcgi, Redis or nginx dies, everything
# stops and the runner exits 1. Ctrl-C or SIGTERM stops everything (each
# program's process group, the sidecars first so they drain while nginx and
# Redis are still there) and exits 0; a second one meanwhile kills what is
# left at once and exits 130. The Makefile has built build/.
#
#   HUDDLE_PORT        http port (8080), on 127.0.0.1 and ::1
#   HUDDLE_HTTPS_PORT  https port (8443), on 127.0.0.1 and ::1; 0: no https.
#                      Plain http then redirects to https, except for the
#                      names localhost, 127.x.y.z and [::1], and /healthz.
#   HUDDLE_TLS_DIR     directory holding fullchain.pem and privkey.pem; unset:
#                      a self-signed certificate for localhost, 127.0.0.1, ::1
#                      and this host's name, made once in $HUDDLE_RUN_DIR/tls/
#   HUDDLE_SIDECARS    number of huddle-sidecar processes (1); >1 adds Redis
#   HUDDLE_RUN_DIR     runtime dir: sockets, nginx config, logs, Redis config
#                      and password (.run/)
#   HUDDLE_BUILD_DIR   where the binaries are (build/)
# Sidecars listen on the first free loopback ports above HUDDLE_PORT, Redis
# on $HUDDLE_RUN_DIR/redis/redis.sock. Any other HUDDLE_* variable
# (see README.md and docs/config.md) passes through to the programs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
port=${HUDDLE_PORT:-8080}
https_port=${HUDDLE_HTTPS_PORT:-8443}
nsidecars=${HUDDLE_SIDECARS:-1}
run=${HUDDLE_RUN_DIR:-$top/.run}
build=${HUDDLE_BUILD_DIR:-$top/build}

say() { echo "run: $*" >&2; }
die() { say "$*"; exit 2; }

[[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 65536)) || die "HUDDLE_PORT=$port is not a port"
[[ $https_port =~ ^[0-9]+$ ]] && ((https_port < 65536 && https_port != port)) ||
    die "HUDDLE_HTTPS_PORT=$https_port is not a port (other than HUDDLE_PORT), or 0"
[[ $nsidecars =~ ^[0-9]+$ ]] && ((nsidecars <= 32)) || die "HUDDLE_SIDECARS=$nsidecars: want 0 to 32"
[ -x "$build/fcgi/huddle-fcgi" ] || die "$build/fcgi/huddle-fcgi is missing: run make"
command -v nginx >/dev/null || die "nginx is missing: run make run as root, or apt-get install nginx-light"

# socket_on PORT STATES: true when a TCP socket whose local port is PORT is
# in one of STATES (hex, as /proc/net/tcp writes them: 0A LISTEN, 06
# TIME_WAIT), IPv4 or IPv6.
socket_on() {
    local h
    printf -v h '%04X' "$1"
    awk -v p=":$h" -v states="$2" 'substr($2, length($2) - 4) == p && index(states, $4) { f = 1 }
                    END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# True when something listens on TCP port $1. Read from /proc, not by
# connecting: a connect() to a port nobody listens on yet may be given that
# very port as its source and connect to itself (TCP simultaneous open),
# which then holds the port the program is about to bind.
listening() { socket_on "$1" 0A; }

# True when a TCP socket (listening or connected, IPv4 or IPv6; TIME_WAIT
# aside, which SO_REUSEADDR passes) has local port $1: bind() would fail.
in_use() { socket_on "$1" "01 02 03 04 05 07 08 09 0A 0B"; }

# The first port from $1 upwards that no socket uses and we did not take.
taken=" $port $https_port "
free_port() {
    local p=$1
    while in_use "$p" || [[ $taken == *" $p "* ]]; do p=$((p + 1)); done
    taken+="$p "
    echo "$p"
}

in_use "$port" && die "port $port is in use (set HUDDLE_PORT)"
((https_port == 0)) || ! in_use "$https_port" ||
    die "port $https_port is in use (set HUDDLE_HTTPS_PORT; 0 turns https off)"
mkdir -p "$run" && chmod 700 "$run" || die "cannot create $run"
run=$(cd "$run" && pwd)

# Children by slot: pids[i] (empty while a sidecar waits to be restarted),
# names[i], and for sidecars sidecar_no[i] (1..N, else empty).
names=()
pids=()
sidecar_no=()
stopping=0

# Each program runs in a session (and process group) of its own, setsid's:
# a Ctrl-C in the terminal then reaches this script alone, which stops
# them in order, and stopping one reaches everything it forked (nginx's
# workers, even after their master died). setsid does not fork here (this
# script's children lead no group), so $! is the program's PID.

# start NAME CMD...: runs CMD in the background in a new slot.
start() {
    local name=$1
    shift
    setsid "$@" </dev/null &
    pids+=($!)
    names+=("$name")
    sidecar_no+=("")
}

# signal_all SIG PID...: SIG to the process group each PID leads (a
# program's, above; the leader may be gone), or else to the PID alone:
# once, since a second SIGTERM tells a draining sidecar to stop at once.
# Fails when none is left.
signal_all() {
    local sig=$1 p any=1
    shift
    for p in "$@"; do
        if kill "-$sig" -- "-$p" 2>/dev/null || kill "-$sig" -- "$p" 2>/dev/null; then any=0; fi
    done
    return $any
}

# stop_pids PID...: SIGTERM to all of them (and their groups) at once,
# SIGKILL to what is still there after 10 s.
stop_pids() {
    local p t
    (($#)) || return 0
    signal_all TERM "$@"
    for ((t = 0; t < 100; t++)); do
        signal_all 0 "$@" || break
        sleep 0.1
    done
    signal_all KILL "$@"
    for p in "$@"; do wait "$p" 2>/dev/null; done
}

# Stops every child: the sidecars first (they drain: close their clients
# with 1012 and hand their seats to Redis), then the rest newest first.
stop_all() {
    local i scs=()
    trap - EXIT
    trap stop_now INT TERM
    stop_pids "${timers[@]}" "$waker"
    for i in "${!pids[@]}"; do
        [ -n "${sidecar_no[i]}" ] && [ -n "${pids[i]}" ] && scs+=("${pids[i]}")
    done
    stop_pids "${scs[@]}"
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        [ -z "${sidecar_no[i]}" ] && [ -n "${pids[i]}" ] && stop_pids "${pids[i]}"
    done
}
# A second Ctrl-C (or SIGTERM) while stop_all waits for the sidecars to
# drain: SIGKILL to every program's group at once, and out. The programs
# run in sessions of their own, so nothing else would stop them.
stop_now() {
    local p live=()
    trap - INT TERM EXIT
    for p in "${pids[@]}" "${timers[@]}" "$waker"; do [ -n "$p" ] && live+=("$p"); done
    say "stopping now"
    signal_all KILL "${live[@]}"
    for p in "${live[@]}"; do wait "$p" 2>/dev/null; done
    exit 130
}
timers=()
# A child whose end wakes the main loop's wait: a SIGTERM or Ctrl-C that
# comes while the script is busy (starting up, or between the loop's check
# and its wait) only sets the flag, and the wait would then wait for good.
# It ends by itself within a second of this script (tail --pid), even one
# killed with SIGKILL, and holds none of its output.
tail --pid=$$ -f /dev/null </dev/null >/dev/null 2>&1 &
waker=$!
trap 'stopping=1; kill "$waker" 2>/dev/null' INT TERM
trap 'stop_all' EXIT

# wait_for NAME PID CHECK...: polls CHECK until it succeeds (10 s at most)
# or the process dies.
wait_for() {
    local name=$1 pid=$2 t
    shift 2
    for ((t = 0; t < 200; t++)); do
        "$@" && return 0
        # A Ctrl-C meanwhile is a stop, not a failure.
        ((stopping)) && exit 0
        kill -0 "$pid" 2>/dev/null || { say "$name exited at start"; exit 1; }
        sleep 0.05
    done
    say "$name did not come up"
    exit 1
}

sock=$run/fcgi.sock
HUDDLE_FCGI_LISTEN=$sock HUDDLE_VIEWS_DIR=${HUDDLE_VIEWS_DIR:-$top/views} \
    start huddle-fcgi "$build/fcgi/huddle-fcgi"
wait_for huddle-fcgi "${pids[-1]}" test -S "$sock"

# Redis for several sidecars: on a Unix socket in the runtime dir only
# (mode 0700, no TCP port), and with a password made once and kept there
# (mode 0600), so no other local user can read or inject the sidecars'
# traffic. A socket is also cheaper than loopback TCP (docs/cluster.md).
redis_url=
if ((nsidecars > 1)); then
    command -v redis-server >/dev/null || die "redis-server is missing (apt-get install redis-server)"
    rsock=$run/redis/redis.sock
    # The sidecars take it in HUDDLE_REDIS_URL: printable ASCII without
    # '@' or '?', at most 106 bytes (docs/config.md).
    (LC_ALL=C && [[ ${#rsock} -le 106 && $rsock =~ ^/[!-~]+$ && $rsock != *[@?]* ]]) ||
        die "$rsock cannot be Redis' socket (106 bytes at most, printable ASCII without @ or ?): set HUDDLE_RUN_DIR"
    mkdir -p "$run/redis"
    if [ ! -s "$run/redis.pass" ]; then
        (umask 077 && od -An -tx1 -N24 /dev/urandom | tr -d ' \n' >"$run/redis.pass") ||
            die "cannot write $run/redis.pass"
    fi
    rpass=$(<"$run/redis.pass")
    (umask 077 && cat >"$run/redis.conf") <<CONF
port 0
unixsocket $rsock
unixsocketperm 700
requirepass $rpass
daemonize no
save ""
appendonly no
dir $run/redis
CONF
    # Answers PONG: the socket exists from bind(), before Redis listens.
    redis_answers() { [ "$(redis-cli -s "$rsock" -a "$rpass" --no-auth-warning ping 2>/dev/null)" = PONG ]; }
    start redis-server redis-server "$run/redis.conf"
    wait_for redis-server "${pids[-1]}" redis_answers
    redis_url=unix://:$rpass@$rsock
fi

# Sidecar n (1..N) on port sidecar_port[n]; the same port after a restart.
sidecar_port=()
sidecar_delay_ms=()
sidecar_since=()
sidecar_due=()
start_sidecar() {
    local n=$1 slot=$2
    HUDDLE_LISTEN=127.0.0.1:${sidecar_port[n]} HUDDLE_NODE_ID=${HUDDLE_NODE_ID:-node}$n \
        HUDDLE_REDIS_URL=${redis_url:-${HUDDLE_REDIS_URL:-}} \
        setsid "$build/sidecar/huddle-sidecar" </dev/null &
    pids[slot]=$!
    # Out of memory, the kernel kills a sidecar first (its members resume
    # on another one; supervision starts it again): docs/hardening.md.
    echo 500 >"/proc/$!/oom_score_adj" 2>/dev/null || true
    sidecar_since[n]=${EPOCHREALTIME/./}
}

sidecar_addrs=
if ((nsidecars > 0)) && [ ! -x "$build/sidecar/huddle-sidecar" ]; then
    say "$build/sidecar/huddle-sidecar is not built: going on without /ws"
    nsidecars=0
fi
for ((n = 1; n <= nsidecars; n++)); do
    sidecar_port[n]=$(free_port $((port + 1)))
    sidecar_delay_ms[n]=500
    sidecar_due[n]=
    names+=("huddle-sidecar $n")
    sidecar_no+=("$n")
    pids+=("")
    start_sidecar "$n" $((${#pids[@]} - 1))
    wait_for "huddle-sidecar $n" "${pids[-1]}" listening "${sidecar_port[n]}"
    sidecar_addrs+="127.0.0.1:${sidecar_port[n]} "
done

have_v6=0
grep -q '^0\{31\}1 ' /proc/net/if_inet6 2>/dev/null && have_v6=1
listen="127.0.0.1:$port"
((have_v6)) && listen+=" [::1]:$port"
https_listen=
tls_cert=
tls_key=
if ((https_port)); then
    https_listen="127.0.0.1:$https_port"
    ((have_v6)) && https_listen+=" [::1]:$https_port"
    if [ -n "${HUDDLE_TLS_DIR:-}" ]; then
        tls_cert=$HUDDLE_TLS_DIR/fullchain.pem
        tls_key=$HUDDLE_TLS_DIR/privkey.pem
        [ -r "$tls_cert" ] && [ -r "$tls_key" ] || die "HUDDLE_TLS_DIR: cannot read $tls_cert and $tls_key"
    else
        tls_cert=$run/tls/fullchain.pem
        tls_key=$run/tls/privkey.pem
    fi
fi
NGINX_LISTEN=$listen NGINX_HTTPS_LISTEN=$https_listen TLS_CERT=$tls_cert TLS_KEY=$tls_key \
    TLS_SELF_SIGNED="localhost 127.0.0.1 ::1 $(hostname)" \
    FCGI_ADDR=unix:$sock SIDECAR_ADDRS=$sidecar_addrs PUBLIC_DIR=$top/public \
    "$top/scripts/render-nginx.sh" "$run/nginx" || die "cannot render the nginx config"
start nginx nginx -e stderr -p "$run/nginx" -c "$run/nginx/nginx.conf"
wait_for nginx "${pids[-1]}" listening "$port"

urls="http://localhost:$port"
((https_port)) && urls+=" and https://localhost:$https_port"
echo "huddle is running on $urls  (sidecars: $nsidecars; Ctrl-C stops it)"

# A sidecar in slot i exited with status $2: schedule its restart.
sidecar_exited() {
    local i=$1 status=$2 n=${sidecar_no[$1]} now up_ms delay secs
    now=${EPOCHREALTIME/./}
    up_ms=$(((now - sidecar_since[n]) / 1000))
    ((up_ms >= 30000)) && sidecar_delay_ms[n]=500
    delay=${sidecar_delay_ms[n]}
    sidecar_due[n]=$((now + delay * 1000))
    printf -v secs '%d.%03d' $((delay / 1000)) $((delay % 1000))
    say "${names[i]} (pid ${pids[i]}, port ${sidecar_port[n]}) exited with status $status after ${up_ms} ms: restarting it in $secs s"
    pids[i]=
    sleep "$secs" &
    timers+=($!)
    sidecar_delay_ms[n]=$((delay * 2 > 10000 ? 10000 : delay * 2))
}

# Restarts every sidecar whose delay has passed.
restart_due() {
    local i n now
    now=${EPOCHREALTIME/./}
    for i in "${!pids[@]}"; do
        n=${sidecar_no[i]}
        [ -n "$n" ] && [ -z "${pids[i]}" ] && ((now >= sidecar_due[n])) || continue
        start_sidecar "$n" "$i"
        say "${names[i]} restarted (pid ${pids[i]}, port ${sidecar_port[n]})"
    done
}

while :; do
    ((stopping)) && { say "stopping"; stop_all; exit 0; }
    live=("$waker")
    for p in "${pids[@]}" "${timers[@]}"; do [ -n "$p" ] && live+=("$p"); done
    unset done_pid
    wait -n -p done_pid "${live[@]}"
    status=$?
    ((stopping)) && { say "stopping"; stop_all; exit 0; }
    [ -n "${done_pid:-}" ] || continue
    for i in "${!timers[@]}"; do
        [ "${timers[i]}" = "$done_pid" ] && unset 'timers[i]'
    done
    timers=("${timers[@]}")
    for i in "${!pids[@]}"; do
        [ "${pids[i]}" = "$done_pid" ] || continue
        if [ -z "${sidecar_no[i]}" ]; then
            say "${names[i]} (pid ${pids[i]}) exited with status $status: stopping the rest"
            stop_pids "${pids[i]}" # what it forked (nginx's workers)
            pids[i]=
            stop_all
            exit 1
        fi
        sidecar_exited "$i" "$status"
    done
    restart_due
done
