// Limits of huddle-sidecar (docs/protocol.md, docs/config.md): message size
// (checked while fragments arrive), binary frames, UTF-8, chat rate, join
// deadline and the bounded send queue. Each case checks its error or close
// code and that the process keeps serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSidecar, stopAll } from '../lib/stack.mjs';
import { connect, expectAlive, uniqueRoom } from '../lib/wsclient.mjs';

const MAX_MESSAGE = 65536;
let sc; // defaults, except a long grace
let deadline; // join deadline 1 s
let slow; // signal and chat buckets wide open, a 256 KiB queue cap held for 1 s
let tight; // signal/state bucket of 3, 1 per second; chat history kept 3 s after the room empties
const clients = [];

before(async () => {
    sc = await startSidecar({ env: { HUDDLE_RESUME_GRACE_MS: '60000' } });
    deadline = await startSidecar({ env: { HUDDLE_JOIN_TIMEOUT_MS: '1000' } });
    slow = await startSidecar({
        env: {
            HUDDLE_SIGNAL_BURST: '1000000', HUDDLE_SIGNAL_RATE: '1000000', HUDDLE_RESUME_GRACE_MS: '60000',
            HUDDLE_CHAT_BURST: '1000000', HUDDLE_CHAT_RATE: '1000000', HUDDLE_CHAT_HISTORY: '0',
            HUDDLE_SEND_QUEUE_BYTES: '262144', HUDDLE_SLOW_CONSUMER_MS: '1000',
        },
    });
    tight = await startSidecar({
        env: { HUDDLE_SIGNAL_BURST: '3', HUDDLE_SIGNAL_RATE: '1', HUDDLE_CHAT_HISTORY_TTL_MS: '3000' },
    });
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll([sc, deadline, slow, tight]);
});

async function client(url = sc.wsUrl, opts) {
    const c = await connect(url, opts);
    clients.push(c);
    return c;
}

/** A ping whose JSON text is exactly n bytes: t is "x", whitespace pads
 * (t itself may hold at most 64 bytes). */
function pingOfSize(n) {
    const head = '{"type":"ping","t":"x"';
    return `${head}${' '.repeat(n - head.length - 1)}}`;
}

test('a message of exactly the limit passes, one byte more closes with 1009', async () => {
    const c = await client();
    const ok = pingOfSize(MAX_MESSAGE);
    assert.equal(Buffer.byteLength(ok), MAX_MESSAGE);
    await c.sendRaw(ok);
    assert.equal((await c.next('pong')).t, 'x');
    await c.sendRaw(pingOfSize(MAX_MESSAGE + 1));
    assert.equal((await c.closed()).code, 1009);
    await expectAlive(sc.wsUrl);
});

test('a huge single frame closes with 1009', async () => {
    const c = await client();
    await c.join(uniqueRoom(), 'Ann');
    await c.sendRaw(pingOfSize(4 * 1024 * 1024)).catch(() => { /* the server may hang up mid-send */ });
    assert.equal((await c.closed()).code, 1009);
    await expectAlive(sc.wsUrl);
});

test('fragments are reassembled: a fragmented join and a fragmented 60 KiB ping work', async () => {
    const c = await client();
    const room = uniqueRoom();
    await c.sendRaw(JSON.stringify({ type: 'join', room, name: 'Ann' }), { fragments: 7 });
    const w = await c.next('welcome');
    assert.equal(w.room, room);
    const big = pingOfSize(60 * 1024);
    await c.sendRaw(big, { fragments: 15 });
    assert.equal((await c.next('pong')).t, 'x');
    // A two-byte character cut between two fragments is valid UTF-8.
    const text = '{"type":"ping","t":"é"}';
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(0xc3) + 1;
    await c.sendFrame(bytes.subarray(0, cut), { fin: false });
    await c.sendFrame(bytes.subarray(cut), { fin: true });
    assert.equal((await c.next('pong')).t, 'é');
});

test('a message over the limit across many fragments closes with 1009 before it ends', async () => {
    const c = await client();
    await c.sendFrame(Buffer.from('{"type":"ping","t":"x"'), { fin: false });
    // 20 x 4 KiB = 80 KiB and never a final fragment: only a check made
    // while fragments arrive can answer this.
    for (let i = 0; i < 20 && !c.closeInfo; i++) {
        await c.sendFrame(Buffer.alloc(4096, ' '), { fin: false }).catch(() => {});
    }
    assert.equal((await c.closed()).code, 1009);
    await expectAlive(sc.wsUrl);
});

