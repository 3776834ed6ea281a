// The PeerJS endpoint of huddle-sidecar (docs/peerjs.md) with raw websocket
// clients: the id route, OPEN, ID-TAKEN, relays both ways, messages held
// for a peer not connected yet, EXPIRE, HEARTBEAT, and bad input with the
// process alive after it.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSidecar, startStack, stopAll } from '../lib/stack.mjs';
import { connect, expectAlive } from '../lib/wsclient.mjs';

let sc; // defaults
let quick; // HUDDLE_PEERJS_ALIVE_MS short, for the heartbeat
let tight; // a small relay budget, for the flood
let stack; // nginx, fcgi and a sidecar
const started = [];
const clients = [];
let seq = 0;

before(async () => {
    sc = await startSidecar();
    quick = await startSidecar({ env: { HUDDLE_PEERJS_ALIVE_MS: '300', HUDDLE_PING_INTERVAL_MS: '200' } });
    // A token a second: a flood's rate-limited answers come in a row even
    // on a slow machine (a token back between them would restart the run).
    tight = await startSidecar({ env: { HUDDLE_SIGNAL_BURST: '5', HUDDLE_SIGNAL_RATE: '1', HUDDLE_RATE_LIMIT_RUN: '10' } });
    started.push(sc, quick, tight);
    stack = await startStack();
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll(started);
    await stack?.stop();
});

/** A fresh PeerJS id for one test. */
function newId(name) {
    seq += 1;
    return `${name}-${process.pid}-${seq}`;
}

function pjUrl(s, { key = 'peerjs', id, token = 'tok' }) {
    const q = new URLSearchParams();
    if (key !== null) q.set('key', key);
    if (id !== null) q.set('id', id);
    if (token !== null) q.set('token', token);
    q.set('version', '1.5.5');
    return `ws://127.0.0.1:${s.port}/peerjs/peerjs?${q}`;
}

/** A raw websocket on the PeerJS path; not yet waited for OPEN. */
async function raw(s, params, opts) {
    const c = await connect(pjUrl(s, params), opts);
    clients.push(c);
    return c;
}

/** A client that got OPEN for id. */
async function peer(s, id, token = 'tok') {
    const c = await raw(s, { id, token });
    assert.deepEqual(await c.next('OPEN'), { type: 'OPEN' });
    return c;
}

test('GET /peerjs/<key>/id gives a fresh uuid that any origin may read', async () => {
    const url = `http://127.0.0.1:${sc.port}/peerjs/peerjs/id?ts=1&version=1.5.5`;
    const a = await fetch(url);
    const b = await fetch(url);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('access-control-allow-origin'), '*');
    const ida = await a.text();
    const idb = await b.text();
    assert.match(ida, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.notEqual(ida, idb);
    const peers = await fetch(`http://127.0.0.1:${sc.port}/peerjs/peerjs/peers`);
    assert.equal(peers.status, 401);
    await peers.arrayBuffer();
    const info = await fetch(`http://127.0.0.1:${sc.port}/peerjs/`);
    assert.equal((await info.json()).name, 'PeerJS Server');
    const none = await fetch(`http://127.0.0.1:${sc.port}/peerjs/peerjs/other`);
    assert.equal(none.status, 404);
    await none.arrayBuffer();
});

test('a minted id opens, and a second token for it gets ID-TAKEN and a close', async () => {
    const id = await (await fetch(`http://127.0.0.1:${sc.port}/peerjs/peerjs/id`)).text();
    const a = await peer(sc, id, 'one');
    const b = await raw(sc, { id, token: 'two' });
    assert.deepEqual(await b.next(), { type: 'ID-TAKEN', payload: { msg: 'ID is taken' } });
    await b.closed();
    // The holder is untouched: a message still reaches it.
    const idc = newId('c');
    const c = await peer(sc, idc);
    await c.send({ type: 'OFFER', dst: id, payload: { n: 1 } });
    assert.equal((await a.next('OFFER')).src, idc);
});

test('a wrong key or a missing parameter gets ERROR and a close', async () => {
    const k = await raw(sc, { key: 'wrong', id: newId('k') });
    assert.deepEqual(await k.next(), { type: 'ERROR', payload: { msg: 'Invalid key provided' } });
    await k.closed();
    const t = await raw(sc, { id: newId('t'), token: null });
    assert.deepEqual(await t.next(), {
        type: 'ERROR', payload: { msg: 'No id, token, or key supplied to websocket server' },
    });
    await t.closed();
    // Too long is invalid, not missing (before, past 70 characters an id
    // or token, or a long key before them, read as absent).
    for (const params of [{ id: 'a'.repeat(100) }, { id: newId('l'), token: 't'.repeat(200) }]) {
        const l = await raw(sc, params);
        assert.deepEqual(await l.next(), { type: 'ERROR', payload: { msg: 'Invalid id or token' } });
        await l.closed();
    }
    const lk = await raw(sc, { key: 'k'.repeat(300), id: newId('lk') });
    assert.deepEqual(await lk.next(), { type: 'ERROR', payload: { msg: 'Invalid key provided' } });
});

