// Who may enter a room and what its hosts may do (docs/access.md): roles
// and their hand-over, every host action and its refusal for a guest, the
// lobby of a locked room, room passwords and their rate limits, removal
// with its ban, mute requests, ending a meeting. One real sidecar serves
// the file; each test uses rooms of its own. Clients that must look like
// different people send X-Forwarded-For (the sidecar trusts loopback as
// its proxy, as it trusts nginx).
//
// With HUDDLE_TEST_SIDECARS=N (set by cluster-access.test.mjs) the same
// tests run against N sidecars sharing a real redis-server: each new client
// connects to the next sidecar in turn, and a meeting seats member i on
// sidecar i, so a host, its guests and those knocking sit on different
// sidecars. The tests at the end of the file run only then: each puts the
// two sides of a host action, or two hosts racing, on different sidecars.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSidecars, stopAll } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

const GRACE_MS = 1500;
const RETURN_S = 3;
const LOBBY_MAX = 3;
const HOST_ACTIONS = [
    { type: 'role', to: 'x'.repeat(16), role: 'host' },
    { type: 'kick', to: 'x'.repeat(16) },
    { type: 'mute' },
    { type: 'end' },
    { type: 'lock', locked: true },
    { type: 'password', password: 'pw' },
    { type: 'admit', id: 'x'.repeat(16) },
    { type: 'deny', id: 'x'.repeat(16) },
];

const SIDECARS = Number(process.env.HUDDLE_TEST_SIDECARS || 1);
let sidecars = [];
let redis = null;
let turn = 0;
const clients = [];
let addrSeq = 0;

before(async () => {
    const env = {
        HUDDLE_RESUME_GRACE_MS: String(GRACE_MS),
        HUDDLE_KNOCK_TIMEOUT_S: '3', // long enough for a test's knock to be answered on a loaded machine
        HUDDLE_LOBBY_MAX: String(LOBBY_MAX),
        HUDDLE_RETURN_S: String(RETURN_S),
        HUDDLE_PASSWORD_TRIES: '3',
        HUDDLE_ROOM_PASSWORD_TRIES: '5',
    };
    ({ sidecars, redis } = await startSidecars(SIDECARS, env));
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll(redis ? [redis, ...sidecars] : sidecars);
});

/**
 * A client from an address of its own (or addr), on sidecar node (taken
 * modulo the number of sidecars: on one sidecar every node is that one) or
 * else on the next sidecar in turn. c.node tells which.
 */
async function client({ addr = `10.9.${addrSeq >> 8}.${++addrSeq & 255}`, node } = {}) {
    const i = (node ?? turn++) % sidecars.length;
    const c = await connect(sidecars[i].wsUrl, { headers: { 'X-Forwarded-For': addr } });
    c.addr = addr;
    c.node = i;
    clients.push(c);
    return c;
}

/**
 * A room with a host and n - 1 guests, all seeing each other. Member i sits
 * on sidecar i; the next client in turn after it sits on sidecar 1, so the
 * first one to come after the host is never on the host's sidecar.
 */
async function meeting(n, room = uniqueRoom('acc')) {
    const cs = [];
    for (let i = 0; i < n; i++) {
        const c = await client({ node: i });
        await c.join(room, i === 0 ? 'Host' : `Guest${i}`);
        cs.push(c);
    }
    turn = 1;
    // Member i hears of each one who came after it.
    for (const [i, c] of cs.entries()) {
        for (const later of cs.slice(i + 1)) await c.next((m) => m.type === 'peer-joined' && m.peer.id === later.id);
    }
    for (const c of cs) c.buffer.length = 0;
    return { room, cs };
}

/**
 * Takes c's lobby messages, in order, until one lists exactly the knock
 * ids given (in any order); returns it. Earlier lists are steps on the way.
 */
async function lobbyIs(c, ids) {
    const want = [...ids].sort();
    for (;;) {
        const l = await c.next('lobby');
        if (JSON.stringify(l.waiting.map((w) => w.id).sort()) === JSON.stringify(want)) return l;
    }
}

/**
 * The first message matching pred on any of cs (buffered or yet to come),
 * taken out of its client's buffer: {c, m}. Rejects after ms.
 */
function nextOnAny(cs, pred, ms = 5000) {
    return new Promise((resolve, reject) => {
        const listeners = [];
        let timer = null;
        const finish = (fn, v) => {
            clearTimeout(timer);
            for (const [c, f] of listeners) c.ws.off('message', f);
            fn(v);
        };
        const look = () => {
            for (const c of cs) {
                const i = c.buffer.findIndex(pred);
                if (i >= 0) {
                    finish(resolve, { c, m: c.buffer.splice(i, 1)[0] });
                    return;
                }
            }
        };
        timer = setTimeout(() => finish(reject, new Error(`no matching message on any of ${cs.length} clients within ${ms} ms`)), ms);
        // Client's own listener runs first and buffers the message.
        for (const c of cs) {
            c.ws.on('message', look);
            listeners.push([c, look]);
        }
        look();
    });
}

/** The answer to a join: welcome, knocking or an error about join. */
async function tryJoin(c, room, name, extra = {}) {
    c.send({ type: 'join', room, name, ...extra });
    return c.next((m) => ['welcome', 'knocking'].includes(m.type) || (m.type === 'error' && m.ref === 'join'));
}

