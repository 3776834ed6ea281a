// Signed join tokens (docs/tokens.md) on real sidecars: one with an HS256
// secret and one with an ES256 public key. Tokens are minted here with
// node:crypto, as an operator's application would; the bad ones are made by
// hand.
//
// With HUDDLE_TEST_SIDECARS=N (set by cluster-tokens.test.mjs) each of the
// two is N sidecars sharing a real redis-server of its own, each new client
// connecting to the next sidecar of its group in turn, so a token is checked
// on one sidecar and the room it opens lives on all. The last tests of the
// file run only then.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { startSidecar, startSidecars, stopAll } from '../lib/stack.mjs';
import { b64, claims, mint as mintWith, now } from '../lib/tokens.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

const SECRET = 'a-test-secret-of-more-than-32-bytes-0123456789';
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'huddle-jwt-'));
const PEM = path.join(dir, 'es256.pub.pem');
fs.writeFileSync(PEM, ec.publicKey.export({ type: 'spki', format: 'pem' }));

const SIDECARS = Number(process.env.HUDDLE_TEST_SIDECARS || 1);
const hs = { name: 'hs', sidecars: [], turn: 0 }; // HS256
const es = { name: 'es', sidecars: [], turn: 0 }; // ES256
const started = [];
const clients = [];

/** Starts group's sidecars with env, on a redis-server of their own when several. */
async function startGroup(group, env) {
    const g = await startSidecars(SIDECARS, { HUDDLE_RESUME_GRACE_MS: '5000', ...env }, group.name);
    started.push(...g.procs);
    group.sidecars.push(...g.sidecars);
}

before(async () => {
    await startGroup(hs, { HUDDLE_JWT_SECRET: SECRET });
    await startGroup(es, { HUDDLE_JWT_PUBLIC_KEY: PEM });
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll(started);
    fs.rmSync(dir, { recursive: true, force: true });
});

/** A token signed with this file's secret or key (lib/tokens.mjs mint). */
const mint = (c, opts = {}) => mintWith(c, { secret: SECRET, ecKey: ec.privateKey, ...opts });

/**
 * A client on sidecar node of group (modulo its size), or else on the
 * group's next sidecar in turn. c.node tells which.
 */
async function client(group, node) {
    const i = (node ?? group.turn++) % group.sidecars.length;
    const c = await connect(group.sidecars[i].wsUrl);
    c.node = i;
    clients.push(c);
    return c;
}

async function answer(c, room, extra = {}) {
    c.send({ type: 'join', room, name: 'Typed Name', ...extra });
    return c.next((m) => ['welcome', 'knocking'].includes(m.type) || (m.type === 'error' && m.ref === 'join'));
}

test('a valid token lets its holder in under the token\'s name and role; none is bad-token', async () => {
    const room = uniqueRoom('tok');
    const c = await client(hs);
    const e = await answer(c, room);
    assert.deepEqual([e.code, e.message, e.reason], ['bad-token', 'this room needs a token', 'missing']);
    const w = await answer(c, room, { token: mint(claims(room, { role: 'host', name: 'Dr. Ada' })) });
    assert.equal(w.type, 'welcome');
    assert.deepEqual([w.self.name, w.self.role], ['Dr. Ada', 'host']);
    const g = await client(hs);
    const wg = await answer(g, room, { token: mint(claims(room, { name: 'Pat' })) });
    assert.deepEqual([wg.self.name, wg.self.role], ['Pat', 'guest']);
    const any = await client(hs);
    assert.equal((await answer(any, room, { token: mint(claims('*')) })).type, 'welcome', 'room "*" opens any room');
});

test('with tokens, a name is the token\'s: a state that renames is forbidden and applies nothing', async () => {
    const room = uniqueRoom('tok');
    const a = await client(hs);
    await answer(a, room, { token: mint(claims(room, { name: 'Ada Vouched' })) });
    const b = await client(hs);
    const wb = await answer(b, room, { token: mint(claims(room, { name: 'Bo' })) });
    a.send({ type: 'state', name: 'The CEO', audio: false });
    const e = await a.next('error');
    assert.deepEqual([e.code, e.ref], ['forbidden', 'state']);
    await b.expectNone((m) => m.type === 'peer-state', 100);
    a.send({ type: 'state', name: 'Ada Vouched', audio: false });
    const st = await b.next('peer-state');
    assert.deepEqual([st.peer.name, st.peer.audio], ['Ada Vouched', false], 'its own name is no rename');
    // And so after a resume, which needs no token.
    b.drop();
    const back = await client(hs);
    const r = await answer(back, room, { resume: wb.resume });
    assert.equal(r.type, 'welcome');
    back.send({ type: 'state', name: 'Someone Else' });
    assert.equal((await back.next('error')).code, 'forbidden');
});

