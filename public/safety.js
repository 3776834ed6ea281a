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
// Pure functions, no DOM: the page feeds them a connection's descriptions.

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
 * The two fingerprints of a connected link, { local, remote }, from the
 * descriptions in force: the local one names this end's own certificate,
 * the remote one the certificate the other end proved it holds (DTLS checks
 * the certificate against that fingerprint and fails the connection
 * otherwise). null when either description has none, or while a remote
 * description still pending names another certificate. pc: an
 * RTCPeerConnection, or anything with currentLocalDescription,
 * currentRemoteDescription and pendingRemoteDescription; read it only once
 * it is connected, and only if it was given offers and answers alone: a
 * provisional answer ("pranswer") sets the fingerprint DTLS checks but is
 * only pending, so a party in the middle could have both ends show the
 * old code (mesh.js drops any other type).
 *
 * Not from getStats(): Chromium keeps the certificate stats of the first
 * report asked for and, when that was while DTLS was still connecting,
 * reports the transport without its remote certificate for as long as the
 * connection lives (Chromium 156: one end or both of 23 links in 40 whose
 * stats were read without a pause while they connected). The page samples
 * every link's stats each second, connecting ones too, so now and then a
 * link would never show a code.
 */
export function linkFingerprints(pc) {
    const local = fingerprintFromSdp(pc.currentLocalDescription?.sdp);
    const remote = fingerprintFromSdp(pc.currentRemoteDescription?.sdp);
    // A description still pending that names another certificate: no code
    // until it is settled (the page takes offers and answers only, so DTLS
    // has not switched to it; this keeps the code honest if it ever did).
    const pending = pc.pendingRemoteDescription ? fingerprintFromSdp(pc.pendingRemoteDescription.sdp) : remote;
    return local && remote && pending === remote ? { local, remote } : null;
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
