#!/usr/bin/env bash
# The one maker of huddle's self-signed certificates (make run, the Docker
# images): `self-signed-cert.sh CERT KEY NAME...` writes an EC P-256 pair
# valid 825 days for the names (DNS names and IP addresses; the first is
# the subject's CN) to CERT (mode 0644) and KEY (0600), unless CERT exists.
# Safe when several processes ask at once (nginx and coturn starting side by
# side on one volume): one makes the pair under a lock, the others wait for
# it (10 s at most).
set -euo pipefail
cert=${1:?usage: self-signed-cert.sh CERT KEY NAME...}
key=${2:?usage: self-signed-cert.sh CERT KEY NAME...}
shift 2
[ $# -gt 0 ] || { echo "self-signed-cert: no names" >&2; exit 2; }
[ -s "$cert" ] && exit 0

mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
lock=$cert.lock
if mkdir "$lock" 2>/dev/null; then
    trap 'rmdir "$lock"' EXIT
    san=
    for n in "$@"; do
        n=${n#[}
        n=${n%]}
        if [[ $n =~ ^[0-9.]+$ || $n == *:* ]]; then n=IP:$n; else n=DNS:$n; fi
        [[ ,$san, == *",$n,"* ]] || san+=",$n"
    done
    (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -days 825 -subj "/CN=$1" -addext "subjectAltName=${san#,}" \
        -keyout "$key.tmp" -out "$cert.tmp" 2>/dev/null) ||
        { echo "self-signed-cert: openssl could not make a certificate" >&2; exit 1; }
    chmod 644 "$cert.tmp"
    mv "$key.tmp" "$key"
    mv "$cert.tmp" "$cert" # last: its presence says the pair is complete
    echo "self-signed-cert: made a self-signed certificate for $* in $cert" >&2
    exit 0
fi
for ((t = 0; t < 100; t++)); do
    [ -s "$cert" ] && exit 0
    sleep 0.1
done
echo "self-signed-cert: no certificate at $cert after 10 s (a stale $lock? remove it)" >&2
exit 1