test('a binary frame closes with 1003 and the member is announced kicked', async () => {
    const room = uniqueRoom();
    const c = await client();
    const d = await client();
    const wc = await c.join(room, 'Ann');
    await d.join(room, 'Bob');
    await c.sendRaw(Buffer.from(JSON.stringify({ type: 'ping' })), { binary: true });
    assert.equal((await c.closed()).code, 1003);
    // The grace period is 60 s here: kicked means no grace.
    assert.deepEqual(await d.next('peer-left'), { type: 'peer-left', id: wc.id, reason: 'kicked' });
    await expectAlive(sc.wsUrl);
});

for (const [label, bytes] of [
    ['a 0xff byte', [0xff]],
    ['an overlong slash', [0xc0, 0xaf]],
    ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['a code point over U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
]) {
    test(`invalid UTF-8 (${label}) closes with 1007`, async () => {
        const c = await client();
        await c.sendRaw(Buffer.concat([Buffer.from('{"type":"ping","t":"'), Buffer.from(bytes), Buffer.from('"}')]));
        assert.equal((await c.closed()).code, 1007);
        assert.equal(c.received.filter((m) => m.type === 'pong').length, 0);
        await expectAlive(sc.wsUrl);
    });
}

test('invalid UTF-8 in a later fragment closes with 1007', async () => {
    const c = await client();
    await c.join(uniqueRoom(), 'Ann');
    await c.sendFrame(Buffer.from('{"type":"chat","text":"ab'), { fin: false });
    await c.sendFrame(Buffer.from([0x80, 0x80]), { fin: false });
    await c.sendFrame(Buffer.from('"}'), { fin: true }).catch(() => {});
    assert.equal((await c.closed()).code, 1007);
    assert.equal(c.received.filter((m) => m.type === 'chat').length, 0);
    await expectAlive(sc.wsUrl);
});

test('a chat flood beyond the burst of 5 answers rate-limited, and the others get 5', async () => {
    const room = uniqueRoom();
    const a = await client();
    const b = await client();
    const wa = await a.join(room, 'Ann');
    await b.join(room, 'Bob');
    for (let i = 0; i < 8; i++) await a.send({ type: 'chat', text: `m${i}` });
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await b.next('chat')).text);
    assert.deepEqual(got, ['m0', 'm1', 'm2', 'm3', 'm4']);
    for (let i = 0; i < 3; i++) {
        const e = await a.next('error');
        assert.equal(e.code, 'rate-limited');
        assert.equal(e.ref, 'chat');
    }
    await b.expectNone('chat');
    // Still a member: signal and state are another bucket.
    await a.send({ type: 'state', hand: true });
    assert.equal((await b.next('peer-state')).peer.id, wa.id);
    assert.equal(a.closeInfo, null);
});

test('join and leave churn from one connection is rate-limited and cannot get the others kicked', async () => {
    const room = uniqueRoom();
    const victim = await client();
    await victim.join(room, 'Vic');
    const churn = await client();
    // 2000 join/leave pairs in one burst: without a join bucket each pair
    // queues a peer-joined and a peer-left at the victim, past its 256.
    for (let i = 0; i < 2000; i++) {
        churn.sendRaw(JSON.stringify({ type: 'join', room, name: `c${i}` }));
        churn.sendRaw('{"type":"leave"}');
    }
    const e = await churn.next((m) => m.type === 'error' && m.code === 'rate-limited');
    assert.equal(e.ref, 'join');
    // The victim gets at most the burst of 5 joins and their leaves (a
    // leave that finds its join still queued cancels both), then quiet.
    const other = await client();
    await other.join(room, 'Olga');
    assert.equal((await victim.next((m) => m.type === 'peer-joined' && m.peer.name === 'Olga')).peer.name, 'Olga');
    const presence = victim.received.filter((m) => m.type === 'peer-joined' || m.type === 'peer-left');
    assert.ok(presence.length <= 11, `presence at the victim: ${presence.length}`);
    await other.send({ type: 'chat', text: 'still here?' });
    assert.equal((await victim.next('chat')).text, 'still here?');
    assert.equal(victim.closeInfo, null);
});

test('a sender refused 50 times in a row closes with 1008 and is announced kicked', async () => {
    const room = uniqueRoom();
    const a = await client();
    const b = await client();
    const wa = await a.join(room, 'Ann');
    await b.join(room, 'Bob');
    for (let i = 0; i < 60 && !a.closeInfo; i++) await a.send({ type: 'chat', text: `f${i}` }).catch(() => {});
    assert.equal((await a.closed()).code, 1008);
    const limited = a.received.filter((m) => m.type === 'error' && m.code === 'rate-limited').length;
    assert.ok(limited >= 49 && limited <= 50, `rate-limited answers before the close: ${limited}`);
    assert.deepEqual(await b.next('peer-left'), { type: 'peer-left', id: wa.id, reason: 'kicked' });
    assert.equal(b.received.filter((m) => m.type === 'chat').length, 5);
    await expectAlive(sc.wsUrl);
});

