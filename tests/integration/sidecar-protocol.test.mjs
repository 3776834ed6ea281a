// Protocol v1 of huddle-sidecar (docs/protocol.md): join and welcome,
// presence, chat (room, private, history), signal relay, state, leave, room
// cap, identities and TURN credentials. One real sidecar process (the
// sanitizer build under make test) serves every test in this file; each test
// uses rooms of its own.
//
// With HUDDLE_TEST_SIDECARS=N (set by cluster-protocol.test.mjs) the same
// tests run against N sidecars sharing a real redis-server, each new client
// connecting to the next sidecar in turn, so every exchange crosses nodes.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { startSidecars, stopAll } from '../lib/stack.mjs';
import { connect, expectAlive, uniqueRoom } from '../lib/wsclient.mjs';

const TURN_SECRET = 'test-turn-secret';
const TURN_URLS = 'turn:127.0.0.1:3478?transport=udp,turn:127.0.0.1:3478?transport=tcp';
const STUN_URLS = 'stun:127.0.0.1:3478';
const HISTORY = 4;
const PEER_KEYS = ['audio', 'hand', 'id', 'name', 'role', 'screen', 'video'];
const ID_RE = /^[A-Za-z0-9_-]{16,64}$/;

const SIDECARS = Number(process.env.HUDDLE_TEST_SIDECARS || 1);
let sc; // the first sidecar
let sidecars = [];
let redis = null;
let turn = 0;
const clients = [];

before(async () => {
    const env = {
        HUDDLE_CHAT_HISTORY: String(HISTORY),
        // A long grace: a peer-left with reason "left" then proves the
        // leave was immediate and not a grace-period timeout.
        HUDDLE_RESUME_GRACE_MS: '60000',
        HUDDLE_TURN_SECRET: TURN_SECRET,
        HUDDLE_TURN_URLS: TURN_URLS,
        HUDDLE_STUN_URLS: STUN_URLS,
    };
    ({ sidecars, redis } = await startSidecars(SIDECARS, env));
    sc = sidecars[0];
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll(redis ? [redis, ...sidecars] : sidecars);
});

/** A connected client, on the next sidecar in turn. */
async function client(opts) {
    const s = sidecars[turn++ % sidecars.length];
    const c = await connect(s.wsUrl, opts);
    clients.push(c);
    return c;
}

/** n clients joined to room in order; returns [clients, welcomes]. */
async function joinAll(room, names, extra = {}) {
    const cs = [];
    const ws = [];
    for (const name of names) {
        const c = await client();
        ws.push(await c.join(room, name, extra));
        cs.push(c);
    }
    return [cs, ws];
}

/**
 * Waits until each member of a joinAll has heard every later one join (and
 * takes those peer-joined): across sidecars a welcome can come before the
 * sender's sidecar learned where the newcomer sits, and a signal sent in
 * between is answered no-such-peer, as a real client would not send it.
 */
async function meet(cs, ws) {
    for (const [i, c] of cs.entries()) {
        for (const w of ws.slice(i + 1)) await c.next((m) => m.type === 'peer-joined' && m.peer.id === w.id);
    }
}

function assertPeerObject(p) {
    assert.deepEqual(Object.keys(p).sort(), PEER_KEYS, `peer object keys: ${JSON.stringify(p)}`);
    assert.match(p.id, ID_RE);
    for (const k of ['audio', 'video', 'screen', 'hand']) assert.equal(typeof p[k], 'boolean', k);
}

