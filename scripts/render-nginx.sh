#!/usr/bin/env bash
# Writes OUTDIR/nginx.conf: a self-contained nginx for huddle, the one
# generator for the local runner, the tests and the Docker image. It
# includes copies of nginx/huddle-http.conf and nginx/huddle-locations.conf
# (the one place for locations, headers and limits) written next to it.
#
# Listening:
#   NGINX_LISTEN        plain-http address(es), space-separated
#                       (e.g. "127.0.0.1:8080 [::1]:8080")
#   NGINX_HTTPS_LISTEN  https address(es), space-separated; empty: no TLS
#   TLS_CERT, TLS_KEY   PEM certificate chain and key (required with
#                       NGINX_HTTPS_LISTEN)
#   TLS_SELF_SIGNED     names for a self-signed certificate made at
#                       TLS_CERT/TLS_KEY when both are missing (e.g.
#                       "localhost 127.0.0.1 ::1"); unset: missing files are
#                       an error
#   HTTPS_PUBLIC_PORT   the https port browsers use, for the redirect
#                       (default: the port of the first https address; 443
#                       leaves it out of the URL)
#   NGINX_HSTS          a Strict-Transport-Security value for https answers
#                       (e.g. "max-age=31536000"); unset: none. Only with a
#                       certificate browsers trust: HSTS over a self-signed
#                       one locks people out.
#   NGINX_ACME_ROOT     a directory served at /.well-known/acme-challenge/
#                       over plain http, for certbot --webroot; unset: none
#   With TLS, plain http answers 301 to https://host[:port]/uri, except
#   /healthz, the ACME challenges, and requests whose Host is localhost,
#   127.x.y.z or [::1].
#
# Upstreams:
#   FCGI_ADDR           huddle-fcgi: "unix:/path/fcgi.sock" or "host:port"
#   SIDECAR_ADDRS       huddle-sidecar addresses, space-separated "host:port";
#                       empty (and no SIDECAR_RESOLVE) means /ws answers 502
#   SIDECAR_RESOLVE     instead: one DNS "name:port" resolved again every 5 s
#                       through NGINX_RESOLVER, each address a sidecar
#                       (Docker: "sidecar:8081" with NGINX_RESOLVER=127.0.0.11),
#                       so replicas started later are used without a reload
#   NGINX_RESOLVER      DNS server address(es) for SIDECAR_RESOLVE
#   PUBLIC_DIR          absolute path of public/, with the page's bundle
#                       (public/dist/, built by make: scripts/assets.sh)
#   NGINX_FCGI_KEEPALIVE  idle FastCGI connections each worker keeps
#                       (default 64; 0 = none). huddle-fcgi serves them all
#                       from one event loop, a few hundred bytes each.
#
# Per-client limits on /ws (a client: an IPv4 address or an IPv6 /64):
#   NGINX_WS_CONN_PER_ADDR   websockets open at once (256)
#   NGINX_WS_RATE_PER_ADDR   upgrade rate, "Nr/s" or "Nr/m" (5r/s)
#   NGINX_WS_BURST_PER_ADDR  upgrades above the rate let through at once (100)
#
#   NGINX_REAL_IP_FROM  address(es)/CIDRs of a proxy in front of nginx
#                       whose X-Forwarded-For is trusted for the client
#                       address (else every client counts as that proxy)
#
# Process:
#   NGINX_USER          worker user when started as root (default: the user
#                       running this script, so workers can reach the private
#                       runtime dir holding the fcgi socket)
#   NGINX_WORKERS       worker_processes (default: number of cores)
#   NGINX_WORKER_CONNECTIONS  per worker (16384); the open-file limit is set
#                       to twice that (capped at the hard limit when not root)
#   NGINX_PID           pid file (default OUTDIR/nginx.pid)
#   NGINX_ACCESS_LOG    "off", "stdout" or a path (default OUTDIR/access.log,
#                       buffered)
#   HUDDLE_NGINX_DIR    where huddle-http.conf and huddle-locations.conf are
#                       (default: nginx/ next to this script's directory)
#
# nginx then runs with: nginx -e stderr -p OUTDIR -c OUTDIR/nginx.conf
# (temp dirs and, by default, pid and access log stay inside OUTDIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "render-nginx: $*" >&2; exit 2; }