test('with tokens, roles come from tokens only: a guest first in an empty room is no host', async () => {
    const room = uniqueRoom('tok');
    const g = await client(hs);
    const w = await answer(g, room, { token: mint(claims(room)) });
    assert.equal(w.self.role, 'guest');
    g.send({ type: 'lock', locked: true });
    assert.equal((await g.next('error')).code, 'forbidden');
});

test('a host\'s token walks past the lock and the password; a guest\'s knocks and needs the password', async () => {
    const room = uniqueRoom('tok');
    const h = await client(hs);
    await answer(h, room, { token: mint(claims(room, { role: 'host', name: 'Host' })) });
    h.send({ type: 'password', password: 'pw-123' });
    h.send({ type: 'lock', locked: true });
    await h.next((m) => m.type === 'access' && m.locked);
    const g = await client(hs);
    const t = mint(claims(room));
    assert.equal((await answer(g, room, { token: t })).code, 'password-required');
    assert.equal((await answer(g, room, { token: t, password: 'pw-123' })).type, 'knocking');
    const h2 = await client(hs);
    assert.equal((await answer(h2, room, { token: mint(claims(room, { role: 'host', name: 'Co-host' })) })).type, 'welcome');
});

test('refused, each with its reason: expired, not yet valid, another room, wrong secret, alg none, tampered payload, malformed, no name', async () => {
    const room = uniqueRoom('tok');
    const good = mint(claims(room));
    const [h, p] = good.split('.');
    const forged = b64({ ...claims(room), role: 'host' });
    const cases = [
        [mint(claims(room, { exp: now() - 120 })), 'expired', 'the token has expired'],
        [mint(claims(room, { nbf: now() + 120 })), 'not-yet-valid'],
        [mint(claims('another-room')), 'wrong-room'],
        [mint(claims(room), { secret: 'another-secret-of-more-than-32-bytes-xyz' }), 'signature'],
        [mint(claims(room), { alg: 'none', sig: '' }), 'algorithm'],
        [`${h}.${forged}.${good.split('.')[2]}`, 'signature'],
        [`${h}.${p}`, 'malformed'],
        [`${good}=`, 'malformed'],
        [mint(claims(room, { name: undefined })), 'claims'],
    ];
    for (const [tok, reason, text] of cases) {
        const c = await client(hs); // a join bucket of its own
        const e = await answer(c, room, { token: tok });
        assert.deepEqual([e.code, e.reason], ['bad-token', reason], tok.slice(0, 60));
        if (text) assert.equal(e.message, text);
        await c.expectNone(() => true, 50);
        assert.ok(!c.closeInfo, 'a bad token does not close the connection');
    }
    const c = await client(hs);
    const e = await answer(c, room, { token: 'x'.repeat(4097) });
    assert.deepEqual([e.code, e.message], ['bad-message', 'token is over 4096 bytes']);
});

test('an HS256 token made with the ES256 public key as secret is refused; an ES256 token is accepted', async () => {
    const room = uniqueRoom('tok');
    const pem = fs.readFileSync(PEM, 'utf8');
    const c = await client(es);
    assert.equal((await answer(c, room, { token: mint(claims(room), { secret: pem }) })).code, 'bad-token');
    const w = await answer(c, room, { token: mint(claims(room, { role: 'host' }), { alg: 'ES256' }) });
    assert.deepEqual([w.type, w.self.role], ['welcome', 'host']);
});

test('a resume takes its seat back without a token; a resume token that takes nothing back still needs one', async () => {
    const room = uniqueRoom('tok');
    const a = await client(hs);
    const w = await answer(a, room, { token: mint(claims(room)) });
    a.drop();
    const back = await client(hs);
    const r = await answer(back, room, { resume: w.resume });
    assert.deepEqual([r.type, r.id], ['welcome', w.id]);
    const other = await client(hs);
    const e = await answer(other, room, { resume: 'A'.repeat(22) });
    assert.deepEqual([e.code, e.reason], ['bad-token', 'missing']);
});

