#!/usr/bin/env bash
# A Docker engine for the compose tests, on a machine that may have none.
#   scripts/docker-engine.sh start   prints DOCKER_HOST=... and, when it had
#                                    to start a private dockerd, DOCKERD_PID=...
#   scripts/docker-engine.sh stop PID   stops that private dockerd (by PID)
# `start` uses the engine DOCKER_HOST (or the default socket) names when one
# answers. Otherwise it starts Debian's dockerd with its own data root
# (/var/lib/huddle-docker, kept between runs so built layers are reused),
# exec root and socket (/run/huddle-docker), and waits for it to answer.
set -euo pipefail
root=${HUDDLE_DOCKER_ROOT:-/var/lib/huddle-docker}
exec_root=${HUDDLE_DOCKER_EXEC_ROOT:-/run/huddle-docker}
sock=unix://$exec_root/docker.sock

say() { echo "docker-engine: $*" >&2; }

answers() { timeout 10 docker info >/dev/null 2>&1; }

case ${1:-} in
start)
    command -v docker >/dev/null && command -v dockerd >/dev/null ||
        { say "docker.io is not installed (scripts/deps.sh test)"; exit 1; }
    if answers; then
        echo "DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
        exit 0
    fi
    export DOCKER_HOST=$sock
    if answers; then # a private engine left by an earlier run
        echo "DOCKER_HOST=$sock"
        exit 0
    fi
    mkdir -p "$root" "$exec_root"
    log=$exec_root/dockerd.log
    dockerd --data-root "$root" --exec-root "$exec_root" -H "$sock" \
        --pidfile "$exec_root/dockerd.pid" >"$log" 2>&1 </dev/null &
    pid=$!
    for ((t = 0; t < 300; t++)); do
        if answers; then
            echo "DOCKER_HOST=$sock"
            echo "DOCKERD_PID=$pid"
            exit 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.2
    done
    say "dockerd did not answer; its log ($log) ends with:"
    tail -n 20 "$log" >&2
    kill "$pid" 2>/dev/null || true
    exit 1
    ;;
stop)
    pid=${2:?usage: docker-engine.sh stop PID}
    kill -TERM "$pid" 2>/dev/null || exit 0
    for ((t = 0; t < 150; t++)); do
        kill -0 "$pid" 2>/dev/null || exit 0
        sleep 0.2
    done
    kill -KILL "$pid" 2>/dev/null || true
    ;;
*)
    echo "usage: docker-engine.sh start | stop PID" >&2
    exit 2
    ;;
esac