test('the first member of an empty room is its host; roles are in every peer object and cannot be forged', async () => {
    const room = uniqueRoom('acc');
    const a = await client();
    const wa = await a.join(room, 'Ann', { role: 'guest' });
    assert.equal(wa.self.role, 'host');
    const b = await client();
    const wb = await b.join(room, 'Bob', { role: 'host' });
    assert.equal(wb.self.role, 'guest');
    assert.equal(wb.peers[0].role, 'host');
    assert.equal((await a.next('peer-joined')).peer.role, 'guest');
    b.send({ type: 'state', hand: true, role: 'host' });
    assert.equal((await a.next('peer-state')).peer.role, 'guest');
    assert.deepEqual(wb.access, { locked: false, password: false });
});

test('a guest gets forbidden for every host action, and they count toward the error close', async () => {
    const { cs: [, g] } = await meeting(2);
    for (const m of HOST_ACTIONS) {
        g.send(m);
        const e = await g.next('error');
        assert.equal(e.code, 'forbidden', JSON.stringify(m));
        assert.equal(e.ref, m.type);
    }
    for (let i = 0; i < 2; i++) g.send({ type: 'end' });
    assert.equal((await g.closed()).code, 1008);
});

test('a host makes a guest host and back; the last host cannot step down', async () => {
    const { cs: [h, g, o] } = await meeting(3);
    h.send({ type: 'role', to: h.id, role: 'guest' });
    assert.equal((await h.next('error')).code, 'forbidden');
    h.send({ type: 'role', to: g.id, role: 'host' });
    for (const c of [h, g, o]) {
        const m = await c.next('peer-state');
        assert.equal(m.peer.id, g.id);
        assert.equal(m.peer.role, 'host');
    }
    g.send({ type: 'role', to: h.id, role: 'guest' });
    assert.equal((await o.next('peer-state')).peer.role, 'guest');
    h.send({ type: 'lock', locked: true });
    assert.equal((await h.next('error')).code, 'forbidden');
    h.send({ type: 'role', to: 'nobody-here-1234', role: 'host' });
    assert.equal((await h.next('error')).code, 'forbidden');
    g.send({ type: 'role', to: 'nobody-here-1234', role: 'bogus' });
    assert.equal((await g.next('error')).code, 'bad-message');
    g.send({ type: 'role', to: 'nobody-here-1234', role: 'host' });
    assert.equal((await g.next('error')).code, 'no-such-peer');
});

test('when the last host leaves or its grace ends, the member present longest becomes host', async () => {
    const { cs: [h, g1, g2] } = await meeting(3);
    h.send({ type: 'leave' });
    // First the leave, then the hand-over it caused (also on another sidecar).
    const order = [];
    const m = await g2.next((x) => {
        if (x.type === 'peer-left' || x.type === 'peer-state') order.push(x.type);
        return x.type === 'peer-state';
    });
    assert.deepEqual(order, ['peer-left', 'peer-state']);
    assert.deepEqual([m.peer.id, m.peer.role], [g1.id, 'host']);
    g1.drop();
    // The others hear it is away; its role stays with it through the grace.
    const away = await g2.next('peer-state');
    assert.deepEqual([away.peer.id, away.peer.role, away.peer.away], [g1.id, 'host', true]);
    await g2.expectNone('peer-state', GRACE_MS / 2);
    const left = await g2.next((x) => x.type === 'peer-left' && x.id === g1.id, GRACE_MS + 3000);
    assert.deepEqual([left.id, left.reason], [g1.id, 'timeout']);
    const p = await g2.next('peer-state');
    assert.deepEqual([p.peer.id, p.peer.role], [g2.id, 'host']);
});

test('kick: the member is told, closed with 1000, its token dies and its address is banned; the others see kicked by the host', async () => {
    const { room, cs: [h, g, o] } = await meeting(3);
    const token = g.welcome.resume;
    h.send({ type: 'kick', to: h.id });
    assert.equal((await h.next('error')).code, 'forbidden');
    h.send({ type: 'kick', to: g.id });
    assert.deepEqual(await g.next('ended'), { type: 'ended', reason: 'removed', by: h.id });
    assert.deepEqual(await g.closed(), { code: 1000, reason: 'removed' });
    for (const c of [h, o]) assert.deepEqual(await c.next('peer-left'), { type: 'peer-left', id: g.id, reason: 'kicked', by: h.id });
    const back = await client({ addr: g.addr, node: g.node + 1 });
    const e = await tryJoin(back, room, 'Again', { resume: token });
    assert.equal(e.code, 'banned');
    const other = await client();
    const w = await tryJoin(other, room, 'Elsewhere', { resume: token });
    assert.equal(w.type, 'welcome');
    assert.notEqual(w.id, g.id, 'a removed member\'s token must not take its seat back');
    const elsewhere = await client({ addr: g.addr });
    assert.equal((await tryJoin(elsewhere, uniqueRoom('acc'), 'Free')).type, 'welcome', 'the ban is for that room only');
});

test('mute: one member or everyone but the host gets a mute request naming the host', async () => {
    const { cs: [h, a, b] } = await meeting(3);
    h.send({ type: 'mute', to: a.id });
    assert.deepEqual(await a.next('mute-request'), { type: 'mute-request', by: h.id });
    await b.expectNone('mute-request');
    h.send({ type: 'mute' });
    for (const c of [a, b]) assert.equal((await c.next('mute-request')).by, h.id);
    await h.expectNone('mute-request');
});

