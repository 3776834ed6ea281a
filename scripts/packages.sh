#!/bin/sh
# Prints the Debian packages of the given roles from scripts/packages.txt,
# one line, each package once: `scripts/packages.sh build fcgi`.
# Used by scripts/deps.sh and by the Dockerfile; an unknown role is an error.
set -eu
list=$(dirname "$0")/packages.txt
[ $# -gt 0 ] || { echo "usage: packages.sh ROLE..." >&2; exit 2; }
for role in "$@"; do
    grep -q "^$role " "$list" || { echo "packages.sh: no role '$role' in $list" >&2; exit 2; }
done
awk -v roles=" $* " '!/^#/ && NF > 1 && index(roles, " " $1 " ") {
        for (i = 2; i <= NF; i++) if (!seen[$i]++) out = out (out ? " " : "") $i
    }
    END { print out }' "$list"
