// Safety codes (public/safety.js): the same code on both ends of a link,
// whatever the order, a different one for any other pair of certificates;
// fingerprints read from a connection's descriptions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalFingerprint, fingerprintFromSdp, linkFingerprints, safetyCode } from '../../public/safety.js';

// Two certificates of a real Chromium link.
const F1 = '09:D5:33:91:13:E1:2D:32:9C:96:4F:DF:67:56:77:D7:BC:E7:87:78:9A:DC:A1:D7:EA:E2:6E:8F:98:2D:2C:6D';
const F2 = 'F8:F9:9A:51:0E:11:02:22:53:26:D9:A4:99:44:69:95:A0:8C:8E:6D:C1:F7:14:5A:79:2C:03:17:98:44:30:D1';
const F3 = 'F8:F9:9A:51:0E:11:02:22:53:26:D9:A4:99:44:69:95:A0:8C:8E:6D:C1:F7:14:5A:79:2C:03:17:98:44:30:D2';

/** An SDP as Chromium writes one, with fingerprint fp. */
const sdpWith = (fp) => `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=group:BUNDLE 0 1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 ${fp}\r\na=setup:actpass\r\n`;

/** One end of a connected link: its own certificate is local, the other end's remote. */
const link = (local, remote) => ({ currentLocalDescription: { type: 'offer', sdp: sdpWith(local) }, currentRemoteDescription: { type: 'answer', sdp: sdpWith(remote) } });

test('fingerprints are normalised and anything else is refused', () => {
    assert.equal(normalFingerprint('SHA-256', F1.toLowerCase()), `sha-256 ${F1}`);
    assert.equal(normalFingerprint(' sha-1 ', ' 01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14 '), 'sha-1 01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14');
    assert.equal(normalFingerprint('sha-256', '09:D5'), null, 'too short');
    assert.equal(normalFingerprint('sha-256', F1.replace(/:/g, '')), null, 'no colons');
    assert.equal(normalFingerprint('sha-256', `${F1}:ZZ`), null);
    assert.equal(normalFingerprint('', F1), null);
    assert.equal(normalFingerprint('sha 256', F1), null);
    assert.equal(normalFingerprint(undefined, undefined), null);
});

test('an SDP gives its first fingerprint line; none gives null', () => {
    const sdp = `v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\na=group:BUNDLE 0\r\na=fingerprint:sha-256 ${F1.toLowerCase()}\r\na=fingerprint:sha-256 ${F2}\r\na=setup:actpass\r\n`;
    assert.equal(fingerprintFromSdp(sdp), `sha-256 ${F1}`);
    assert.equal(fingerprintFromSdp('v=0\r\na=setup:actpass\r\n'), null);
    assert.equal(fingerprintFromSdp(null), null);
});

test('a link gives the fingerprints of the descriptions in force, or null without both', () => {
    assert.deepEqual(linkFingerprints(link(F2, F1)), { local: `sha-256 ${F2}`, remote: `sha-256 ${F1}` });
    assert.equal(linkFingerprints({ currentLocalDescription: link(F2, F1).currentLocalDescription, currentRemoteDescription: null }), null);
    assert.equal(linkFingerprints({ currentLocalDescription: { type: 'offer', sdp: 'v=0\r\n' }, currentRemoteDescription: link(F2, F1).currentRemoteDescription }), null);
    assert.equal(linkFingerprints({}), null);
});

test('a remote description still pending that names another certificate gives no fingerprints until it is settled', () => {
    // Someone in the middle answers with a provisional answer of their own.
    const pranswer = { ...link(F2, F1), pendingRemoteDescription: { type: 'pranswer', sdp: sdpWith(F3) } };
    assert.equal(linkFingerprints(pranswer), null);
    // An ICE restart's offer, pending, names the same certificate.
    const restart = { ...link(F2, F1), pendingRemoteDescription: { type: 'offer', sdp: sdpWith(F1) } };
    assert.deepEqual(linkFingerprints(restart), { local: `sha-256 ${F2}`, remote: `sha-256 ${F1}` });
});

test('both ends of a link compute the same code; another certificate gives another code', async () => {
    const a = linkFingerprints(link(F2, F1));
    const b = linkFingerprints(link(F1, F2));
    const codeA = await safetyCode(a.local, a.remote);
    const codeB = await safetyCode(b.local, b.remote);
    assert.match(codeA, /^\d{4} \d{4} \d{4} \d{4} \d{4}$/);
    assert.equal(codeA, codeB);
    // Someone in the middle shows each side a certificate of its own.
    const mitm = await safetyCode(`sha-256 ${F1}`, `sha-256 ${F3}`);
    assert.notEqual(mitm, codeA);
    assert.notEqual(await safetyCode(`sha-256 ${F2}`, `sha-256 ${F3}`), codeA);
    // The exact digits, as any other implementation must give them:
    // printf 'huddle safety code v1\nsha-256 <F1>\nsha-256 <F2>' | sha256sum
    // = ffd7eeb6 429afd6c ...; 0xffd7eeb6 % 10000 = 1430, 0x429afd6c % 10000 = 3676.
    assert.equal(codeA, '1430 3676 8370 7627 5930');
});