test('welcome carries id, room, resume token, peers, chat, iceServers and limits', async () => {
    const room = uniqueRoom();
    const a = await client();
    const w = await a.join(room, 'Ann', { audio: true, video: false });
    assert.equal(w.type, 'welcome');
    assert.match(w.id, ID_RE);
    assert.equal(w.room, room);
    assert.equal(typeof w.resume, 'string');
    assert.ok(w.resume.length >= 20, `resume token too short for 128 bits: ${w.resume}`);
    assert.deepEqual(w.peers, []);
    assert.deepEqual(w.chat, []);
    assert.ok(Array.isArray(w.iceServers));
    assert.equal(typeof w.limits, 'object');
    assert.equal(w.limits.maxPeers, 8);
    assert.equal(w.limits.maxMessageBytes, 65536);
    assert.equal(w.limits.kickBanMs, 300000, 'how long a removed member stays out (HUDDLE_KICK_BAN_S)');
});

test('welcome lists the peers present and they get peer-joined, the newcomer does not', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa, wb]] = await joinAll(room, ['Ann', 'Bob'], { audio: true, video: true });
    assert.equal(wb.peers.length, 1);
    assertPeerObject(wb.peers[0]);
    assert.deepEqual(wb.peers[0], { id: wa.id, name: 'Ann', audio: true, video: true, screen: false, hand: false, role: 'host' });
    const pj = await a.next('peer-joined');
    assert.deepEqual(pj.peer, { id: wb.id, name: 'Bob', audio: true, video: true, screen: false, hand: false, role: 'guest' });

    const c = await client();
    const wc = await c.join(room, 'Cid');
    assert.deepEqual(wc.peers.map((p) => p.id).sort(), [wa.id, wb.id].sort());
    for (const p of wc.peers) assertPeerObject(p);
    for (const x of [a, b]) {
        const m = await x.next('peer-joined');
        assert.equal(m.peer.id, wc.id);
        assert.equal(m.peer.name, 'Cid');
        assert.equal(m.peer.audio, false, 'audio omitted at join means false');
        assert.equal(m.peer.video, false, 'video omitted at join means false');
    }
    await c.expectNone('peer-joined');
    await b.expectNone((m) => m.type === 'peer-joined' && m.peer.id === wb.id, 0);
});

test('peer ids look unguessable and differ; client-chosen ids are ignored', async () => {
    const ids = new Set();
    const tokens = new Set();
    for (let i = 0; i < 20; i++) {
        const c = await client();
        const w = await c.join(uniqueRoom(), `n${i}`, { id: 'chosen-by-me-0000000', from: 'x' });
        assert.match(w.id, ID_RE);
        assert.notEqual(w.id, 'chosen-by-me-0000000');
        ids.add(w.id);
        tokens.add(w.resume);
        c.terminate();
    }
    assert.equal(ids.size, 20);
    assert.equal(tokens.size, 20);
});

test('chat reaches everyone in the room including the sender, and nobody elsewhere', async () => {
    const room = uniqueRoom();
    const [[a, b, c], [wa]] = await joinAll(room, ['Ann', 'Bob', 'Cid']);
    const [[other]] = await joinAll(uniqueRoom(), ['Out']);
    const t0 = Date.now();
    await a.send({ type: 'chat', text: 'hello <b>room</b> é 😀' });
    for (const x of [a, b, c]) {
        const m = await x.next('chat');
        assert.equal(m.from, wa.id);
        assert.equal(m.name, 'Ann');
        assert.equal(m.text, 'hello <b>room</b> é 😀');
        assert.equal(typeof m.ts, 'number');
        assert.ok(m.ts >= t0 - 1000 && m.ts <= Date.now() + 1000, `ts ${m.ts} is not ms since epoch`);
        assert.equal(m.to, undefined);
    }
    await other.expectNone('chat');
});

test('one member\'s lines have strictly increasing ts, also when they come in one millisecond', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa, wb]] = await joinAll(room, ['Ann', 'Bob']);
    await meet([a, b], [wa, wb]);
    // three frames in one write: the sidecar reads them in one go
    a.socket.cork();
    for (let i = 0; i < 3; i++) a.ws.send(JSON.stringify({ type: 'chat', text: 'same' }));
    a.socket.uncork();
    for (const x of [a, b]) {
        const ts = [];
        for (let i = 0; i < 3; i++) ts.push((await x.next('chat')).ts);
        assert.ok(ts[0] < ts[1] && ts[1] < ts[2], `ts ${ts}`);
    }
});

