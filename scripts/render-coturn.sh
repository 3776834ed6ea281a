#!/usr/bin/env bash
# Writes OUTFILE: a turnserver.conf for coturn (Debian 12's 4.6), the one
# place for huddle's TURN settings (the Docker image and the e2e tests use
# it). Run coturn with: turnserver -c OUTFILE
# `render-coturn.sh --check-secret` only checks TURN_SECRET (exit 0 or 2):
# the Docker entrypoint asks it for the sidecars too, so that both ends
# refuse alike a secret coturn could not hold as written.
#
# Authentication is coturn's "TURN REST API": huddle-sidecar hands each
# peer a username "<expiry>:<peer id>" and base64(HMAC-SHA1(secret,
# username)) as password (HUDDLE_TURN_SECRET, docs/config.md); coturn
# checks it with the same secret. Nobody else can relay through it.
#
#   TURN_SECRET       the shared secret (required; the sidecars' HUDDLE_TURN_SECRET)
#   TURN_REALM        realm (huddle)
#   TURN_LISTEN_IP    address(es) to listen on, space-separated (default: all)
#   TURN_RELAY_IP     address(es) relayed traffic leaves from, space-separated
#                     (default: coturn picks)
#   TURN_EXTERNAL_IP  public address, or "public/private" behind NAT
#   TURN_PORT         TURN over UDP and TCP (3478)
#   TURNS_PORT        TURN over TLS and DTLS (5349), only with a certificate;
#                     0: none, even with one
#   TURN_CERT, TURN_KEY  PEM certificate chain and key: enable TLS/DTLS on
#                     TURNS_PORT; unset: no TLS and no DTLS listeners
#   TURN_MIN_PORT, TURN_MAX_PORT  relay port range (49152-65535, coturn's
#                     own); each allocation takes one port, so the range
#                     bounds how many exist at once (open it in the firewall)
#   TURN_USER_QUOTA   allocations one username may hold (128: a peer in a full
#                     mesh of 8 holds up to 7 connections x 3 URLs x its
#                     network interfaces, and its UDP check a few more)
#   TURN_TOTAL_QUOTA  allocations in all (default: the size of the range)
#   TURN_ALLOWED_PEER_IP  address(es) or ranges "a-b" allowed as peers even
#                     though private (a meeting inside one LAN); space-separated
#   TURN_ALLOW_LOOPBACK  1: allow peers on 127.0.0.0/8 and ::1 (tests only)
#   TURN_PIDFILE      pid file (default: coturn's, /var/run/turnserver.pid as root)
#
# Peers in private and special ranges are denied, so TURN cannot be used to
# reach the server's own network; relays are UDP only (no TCP relay). Logs
# go to stdout.
set -euo pipefail

die() { echo "render-coturn: $*" >&2; exit 2; }

outfile=${1:?usage: render-coturn.sh OUTFILE | --check-secret}
secret=${TURN_SECRET:-}
[ -n "$secret" ] || die "TURN_SECRET is not set"
[[ $secret =~ ^[A-Za-z0-9._~+/=-]+$ ]] || die "TURN_SECRET: use letters, digits and ._~+/=- only"
[ "$outfile" != --check-secret ] || exit 0
realm=${TURN_REALM:-huddle}
[[ $realm =~ ^[A-Za-z0-9.-]+$ ]] || die "TURN_REALM=$realm: want letters, digits, dots and dashes"

# port NAME VALUE: VALUE when it is a port number, else stop.
port() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 65535)); then die "$1=$2 is not a port"; fi
    echo "$2"
}
turn_port=$(port TURN_PORT "${TURN_PORT:-3478}")
turns_port=${TURNS_PORT:-5349}
# 0: no TLS and no DTLS listener even with a certificate (the sidecars'
# HUDDLE_TURNS_PORT=0 then offers no turns: URL; Compose passes one value to both).
[ "$turns_port" = 0 ] || turns_port=$(port TURNS_PORT "$turns_port")
min_port=$(port TURN_MIN_PORT "${TURN_MIN_PORT:-49152}")
max_port=$(port TURN_MAX_PORT "${TURN_MAX_PORT:-65535}")
((min_port <= max_port)) || die "TURN_MIN_PORT=$min_port is above TURN_MAX_PORT=$max_port"
user_quota=${TURN_USER_QUOTA:-128}
total_quota=${TURN_TOTAL_QUOTA:-$((max_port - min_port + 1))}
[[ $user_quota =~ ^[0-9]+$ && $total_quota =~ ^[0-9]+$ ]] || die "TURN_USER_QUOTA and TURN_TOTAL_QUOTA must be numbers"
if [ -n "${TURN_CERT:-}${TURN_KEY:-}" ]; then
    [ -r "${TURN_CERT:-}" ] || die "TURN_CERT=${TURN_CERT:-} is not readable"
    [ -r "${TURN_KEY:-}" ] || die "TURN_KEY=${TURN_KEY:-} is not readable"
