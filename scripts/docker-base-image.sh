#!/usr/bin/env bash
# Makes sure the engine DOCKER_HOST names has debian:12-slim, the one base
# image of the Dockerfile. Pulled when a registry answers; otherwise (as on
# a machine that reaches only Debian's archive) made from the archive with
# debootstrap --variant=minbase and `docker import`. The root file system is
# cached as a tarball (/var/cache/huddle/debian-12-slim.tar) so it is made
# once per machine. Used by the compose tests; the Dockerfile itself stays a
# plain FROM debian:12-slim.
set -euo pipefail
image=debian:12-slim
cache=${HUDDLE_CACHE_DIR:-/var/cache/huddle}
tarball=$cache/debian-12-slim.tar
mirror=${HUDDLE_DEBIAN_MIRROR:-http://deb.debian.org/debian}

say() { echo "docker-base-image: $*" >&2; }

docker image inspect "$image" >/dev/null 2>&1 && exit 0
if timeout 30 docker pull -q "$image" >/dev/null 2>&1; then
    exit 0
fi
if [ ! -s "$tarball" ]; then
    command -v debootstrap >/dev/null || { say "debootstrap is missing (scripts/deps.sh test)"; exit 1; }
    say "no registry: building $image from $mirror with debootstrap (about a minute)"
    mkdir -p "$cache"
    dir=$(mktemp -d "$cache/rootfs.XXXXXX")
    trap 'rm -rf "$dir"' EXIT
    debootstrap --variant=minbase bookworm "$dir" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        { say "debootstrap failed; see $cache/debootstrap.log"; exit 1; }
    # What the official slim image leaves out as well.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* \
        "$dir"/usr/share/doc/* "$dir"/usr/share/man/* "$dir"/usr/share/info/*
    tar -C "$dir" -c . >"$tarball.tmp"
    mv "$tarball.tmp" "$tarball"
fi
docker import - "$image" <"$tarball" >/dev/null
say "imported $image from $tarball"