test('a client-supplied from, name or ts never reaches anyone', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa, wb]] = await joinAll(room, ['Ann', 'Bob']);
    await meet([a, b], [wa, wb]);
    await a.send({ type: 'chat', text: 'forged', from: wb.id, name: 'Bob', ts: 1, id: wb.id });
    for (const x of [a, b]) {
        const m = await x.next('chat');
        assert.equal(m.from, wa.id);
        assert.equal(m.name, 'Ann');
        assert.notEqual(m.ts, 1);
    }
    await a.send({ type: 'signal', to: wb.id, from: 'forged-sender-id-000', data: { sdp: 'x' } });
    const s = await b.next('signal');
    assert.equal(s.from, wa.id);
    await a.send({ type: 'state', hand: true, id: wb.id, name: 'Ann2' });
    const ps = await b.next('peer-state');
    assert.equal(ps.peer.id, wa.id);
    assert.equal(ps.peer.name, 'Ann2');
    assert.equal(ps.peer.hand, true);
});

test('chat text counts code points: 2000 emoji pass, 2001 chars or empty text are bad-message', async () => {
    const room = uniqueRoom();
    const [[a, b]] = await joinAll(room, ['Ann', 'Bob']);
    const long = '😀'.repeat(2000);
    await a.send({ type: 'chat', text: long });
    assert.equal((await b.next('chat')).text, long);
    await a.send({ type: 'chat', text: 'x'.repeat(2001) });
    let e = await a.next('error');
    assert.equal(e.code, 'bad-message');
    assert.equal(e.ref, 'chat');
    await a.send({ type: 'chat', text: '' });
    e = await a.next('error');
    assert.equal(e.code, 'bad-message');
    await b.expectNone('chat');
});

test('private chat reaches only its target and the sender, with to', async () => {
    const room = uniqueRoom();
    const [[a, b, c], [wa, wb]] = await joinAll(room, ['Ann', 'Bob', 'Cid']);
    await a.send({ type: 'chat', text: 'psst', to: wb.id });
    for (const x of [a, b]) {
        const m = await x.next('chat');
        assert.equal(m.from, wa.id);
        assert.equal(m.to, wb.id);
        assert.equal(m.text, 'psst');
        assert.equal(m.name, 'Ann');
    }
    await c.expectNone('chat');
});

test('private chat to nobody in the room answers no-such-peer', async () => {
    const room = uniqueRoom();
    const [[a, b]] = await joinAll(room, ['Ann', 'Bob']);
    const [[, ], [wo]] = await joinAll(uniqueRoom(), ['Out']);
    for (const to of [a.id, wo.id, 'nobody-at-all-00000000']) {
        await a.send({ type: 'chat', text: 'psst', to });
        const e = await a.next('error');
        assert.equal(e.code, 'no-such-peer');
        assert.equal(e.ref, 'chat');
    }
    await b.expectNone('chat');
});

test('welcome.chat holds the last room messages, oldest first, never private ones', async () => {
    const room = uniqueRoom();
    const [[a, b], [, wb]] = await joinAll(room, ['Ann', 'Bob']);
    const sent = [];
    // 3 from Ann and 3 from Bob (chat burst is 5 per sender), one private in between.
    const say = async (x, msg) => {
        await x.send({ type: 'chat', ...msg });
        const m = await a.next('chat');
        assert.deepEqual(await b.next('chat'), m);
        return m;
    };
    for (const [x, text] of [[a, 'one'], [b, 'two'], [a, 'three']]) sent.push(await say(x, { text }));
    await say(a, { text: 'secret', to: wb.id });
    for (const [x, text] of [[b, 'four'], [a, 'five'], [b, 'six']]) sent.push(await say(x, { text }));
    const c = await client();
    const wc = await c.join(room, 'Cid');
    const want = sent.slice(-HISTORY).map(({ from, name, text, ts }) => ({ from, name, text, ts }));
    assert.deepEqual(wc.chat.map(({ from, name, text, ts }) => ({ from, name, text, ts })), want);
    for (const m of wc.chat) assert.equal(m.to, undefined);
});