test('end: everyone is told and closed, those knocking are denied, and the room starts afresh', async () => {
    const { room, cs } = await meeting(3);
    const [h] = cs;
    h.send({ type: 'chat', text: 'before the end' });
    h.send({ type: 'lock', locked: true });
    await h.next('access');
    const k = await client();
    assert.equal((await tryJoin(k, room, 'Knocker')).type, 'knocking');
    h.send({ type: 'end' });
    for (const c of cs) {
        assert.deepEqual(await c.next('ended'), { type: 'ended', reason: 'ended', by: h.id });
        assert.deepEqual(await c.closed(), { code: 1000, reason: 'meeting ended' });
    }
    const ke = await k.next('error');
    assert.deepEqual([ke.code, ke.ref, ke.reason], ['denied', 'join', 'ended']);
    const n = await client();
    const w = await tryJoin(n, room, 'Next');
    assert.equal(w.type, 'welcome');
    assert.deepEqual([w.chat, w.peers, w.self.role, w.access.locked], [[], [], 'host', false]);
});

test('lock: a newcomer knocks, every host sees the lobby, admit seats it, deny and timeout answer it, a resume walks in', async () => {
    const { room, cs: [h, g] } = await meeting(2);
    h.send({ type: 'role', to: g.id, role: 'host' });
    h.send({ type: 'lock', locked: true });
    for (const c of [h, g]) assert.deepEqual((await c.next('access')), { type: 'access', locked: true, password: false });
    const k = await client();
    const knocking = await tryJoin(k, room, 'Cy', { video: true });
    assert.equal(knocking.type, 'knocking');
    for (const c of [h, g]) {
        const l = await c.next('lobby');
        assert.equal(l.waiting.length, 1);
        assert.deepEqual([l.waiting[0].id, l.waiting[0].name], [knocking.id, 'Cy']);
        assert.equal(typeof l.waiting[0].since, 'number');
    }
    k.send({ type: 'chat', text: 'let me in' });
    assert.equal((await k.next('error')).code, 'not-joined');
    k.send({ type: 'join', room, name: 'Cy' });
    assert.equal((await k.next('error')).code, 'already-joined');
    g.send({ type: 'admit', id: knocking.id });
    const w = await k.next('welcome');
    assert.equal(w.self.role, 'guest');
    assert.equal(w.self.video, true);
    assert.equal(w.access.locked, true);
    assert.equal((await h.next('peer-joined')).peer.id, w.id);
    assert.deepEqual((await h.next('lobby')).waiting, []);
    g.send({ type: 'admit', id: knocking.id });
    assert.equal((await g.next('error')).code, 'no-such-peer');

    const d = await client();
    const dk = await tryJoin(d, room, 'Dee');
    await h.next('lobby');
    h.send({ type: 'deny', id: dk.id });
    const e = await d.next('error');
    assert.deepEqual([e.code, e.ref, e.reason], ['denied', 'join', 'host']);
    assert.equal((await tryJoin(d, room, 'Dee')).type, 'knocking', 'denied, it may knock again');
    d.send({ type: 'leave' });
    await h.next((m) => m.type === 'lobby' && m.waiting.length === 1);
    assert.deepEqual((await h.next('lobby')).waiting, []);

    const t = await client();
    assert.equal((await tryJoin(t, room, 'Slow')).type, 'knocking');
    const te = await t.next('error', 8000);
    assert.deepEqual([te.code, te.ref], ['knock-timeout', 'join']);
    assert.ok(!t.closeInfo, 'a knock that timed out is not closed');

    const token = w.resume;
    k.drop();
    const back = await client({ addr: k.addr, node: k.node + 1 });
    const r = await tryJoin(back, room, 'Cy', { resume: token });
    assert.deepEqual([r.type, r.id], ['welcome', w.id]);
});

test('a knocker whose connection dropped unseen comes back with the knock\'s token: the new connection takes its place, the hosts see no new knock, the old one is told replaced, an older resume is refused; admitted, the token is the seat\'s', async () => {
    const { room, cs } = await meeting(2);
    await twoHostsLocked(cs, cs);
    // On one sidecar each; across sidecars the knock moves between them.
    const old = await client({ node: 1 });
    const knock = await tryJoin(old, room, 'Kay');
    assert.equal(knock.type, 'knocking');
    assert.match(knock.token, /^[A-Za-z0-9_-]{22}$/);
    const [first] = await Promise.all(cs.map((c) => lobbyIs(c, [knock.id])));

    const next = await client({ addr: old.addr, node: 0 });
    const again = await tryJoin(next, room, 'Kay', { resume: knock.token, attempt: 2 });
    assert.deepEqual([again.type, again.id, again.token], ['knocking', knock.id, knock.token]);
    const told = await old.next('peer-left');
    assert.deepEqual([told.id, told.reason], [knock.id, 'replaced']);
    assert.deepEqual(await old.closed(), { code: 1000, reason: 'replaced' });
    // A resume numbered no higher, read late (a stalled server): refused
    // as the older connection it is; the knock stays where it is.
    const late = await client({ addr: old.addr, node: 1 });
    late.send({ type: 'join', room, name: 'Kay', resume: knock.token, attempt: 1 });
    assert.deepEqual(await late.closed(), { code: 1000, reason: 'replaced' });
    await Promise.all(cs.map((c) => c.expectNone('lobby', 500)));
    assert.ok(!next.closeInfo);

    cs[1].send({ type: 'admit', id: knock.id });
    const w = await next.next('welcome');
    assert.deepEqual([w.id, w.resume], [knock.id, knock.token]);
    for (const c of cs) await lobbyIs(c, []);
    assert.equal(first.waiting[0].name, 'Kay');
    // The token is the seat's: it takes the seat back.
    next.drop();
    const back = await client({ addr: old.addr, node: 1 });
    const r = await tryJoin(back, room, 'Kay', { resume: knock.token, attempt: 3 });
    assert.deepEqual([r.type, r.id], ['welcome', knock.id]);
});

