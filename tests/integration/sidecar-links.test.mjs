// The links message (docs/protocol.md, "links"): each page's summary of its
// peer connections, checked by the sidecar, written again in canonical form
// and relayed to the rest of the room. One real sidecar serves every test;
// each test uses rooms of its own.
//
// With HUDDLE_TEST_SIDECARS=N (set by cluster-links.test.mjs) the same tests
// run against N sidecars sharing a real redis-server, each new client
// connecting to the next sidecar in turn, so the relay crosses nodes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startSidecars, stopAll } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

// A bucket that refills too slowly to matter within a test: the fourth
// links of one connection is refused whatever the machine's speed.
const BURST = 3;
const INTERVAL_MS = 3600000;
const SIDECARS = Number(process.env.HUDDLE_TEST_SIDECARS || 1);
let sidecars = [];
let redis = null;
let turn = 0;
const clients = [];

before(async () => {
    const env = {
        HUDDLE_MAX_PEERS: '4',
        HUDDLE_LINKS_BURST: String(BURST),
        HUDDLE_LINKS_INTERVAL_MS: String(INTERVAL_MS),
    };
    ({ sidecars, redis } = await startSidecars(SIDECARS, env));
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll(redis ? [redis, ...sidecars] : sidecars);
});

/** n clients joined to one new room in order, on the sidecars in turn,
 * each having heard every later one join. */
async function room(names) {
    const id = uniqueRoom();
    const cs = [];
    for (const name of names) {
        const c = await connect(sidecars[turn++ % sidecars.length].wsUrl);
        clients.push(c);
        await c.join(id, name);
        cs.push(c);
    }
    for (const [i, c] of cs.entries()) {
        for (const o of cs.slice(i + 1)) await c.next((m) => m.type === 'peer-joined' && m.peer.id === o.id);
    }
    return cs;
}

/** Waits until everything c sent before was handled by its sidecar. */
async function settled(c) {
    const t = `t${Math.random()}`;
    await c.send({ type: 'ping', t });
    await c.next((m) => m.type === 'pong' && m.t === t);
}

test('welcome gives the links limits: burst, interval, entries (room cap minus one) and bytes', async () => {
    const [a] = await room(['Ann']);
    const l = a.welcome.limits;
    assert.deepEqual([l.linksBurst, l.linksIntervalMs, l.maxLinks, l.maxLinksBytes],
        [BURST, INTERVAL_MS, 3, 64 + 256 * 3]);
});

test('links go to everyone else in the room in canonical form, not to the sender nor other rooms', async () => {
    const [a, b, c] = await room(['Ann', 'Bob', 'Cid']);
    const [out] = await room(['Out']);
    // Members in another order, spaces, decimals, a forged from at the top.
    const text = `{"type":"links","from":"${c.id}","links":[ {"in":900.4, "out":850.6,"loss":0.54,
        "rtt":12.5,"proto":"udp","path":"srflx","state":"connected","peer":"${b.id}","limit":"none",
        "h":360,"w":640,"fps":29.7,"jitter":3.2,"udp":true}, {"state":"failed","peer":"${c.id}"} ]}`;
    await a.sendRaw(text);
    const want = `{"type":"links","from":"${a.id}","links":[`
        + `{"peer":"${b.id}","state":"connected","path":"srflx","proto":"udp","udp":true,"rtt":13,"loss":0.5,`
        + `"jitter":3,"out":851,"in":900,"fps":30,"w":640,"h":360,"limit":"none"},`
        + `{"peer":"${c.id}","state":"failed"}]}`;
    for (const x of [b, c]) assert.equal(JSON.stringify(await x.next('links')), want);
    await settled(a);
    await a.expectNone('links');
    await out.expectNone('links');
});

test('links past the bucket are rate-limited with ref links; other messages have their own budget', async () => {
    const [a, b] = await room(['Ann', 'Bob']);
    const msg = { type: 'links', links: [{ peer: b.id, state: 'connected', rtt: 20 }] };
    for (let i = 0; i < BURST + 1; i++) await a.send(msg);
    for (let i = 0; i < BURST; i++) assert.equal((await b.next('links')).from, a.id);
    const e = await a.next('error');
    assert.deepEqual([e.code, e.ref], ['rate-limited', 'links']);
    await a.send({ type: 'chat', text: 'chat has its own bucket' });
    assert.equal((await b.next('chat')).text, 'chat has its own bucket');
    await b.expectNone('links');
});

test('bad links are bad-message naming what broke, nothing is relayed, and the connection stays', async () => {
    const [a, b, c] = await room(['Ann', 'Bob', 'Cid']);
    const ok = (extra = {}) => ({ peer: b.id, state: 'connected', ...extra });
    const cases = [
        [{ links: 'none' }, 'links must be an array'],
        [{ links: [ok({ rtt: -1 })] }, 'links[0].rtt is out of range'],
        [{ links: [ok(), { peer: c.id, state: 'up' }] }, 'links[1].state is not one of its words'],
        [{ links: [ok({ path: 'direct' })] }, 'links[0].path is not one of its words'],
        [{ links: [ok({ color: 'red' })] }, 'links[0] has an unknown member'],
        [{ links: [ok(), ok()] }, 'links[1].peer is named twice'],
        [{ links: [ok(), { peer: c.id, state: 'new' }, { peer: a.id, state: 'new' }, { peer: 'x'.repeat(16), state: 'new' }] },
            'links has over 3 entries'],
        [{ links: [ok({ peer: a.id })] }, 'links may not name yourself'],
    ];
    for (const [body, message] of cases) {
        await a.send({ type: 'links', ...body });
        const e = await a.next('error');
        assert.deepEqual([e.code, e.ref, e.message], ['bad-message', 'links', message], JSON.stringify(body));
    }
    // Numbers JSON.stringify cannot write: infinity, as raw text.
    await a.sendRaw(`{"type":"links","links":[{"peer":"${b.id}","state":"new","rtt":1e999}]}`);
    assert.equal((await a.next('error')).message, 'links[0].rtt is out of range');
    await a.send({ type: 'links', links: [ok({ rtt: 7 })] });
    const m = await b.next('links');
    assert.deepEqual(m.links, [{ peer: b.id, state: 'connected', rtt: 7 }]);
    assert.equal(a.closeInfo, null);
    await b.expectNone('links');
});

test('a links message over maxLinksBytes is refused before its entries are read', async () => {
    const [a, b] = await room(['Ann', 'Bob']);
    const cap = a.welcome.limits.maxLinksBytes;
    const head = `{"type":"links","links":[{"peer":"${b.id}","state":"new"}]`;
    await a.sendRaw(head + ' '.repeat(cap - head.length) + '}');
    const e = await a.next('error');
    assert.deepEqual([e.code, e.ref], ['bad-message', 'links']);
    await a.sendRaw(head + ' '.repeat(cap - head.length - 1) + '}');
    assert.equal((await b.next('links')).from, a.id);
});

test('links before join are not-joined', async () => {
    const c = await connect(sidecars[0].wsUrl);
    clients.push(c);
    await c.send({ type: 'links', links: [] });
    const e = await c.next('error');
    assert.deepEqual([e.code, e.ref], ['not-joined', 'links']);
});
