// Bad input to huddle-sidecar (docs/protocol.md): each case gets its
// error code or close code, and the process keeps serving afterwards
// (a fresh client joins a fresh room and is seen by a second one).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSidecar, stopAll } from '../lib/stack.mjs';
import { connect, expectAlive, uniqueRoom } from '../lib/wsclient.mjs';

let sc; // the default error window: 10 counted errors in 10 s close
let lenient; // a window that never closes, for the answer-by-answer checks
let windowed; // 3 errors per second
const clients = [];

before(async () => {
    sc = await startSidecar({ env: { HUDDLE_RESUME_GRACE_MS: '60000' } });
    lenient = await startSidecar({ env: { HUDDLE_ERROR_RUN: '1000000' } });
    windowed = await startSidecar({ env: { HUDDLE_ERROR_RUN: '3', HUDDLE_ERROR_WINDOW_MS: '1000' } });
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll([sc, lenient, windowed]);
});

async function client(url = lenient.wsUrl) {
    const c = await connect(url);
    clients.push(c);
    return c;
}

/** Sends each raw frame on one connection and checks each answer's code. */
async function expectErrors(c, cases) {
    for (const [raw, code, ref] of cases) {
        await c.sendRaw(typeof raw === 'string' ? raw : JSON.stringify(raw));
        const e = await c.next('error');
        assert.equal(e.code, code, `answer to ${typeof raw === 'string' ? raw : JSON.stringify(raw)}: ${JSON.stringify(e)}`);
        if (ref !== undefined) assert.equal(e.ref, ref, `ref for ${JSON.stringify(raw)}`);
        assert.equal(typeof e.message, 'string');
        // A ping in between shows the connection still answers.
        await c.send({ type: 'ping', t: 'sep' });
        await c.next('pong');
    }
    assert.equal(c.closeInfo, null, 'an error closed the connection');
}

test('text that is not JSON answers bad-json and the connection stays', async () => {
    const c = await client();
    await expectErrors(c, [
        ['hello', 'bad-json'],
        ['{', 'bad-json'],
        ['', 'bad-json'],
        ['{"type":"ping"}}', 'bad-json'],
        ['{"type":"ping"} {"type":"ping"}', 'bad-json'],
        ["{'type':'ping'}", 'bad-json'],
        ['{"type":"ping",}', 'bad-json'],
        ['{"type":"ping"', 'bad-json'],
    ]);
    await c.join(uniqueRoom(), 'Ann');
    await expectAlive(sc.wsUrl);
});

test('JSON that is not an object answers bad-message', async () => {
    const c = await client();
    await expectErrors(c, [
        ['[]', 'bad-message'],
        ['[{"type":"ping"}]', 'bad-message'],
        ['"join"', 'bad-message'],
        ['5', 'bad-message'],
        ['null', 'bad-message'],
        ['true', 'bad-message'],
    ]);
    await expectAlive(sc.wsUrl);
});

test('a missing or wrong-typed type is bad-message, an unknown one unknown-type', async () => {
    const c = await client();
    await c.join(uniqueRoom(), 'Ann');
    await expectErrors(c, [
        [{}, 'bad-message'],
        [{ text: 'hi' }, 'bad-message'],
        [{ type: 5 }, 'bad-message'],
        [{ type: null }, 'bad-message'],
        [{ type: ['chat'] }, 'bad-message'],
        [{ type: { chat: 1 } }, 'bad-message'],
        [{ type: true }, 'bad-message'],
        [{ type: 'nope' }, 'unknown-type', 'nope'],
        [{ type: '' }, 'unknown-type'],
        [{ type: 'CHAT', text: 'x' }, 'unknown-type'],
        [{ type: 'chat\u0000', text: 'x' }, 'unknown-type'],
        [{ type: 'welcome' }, 'unknown-type'],
        [{ type: 'pong' }, 'unknown-type'],
    ]);
    await expectAlive(sc.wsUrl);
});

test('keys in another case do not count: Type, Room, Name, Text', async () => {
    const c = await client();
    await expectErrors(c, [
        [{ Type: 'ping' }, 'bad-message'],
        [{ TYPE: 'join', room: 'abc', name: 'Ann' }, 'bad-message'],
    ]);
    // Room or Name in another case: the field is missing.
    for (const msg of [
        { type: 'join', Room: uniqueRoom(), name: 'Ann' },
        { type: 'join', room: uniqueRoom(), Name: 'Ann' },
    ]) {
        await c.send(msg);
        const e = await c.next('error');
        assert.ok(['bad-message', 'invalid-room'].includes(e.code), `${JSON.stringify(msg)} answered ${JSON.stringify(e)}`);
        assert.equal(e.ref, 'join');
    }
    await c.join(uniqueRoom(), 'Ann');
    await expectErrors(c, [[{ type: 'chat', Text: 'hi' }, 'bad-message', 'chat']]);
    await c.expectNone('chat');
    await expectAlive(sc.wsUrl);
});