fi

# Peers nobody outside should reach through the relay: this host's and its
# networks' private, shared, link-local and reserved ranges, written as
# coturn wants them ("first-last"). Loopback is denied by coturn itself
# unless allow-loopback-peers; multicast by no-multicast-peers.
denied_peers=(
    0.0.0.0-0.255.255.255             # "this" network
    10.0.0.0-10.255.255.255           # private
    100.64.0.0-100.127.255.255        # carrier-grade NAT
    169.254.0.0-169.254.255.255       # link-local (cloud metadata services)
    172.16.0.0-172.31.255.255         # private (Docker's networks)
    192.0.0.0-192.0.0.255             # IETF protocol assignments
    192.0.2.0-192.0.2.255             # documentation
    192.88.99.0-192.88.99.255         # 6to4 relay anycast
    192.168.0.0-192.168.255.255       # private
    198.18.0.0-198.19.255.255         # benchmarking
    198.51.100.0-198.51.100.255       # documentation
    203.0.113.0-203.0.113.255         # documentation
    240.0.0.0-255.255.255.255         # reserved, broadcast
    ::ffff:0.0.0.0-::ffff:255.255.255.255  # IPv4-mapped: the IPv4 rules again
    64:ff9b::-64:ff9b::ffff:ffff      # NAT64: IPv4 behind a translator
    64:ff9b:1::-64:ff9b:1:ffff:ffff:ffff:ffff:ffff  # local-use NAT64
    100::-100::ffff:ffff:ffff:ffff    # discard
    2001:db8::-2001:db8:ffff:ffff:ffff:ffff:ffff:ffff  # documentation
    fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff     # unique local
    fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff     # link-local
)

{
    echo "# generated by scripts/render-coturn.sh; do not edit"
    echo "listening-port=$turn_port"
    for ip in ${TURN_LISTEN_IP:-}; do echo "listening-ip=$ip"; done
    for ip in ${TURN_RELAY_IP:-}; do echo "relay-ip=$ip"; done
    [ -n "${TURN_EXTERNAL_IP:-}" ] && echo "external-ip=$TURN_EXTERNAL_IP"
    if [ -n "${TURN_CERT:-}" ] && [ "$turns_port" != 0 ]; then
        echo "tls-listening-port=$turns_port"
        echo "cert=$TURN_CERT"
        echo "pkey=$TURN_KEY"
        echo "no-tlsv1"
        echo "no-tlsv1_1"
    else
        echo "no-tls"
        echo "no-dtls"
    fi
    echo "min-port=$min_port"
    echo "max-port=$max_port"
    echo "realm=$realm"
    echo "use-auth-secret"
    echo "static-auth-secret=$secret"
    echo "fingerprint"
    echo "stale-nonce=600"
    echo "user-quota=$user_quota"
    echo "total-quota=$total_quota"
    echo "no-tcp-relay"
    echo "no-multicast-peers"
    for r in "${denied_peers[@]}"; do echo "denied-peer-ip=$r"; done
    for r in ${TURN_ALLOWED_PEER_IP:-}; do echo "allowed-peer-ip=$r"; done
    [ "${TURN_ALLOW_LOOPBACK:-0}" = 1 ] && echo "allow-loopback-peers"
    echo "no-cli"
    echo "no-rfc5780"
    echo "no-stun-backward-compatibility"
    echo "no-software-attribute"
    echo "log-file=stdout"
    echo "simple-log"
    [ -n "${TURN_PIDFILE:-}" ] && echo "pidfile=$TURN_PIDFILE"
    true
} >"$outfile.new"
chmod 600 "$outfile.new"
mv "$outfile.new" "$outfile"