test('the lobby holds HUDDLE_LOBBY_MAX knocks; unlocking lets everyone waiting in', async () => {
    const { room, cs: [h] } = await meeting(1);
    h.send({ type: 'lock', locked: true });
    await h.next('access');
    const ks = [];
    for (let i = 0; i < 3; i++) {
        const k = await client();
        assert.equal((await tryJoin(k, room, `K${i}`)).type, 'knocking');
        ks.push(k);
    }
    const extra = await client();
    const full = await tryJoin(extra, room, 'Extra');
    assert.deepEqual([full.code, full.message], ['room-full', 'the lobby is full']);
    h.send({ type: 'lock', locked: false });
    for (const k of ks) assert.equal((await k.next('welcome')).access.locked, false);
});

test('password: required, wrong, right; wrong tries are limited per client address in a room and per room; a resume needs none', async () => {
    const { room, cs: [h, g] } = await meeting(2);
    h.send({ type: 'password', password: 'blue-falcon' });
    for (const c of [h, g]) assert.deepEqual(await c.next('access'), { type: 'access', locked: false, password: true });
    const a = await client();
    assert.equal((await tryJoin(a, room, 'A')).code, 'password-required');
    assert.equal((await tryJoin(a, room, 'A', { password: 'nope' })).code, 'wrong-password');
    const w = await tryJoin(a, room, 'A', { password: 'blue-falcon' });
    assert.equal(w.type, 'welcome');
    assert.equal(w.access.password, true);

    const b = await client();
    for (let i = 0; i < 3; i++) assert.equal((await tryJoin(b, room, 'B', { password: `guess${i}` })).code, 'wrong-password');
    const limited = await tryJoin(b, room, 'B', { password: 'blue-falcon' });
    assert.deepEqual([limited.code, limited.reason], ['rate-limited', 'passwords'], 'past its tries even the right one waits');
    // The tries are the address' in that room, not the connection's:
    // closed, and a new connection from there (on that sidecar) is still
    // past them; in another room the address has its own.
    await b.close();
    const b2 = await client({ addr: b.addr, node: b.node });
    assert.equal((await tryJoin(b2, room, 'B', { password: 'guess3' })).reason, 'passwords', 'a new connection starts no tries afresh');
    const { room: other, cs: [oh] } = await meeting(1);
    oh.send({ type: 'password', password: 'red-owl' });
    await oh.next('access');
    const b3 = await client({ addr: b.addr, node: b.node });
    assert.equal((await tryJoin(b3, other, 'B', { password: 'guess' })).code, 'wrong-password', 'another room counts apart');
    const c = await client();
    assert.equal((await tryJoin(c, room, 'C', { password: 'guess' })).code, 'wrong-password');
    for (const x of [c, await client()]) {
        const e = await tryJoin(x, room, 'D', { password: 'blue-falcon' });
        assert.deepEqual([e.code, e.reason], ['rate-limited', 'room-passwords'], 'the room has had its 5 wrong tries');
    }

    const token = g.welcome.resume;
    g.drop();
    const back = await client({ addr: g.addr, node: g.node + 1 });
    assert.equal((await tryJoin(back, room, 'G', { resume: token })).id, g.id);
    h.send({ type: 'password', password: '' });
    assert.deepEqual(await h.next('access'), { type: 'access', locked: false, password: false });
    h.send({ type: 'password', password: 'x'.repeat(129) });
    assert.equal((await h.next('error')).code, 'bad-message');
    const e = await client();
    assert.equal((await tryJoin(e, room, 'E', { password: '' })).code, 'bad-message');
});

test('when the last member leaves, those knocking are told everyone left, and the lock and the password go with it', async () => {
    const { room, cs: [h] } = await meeting(1);
    h.send({ type: 'lock', locked: true });
    h.send({ type: 'password', password: 'secret' });
    await h.next((m) => m.type === 'access' && m.password);
    const k = await client({ node: h.node + 1 }); // another sidecar, if any
    const knock = await tryJoin(k, room, 'Kim', { password: 'secret' });
    assert.equal(knock.type, 'knocking');
    await lobbyIs(h, [knock.id]);
    h.send({ type: 'leave' });
    const e = await k.next('error');
    assert.deepEqual([e.code, e.ref, e.reason], ['denied', 'join', 'empty']);
    // On h's sidecar: its leave reaches Redis before this join does (one
    // connection to Redis, in order); another sidecar's join could pass it.
    const n = await client({ node: h.node });
    const w = await tryJoin(n, room, 'Next');
    assert.equal(w.type, 'welcome');
    assert.deepEqual(w.access, { locked: false, password: false });
});