test('signal reaches only its target, intact, with from', async () => {
    const room = uniqueRoom();
    const [[a, b, c], [wa, wb]] = await joinAll(room, ['Ann', 'Bob', 'Cid']);
    await meet([a, b, c], [wa, wb]);
    const data = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n', nested: { a: [1, 2.5, null, true], u: 'é\u2028' } };
    await a.send({ type: 'signal', to: wb.id, data });
    const m = await b.next('signal');
    assert.equal(m.from, wa.id);
    assert.deepEqual(m.data, data);
    await c.expectNone('signal');
    await a.expectNone('signal', 0);
});

test('signal to yourself, to a peer of another room or to nobody answers no-such-peer', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa]] = await joinAll(room, ['Ann', 'Bob']);
    const [[o], [wo]] = await joinAll(uniqueRoom(), ['Out']);
    for (const to of [wa.id, wo.id, 'nobody-at-all-00000000']) {
        await a.send({ type: 'signal', to, data: { candidate: 'x' } });
        const e = await a.next('error');
        assert.equal(e.code, 'no-such-peer', `to ${to}`);
        assert.equal(e.ref, 'signal');
    }
    await o.expectNone('signal');
    await b.expectNone('signal', 0);
});

test('signal data of 48 KiB arrives intact and one byte more is bad-message', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa, wb]] = await joinAll(room, ['Ann', 'Bob']);
    await meet([a, b], [wa, wb]);
    const limit = 48 * 1024;
    const mk = (n) => {
        const pad = n - JSON.stringify({ sdp: '' }).length;
        const chars = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
        let s = '';
        for (let i = 0; i < pad; i++) s += chars[(i * 7 + (i >> 5)) % chars.length];
        const d = { sdp: s };
        assert.equal(JSON.stringify(d).length, n);
        return d;
    };
    const ok = mk(limit);
    await a.send({ type: 'signal', to: wb.id, data: ok });
    const m = await b.next('signal');
    assert.equal(m.from, wa.id);
    assert.equal(m.data.sdp.length, ok.sdp.length);
    assert.ok(m.data.sdp === ok.sdp, 'the 48 KiB payload arrived altered');
    await a.send({ type: 'signal', to: wb.id, data: mk(limit + 1) });
    const e = await a.next('error');
    assert.equal(e.code, 'bad-message');
    assert.equal(e.ref, 'signal');
    await b.expectNone('signal');
});

test('48 KiB signals to a reader that paused arrive intact and in order once it reads again', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa, wb]] = await joinAll(room, ['Ann', 'Bob']);
    await meet([a, b], [wa, wb]);
    b.pause();
    const sent = [];
    // 15 x 48 KiB = 720 KiB: more than the socket buffers take at once, so
    // the sidecar writes partially and must resume mid-message; still under
    // the 1 MiB send queue.
    for (let i = 0; i < 15; i++) {
        const d = { i, sdp: String.fromCharCode(97 + i).repeat(48 * 1024 - 20) };
        sent.push(d);
        await a.send({ type: 'signal', to: wb.id, data: d });
    }
    await a.send({ type: 'ping', t: 'after' });
    await a.next('pong');
    b.resume();
    for (const d of sent) {
        const m = await b.next('signal');
        assert.equal(m.from, wa.id);
        assert.equal(m.data.i, d.i);
        assert.ok(m.data.sdp === d.sdp, `signal ${d.i} arrived altered`);
    }
    assert.equal(b.closeInfo, null);
});

