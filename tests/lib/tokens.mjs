// Join tokens (docs/tokens.md) minted with node:crypto, as an operator's
// application would, for the tests that run sidecars with tokens on.
import crypto from 'node:crypto';

/** base64url of bytes (a Buffer), a string, or a value's JSON. */
export const b64 = (x) => (Buffer.isBuffer(x) ? x : Buffer.from(typeof x === 'string' ? x : JSON.stringify(x))).toString('base64url');

/** Seconds since the epoch, as tokens count time. */
export const now = () => Math.floor(Date.now() / 1000);

/**
 * A token over a header and claims (or a payload's raw bytes, a Buffer), signed as alg says: HS256 with secret,
 * ES256 with ecKey (a private KeyObject), or given sig as it is (alg none,
 * a forged signature).
 */
export function mint(claims, { alg = 'HS256', secret, ecKey, header = {}, sig } = {}) {
    const head = b64({ alg, typ: 'JWT', ...header });
    const input = `${head}.${b64(claims)}`;
    let s = sig;
    if (s === undefined && alg === 'HS256') s = crypto.createHmac('sha256', secret).update(input).digest('base64url');
    if (s === undefined && alg === 'ES256') {
        s = crypto.sign('sha256', Buffer.from(input), { key: ecKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
    }
    return `${input}.${s ?? ''}`;
}

/** A guest's claims for room, valid ten minutes; extra adds or replaces claims. */
export const claims = (room, extra = {}) => ({ room, name: 'Token Name', role: 'guest', exp: now() + 600, ...extra });
