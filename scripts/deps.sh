#!/usr/bin/env bash
# Installs what huddle needs on Debian 12, and nothing it already has.
#   scripts/deps.sh run    build + run: compiler, libraries, nginx, redis
#   scripts/deps.sh test   the above plus what the tests and benchmarks use:
#                          coturn, chromium, wrk, valgrind, curl, Docker
#                          (docker.io, docker-compose, debootstrap), npm packages
# The package names come from scripts/packages.txt, the list the Dockerfile
# reads too.
# Needs root for apt-get (the README's commands run as root). Safe to repeat.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-run}

case $mode in
run) roles=(build fcgi sidecar nginx redis local) ;;
test) roles=(build fcgi sidecar nginx redis local coturn test) ;;
*) echo "usage: deps.sh run|test" >&2; exit 2 ;;
esac
list=$(scripts/packages.sh "${roles[@]}")
read -r -a pkgs <<<"$list"
if [ "$mode" = test ]; then
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
    for svc in nginx redis-server coturn; do
        service "$svc" stop >/dev/null 2>&1 || true
    done
fi

if [ "$mode" = test ] && { [ ! -f tests/node_modules/.stamp ] ||
                           [ tests/package-lock.json -nt tests/node_modules/.stamp ]; }; then
    echo "deps: installing npm packages for the tests"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.stamp)
fi
