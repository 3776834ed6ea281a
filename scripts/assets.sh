#!/usr/bin/env bash
# Builds the room page's bundle into public/dist/ (served as /assets/dist/),
# with Debian 12's esbuild:
#   app.js   public/app.js and every module it imports, minified, one file
#   app.css  public/app.css, minified
#   <lang>-<hash>.js  one per catalogue but English's (public/i18n/), which
#            i18n.js loads only for a page in that language
#   *.map    source maps to the files under public/, for the browser's tools
# The page (views/room.html) and the error pages load only these; the
# modules under public/ stay the source, what node:test imports, and what
# the maps point at. `make` runs this; so does the Dockerfile.
#
#   scripts/assets.sh [OUTDIR]     (default public/dist)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/public/dist}

if ! command -v esbuild >/dev/null; then
    echo "assets: esbuild is missing: apt-get install esbuild (scripts/deps.sh run installs it)" >&2
    exit 1
fi

# Built beside the old bundle, then swapped in, so that a running nginx
# never serves half of one; chunk names carry a hash, so nothing stale stays.
tmp=$(mktemp -d "${out%/}.new.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
esbuild "$root/public/app.js" "$root/public/app.css" \
    --bundle --minify --splitting --format=esm --target=es2022 \
    --charset=utf8 --sourcemap --chunk-names='[name]-[hash]' --log-level=warning \
    --outdir="$tmp"
chmod 755 "$tmp"
rm -rf "$out.old"
if [ -e "$out" ]; then mv "$out" "$out.old"; fi
mv "$tmp" "$out"
rm -rf "$out.old"