test('a member who left comes back with its last token for HUDDLE_RETURN_S: past the password and the lock, with its role, once', async () => {
    const { room, cs: [h, g, o] } = await meeting(3);
    h.send({ type: 'password', password: 'secret' });
    h.send({ type: 'lock', locked: true });
    await g.next((m) => m.type === 'access' && m.locked && m.password);
    // A guest's page is reloaded: it leaves (a clean close is a leave),
    // then a new connection, on another sidecar, joins with the last token.
    const guestToken = o.welcome.resume;
    await o.close(1001);
    assert.deepEqual(await h.next('peer-left'), { type: 'peer-left', id: o.id, reason: 'left' });
    const og = await client({ addr: o.addr, node: o.node + 1 });
    const ow = await tryJoin(og, room, 'Guest2', { resume: guestToken });
    assert.equal(ow.type, 'welcome', 'no knock, no password');
    assert.notEqual(ow.id, o.id, 'a new seat: the old one ended with the leave');
    assert.equal(ow.self.role, 'guest');
    assert.deepEqual(ow.access, { locked: true, password: true });
    assert.equal((await h.next('peer-joined')).peer.id, ow.id);
    // The host's page is reloaded: someone else is host meanwhile, and the
    // host comes back a host.
    const hostToken = h.welcome.resume;
    h.send({ type: 'leave' });
    const ps = await g.next('peer-state');
    assert.deepEqual([ps.peer.id, ps.peer.role], [g.id, 'host']);
    const hb = await client({ addr: h.addr, node: h.node + 1 });
    const hw = await tryJoin(hb, room, 'Host', { resume: hostToken });
    assert.equal(hw.type, 'welcome');
    assert.equal(hw.self.role, 'host');
    const joined = await g.next((m) => m.type === 'peer-joined' && m.peer.id === hw.id);
    assert.equal(joined.peer.role, 'host');
    hb.send({ type: 'lock', locked: false });
    assert.deepEqual(await g.next('access'), { type: 'access', locked: false, password: true });
    // A ticket is used once: the same token again is a newcomer.
    const twice = await client();
    assert.equal((await tryJoin(twice, room, 'Copy', { resume: hostToken })).code, 'password-required');
    // Not after HUDDLE_RETURN_S.
    const lateToken = ow.resume;
    og.send({ type: 'leave' });
    await g.next((m) => m.type === 'peer-left' && m.id === ow.id);
    await new Promise((r) => setTimeout(r, RETURN_S * 1000 + 300));
    const after = await client({ addr: og.addr });
    assert.equal((await tryJoin(after, room, 'Guest2', { resume: lateToken })).code, 'password-required');
});

test('a return ticket passes a ban on its address (a colleague of the removed), and a room-full answer does not use it up', async () => {
    const { room, cs: [h, g] } = await meeting(2);
    h.send({ type: 'password', password: 'pw' });
    await g.next((m) => m.type === 'access' && m.password);
    // Ron, at Gil's address (one office), is removed: the address is banned.
    const ron = await client({ addr: g.addr });
    await ron.join(room, 'Ron', { password: 'pw' });
    h.send({ type: 'kick', to: ron.id });
    await ron.closed();
    const fresh = await client({ addr: g.addr });
    assert.equal((await tryJoin(fresh, room, 'Newcomer', { password: 'pw' })).code, 'banned');
    // Gil reloads: his ticket takes him past the ban.
    const token = g.welcome.resume;
    g.send({ type: 'leave' });
    await h.next((m) => m.type === 'peer-left' && m.id === g.id);
    // Meanwhile the room fills up (HUDDLE_MAX_PEERS, 8 by default).
    const fillers = [];
    for (let i = 0; i < 7; i++) {
        const f = await client();
        await f.join(room, `Filler${i}`, { password: 'pw' });
        fillers.push(f);
    }
    const back = await client({ addr: g.addr });
    assert.equal((await tryJoin(back, room, 'Gil', { resume: token })).code, 'room-full');
    fillers[0].send({ type: 'leave' });
    await h.next((m) => m.type === 'peer-left' && m.id === fillers[0].id);
    const again = await client({ addr: g.addr });
    const w = await tryJoin(again, room, 'Gil', { resume: token });
    assert.equal(w.type, 'welcome', 'the ticket outlived the room-full answer, and passed the ban');
});

test('a lone member who closes with 4001 ("back soon") keeps the seat for the grace: the room keeps its lock, a knock waits for the member back', async () => {
    const { room, cs: [h] } = await meeting(1);
    h.send({ type: 'password', password: 'pw' });
    h.send({ type: 'lock', locked: true });
    await h.next((m) => m.type === 'access' && m.locked && m.password);
    const token = h.welcome.resume;
    await h.close(4001, 'back soon');
    const k = await client();
    assert.equal((await tryJoin(k, room, 'Kim')).code, 'password-required');
    const knock = await tryJoin(k, room, 'Kim', { password: 'pw' });
    assert.equal(knock.type, 'knocking');
    // The page comes back: the same seat, a host, and Kim waiting.
    const hb = await client({ addr: h.addr, node: h.node + 1 });
    const w = await tryJoin(hb, room, 'Host', { resume: token });
    assert.deepEqual([w.type, w.id, w.self.role], ['welcome', h.id, 'host']);
    assert.deepEqual(w.access, { locked: true, password: true });
    assert.deepEqual((await lobbyIs(hb, [knock.id])).waiting.map((x) => x.name), ['Kim']);
    hb.send({ type: 'admit', id: knock.id });
    assert.equal((await k.next('welcome')).id, knock.id, 'the seat takes the knock\'s id, which the host saw');
    // Not coming back: after the grace the seat ends as any other.
    await k.close();
    await hb.close(4001, 'back soon');
    await new Promise((r) => setTimeout(r, GRACE_MS + 1500));
    const next = await client();
    const nw = await tryJoin(next, room, 'Next');
    assert.deepEqual([nw.type, nw.self.role, nw.access], ['welcome', 'host', { locked: false, password: false }]);
});

