#!/usr/bin/env bash
# Mints an HS256 join token for huddle (docs/tokens.md) with bash and
# openssl only, and prints it:
#   scripts/mint-token.sh --secret S --room R --name N --role host|guest
#                         [--ttl SECONDS] [--sub ID]
# --secret defaults to $HUDDLE_JWT_SECRET; it must be the sidecars' secret
# (32 bytes or more). --room is a room id or '*' for any room; --ttl is the
# lifetime from now (default 3600). The room page takes the token as
# ?token=...: https://meet.example.org/R?token=$(scripts/mint-token.sh ...)
# Checks here are a convenience; the sidecar checks every claim again.
# The secret passes through openssl's command line, so other users of this
# machine may see it in the process list while it runs: mint on a host
# you trust, or in your application (docs/tokens.md shows how).
set -euo pipefail

usage() {
    echo "usage: mint-token.sh --secret S --room R --name N --role host|guest" \
        "[--ttl SECONDS] [--sub ID]" >&2
    exit 2
}
die() {
    echo "mint-token: $*" >&2
    exit 2
}

secret=${HUDDLE_JWT_SECRET:-}
room='' name='' role='' ttl=3600 sub=''
while [ $# -gt 0 ]; do
    [ $# -ge 2 ] || usage
    case $1 in
    --secret) secret=$2 ;;
    --room) room=$2 ;;
    --name) name=$2 ;;
    --role) role=$2 ;;
    --ttl) ttl=$2 ;;
    --sub) sub=$2 ;;
    *) usage ;;
    esac
    shift 2
done

# Byte lengths, whatever the locale.
bytes() {
    local LC_ALL=C
    echo ${#1}
}

[ -n "$secret" ] || die "no secret: --secret or HUDDLE_JWT_SECRET"
[ "$(bytes "$secret")" -ge 32 ] || die "the secret needs at least 32 bytes"
[[ $room == '*' || $room =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$ ]] ||
    die "--room: a room id ([A-Za-z0-9][A-Za-z0-9_-]{0,63}) or '*'"
[[ $role == host || $role == guest ]] || die "--role: host or guest"
[[ $ttl =~ ^[1-9][0-9]{0,8}$ ]] || die "--ttl: a number of seconds"
for v in name sub; do
    val=${!v}
    [[ $val != *[[:cntrl:]]* ]] || die "--$v: no control characters"
    [ "$(bytes "$val")" -le 64 ] || die "--$v: at most 64 bytes"
done
[ -n "$name" ] || die "--name: required"

# A JSON string: backslash and quote escaped (control characters are
# refused above).
json_str() {
    local s=${1//\\/\\\\}
    printf '"%s"' "${s//\"/\\\"}"
}
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

exp=$(($(date +%s) + ttl))
payload="{\"room\":$(json_str "$room"),\"name\":$(json_str "$name"),"
payload+="\"role\":\"$role\",\"exp\":$exp"
[ -z "$sub" ] || payload+=",\"sub\":$(json_str "$sub")"
payload+="}"

input=$(printf '%s' '{"alg":"HS256","typ":"JWT"}' | b64url).$(printf '%s' "$payload" | b64url)
sig=$(printf '%s' "$input" |
    openssl dgst -sha256 -mac HMAC -macopt "key:$secret" -binary | b64url)
echo "$input.$sig"