test('OFFER, ANSWER, CANDIDATE and LEAVE go to dst with src added, both ways', async () => {
    const ida = newId('a');
    const idb = newId('b');
    const a = await peer(sc, ida);
    const b = await peer(sc, idb);
    const payload = { sdp: { type: 'offer', sdp: 'v=0' }, type: 'media', connectionId: 'mc_1' };
    await a.send({ type: 'OFFER', dst: idb, payload });
    assert.deepEqual(await b.next('OFFER'), { type: 'OFFER', src: ida, dst: idb, payload });
    await b.send({ type: 'ANSWER', dst: ida, payload: { connectionId: 'mc_1' } });
    assert.deepEqual(await a.next('ANSWER'), { type: 'ANSWER', src: idb, dst: ida, payload: { connectionId: 'mc_1' } });
    await b.send({ type: 'CANDIDATE', dst: ida, payload: { candidate: 'c' }, src: 'forged' });
    assert.equal((await a.next('CANDIDATE')).src, idb);
    await a.send({ type: 'LEAVE', dst: idb });
    assert.deepEqual(await b.next('LEAVE'), { type: 'LEAVE', src: ida, dst: idb });
});

test('a name cut in the middle of an emoji, or a NUL, in what is relayed comes through as U+FFFD, the rest whole', async () => {
    // JSON.stringify writes a lone surrogate as an escape, and JSON.parse
    // takes it; before, the sidecar answered ERROR "invalid JSON" (the
    // client dropped its Peer), and a string ended at an escaped NUL.
    const ida = newId('a');
    const idb = newId('b');
    const a = await peer(sc, ida);
    const b = await peer(sc, idb);
    const payload = { metadata: { name: 'Ann 😀'.slice(0, 5), note: 'before\u0000after', whole: 'é 😀\u2028' } };
    await a.sendRaw(JSON.stringify({ type: 'OFFER', dst: idb, payload }));
    assert.deepEqual((await b.next('OFFER')).payload, { metadata: { name: 'Ann \ufffd', note: 'before\ufffdafter', whole: 'é 😀\u2028' } });
    await a.expectNone('ERROR', 300);
});

test('messages to an id not connected yet are delivered in order when it opens', async () => {
    const ida = newId('a');
    const idb = newId('b');
    const a = await peer(sc, ida);
    await a.send({ type: 'OFFER', dst: idb, payload: { n: 1 } });
    await a.send({ type: 'CANDIDATE', dst: idb, payload: { n: 2 } });
    const b = await raw(sc, { id: idb });
    assert.equal((await b.next()).type, 'OPEN');
    assert.deepEqual(await b.next(), { type: 'OFFER', src: ida, dst: idb, payload: { n: 1 } });
    assert.deepEqual(await b.next(), { type: 'CANDIDATE', src: ida, dst: idb, payload: { n: 2 } });
});

test('a held message nobody picks up comes back as EXPIRE, once', async () => {
    const ida = newId('a');
    const ghost = newId('ghost');
    const a = await peer(sc, ida);
    await a.send({ type: 'OFFER', dst: ghost, payload: {} });
    await a.send({ type: 'CANDIDATE', dst: ghost, payload: {} });
    assert.deepEqual(await a.next('EXPIRE', 15000), { type: 'EXPIRE', src: ghost, dst: ida });
    // The queue is gone: the ghost opening now gets nothing held.
    const g = await peer(sc, ghost);
    await a.send({ type: 'ANSWER', dst: ghost, payload: { after: true } });
    assert.deepEqual((await g.next()).payload, { after: true });
    await a.expectNone('EXPIRE');
});

test('HEARTBEAT keeps a client open; a silent one is closed', async () => {
    const beating = await peer(quick, newId('beat'));
    const silent = await peer(quick, newId('silent'));
    const timer = setInterval(() => { beating.send({ type: 'HEARTBEAT' }).catch(() => {}); }, 50);
    try {
        await silent.closed();
        assert.equal(beating.closeInfo, null);
        const other = await peer(quick, newId('other'));
        const id = (new URL(beating.ws.url)).searchParams.get('id');
        await other.send({ type: 'OFFER', dst: id, payload: {} });
        await beating.next('OFFER');
    } finally {
        clearInterval(timer);
    }
});

