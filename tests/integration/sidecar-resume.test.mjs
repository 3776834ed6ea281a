// Leaving versus dropping, the resume grace period and keepalive of
// huddle-sidecar (docs/protocol.md, "Leaving"). Grace and ping periods
// are shortened through HUDDLE_* so that the tests run in seconds.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSidecar, stopAll } from '../lib/stack.mjs';
import { connect, expectAlive, uniqueRoom } from '../lib/wsclient.mjs';

const GRACE = 2000; // long enough that a resume fits in it on a loaded machine
const PING_INTERVAL = 200;
const PING_TIMEOUT = 1000; // generous: a loaded machine must not hang up the healthy clients
let sc;
const clients = [];

before(async () => {
    sc = await startSidecar({
        env: {
            HUDDLE_RESUME_GRACE_MS: String(GRACE),
            HUDDLE_PING_INTERVAL_MS: String(PING_INTERVAL),
            HUDDLE_PING_TIMEOUT_MS: String(PING_TIMEOUT),
        },
    });
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll([sc]);
});

async function client(opts) {
    const c = await connect(sc.wsUrl, opts);
    clients.push(c);
    return c;
}

const isLeave = (m) => m.type === 'peer-left' || m.type === 'peer-joined';

/** Ann (audio on, hand up) and Bob in a fresh room. */
async function pair() {
    const room = uniqueRoom();
    const a = await client();
    const b = await client();
    const wa = await a.join(room, 'Ann', { audio: true });
    const wb = await b.join(room, 'Bob');
    await a.next('peer-joined');
    await a.send({ type: 'state', hand: true });
    const { handAt } = (await b.next('peer-state')).peer;
    await a.next('peer-state'); // its own, with the hand's time
    return { room, a, b, wa, wb, handAt };
}

for (const [label, end] of [
    ['a socket dropped without a close frame', (c) => c.drop()],
    ['a close frame with code 4000', (c) => c.close(4000)],
    ['a close frame with code 3001', (c) => c.close(3001, 'bye')],
]) {
    test(`${label} keeps the seat for the grace period, then peer-left reason timeout`, async () => {
        const { a, b, wa } = await pair();
        const t0 = Date.now();
        await end(a);
        await b.expectNone(isLeave, GRACE / 2);
        const m = await b.next('peer-left', GRACE * 5);
        const elapsed = Date.now() - t0;
        assert.deepEqual(m, { type: 'peer-left', id: wa.id, reason: 'timeout' });
        assert.ok(elapsed >= GRACE - 20, `peer-left after ${elapsed} ms, before the ${GRACE} ms grace`);
        await expectAlive(sc.wsUrl);
    });
}

test('a resume within the grace period keeps id and peer object, and nobody sees a leave or join', async () => {
    const { room, a, b, wa, wb, handAt } = await pair();
    await a.drop();
    const a2 = await client();
    const w2 = await a2.join(room, 'Ann', { resume: wa.resume });
    assert.equal(w2.id, wa.id);
    assert.equal(w2.room, room);
    assert.notEqual(w2.resume, wa.resume, 'every welcome carries a new token');
    assert.deepEqual(w2.peers, [{ id: wb.id, name: 'Bob', audio: false, video: false, screen: false, hand: false, role: 'guest' }]);
    // Well past the old grace period: the seat was taken back, not timed out.
    await b.expectNone(isLeave, GRACE + 300);
    const c = await client();
    const wc = await c.join(room, 'Cid');
    assert.deepEqual(wc.peers.find((p) => p.id === wa.id),
        { id: wa.id, name: 'Ann', audio: true, video: false, screen: false, hand: true, role: 'host', handAt });
    // The resumed seat works both ways.
    await b.send({ type: 'signal', to: wa.id, data: { n: 1 } });
    assert.deepEqual((await a2.next('signal')).data, { n: 1 });
    await a2.send({ type: 'chat', text: 'back' });
    const m = await b.next('chat');
    assert.equal(m.from, wa.id);
    assert.equal(m.name, 'Ann');
});

test('a dropped member is away for the others until it resumes: peer-state with away, then without', async () => {
    const { room, a, b, wa, handAt } = await pair();
    const ann = { id: wa.id, name: 'Ann', audio: true, video: false, screen: false, hand: true, role: 'host', handAt };
    await a.close(4000);
    assert.deepEqual(await b.next('peer-state'), { type: 'peer-state', peer: { ...ann, away: true } });
    // Someone who comes in meanwhile sees the seat away in the welcome.
    const c = await client();
    const wc = await c.join(room, 'Cid');
    assert.deepEqual(wc.peers.find((p) => p.id === wa.id), { ...ann, away: true });
    const a2 = await client();
    const w2 = await a2.join(room, 'Ann', { resume: wa.resume });
    assert.deepEqual(w2.self, ann, 'the seat taken back is not away');
    for (const x of [b, c]) assert.deepEqual(await x.next('peer-state'), { type: 'peer-state', peer: ann });
    // Dropped again: away again, once.
    await a2.drop();
    for (const x of [b, c]) assert.deepEqual(await x.next('peer-state'), { type: 'peer-state', peer: { ...ann, away: true } });
    await b.expectNone((m) => m.type === 'peer-state', 200);
    assert.deepEqual(await b.next('peer-left', GRACE * 5), { type: 'peer-left', id: wa.id, reason: 'timeout' });
});

