#!/usr/bin/env bash
# Builds the room page's bundle into public/dist/ (served as /assets/dist/),
# with Debian 12's esbuild:
#   app.js   public/app.js and every module it imports, minified, one file
#   app.css  public/app.css, minified
#   <lang>.js  one per catalogue but English's (public/i18n/), which i18n.js
#            loads only for a page in that language
#   *.map    source maps to the files under public/, for the browser's tools
#   *.js.gz, *.css.gz  each script and stylesheet compressed once, with
#            zopfli (about 4 % smaller than gzip -9), which nginx's
#            gzip_static sends as they are (nginx/huddle-locations.conf)
# The page (views/room.html) and the error pages load only these; the
# modules under public/ stay the source, what node:test imports, and what
# the maps point at. `make` runs this; so does the Dockerfile.
#
# The names carry no hash: a browser may keep an app.js for an hour
# (nginx's `expires 1h`), and the catalogue it asks for must still be there
# after a new build.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/public/dist

for tool in esbuild zopfli; do
    if ! command -v $tool >/dev/null; then
        echo "assets: $tool is missing: apt-get install $tool (scripts/deps.sh run installs it)" >&2
        exit 1
    fi
done

# One build at a time (make run in one terminal, make test in another).
exec 9<"$0"
flock 9

# Built beside the old bundle, then swapped in with two renames: a page
# being served meanwhile may miss a file for that instant, never get a
# half-written one.
tmp=$(mktemp -d "$out.new.XXXXXX")
trap 'rm -rf "$tmp" "$out.old"' EXIT
esbuild "$root/public/app.js" "$root/public/app.css" \
    --bundle --minify --splitting --format=esm --target=es2022 \
    --charset=utf8 --sourcemap --chunk-names='[name]' --log-level=warning \
    --outdir="$tmp"
zopfli "$tmp"/*.js "$tmp"/*.css
chmod -R a+rX "$tmp"
rm -rf "$out.old"
if [ -e "$out" ]; then mv -T "$out" "$out.old"; fi
mv -T "$tmp" "$out"