test('bad input gets ERROR or a close, and the process goes on serving', async () => {
    const aid = newId('bad');
    const a = await peer(sc, aid);
    await a.sendRaw('not json');
    assert.deepEqual(await a.next('ERROR'), { type: 'ERROR', payload: { msg: 'invalid JSON' } });
    await a.send({ type: 'JOIN', dst: 'x' });
    assert.deepEqual(await a.next('ERROR'), { type: 'ERROR', payload: { msg: 'unknown type' } });
    // A dst no id can be (a typo, a trailing space): EXPIRE, as for an id
    // nobody has; an ERROR would make the client drop its Peer.
    for (const dst of ['../etc', 'john.doe', 'ann ', 'x'.repeat(70)]) {
        await a.send({ type: 'OFFER', dst });
        assert.deepEqual(await a.next((m) => m.type !== 'HEARTBEAT'), { type: 'EXPIRE', src: dst, dst: aid });
    }
    await a.send({ type: 'OFFER', dst: 5 });
    assert.equal((await a.next('ERROR')).payload.msg, 'bad dst');
    await a.send({ type: 'OFFER' });
    assert.equal((await a.next('ERROR')).payload.msg, 'no dst');

    const many = await peer(sc, newId('errs'));
    for (let i = 0; i < 10; i++) await many.sendRaw('{');
    assert.equal((await many.closed()).code, 1008);

    const bin = await peer(sc, newId('bin'));
    await bin.sendRaw('{"type":"HEARTBEAT"}', { binary: true });
    assert.equal((await bin.closed()).code, 1003);

    const big = await peer(sc, newId('big'));
    await big.sendRaw(JSON.stringify({ type: 'OFFER', dst: 'x', payload: 'x'.repeat(70000) })).catch(() => {});
    assert.equal((await big.closed()).code, 1009);

    const target = await peer(tight, newId('target'));
    const dst = (new URL(target.ws.url)).searchParams.get('id');
    const flood = await peer(tight, newId('flood'));
    const sends = [];
    for (let i = 0; i < 400; i++) sends.push(flood.send({ type: 'CANDIDATE', dst, payload: { i } }).catch(() => {}));
    await Promise.all(sends);
    assert.equal((await flood.next('ERROR')).payload.msg, 'rate limited');
    assert.equal((await flood.closed()).code, 1008);
    // The burst got through, in order.
    const got = [];
    for (let i = 0; i < 5; i++) got.push((await target.next('CANDIDATE')).payload.i);
    assert.deepEqual(got, [0, 1, 2, 3, 4]);

    // Still serving, on both paths, on both sidecars.
    for (const s of [sc, tight]) {
        const t2 = await peer(s, newId('t2'));
        const id2 = (new URL(t2.ws.url)).searchParams.get('id');
        const after1 = await peer(s, newId('after'));
        await after1.send({ type: 'OFFER', dst: id2, payload: { ok: 1 } });
        assert.deepEqual((await t2.next('OFFER')).payload, { ok: 1 });
        await expectAlive(s.wsUrl);
    }
});

test('a browser origin that is not allowed is refused the upgrade', async () => {
    await assert.rejects(raw(sc, { id: newId('o') }, { origin: 'https://evil.example' }), (e) => e.status === 403);
    const ok = await raw(sc, { id: newId('o') }, { origin: `http://127.0.0.1:${sc.port}` });
    assert.equal((await ok.next()).type, 'OPEN');
});

test('nginx passes the id route and the websocket to the sidecar, nothing else', async () => {
    const id = await fetch(`${stack.url}/peerjs/mykey/id?ts=1&version=1.5.5`);
    assert.equal(id.status, 200);
    const ida = await id.text();
    assert.match(ida, /^[0-9a-f-]{36}$/);
    const peers = await fetch(`${stack.url}/peerjs/mykey/peers`);
    assert.equal(peers.status, 401);
    await peers.arrayBuffer();
    // Any key the client may be given (the websocket checks it): a
    // base64 one ends in "=" (before, nginx answered 404 to those).
    for (const key of ['c2VjcmV0==', 'a+b', 'a!b', 'ключ']) {
        const r = await fetch(`${stack.url}/peerjs/${encodeURIComponent(key)}/id`);
        assert.equal(r.status, 200, key);
        assert.match(await r.text(), /^[0-9a-f-]{36}$/, key);
    }
    for (const p of ['/peerjs/', '/peerjs/a/b/id', '/peerjs/peerjs/metrics', '/peerjs/../metrics']) {
        const r = await fetch(`${stack.url}${p}`);
        assert.equal(r.status, 404, p);
        await r.arrayBuffer();
    }
    const base = stack.url.replace(/^http/, 'ws');
    const a = await connect(`${base}/peerjs/peerjs?key=peerjs&id=${ida}&token=x&version=1.5.5`);
    const b = await connect(`${base}/peerjs/peerjs?key=peerjs&id=${newId('b')}&token=y`);
    clients.push(a, b);
    await a.next('OPEN');
    await b.next('OPEN');
    await b.send({ type: 'OFFER', dst: ida, payload: { via: 'nginx' } });
    assert.deepEqual((await a.next('OFFER')).payload, { via: 'nginx' });
});