test('react: everyone in the room gets the reaction with from, the sender too; only listed emoji; its own bucket', async () => {
    const room = uniqueRoom();
    const [[a, b, c], [wa]] = await joinAll(room, ['Ann', 'Bob', 'Cid']);
    await meet([a, b, c], [wa]);
    const [[out]] = await joinAll(uniqueRoom(), ['Out']);
    assert.deepEqual(wa.limits.reactions, ['\u{1F44D}', '\u{1F44F}', '\u2764\uFE0F', '\u{1F602}', '\u{1F389}', '\u{1F62E}']);
    assert.equal(wa.limits.reactionBurst, 5);
    // The bucket holds 5: six sent back to back, the sixth is refused.
    await a.send({ type: 'react', emoji: '\u{1F389}', from: 'forged-sender-id-000' });
    for (let i = 0; i < 5; i++) await a.send({ type: 'react', emoji: '\u{1F44D}' });
    for (const x of [a, b, c]) {
        assert.deepEqual(await x.next('reaction'), { type: 'reaction', from: wa.id, emoji: '\u{1F389}' });
        for (let i = 0; i < 4; i++) assert.equal((await x.next('reaction')).emoji, '\u{1F44D}');
    }
    const limited = await a.next('error');
    assert.deepEqual([limited.code, limited.ref], ['rate-limited', 'react']);
    await out.expectNone('reaction');
    for (const emoji of ['\u{1F4A9}', '\u2764', '', 5]) {
        await a.send({ type: 'react', emoji });
        const e = await a.next('error');
        assert.deepEqual([e.code, e.ref], ['bad-message', 'react'], JSON.stringify(emoji));
    }
    await a.send({ type: 'chat', text: 'chat has its own bucket' });
    assert.equal((await b.next('chat')).text, 'chat has its own bucket');
});

test('signal with data that is not an object, or without to, is bad-message', async () => {
    const room = uniqueRoom();
    const [[a, b], [, wb]] = await joinAll(room, ['Ann', 'Bob']);
    for (const msg of [
        { type: 'signal', to: wb.id, data: 'sdp' },
        { type: 'signal', to: wb.id, data: [1] },
        { type: 'signal', to: wb.id },
        { type: 'signal', data: {} },
        { type: 'signal', to: 5, data: {} },
    ]) {
        await a.send(msg);
        const e = await a.next('error');
        assert.equal(e.code, 'bad-message', JSON.stringify(msg));
        assert.equal(e.ref, 'signal');
    }
    await b.expectNone('signal');
});

test('state reaches the others as peer-state with the whole peer object, not the sender (but a hand going up, with its time)', async () => {
    const room = uniqueRoom();
    const [[a, b, c], [wa]] = await joinAll(room, ['Ann', 'Bob', 'Cid'], { audio: true, video: true });
    const before = Date.now();
    await a.send({ type: 'state', audio: false, hand: true });
    const own = (await a.next('peer-state')).peer;
    // The sidecar's clock, on this host: between the send and now.
    assert.ok(own.handAt >= before - 1000 && own.handAt <= Date.now() + 1000, `handAt ${own.handAt}`);
    const want = { id: wa.id, name: 'Ann', audio: false, video: true, screen: false, hand: true, role: 'host', handAt: own.handAt };
    assert.deepEqual(own, want);
    for (const x of [b, c]) assert.deepEqual((await x.next('peer-state')).peer, want);
    await a.send({ type: 'state', screen: true, name: 'Ann B' });
    const want2 = { ...want, screen: true, name: 'Ann B' };
    for (const x of [b, c]) assert.deepEqual((await x.next('peer-state')).peer, want2);
    await a.expectNone('peer-state');
    // The stored state is what a newcomer sees, and chat uses the new name.
    const d = await client();
    const wd = await d.join(room, 'Dan');
    assert.deepEqual(wd.peers.find((p) => p.id === wa.id), want2);
    await a.send({ type: 'chat', text: 'renamed' });
    assert.equal((await d.next('chat')).name, 'Ann B');
});