out=${1:?usage: render-nginx.sh OUTDIR}
: "${NGINX_LISTEN:=}"
[ -n "${FCGI_ADDR:-}" ] || die "FCGI_ADDR is not set"
[ -n "${PUBLIC_DIR:-}" ] || die "PUBLIC_DIR is not set"
https_listen=${NGINX_HTTPS_LISTEN:-}
sidecars=${SIDECAR_ADDRS:-}
resolve=${SIDECAR_RESOLVE:-}
real_ip_from=${NGINX_REAL_IP_FROM:-}
snippets=${HUDDLE_NGINX_DIR:-$top/nginx}
case $PUBLIC_DIR in /*) ;; *) die "PUBLIC_DIR must be absolute" ;; esac
[ -r "$PUBLIC_DIR/dist/app.js" ] ||
    die "$PUBLIC_DIR/dist/app.js is missing: the page's bundle is built by make (scripts/assets.sh)"
case ${NGINX_ACME_ROOT:-/} in /*) ;; *) die "NGINX_ACME_ROOT must be absolute" ;; esac
[ -n "${NGINX_LISTEN// /}${https_listen// /}" ] || die "NGINX_LISTEN and NGINX_HTTPS_LISTEN are both empty"
if [ -n "$resolve" ]; then
    [ -z "${sidecars// /}" ] || die "set SIDECAR_ADDRS or SIDECAR_RESOLVE, not both"
    [ -n "${NGINX_RESOLVER:-}" ] || die "SIDECAR_RESOLVE needs NGINX_RESOLVER"
    [[ $resolve =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || die "SIDECAR_RESOLVE=$resolve: want name:port"
fi
# A server without a port would be nginx's port 80.
for a in $sidecars; do
    [[ $a =~ :[0-9]+$ ]] || die "SIDECAR_ADDRS: $a: want host:port"
done
[[ $FCGI_ADDR =~ ^unix:/|:[0-9]+$ ]] || die "FCGI_ADDR=$FCGI_ADDR: want unix:/path or host:port"
# number NAME VALUE: VALUE when it is a whole number, else stop.
number() {
    [[ $2 =~ ^[0-9]+$ ]] || die "$1=$2 is not a number"
    echo "$2"
}
conn_per_addr=$(number NGINX_WS_CONN_PER_ADDR "${NGINX_WS_CONN_PER_ADDR:-256}")
burst_per_addr=$(number NGINX_WS_BURST_PER_ADDR "${NGINX_WS_BURST_PER_ADDR:-100}")
rate_per_addr=${NGINX_WS_RATE_PER_ADDR:-5r/s}
[[ $rate_per_addr =~ ^[1-9][0-9]*r/[sm]$ ]] || die "NGINX_WS_RATE_PER_ADDR=$rate_per_addr: want Nr/s or Nr/m"
((conn_per_addr > 0)) || die "NGINX_WS_CONN_PER_ADDR must be at least 1"
workers=$(number NGINX_WORKERS "${NGINX_WORKERS:-$(nproc)}")
wconns=$(number NGINX_WORKER_CONNECTIONS "${NGINX_WORKER_CONNECTIONS:-16384}")
((workers > 0 && wconns >= 64)) || die "want NGINX_WORKERS >= 1 and NGINX_WORKER_CONNECTIONS >= 64"
keepalive=$(number NGINX_FCGI_KEEPALIVE "${NGINX_FCGI_KEEPALIVE:-64}")

# Every connection is a file, and a websocket is two connections (client
# and sidecar); static files being sent and logs need a few more.
# Capped at the hard limit where it cannot be raised (not root, or root
# without CAP_SYS_RESOURCE, as in a container): nginx would warn at start.
nofile=$((2 * wconns))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && ((nofile > hard)) && ! (ulimit -Hn "$nofile") 2>/dev/null; then
    nofile=$hard
fi

mkdir -p "$out/tmp"
out=$(cd "$out" && pwd)
access_log=${NGINX_ACCESS_LOG:-$out/access.log}
pidfile=${NGINX_PID:-$out/nginx.pid}

# copy_snippet NAME SED-EXPR CHECK: copies $snippets/NAME into OUTDIR with
# SED-EXPR applied, and stops unless the copy holds the line CHECK (so an
# edit of the snippet cannot silently drop an override).
copy_snippet() {
    [ -r "$snippets/$1" ] || die "$snippets/$1 is missing (set HUDDLE_NGINX_DIR)"
    sed -E "$2" "$snippets/$1" >"$out/$1.new"
    grep -qF -- "$3" "$out/$1.new" || die "$1: cannot set '$3' (was the snippet edited?)"
    mv "$out/$1.new" "$out/$1"
}
copy_snippet huddle-http.conf \
    "s#(zone=huddle_ws_rate:10m rate=)[0-9]+r/[sm];#\\1$rate_per_addr;#" \
    "zone=huddle_ws_rate:10m rate=$rate_per_addr;"
copy_snippet huddle-locations.conf \
    "s#^( *limit_conn huddle_ws_conn )[0-9]+;#\\1$conn_per_addr;#; s#(limit_req zone=huddle_ws_rate burst=)[0-9]+ #\\1$burst_per_addr #" \
    "limit_conn huddle_ws_conn $conn_per_addr;"
grep -qF "limit_req zone=huddle_ws_rate burst=$burst_per_addr nodelay;" "$out/huddle-locations.conf" ||
    die "huddle-locations.conf: cannot set the burst (was the snippet edited?)"

# TLS: the files, made self-signed when asked and missing.
if [ -n "${https_listen// /}" ]; then
    [ -n "${TLS_CERT:-}" ] || die "NGINX_HTTPS_LISTEN needs TLS_CERT"
    [ -n "${TLS_KEY:-}" ] || die "NGINX_HTTPS_LISTEN needs TLS_KEY"
    if [ ! -e "$TLS_CERT" ] && [ ! -e "$TLS_KEY" ] && [ -n "${TLS_SELF_SIGNED:-}" ]; then
        # shellcheck disable=SC2086 # the names are a list
        "$top/scripts/self-signed-cert.sh" "$TLS_CERT" "$TLS_KEY" $TLS_SELF_SIGNED ||
            die "cannot make a self-signed certificate"
    fi
    [ -r "$TLS_CERT" ] || die "TLS_CERT=$TLS_CERT is not readable"
    [ -r "$TLS_KEY" ] || die "TLS_KEY=$TLS_KEY is not readable"
    read -r first_https _ <<<"$https_listen"
    https_port=${HTTPS_PUBLIC_PORT:-${first_https##*:}}
    [[ $https_port =~ ^[0-9]+$ ]] || die "HTTPS_PUBLIC_PORT=$https_port is not a port"
    port_suffix=":$https_port"
    [ "$https_port" = 443 ] && port_suffix=
fi

{
    echo "# generated by scripts/render-nginx.sh; do not edit"
    echo "daemon off;"
    if [ "$(id -u)" = 0 ]; then
        echo "user ${NGINX_USER:-$(id -un)};"
    fi
    echo "worker_processes $workers;"
    echo "worker_rlimit_nofile $nofile;"
    echo "pid $pidfile;"
    echo "error_log stderr warn;"
    echo "events { worker_connections $wconns; }"
    echo "http {"
    echo "    include /etc/nginx/mime.types;"
    echo "    default_type application/octet-stream;"
    # The log format huddle, without the query string, is huddle-http.conf's.
    echo "    include $out/huddle-http.conf;"
    case $access_log in
        off) echo "    access_log off;" ;;
        stdout) echo "    access_log /dev/stdout huddle if=\$huddle_logged;" ;;
        *) echo "    access_log $access_log huddle buffer=64k flush=1s if=\$huddle_logged;" ;;
    esac
    for t in client_body proxy fastcgi uwsgi scgi; do
        echo "    ${t}_temp_path $out/tmp/$t;"
    done
    echo "    sendfile on;"
    echo "    tcp_nopush on;"
    echo "    server_tokens off;"
    echo "    keepalive_timeout 65s;"
    # A client that never finishes its request headers or body holds a
    # connection this long at most (nginx's default is 60 s).
    echo "    client_header_timeout 15s;"
    echo "    client_body_timeout 15s;"
    echo "    keepalive_requests 100000;"
    for a in $real_ip_from; do
        echo "    set_real_ip_from $a;"
    done
    if [ -n "${real_ip_from// /}" ]; then
        echo "    real_ip_header X-Forwarded-For;"
        echo "    real_ip_recursive on;"
    fi
    if ((keepalive > 0)); then
        echo "    upstream huddle_fcgi { server $FCGI_ADDR; keepalive $keepalive; }"
    else
        echo "    upstream huddle_fcgi { server $FCGI_ADDR; }"
    fi
    if [ -n "$resolve" ]; then
        echo "    resolver $NGINX_RESOLVER valid=5s ipv6=off;"
        echo "    resolver_timeout 2s;"
    else
        echo "    upstream huddle_sidecar {"
        echo "        least_conn;"
        if [ -z "${sidecars// /}" ]; then
            echo "        server 127.0.0.1:9 down; # no sidecar: /ws answers 502"
        fi
        # max_fails=0: nginx never holds a sidecar as failed. By default
        # (max_fails=1 fail_timeout=10s) one that failed once gets a single
        # trial websocket every 10 s, and is cleared only when that trial
        # ends, which for a websocket is the end of a meeting: a sidecar
        # back from a restart would get almost nothing, and with the other
        # one stopped every upgrade would be 502. A sidecar that is down
        # costs a refused connect, then the next one (proxy_next_upstream).
        for a in $sidecars; do
            echo "        server $a max_fails=0;"
        done
        echo "    }"
    fi
    if [ -n "${https_listen// /}" ]; then
        echo "    # Plain http goes to https, except /healthz and loopback names."
        echo "    map \$host \$huddle_loopback {"
        echo "        default 0;"
        echo "        localhost 1;"
        echo "        \"[::1]\" 1;"
        echo "        \"~^127\\.[0-9]+\\.[0-9]+\\.[0-9]+\$\" 1;"
        echo "    }"
        echo "    map \"\$scheme \$huddle_loopback \$uri\" \$huddle_to_https {"
        echo "        default 0;"
        echo "        \"http 0 /healthz\" 0;"
        echo "        \"~^http 0 /\\.well-known/acme-challenge/\" 0;"
        echo "        \"~^http 0 \" 1;"
        echo "    }"
        if [ -n "${NGINX_HSTS:-}" ]; then
            echo "    map \$scheme \$huddle_hsts { https \"$NGINX_HSTS\"; default \"\"; }"
        fi
        echo "    ssl_protocols TLSv1.2 TLSv1.3;"
        echo "    ssl_session_cache shared:huddle_tls:10m;"
        echo "    ssl_session_timeout 1d;"
        echo "    ssl_session_tickets off;"
    fi
    echo "    server {"
    for l in $NGINX_LISTEN; do
        echo "        listen $l;"
    done
    for l in $https_listen; do
        echo "        listen $l ssl http2;"
    done
    echo "        server_name _;"
    if [ -n "${https_listen// /}" ]; then
        echo "        ssl_certificate $TLS_CERT;"
        echo "        ssl_certificate_key $TLS_KEY;"
        echo "        if (\$huddle_to_https) {"
        echo "            return 301 https://\$host$port_suffix\$request_uri;"
        echo "        }"
        if [ -n "${NGINX_HSTS:-}" ]; then
            echo "        add_header Strict-Transport-Security \$huddle_hsts always;"
        fi
    fi
    if [ -n "${NGINX_ACME_ROOT:-}" ]; then
        echo "        location ^~ /.well-known/acme-challenge/ {"
        echo "            root $NGINX_ACME_ROOT;"
        echo "            default_type text/plain;"
        echo "        }"
    fi
    echo "        set \$huddle_public $PUBLIC_DIR;"
    echo "        set \$huddle_sidecar ${resolve:-huddle_sidecar};"
    echo "        include $out/huddle-locations.conf;"
    echo "    }"
    echo "}"
} >"$out/nginx.conf"
