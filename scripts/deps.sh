#!/usr/bin/env bash
# Installs what huddle needs on Debian 12, and nothing it already has.
#   scripts/deps.sh run    build + run: compiler, libraries, nginx, redis
#   scripts/deps.sh test   the above plus what the tests and benchmarks use:
#                          chromium, wrk, valgrind, curl, and npm packages
# Needs root for apt-get (the README's commands run as root). Safe to repeat.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}

run_pkgs=(build-essential cmake pkg-config
          libfcgi-dev libfcgi-bin uuid-dev libcjson-dev libssl-dev
          libwebsockets-dev libwebsockets-evlib-uv libuv1-dev libhiredis-dev
          nginx-light redis-server)
test_pkgs=(chromium wrk valgrind curl docker-compose)

pkgs=("${run_pkgs[@]}")
if [ "$mode" = test ]; then
    pkgs+=("${test_pkgs[@]}")
    # Node.js may come from Debian or elsewhere; only install it if absent.
    command -v node >/dev/null && command -v npm >/dev/null || pkgs+=(nodejs npm)
fi

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing+=("$p")
done

if ((${#missing[@]})); then
    if [ "$(id -u)" != 0 ]; then
        echo "deps: missing Debian packages: ${missing[*]}" >&2
        echo "deps: run as root, or: apt-get install ${missing[*]}" >&2
        exit 1
    fi
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
    # Debian starts the services it installs; huddle runs its own copies on
    # its own ports, so stop the system-wide ones we just brought in.
    for svc in nginx redis-server; do
        service "$svc" stop >/dev/null 2>&1 || true
    done
fi

if [ "$mode" = test ] && { [ ! -f tests/node_modules/.stamp ] ||
                           [ tests/package-lock.json -nt tests/node_modules/.stamp ]; }; then
    echo "deps: installing npm packages for the tests"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
fi