test('state with a wrong-typed or invalid field is bad-message and changes nothing', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa]] = await joinAll(room, ['Ann', 'Bob']);
    for (const msg of [
        { type: 'state', audio: 'yes' },
        { type: 'state', hand: 1 },
        { type: 'state', name: '' },
        { type: 'state', name: 'a\u0007b' },
        { type: 'state', name: 'x'.repeat(65) },
        { type: 'state', name: 7 },
    ]) {
        await a.send(msg);
        const e = await a.next('error');
        assert.equal(e.code, 'bad-message', JSON.stringify(msg));
        assert.equal(e.ref, 'state');
    }
    await b.expectNone('peer-state');
    const c = await client();
    const wc = await c.join(room, 'Cid');
    assert.deepEqual(wc.peers.find((p) => p.id === wa.id),
        { id: wa.id, name: 'Ann', audio: false, video: false, screen: false, hand: false, role: 'host' });
});

test('ping is answered by pong with the same t, before and after join', async () => {
    const a = await client();
    for (const t of [42, 'abc', { deep: [1, { x: null }] }]) {
        await a.send({ type: 'ping', t });
        assert.deepEqual((await a.next('pong')).t, t);
    }
    await a.send({ type: 'ping' });
    const p = await a.next('pong');
    assert.equal(p.type, 'pong');
    await a.join(uniqueRoom(), 'Ann');
    await a.send({ type: 'ping', t: 7 });
    assert.equal((await a.next('pong')).t, 7);
});

test('before join, chat, signal, state and leave answer not-joined', async () => {
    const a = await client();
    for (const msg of [
        { type: 'chat', text: 'hi' },
        { type: 'signal', to: 'x', data: {} },
        { type: 'state', audio: true },
        { type: 'leave' },
    ]) {
        await a.send(msg);
        const e = await a.next('error');
        assert.equal(e.code, 'not-joined', JSON.stringify(msg));
        assert.equal(e.ref, msg.type);
        assert.equal(typeof e.message, 'string');
    }
    await a.join(uniqueRoom(), 'Ann');
});

test('a second join answers already-joined and changes nothing', async () => {
    const room = uniqueRoom();
    const [[a, b], [wa]] = await joinAll(room, ['Ann', 'Bob']);
    await a.send({ type: 'join', room, name: 'Ann' });
    let e = await a.next('error');
    assert.equal(e.code, 'already-joined');
    assert.equal(e.ref, 'join');
    await a.send({ type: 'join', room: uniqueRoom(), name: 'Ann' });
    e = await a.next('error');
    assert.equal(e.code, 'already-joined');
    await b.expectNone((m) => m.type === 'peer-left' || m.type === 'peer-joined');
    await a.send({ type: 'chat', text: 'still here' });
    assert.equal((await b.next('chat')).from, wa.id);
});

test('unknown fields are ignored', async () => {
    const room = uniqueRoom();
    const a = await client();
    const w = await a.join(room, 'Ann', { colour: 'blue', extra: { deep: [1] } });
    assert.equal(w.room, room);
    await a.send({ type: 'chat', text: 'x', priority: 'high' });
    assert.equal((await a.next('chat')).text, 'x');
});

test('leave answers peer-left reason left at once', async () => {
    const room = uniqueRoom();
    const [[a, b, c], [wa]] = await joinAll(room, ['Ann', 'Bob', 'Cid']);
    await a.send({ type: 'leave' });
    for (const x of [b, c]) assert.deepEqual(await x.next('peer-left'), { type: 'peer-left', id: wa.id, reason: 'left' });
    // Gone from the room: a newcomer does not see it, and chat does not reach it.
    const d = await client();
    const wd = await d.join(room, 'Dan');
    assert.ok(!wd.peers.some((p) => p.id === wa.id));
    await b.send({ type: 'chat', text: 'after leave' });
    await d.next('chat');
    await a.expectNone('chat');
});

