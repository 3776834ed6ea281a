#!/usr/bin/env bash
# Docker HEALTHCHECK of every huddle image: `huddle-healthcheck ROLE`.
# Exits 0 when the service answers on its own address inside the container.
# Only bash and what the image already has: no curl.
set -uo pipefail

# http_ok PORT PATH: a GET with Host localhost (never redirected) answers 200.
http_ok() {
    local status
    exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\n\r\n' "$2" >&3
    read -r -t 3 status <&3 || return 1
    [[ $status == "HTTP/1."?" 200 "* ]]
}

case ${1:-} in
nginx) http_ok 8080 /healthz ;;
fcgi) [ -S "$HUDDLE_FCGI_LISTEN" ] ;;
sidecar) http_ok "${HUDDLE_LISTEN##*:}" /healthz ;;
redis) REDISCLI_AUTH=${HUDDLE_REDIS_PASSWORD:-$(cat /var/lib/huddle/secrets/redis-password)} \
           redis-cli -s "$HUDDLE_REDIS_SOCKET" ping | grep -q PONG ;;
coturn) ip=${HUDDLE_TURN_LISTEN_IP:-127.0.0.1}
        (exec 3<>"/dev/tcp/${ip%% *}/${HUDDLE_TURN_PORT:-3478}") ;;
*) echo "usage: huddle-healthcheck nginx|fcgi|sidecar|redis|coturn" >&2; exit 2 ;;
esac