test('a return ticket is void once a host locks the room or sets its password after the member left', async () => {
    const { room, cs: [h, g, o] } = await meeting(3);
    const gToken = g.welcome.resume;
    const oToken = o.welcome.resume;
    g.send({ type: 'leave' });
    o.send({ type: 'leave' });
    await h.next((m) => m.type === 'peer-left' && m.id === o.id);
    // The host meant to keep Gil out: she locks. His ticket no longer opens the door.
    h.send({ type: 'lock', locked: true });
    await h.next('access');
    const gb = await client({ addr: g.addr });
    assert.equal((await tryJoin(gb, room, 'Gil', { resume: gToken })).type, 'knocking');
    gb.send({ type: 'leave' });
    // Unlocked again, then a password: the other ticket is void too.
    h.send({ type: 'lock', locked: false });
    h.send({ type: 'password', password: 'new' });
    await h.next((m) => m.type === 'access' && m.password);
    const ob = await client({ addr: o.addr });
    assert.equal((await tryJoin(ob, room, 'Ola', { resume: oToken })).code, 'password-required');
});

test('host actions draw on their own bucket: past HUDDLE_HOST_BURST they are rate-limited', async () => {
    const { cs: [h, g] } = await meeting(2);
    for (let i = 0; i < 10; i++) h.send({ type: 'mute', to: g.id });
    for (let i = 0; i < 10; i++) await g.next('mute-request');
    h.send({ type: 'mute', to: g.id });
    const e = await h.next('error');
    assert.deepEqual([e.code, e.ref], ['rate-limited', 'mute']);
});

test('admitting into a full meeting: the host is told room-full and the knock waits on, to be let in once a seat is free', async () => {
    const { room, cs } = await meeting(7); // HUDDLE_MAX_PEERS is 8
    const h = cs[0];
    h.send({ type: 'lock', locked: true });
    await h.next('access');
    const k1 = await client();
    const kn1 = await tryJoin(k1, room, 'K1');
    await lobbyIs(h, [kn1.id]);
    h.send({ type: 'admit', id: kn1.id });
    const w1 = await k1.next('welcome');
    await h.next((m) => m.type === 'peer-joined' && m.peer.id === w1.id);
    const k2 = await client();
    const kn2 = await tryJoin(k2, room, 'K2');
    await lobbyIs(h, [kn2.id]);
    h.send({ type: 'admit', id: kn2.id });
    const e = await h.next((m) => m.type === 'error' && m.ref === 'admit');
    assert.equal(e.code, 'room-full');
    await k2.expectNone((m) => m.type === 'welcome' || m.type === 'error', 300);
    cs[6].send({ type: 'leave' });
    await h.next((m) => m.type === 'peer-left' && m.id === cs[6].id);
    h.send({ type: 'admit', id: kn2.id });
    assert.equal((await k2.next('welcome')).self.name, 'K2');
});

// Across sidecars (HUDDLE_TEST_SIDECARS > 1 only): a meeting's host sits on
// sidecar 0 and its guests on 1 and 2, and each test below puts those who
// knock on sidecars of their own. Messages from different sidecars may come
// in either order, so every wait names the message it wants.

/** Makes g (of a meeting) a host too and locks the room; all have seen both. */
async function twoHostsLocked(cs, [h, g]) {
    h.send({ type: 'role', to: g.id, role: 'host' });
    for (const c of cs) await c.next((m) => m.type === 'peer-state' && m.peer.id === g.id && m.peer.role === 'host');
    h.send({ type: 'lock', locked: true });
    for (const c of cs) assert.deepEqual(await c.next('access'), { type: 'access', locked: true, password: false });
}

const joinedAs = (id) => (m) => m.type === 'peer-joined' && m.peer.id === id;