for (const [label, code] of [['1000', 1000], ['1001', 1001], ['no code', undefined]]) {
    test(`a client close frame with ${label} is an immediate peer-left reason left`, async () => {
        const room = uniqueRoom();
        const [[a, b], [wa]] = await joinAll(room, ['Ann', 'Bob']);
        await a.close(code);
        // The grace period of this sidecar is 60 s: only an immediate leave
        // arrives within next()'s 5 s.
        assert.deepEqual(await b.next('peer-left'), { type: 'peer-left', id: wa.id, reason: 'left' });
        const c = await client();
        const wc = await c.join(room, 'Cid');
        assert.deepEqual(wc.peers.map((p) => p.id), [b.id]);
    });
}

test('the eighth peer joins and the ninth gets room-full; a leave frees a seat', async () => {
    const room = uniqueRoom();
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
    const [cs, ws] = await joinAll(room, names);
    assert.equal(ws[7].peers.length, 7);
    for (let i = 0; i < 7; i++) {
        for (let j = i + 1; j < 8; j++) assert.equal((await cs[i].next('peer-joined')).peer.id, ws[j].id);
    }
    const ninth = await client();
    await ninth.send({ type: 'join', room, name: 'p8' });
    const e = await ninth.next('error');
    assert.equal(e.code, 'room-full');
    assert.equal(e.ref, 'join');
    await cs[0].expectNone('peer-joined');
    for (const c of cs) await c.expectNone('peer-joined', 0);
    await cs[0].send({ type: 'leave' });
    await cs[1].next('peer-left');
    const w = await ninth.join(room, 'p8');
    assert.equal(w.peers.length, 7);
});

test('room-full and invalid joins leave the connection usable', async () => {
    const a = await client();
    await a.send({ type: 'join', room: '../etc', name: 'Ann' });
    assert.equal((await a.next('error')).code, 'invalid-room');
    const w = await a.join(uniqueRoom(), 'Ann');
    assert.match(w.id, ID_RE);
});

test('iceServers carry the STUN URLs and TURN credentials minted for this peer', async () => {
    const a = await client();
    const t0 = Math.floor(Date.now() / 1000);
    const w = await a.join(uniqueRoom(), 'Ann');
    const urlsOf = (s) => (Array.isArray(s.urls) ? s.urls : [s.urls]);
    const stun = w.iceServers.find((s) => urlsOf(s).includes(STUN_URLS));
    assert.ok(stun, `no STUN entry in ${JSON.stringify(w.iceServers)}`);
    const turn = w.iceServers.find((s) => urlsOf(s).some((u) => u.startsWith('turn:')));
    assert.ok(turn, `no TURN entry in ${JSON.stringify(w.iceServers)}`);
    assert.deepEqual(urlsOf(turn).sort(), TURN_URLS.split(',').sort());
    const m = /^(\d+):(.+)$/.exec(turn.username);
    assert.ok(m, `username ${turn.username} is not <expiry>:<peer id>`);
    assert.equal(m[2], w.id);
    assert.ok(Number(m[1]) > t0, 'TURN credential already expired');
    const want = crypto.createHmac('sha1', TURN_SECRET).update(turn.username).digest('base64');
    assert.equal(turn.credential, want);
    // Another peer gets its own credential.
    const b = await client();
    const wb = await b.join(uniqueRoom(), 'Bob');
    const turnB = wb.iceServers.find((s) => urlsOf(s).some((u) => u.startsWith('turn:')));
    assert.ok(turnB.username.endsWith(`:${wb.id}`));
    assert.notEqual(turnB.credential, turn.credential);
});

test('the sidecar still serves after all of the above', async () => {
    await expectAlive(sc.wsUrl);
});