test('wrong-typed join fields are bad-message', async () => {
    const c = await client();
    const room = uniqueRoom();
    await expectErrors(c, [
        [{ type: 'join', room, name: 5 }, 'bad-message', 'join'],
        [{ type: 'join', room, name: null }, 'bad-message', 'join'],
        [{ type: 'join', room }, 'bad-message', 'join'],
        [{ type: 'join', room, name: 'Ann', audio: 'yes' }, 'bad-message', 'join'],
        [{ type: 'join', room, name: 'Ann', video: 1 }, 'bad-message', 'join'],
        [{ type: 'join', room, name: 'Ann', resume: 12 }, 'bad-message', 'join'],
    ]);
    // A non-string room is a wrong-typed field (bad-message) or a bad room id.
    for (const r of [5, null, ['abc'], { id: 'abc' }]) {
        await c.send({ type: 'join', room: r, name: 'Ann' });
        const e = await c.next('error');
        assert.ok(['bad-message', 'invalid-room'].includes(e.code), `room ${JSON.stringify(r)}: ${JSON.stringify(e)}`);
    }
    await c.send({ type: 'join', name: 'Ann' });
    const e = await c.next('error');
    assert.ok(['bad-message', 'invalid-room'].includes(e.code), `missing room: ${JSON.stringify(e)}`);
    // None of this joined anything.
    const w = await c.join(room, 'Ann');
    assert.deepEqual(w.peers, []);
    await expectAlive(sc.wsUrl);
});

test('wrong-typed chat, signal and ping fields after join are bad-message', async () => {
    const room = uniqueRoom();
    const a = await client();
    const b = await client();
    await a.join(room, 'Ann');
    const wb = await b.join(room, 'Bob');
    await expectErrors(a, [
        [{ type: 'chat', text: 5 }, 'bad-message', 'chat'],
        [{ type: 'chat' }, 'bad-message', 'chat'],
        [{ type: 'chat', text: ['hi'] }, 'bad-message', 'chat'],
        [{ type: 'chat', text: 'hi', to: 5 }, 'bad-message', 'chat'],
        [{ type: 'signal', to: wb.id, data: null }, 'bad-message', 'signal'],
        [{ type: 'signal', to: [wb.id], data: {} }, 'bad-message', 'signal'],
    ]);
    await b.expectNone((m) => m.type === 'chat' || m.type === 'signal');
    await expectAlive(sc.wsUrl);
});

test('names: 64 bytes pass; 65 bytes, empty or control characters (incl. U+0085) are bad-message', async () => {
    const c = await client();
    const bad = [
        'x'.repeat(65),
        'é'.repeat(32) + 'x', // 65 bytes, 33 code points
        '',
        'a\u0000b',
        'a\u0001b',
        'a\nb',
        'tab\t',
        'a\u001fb',
        'del\u007f',
        'nel\u0085',
        'a\u0080b',
        'a\u009fb',
    ];
    for (const name of bad) {
        await c.send({ type: 'join', room: uniqueRoom(), name });
        const e = await c.next('error');
        assert.equal(e.code, 'bad-message', `name ${JSON.stringify(name)}: ${JSON.stringify(e)}`);
        assert.equal(e.ref, 'join');
        await c.send({ type: 'ping' });
        await c.next('pong');
    }
    // Exactly 64 bytes, multi-byte included, and U+00A0 (not a Cc) pass.
    for (const name of ['x'.repeat(64), 'é'.repeat(32), '😀'.repeat(16), 'a\u00a0b <script>']) {
        const d = await client();
        const w = await d.join(uniqueRoom(), name);
        const e = await client();
        const we = await e.join(w.room, 'other');
        assert.equal(we.peers[0].name, name);
        d.terminate();
        e.terminate();
    }
    await expectAlive(sc.wsUrl);
});

test('NUL in strings never truncates: room, name, type and chat text', async () => {
    const c = await client();
    const room = uniqueRoom();
    // An escaped NUL in the room id is an invalid room, not room "<prefix>".
    await c.send({ type: 'join', room: `${room}\u0000x`, name: 'Ann' });
    let e = await c.next('error');
    assert.equal(e.code, 'invalid-room', JSON.stringify(e));
    assert.equal(e.ref, 'join');
    // A raw NUL byte inside a JSON string is not JSON (RFC 8259 needs it
    // escaped); the only acceptable answers are errors.
    await c.sendRaw(Buffer.concat([
        Buffer.from(`{"type":"join","room":"${room}`), Buffer.from([0]), Buffer.from('x","name":"Ann"}'),
    ]));
    e = await c.next('error');
    assert.ok(['bad-json', 'invalid-room'].includes(e.code), JSON.stringify(e));
    // A raw NUL after the object is trailing junk.
    await c.sendRaw(Buffer.concat([Buffer.from('{"type":"ping","t":1}'), Buffer.from([0])]));
    e = await c.next('error');
    assert.equal(e.code, 'bad-json');
    const w = await c.join(room, 'Ann');
    assert.equal(w.room, room);
    const b = await client();
    await b.join(room, 'Bob');
    // Chat text with a NUL is refused or relayed whole, never cut short.
    await c.send({ type: 'chat', text: 'before\u0000after' });
    const m = await c.next((x) => x.type === 'chat' || x.type === 'error');
    if (m.type === 'chat') {
        assert.equal(m.text, 'before\u0000after');
        assert.equal((await b.next('chat')).text, 'before\u0000after');
    } else {
        assert.equal(m.code, 'bad-message');
        await b.expectNone('chat');
    }
    await expectAlive(sc.wsUrl);
});