test('a connection that never joins is closed at the join deadline with 1008', async () => {
    const c = await client(deadline.wsUrl);
    // ping is allowed before join but does not count as joining.
    await c.send({ type: 'ping', t: 1 });
    assert.equal((await c.next('pong')).t, 1);
    const info = await c.closed();
    assert.equal(info.code, 1008);
    await expectAlive(deadline.wsUrl);
});

test('a connection that joined in time outlives the join deadline', async () => {
    const c = await client(deadline.wsUrl);
    await c.join(uniqueRoom(), 'Ann');
    await c.expectNone(() => false, 1500);
    assert.equal(c.closeInfo, null);
    await c.send({ type: 'ping', t: 'late' });
    assert.equal((await c.next('pong')).t, 'late');
});

test('a reader that stops reading is closed as slow consumer, the others keep receiving', async () => {
    const room = uniqueRoom();
    const a = await client(slow.wsUrl);
    const b = await client(slow.wsUrl);
    const c = await client(slow.wsUrl);
    const wa = await a.join(room, 'Slow');
    await b.join(room, 'Sender');
    await c.join(room, 'Watcher');
    a.pause();
    let leftSeen = null;
    const leftP = c.next((m) => m.type === 'peer-left' && m.id === wa.id, 60000).then((m) => { leftSeen = m; });
    // Room chat of ~2 KB each (the chat bucket is wide open on this
    // sidecar) until the reader's queue has stayed over its 256 KiB cap
    // for HUDDLE_SLOW_CONSUMER_MS; bounded at 40,000 messages (80 MB).
    const text = 'z'.repeat(2000);
    let sent = 0;
    while (!leftSeen && sent < 40000) {
        await b.send({ type: 'chat', text });
        sent++;
        if (sent % 50 === 0) {
            // The watcher keeps up with every message while the slow one lags.
            while (c.buffer.length > 0) c.buffer.shift();
            await new Promise(setImmediate);
        }
    }
    await leftP;
    assert.equal(leftSeen.id, wa.id);
    // Closed by the server for its own good: kicked, no grace (docs/protocol.md).
    assert.equal(leftSeen.reason, 'kicked', JSON.stringify(leftSeen));
    assert.equal(b.closeInfo, null);
    assert.equal(c.closeInfo, null);
    await b.send({ type: 'chat', text: 'still flowing' });
    assert.equal((await c.next((m) => m.type === 'chat' && m.text === 'still flowing')).text, 'still flowing');
    a.resume();
    const info = await a.closed(20000);
    assert.equal(info.code, 1008, `slow reader closed with ${JSON.stringify(info)}`);
    assert.match(info.reason, /slow/i);
    await expectAlive(slow.wsUrl);
});

test('signal and state share one token bucket: past its burst they answer rate-limited', async () => {
    const room = uniqueRoom();
    const a = await client(tight.wsUrl);
    const b = await client(tight.wsUrl);
    await a.join(room, 'Ann');
    const wb = await b.join(room, 'Bob');
    await a.next('peer-joined');
    await a.send({ type: 'state', hand: true });
    await a.send({ type: 'signal', to: wb.id, data: { n: 1 } });
    await a.send({ type: 'state', hand: false });
    await a.send({ type: 'signal', to: wb.id, data: { n: 2 } });
    await a.send({ type: 'state', audio: true });
    assert.equal((await b.next('peer-state')).peer.hand, true);
    assert.deepEqual((await b.next('signal')).data, { n: 1 });
    assert.equal((await b.next('peer-state')).peer.hand, false);
    for (const ref of ['signal', 'state']) {
        const e = await a.next('error');
        assert.equal(e.code, 'rate-limited');
        assert.equal(e.ref, ref);
    }
    await b.expectNone((m) => m.type === 'signal' || m.type === 'peer-state');
    // Chat is another bucket.
    await a.send({ type: 'chat', text: 'still allowed' });
    assert.equal((await b.next('chat')).text, 'still allowed');
});

test('chat history outlives an empty room only for HUDDLE_CHAT_HISTORY_TTL_MS', async () => {
    const room = uniqueRoom();
    const a = await client(tight.wsUrl);
    await a.join(room, 'Ann');
    await a.send({ type: 'chat', text: 'remember me' });
    await a.next('chat');
    await a.send({ type: 'leave' });
    const b = await client(tight.wsUrl);
    const wb = await b.join(room, 'Bob');
    assert.deepEqual(wb.chat.map((m) => m.text), ['remember me'], 'history kept right after the room emptied');
    await b.send({ type: 'leave' });
    await b.expectNone(() => false, 3500);
    const c = await client(tight.wsUrl);
    const wc = await c.join(room, 'Cid');
    assert.deepEqual(wc.chat, [], 'history kept past its TTL');
});