test('a bad key stops the sidecar at start with a reason', async () => {
    for (const env of [{ HUDDLE_JWT_SECRET: 'short' }, { HUDDLE_JWT_PUBLIC_KEY: path.join(dir, 'missing.pem') }]) {
        const p = await startSidecar({ env }).then(() => null, (e) => e);
        assert.ok(p instanceof Error, `started with ${JSON.stringify(env)}`);
        assert.match(p.message, /join tokens \(HUDDLE_JWT_SECRET, HUDDLE_JWT_PUBLIC_KEY\): /);
    }
});

// Across sidecars (HUDDLE_TEST_SIDECARS > 1 only).
if (SIDECARS > 1) {
    test('across sidecars: tokens are checked on each, name and role come from the token, a resume on another sidecar needs none', async () => {
        const room = uniqueRoom('tok');
        const cs = [];
        for (let i = 0; i < SIDECARS; i++) {
            const c = await client(hs, i);
            assert.equal((await answer(c, room)).code, 'bad-token');
            assert.equal((await answer(c, room, { token: mint(claims(room), { secret: 'wrong-secret-of-more-than-32-bytes-abcdef' }) })).code, 'bad-token');
            const w = await answer(c, room, { token: mint(claims(room, { name: `N${i}`, role: 'host' })) });
            assert.deepEqual([w.type, w.self.name, w.self.role], ['welcome', `N${i}`, 'host']);
            assert.deepEqual(w.peers.map((p) => [p.name, p.role]), cs.map(([, x]) => [x.self.name, 'host']));
            cs.push([c, w]);
        }
        const [c0, w0] = cs[0];
        c0.drop();
        const back = await client(hs, 1);
        const r = await answer(back, room, { resume: w0.resume });
        assert.deepEqual([r.type, r.id, r.self.role], ['welcome', w0.id, 'host']);
        const stranger = await client(hs, 2);
        const e = await answer(stranger, room, { resume: 'not-a-live-token-0123456', token: mint(claims('elsewhere')) });
        assert.deepEqual([e.code, e.reason], ['bad-token', 'wrong-room'], 'told why after Redis found no seat');
    });

    test('across sidecars: a guest token first in a room is no host; a host token on another sidecar locks, admits, and nobody is promoted after it', async () => {
        const room = uniqueRoom('tok');
        const g = await client(hs, 0);
        const wg = await answer(g, room, { token: mint(claims(room, { name: 'Gia' })) });
        assert.equal(wg.self.role, 'guest');
        g.send({ type: 'lock', locked: true });
        assert.equal((await g.next('error')).code, 'forbidden');
        const h = await client(hs, 1);
        const wh = await answer(h, room, { token: mint(claims(room, { role: 'host', name: 'Hal' })) });
        assert.equal(wh.self.role, 'host');
        assert.equal((await g.next('peer-joined')).peer.role, 'host');
        h.send({ type: 'password', password: 'pw-123' });
        await g.next((m) => m.type === 'access' && m.password);
        h.send({ type: 'lock', locked: true });
        await g.next((m) => m.type === 'access' && m.locked);
        const k = await client(hs, 2);
        const t = mint(claims(room, { name: 'Kit' }));
        assert.equal((await answer(k, room, { token: t })).code, 'password-required');
        const knock = await answer(k, room, { token: t, password: 'pw-123' });
        assert.equal(knock.type, 'knocking');
        const co = await client(hs, 0);
        const wco = await answer(co, room, { token: mint(claims(room, { role: 'host', name: 'Cora' })) });
        assert.deepEqual([wco.type, wco.self.role], ['welcome', 'host'], 'a host token walks past the lock and the password');
        await co.next((m) => m.type === 'lobby' && m.waiting.some((x) => x.id === knock.id));
        co.send({ type: 'admit', id: knock.id });
        const wk = await k.next('welcome');
        assert.deepEqual([wk.self.name, wk.self.role], ['Kit', 'guest']);
        for (const c of [h, co]) c.send({ type: 'leave' });
        for (const id of [wh.id, wco.id]) await g.next((m) => m.type === 'peer-left' && m.id === id);
        await Promise.all([g, k].map((c) => c.expectNone((m) => m.type === 'peer-state' && m.peer.role === 'host', 500)));
        g.send({ type: 'lock', locked: false });
        assert.equal((await g.next('error')).code, 'forbidden');
    });
}