test('hostile room ids answer invalid-room', async () => {
    const c = await client();
    const bad = [
        '', '../etc', '..', '.', 'a/b', '/abc', 'a\\b', 'a b', ' abc', 'abc ', 'x'.repeat(65),
        'ws', 'healthz', 'assets', 'api', 'peerjs', 'metrics', '-abc', '_abc', 'é', 'roöm', 'abc%2f',
        'a?b', 'a#b', 'a.b', 'a\u2028b', 'Ａbc',
    ];
    for (const room of bad) {
        await c.send({ type: 'join', room, name: 'Ann' });
        const e = await c.next('error');
        assert.equal(e.code, 'invalid-room', `room ${JSON.stringify(room)}: ${JSON.stringify(e)}`);
        assert.equal(e.ref, 'join');
        await c.send({ type: 'ping' });
        await c.next('pong');
    }
    // Valid edge cases: 64 chars, one char, case-sensitive distinct rooms.
    const long = `A${'b'.repeat(62)}9`;
    const w = await c.join(long, 'Ann');
    assert.equal(w.room, long);
    const d = await client();
    const wd = await d.join('Z', 'Zed');
    assert.equal(wd.room, 'Z');
    d.terminate();
    const up = await client();
    const lo = await client();
    const base = uniqueRoom('Case');
    await up.join(base, 'up');
    const wl = await lo.join(base.toLowerCase(), 'lo');
    assert.deepEqual(wl.peers, [], 'room ids must be case-sensitive');
    await expectAlive(sc.wsUrl);
});

test('ten errors in a row close with 1008', async () => {
    const c = await client(sc.wsUrl);
    for (let i = 0; i < 10; i++) await c.sendRaw('not json');
    const info = await c.closed();
    assert.equal(info.code, 1008);
    const errors = c.received.filter((m) => m.type === 'error');
    assert.equal(errors.length, 10, `answers before the close: ${JSON.stringify(c.received)}`);
    await expectAlive(sc.wsUrl);
});

test('a mix of the counted errors also closes at ten', async () => {
    const c = await client(sc.wsUrl);
    const msgs = [
        'x', '{"type":5}', '{"type":"zz"}', '{"type":"chat","text":"a"}', '{"type":"join","room":"ws","name":"a"}',
        'x', '{"type":5}', '{"type":"zz"}', '{"type":"chat","text":"a"}', '{"type":"join","room":"ws","name":"a"}',
    ];
    for (const m of msgs) await c.sendRaw(m);
    const info = await c.closed();
    assert.equal(info.code, 1008);
    assert.deepEqual(c.received.filter((m) => m.type === 'error').map((e) => e.code), [
        'bad-json', 'bad-message', 'unknown-type', 'not-joined', 'invalid-room',
        'bad-json', 'bad-message', 'unknown-type', 'not-joined', 'invalid-room',
    ]);
});

test('good messages between errors do not reset the count: the tenth within 10 s closes', async () => {
    const c = await client(sc.wsUrl);
    for (let i = 0; i < 9; i++) {
        await c.sendRaw('{"type":"nope"}');
        await c.send({ type: 'ping', t: i });
        assert.equal((await c.next('pong')).t, i);
    }
    assert.equal(c.closeInfo, null);
    await c.sendRaw('{"type":"nope"}');
    const info = await c.closed();
    assert.equal(info.code, 1008);
    assert.equal(c.received.filter((m) => m.type === 'error').length, 10);
    await expectAlive(sc.wsUrl);
});

test('errors spread wider than the window do not close; a burst within it does', async () => {
    const c = await client(windowed.wsUrl);
    // 3 per second refill one every 333 ms: one error each 500 ms never
    // runs the budget out (waiting is the point here, nothing to await).
    for (let i = 0; i < 6; i++) {
        await c.sendRaw('{"type":"nope"}');
        assert.equal((await c.next('error')).code, 'unknown-type');
        await new Promise((r) => setTimeout(r, 500));
    }
    assert.equal(c.closeInfo, null);
    for (let i = 0; i < 3; i++) await c.sendRaw('{"type":"nope"}');
    assert.equal((await c.closed()).code, 1008);
});

test('a member closed for ten errors is announced peer-left reason kicked', async () => {
    const room = uniqueRoom();
    const a = await client(sc.wsUrl);
    const b = await client(sc.wsUrl);
    const wa = await a.join(room, 'Ann');
    await b.join(room, 'Bob');
    for (let i = 0; i < 10; i++) await a.sendRaw('{"type":"nope"}');
    assert.equal((await a.closed()).code, 1008);
    // The grace period is 60 s here: kicked means no grace.
    assert.deepEqual(await b.next('peer-left'), { type: 'peer-left', id: wa.id, reason: 'kicked' });
    await expectAlive(sc.wsUrl);
});
