#!/bin/sh
# The Debian packages of roles in scripts/packages.txt.
#   scripts/packages.sh ROLE...             prints them, one line, each once
#                                           (scripts/deps.sh reads this)
#   scripts/packages.sh --install ROLE...   installs them with apt-get and
#                                           drops apt's lists (the Dockerfile)
# An unknown role is an error.
set -eu
list=$(dirname "$0")/packages.txt
install=
if [ "${1:-}" = --install ]; then
    install=1
    shift
fi
[ $# -gt 0 ] || { echo "usage: packages.sh [--install] ROLE..." >&2; exit 2; }
for role in "$@"; do
    grep -q "^$role " "$list" || { echo "packages.sh: no role '$role' in $list" >&2; exit 2; }
done
pkgs=$(awk -v roles=" $* " '!/^#/ && NF > 1 && index(roles, " " $1 " ") {
        for (i = 2; i <= NF; i++) if (!seen[$i]++) out = out (out ? " " : "") $i
    }
    END { print out }' "$list")
if [ -z "$install" ]; then
    echo "$pkgs"
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086 # a list of package names
apt-get install -y --no-install-recommends $pkgs
rm -rf /var/lib/apt/lists/*