if (SIDECARS > 1) {
    test('across sidecars: a host admits a knocker on another sidecar; every member sees it join, every host the new lobby', async () => {
        const { room, cs } = await meeting(3);
        const [h, g, o] = cs;
        await twoHostsLocked(cs, cs);
        const k = await client({ node: 2 });
        const knock = await tryJoin(k, room, 'Kay', { audio: true });
        assert.equal(knock.type, 'knocking');
        for (const c of [h, g]) {
            const l = await lobbyIs(c, [knock.id]);
            assert.equal(l.waiting[0].name, 'Kay');
        }
        g.send({ type: 'admit', id: knock.id });
        const w = await k.next('welcome');
        assert.deepEqual([w.self.role, w.self.name, w.self.audio, w.access.locked], ['guest', 'Kay', true, true]);
        assert.deepEqual(w.peers.map((p) => [p.id, p.role]), [[h.id, 'host'], [g.id, 'host'], [o.id, 'guest']]);
        for (const c of cs) {
            const pj = await c.next(joinedAs(w.id));
            assert.deepEqual([pj.peer.name, pj.peer.role, pj.peer.audio], ['Kay', 'guest', true]);
        }
        for (const c of [h, g]) await lobbyIs(c, []);
        await Promise.all([o.expectNone('lobby'), k.expectNone('lobby'), k.expectNone('welcome')]);
    });

    test('across sidecars: a take-over on the knock\'s own sidecar racing an admit or a deny ends with one connection answered, the older one told replaced, nothing left in the lobby', async () => {
        for (const act of ['admit', 'admit', 'deny', 'deny']) {
            const { room, cs } = await meeting(2);
            await twoHostsLocked(cs, cs);
            // Both connections first: the knock's timeout (3 s here) runs
            // from the knock, and the race comes right after it.
            const old = await client({ node: 2 });
            const next = await client({ addr: old.addr, node: 2 });
            const knock = await tryJoin(old, room, 'Kay');
            await lobbyIs(cs[0], [knock.id]);
            cs[0].send({ type: act, id: knock.id });
            next.send({ type: 'join', room, name: 'Kay', resume: knock.token, attempt: 2 });
            const got = await next.next((m) => ['welcome', 'knocking'].includes(m.type) || (m.type === 'error' && m.ref === 'join'));
            // The older connection is told replaced; or, for a denial that
            // reached its sidecar before the take-over, denied.
            const told = await old.next((m) => m.type === 'peer-left' || (m.type === 'error' && m.ref === 'join'));
            if (told.type === 'peer-left') {
                assert.deepEqual([told.id, told.reason], [knock.id, 'replaced'], act);
                assert.deepEqual(await old.closed(), { code: 1000, reason: 'replaced' });
            } else {
                assert.deepEqual([act, told.code, told.reason], ['deny', 'denied', 'host']);
            }
            if (act === 'admit') {
                assert.equal(got.type === 'welcome' ? got.id : (await next.next('welcome')).id, knock.id);
                for (const c of cs) await c.next(joinedAs(knock.id));
                await Promise.all(cs.map((c) => c.expectNone(joinedAs(knock.id), 500)));
            } else {
                const e = got.type === 'error' ? got : await next.next('error');
                assert.deepEqual([e.code, e.reason], ['denied', 'host']);
            }
            for (const c of cs) await lobbyIs(c, []);
            assert.ok(!next.closeInfo);
        }
    });

    test('across sidecars: two take-overs at once (on the knock\'s sidecar and another, or both on one other): the later resume holds the knock, both others are told replaced', async () => {
        // [sidecar of the earlier resume, of the later one, which goes first]
        for (const [earlierOn, laterOn, first] of [[2, 0, 'earlier'], [2, 0, 'later'], [0, 0, 'later'], [1, 1, 'earlier']]) {
            const { room, cs } = await meeting(2);
            await twoHostsLocked(cs, cs);
            const old = await client({ node: 2 });
            const knock = await tryJoin(old, room, 'Kay');
            await Promise.all(cs.map((c) => lobbyIs(c, [knock.id])));
            const near = await client({ addr: old.addr, node: earlierOn });
            const far = await client({ addr: old.addr, node: laterOn });
            const msg = (attempt) => ({ type: 'join', room, name: 'Kay', resume: knock.token, attempt });
            if (first === 'later') {
                far.send(msg(3));
                near.send(msg(2));
            } else {
                near.send(msg(2));
                far.send(msg(3));
            }
            assert.deepEqual(await old.closed(), { code: 1000, reason: 'replaced' });
            assert.deepEqual(await near.closed(), { code: 1000, reason: 'replaced' });
            assert.equal((await far.next('knocking')).id, knock.id);
            cs[1].send({ type: 'admit', id: knock.id });
            assert.equal((await far.next('welcome')).id, knock.id);
            for (const c of cs) await lobbyIs(c, []);
        }
    });

    test('across sidecars: two hosts admit the same knock at once; it is seated once and the other host gets no-such-peer', async () => {
        const { room, cs } = await meeting(3);
        const [h, g, o] = cs;
        await twoHostsLocked(cs, cs);
        const k = await client({ node: 2 });
        const knock = await tryJoin(k, room, 'Kay');
        for (const c of [h, g]) await lobbyIs(c, [knock.id]);
        // Both leave in the same tick, from sidecars 0 and 1.
        h.send({ type: 'admit', id: knock.id });
        g.send({ type: 'admit', id: knock.id });
        const w = await k.next('welcome');
        const admitError = (m) => m.type === 'error' && m.ref === 'admit';
        const { m: e } = await nextOnAny([h, g], admitError);
        assert.equal(e.code, 'no-such-peer');
        for (const c of cs) await c.next(joinedAs(w.id));
        for (const c of [h, g]) await lobbyIs(c, []);
        await Promise.all([
            k.expectNone('welcome', 1000),
            ...cs.map((c) => c.expectNone('peer-joined', 1000)),
            ...[h, g].map((c) => c.expectNone(admitError, 1000)),
        ]);
        // The room holds the three and Kay, no seat twice: a newcomer sees four.
        h.send({ type: 'lock', locked: false });
        await o.next((m) => m.type === 'access' && !m.locked);
        const n = await client({ node: 1 });
        const wn = await tryJoin(n, room, 'Next');
        assert.equal(wn.type, 'welcome');
        assert.deepEqual(wn.peers.map((p) => p.id), [h.id, g.id, o.id, w.id]);
    });

    test('across sidecars: newcomers on every sidecar knock at once; the lobby holds HUDDLE_LOBBY_MAX and each is admitted once', async () => {
        const { room, cs } = await meeting(3);
        const [h, g] = cs;
        await twoHostsLocked(cs, cs);
        const ks = [];
        for (let i = 0; i <= LOBBY_MAX; i++) ks.push(await client({ node: i }));
        for (const [i, k] of ks.entries()) k.send({ type: 'join', room, name: `K${i}` });
        const answers = await Promise.all(ks.map((k) => k.next((m) => ['welcome', 'knocking'].includes(m.type)
            || (m.type === 'error' && m.ref === 'join'))));
        assert.deepEqual(answers.map((a) => a.type).sort(), [...Array(LOBBY_MAX).fill('knocking'), 'error'].sort());
        assert.deepEqual(answers.filter((a) => a.type === 'error').map((a) => [a.code, a.message]), [['room-full', 'the lobby is full']]);
        const waiting = ks.map((k, i) => ({ k, id: answers[i].id })).filter((x, i) => answers[i].type === 'knocking');
        for (const c of [h, g]) await lobbyIs(c, waiting.map((x) => x.id));
        await Promise.all(ks.map((k) => k.expectNone('welcome')));
        const seated = [];
        for (const [i, { k, id }] of waiting.entries()) {
            [h, g][i % 2].send({ type: 'admit', id });
            const w = await k.next('welcome');
            for (const c of [...cs, ...seated]) await c.next(joinedAs(w.id));
            seated.push(k);
            for (const c of [h, g]) await lobbyIs(c, waiting.slice(i + 1).map((x) => x.id));
        }
        await Promise.all(ks.map((k) => k.expectNone('welcome')));
    });

    test('across sidecars: a removed member is banned on every sidecar, and its resume token takes its seat back on none', async () => {
        const { room, cs: [h, g, o] } = await meeting(3);
        const token = g.welcome.resume;
        h.send({ type: 'kick', to: g.id });
        assert.deepEqual(await g.next('ended'), { type: 'ended', reason: 'removed', by: h.id });
        assert.deepEqual(await g.closed(), { code: 1000, reason: 'removed' });
        for (const c of [h, o]) assert.deepEqual(await c.next('peer-left'), { type: 'peer-left', id: g.id, reason: 'kicked', by: h.id });
        const others = [0, 1, 2].filter((i) => i !== g.node);
        for (const node of others) {
            for (const extra of [{}, { resume: token }]) {
                const back = await client({ addr: g.addr, node });
                const e = await tryJoin(back, room, 'Again', extra);
                assert.deepEqual([e.type, e.code], ['error', 'banned'], `sidecar ${node} ${JSON.stringify(extra)}`);
            }
        }
        for (const node of others) {
            const stranger = await client({ node });
            const w = await tryJoin(stranger, room, 'Stranger', { resume: token });
            assert.equal(w.type, 'welcome');
            assert.notEqual(w.id, g.id, `a removed member's token took its seat back on sidecar ${node}`);
            for (const c of [h, o]) await c.next(joinedAs(w.id));
        }
        await Promise.all([h, o].map((c) => c.expectNone(joinedAs(g.id))));
    });

    test('across sidecars: end on one sidecar closes the members and denies the knockers on every sidecar', async () => {
        const { room, cs } = await meeting(3);
        const [h] = cs;
        h.send({ type: 'chat', text: 'before the end' });
        for (const c of cs) await c.next('chat');
        h.send({ type: 'lock', locked: true });
        for (const c of cs) await c.next('access');
        const ks = [];
        for (let node = 0; node < 3; node++) {
            const k = await client({ node });
            ks.push([k, await tryJoin(k, room, `K${node}`)]);
        }
        assert.deepEqual(ks.map(([, a]) => a.type), ['knocking', 'knocking', 'knocking']);
        await lobbyIs(h, ks.map(([, a]) => a.id));
        h.send({ type: 'end' });
        for (const c of cs) {
            assert.deepEqual(await c.next('ended'), { type: 'ended', reason: 'ended', by: h.id });
            assert.deepEqual(await c.closed(), { code: 1000, reason: 'meeting ended' });
        }
        for (const [k] of ks) {
            const e = await k.next('error');
            assert.deepEqual([e.code, e.ref, e.reason], ['denied', 'join', 'ended'], `knocker on sidecar ${k.node}`);
        }
        const n = await client({ node: 1 });
        const w = await tryJoin(n, room, 'Next');
        assert.equal(w.type, 'welcome');
        assert.deepEqual([w.chat, w.peers, w.self.role, w.access], [[], [], 'host', { locked: false, password: false }]);
        const m = await client({ node: 2 });
        const wm = await tryJoin(m, room, 'Then');
        assert.deepEqual([wm.type, wm.self.role, wm.peers.map((p) => p.id)], ['welcome', 'guest', [w.id]]);
    });

    test('across sidecars: when the host drops and its grace ends, the member present longest, on another sidecar, becomes host', async () => {
        const { cs: [h, g, o] } = await meeting(3);
        h.drop();
        for (const c of [g, o]) {
            const away = await c.next('peer-state');
            assert.deepEqual([away.peer.id, away.peer.role, away.peer.away], [h.id, 'host', true]);
        }
        await o.expectNone('peer-state', GRACE_MS / 2);
        for (const c of [g, o]) {
            const left = await c.next((x) => x.type === 'peer-left' && x.id === h.id, GRACE_MS + 3000);
            assert.equal(left.reason, 'timeout');
            const p = await c.next('peer-state');
            assert.deepEqual([p.peer.id, p.peer.role], [g.id, 'host']);
        }
        await o.expectNone('peer-state');
        g.send({ type: 'lock', locked: true });
        for (const c of [g, o]) assert.equal((await c.next('access')).locked, true);
        o.send({ type: 'lock', locked: false });
        assert.deepEqual([(await o.next('error')).code], ['forbidden']);
    });
}