test('a token works until the newer one is used: a lost welcome costs nothing, then the old token is a plain new join', async () => {
    const { room, a, b, wa } = await pair();
    await a.drop();
    // The first resume's welcome is "lost": its connection drops at once.
    const a2 = await client();
    const w2 = await a2.join(room, 'Ann', { resume: wa.resume });
    assert.equal(w2.id, wa.id);
    await a2.drop();
    // So the client still has only the first token: it still works.
    const a3 = await client();
    const w3 = await a3.join(room, 'Ann', { resume: wa.resume });
    assert.equal(w3.id, wa.id);
    await a3.drop();
    // The newest token is used: now every token before it is spent.
    const a4 = await client();
    assert.equal((await a4.join(room, 'Ann', { resume: w3.resume })).id, wa.id);
    await a4.drop();
    for (const spent of [wa.resume, w2.resume]) {
        const x = await client();
        const wx = await x.join(room, 'Ann', { resume: spent });
        assert.notEqual(wx.id, wa.id);
        assert.equal((await b.next('peer-joined')).peer.id, wx.id);
        await x.send({ type: 'leave' });
        assert.equal((await b.next('peer-left')).id, wx.id);
    }
    await b.expectNone(isLeave, 100);
    // The seat of a4, never resumed, times out.
    assert.deepEqual(await b.next('peer-left', GRACE * 5), { type: 'peer-left', id: wa.id, reason: 'timeout' });
});

test('a token of another room, an expired token or garbage make a plain new join', async () => {
    const { room, a, b, wa } = await pair();
    await a.drop();
    const x = await client();
    const wx = await x.join(uniqueRoom(), 'Ann', { resume: wa.resume });
    assert.notEqual(wx.id, wa.id);
    assert.deepEqual(wx.peers, []);
    assert.deepEqual(await b.next('peer-left', GRACE * 5), { type: 'peer-left', id: wa.id, reason: 'timeout' });
    const late = await client();
    const wl = await late.join(room, 'Ann', { resume: wa.resume });
    assert.notEqual(wl.id, wa.id);
    assert.equal((await b.next('peer-joined')).peer.id, wl.id);
    const g = await client();
    const wg = await g.join(room, 'Gus', { resume: 'not-a-token-at-all' });
    assert.match(wg.id, /^[A-Za-z0-9_-]{16,64}$/);
    assert.equal((await b.next('peer-joined')).peer.id, wg.id);
});

test('resuming a seat whose old connection is still open replaces it: peer-left replaced, close 1000', async () => {
    const { room, a, b, wa } = await pair();
    const a2 = await client();
    const w2 = await a2.join(room, 'Ann', { resume: wa.resume });
    assert.equal(w2.id, wa.id);
    assert.deepEqual(await a.next('peer-left'), { type: 'peer-left', id: wa.id, reason: 'replaced' });
    assert.equal((await a.closed()).code, 1000);
    await b.expectNone(isLeave, GRACE + 300);
    await b.send({ type: 'chat', text: 'to the new one' });
    assert.equal((await a2.next('chat')).text, 'to the new one');
});

test('a signal to a peer in grace is dropped, and is not delivered after the resume', async () => {
    const { room, a, b, wa } = await pair();
    await a.drop();
    await b.send({ type: 'signal', to: wa.id, data: { lost: true } });
    await b.expectNone('error');
    const a2 = await client();
    await a2.join(room, 'Ann', { resume: wa.resume });
    await a2.expectNone('signal');
});

test('seats in grace count toward the room cap', async () => {
    const room = uniqueRoom();
    const cs = [];
    const ws = [];
    for (let i = 0; i < 8; i++) {
        const c = await client();
        ws.push(await c.join(room, `p${i}`));
        cs.push(c);
    }
    await cs[7].drop();
    const ninth = await client();
    await ninth.send({ type: 'join', room, name: 'p8' });
    assert.equal((await ninth.next('error')).code, 'room-full');
    await cs[0].next((m) => m.type === 'peer-left' && m.id === ws[7].id, GRACE * 5);
    const w = await ninth.join(room, 'p8');
    assert.equal(w.peers.length, 7);
});

test('the server pings, a client that answers stays, one that never answers is hung up and times out', async () => {
    const room = uniqueRoom();
    const a = await client({ autoPong: false });
    const b = await client();
    const wa = await a.join(room, 'Mute');
    await b.join(room, 'Bob');
    const t0 = Date.now();
    // Missed pongs count as a drop: first the hang-up, then the grace period.
    const info = await a.closed(PING_INTERVAL + PING_TIMEOUT + GRACE * 5);
    assert.ok(a.pings >= 1, 'the server sent no ping frame');
    assert.notEqual(info.code, 1000);
    const m = await b.next('peer-left', GRACE * 5);
    assert.deepEqual(m, { type: 'peer-left', id: wa.id, reason: 'timeout' });
    assert.ok(Date.now() - t0 >= GRACE, 'peer-left came before the grace period ended');
    // Bob answered every ping meanwhile and is still served.
    assert.ok(b.pings >= 2, `Bob saw ${b.pings} pings`);
    assert.equal(b.closeInfo, null);
    await b.send({ type: 'ping', t: 1 });
    assert.equal((await b.next('pong')).t, 1);
});
