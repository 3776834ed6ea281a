// Safety codes: a short number the two people of a link can compare (read
// aloud, or shown side by side) to know that nobody sits between them.
//
// Each end of a WebRTC link proves its DTLS certificate, and each checks
// the other's against the fingerprint the signalling carried. A signalling
// server or proxy that wanted to listen in would have to put its own
// certificate on each side, so the two sides would see different pairs of
// fingerprints. Both sides hash the pair they actually see, in the same
// order, into 20 digits: the same code on both screens means the same two
// certificates, end to end.
//
// Pure functions, no DOM: the page feeds them a connection's stats or its
// descriptions.

const LABEL = 'huddle safety code v1';
const GROUPS = 5;

/**
 * A fingerprint as "<algorithm> <HEX:HEX:...>" with the algorithm in lower
 * case and the hex upper case, whatever the source wrote; null when alg
 * or hex is not a fingerprint.
 */
export function normalFingerprint(alg, hex) {
    const a = String(alg || '').trim().toLowerCase();
    const h = String(hex || '').trim().toUpperCase();
    if (!/^[a-z0-9-]{1,16}$/.test(a) || !/^[0-9A-F]{2}(:[0-9A-F]{2}){15,63}$/.test(h)) return null;
    return `${a} ${h}`;
}

/** The first `a=fingerprint:` of an SDP, normalised; null when it has none. */
export function fingerprintFromSdp(sdp) {
    const m = /^a=fingerprint:(\S+) (\S+)\s*$/m.exec(String(sdp || ''));
    return m ? normalFingerprint(m[1], m[2]) : null;
}

/**
 * The two fingerprints of a connection's DTLS transport from its stats (a
 * Map or any iterable of RTCStats as getStats() gives): { local, remote },
 * or null until DTLS has set up the certificates.
 */
export function fingerprintsFromStats(report) {
    const byId = new Map();
    for (const s of report.values()) byId.set(s.id, s);
    for (const t of byId.values()) {
        if (t.type !== 'transport' || !t.localCertificateId || !t.remoteCertificateId) continue;
        const l = byId.get(t.localCertificateId);
        const r = byId.get(t.remoteCertificateId);
        const local = l && normalFingerprint(l.fingerprintAlgorithm, l.fingerprint);
        const remote = r && normalFingerprint(r.fingerprintAlgorithm, r.fingerprint);
        if (local && remote) return { local, remote };
    }
    return null;
}

/**
 * The safety code of a link whose ends hold fingerprints a and b (either
 * order gives the same code): five groups of four digits, "0123 4567 ...".
 * subtle: a WebCrypto SubtleCrypto (the browser's by default).
 */
export async function safetyCode(a, b, subtle = globalThis.crypto.subtle) {
    const pair = [a, b].sort();
    const bytes = new TextEncoder().encode(`${LABEL}\n${pair[0]}\n${pair[1]}`);
    const hash = new DataView(await subtle.digest('SHA-256', bytes));
    const groups = [];
    // Each group: 32 bits of the hash modulo 10^4 (the bias, 10^4 / 2^32, is nil).
    for (let i = 0; i < GROUPS; i++) groups.push(String(hash.getUint32(4 * i) % 10000).padStart(4, '0'));
    return groups.join(' ');
}
