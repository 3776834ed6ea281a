// GET /metrics on the sidecar's own port (docs/config.md "Metrics"): the
// Prometheus text of its gauges and counters, checked number by number
// after a known sequence of joins, chat, errors, closes and a resume.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startRedis, startSidecar, stopAll } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

/** GET /metrics of s: { status, type, text, values: Map(series -> number) }. */
async function scrape(s) {
    const res = await fetch(`http://127.0.0.1:${s.port}/metrics`);
    const text = await res.text();
    const values = new Map();
    for (const line of text.split('\n')) {
        if (line === '' || line.startsWith('#')) continue;
        const sp = line.lastIndexOf(' ');
        values.set(line.slice(0, sp), Number(line.slice(sp + 1)));
    }
    return { status: res.status, type: res.headers.get('content-type'), text, values };
}

/** The series of family name with label=value for each key of want, the rest 0. */
function expectFamily(values, name, label, want) {
    const got = {};
    for (const [k, v] of values) {
        const m = k.match(new RegExp(`^${name}\\{${label}="([a-z-]+)"\\}$`));
        if (m) got[m[1]] = v;
    }
    const full = Object.fromEntries(Object.keys(got).map((k) => [k, want[k] ?? 0]));
    assert.deepEqual(got, full, name);
    for (const k of Object.keys(want)) assert.ok(k in got, `${name}{${label}="${k}"} is missing`);
}

test('metrics count exactly what happened: messages in and out by type, errors by code, closes by reason, gauges', async () => {
    const s = await startSidecar();
    const clients = [];
    const client = async () => { const c = await connect(s.wsUrl); clients.push(c); return c; };
    try {
        const zero = await scrape(s);
        assert.equal(zero.status, 200);
        assert.equal(zero.type, 'text/plain; version=0.0.4');
        assert.equal(zero.values.get('huddle_sidecar_connections'), 0);
        assert.equal(zero.values.has('huddle_sidecar_redis_connected'), false);
        for (const fam of ['connections', 'peers', 'peers_in_grace', 'rooms', 'send_queue_bytes', 'draining']) {
            assert.match(zero.text, new RegExp(`^# HELP huddle_sidecar_${fam} .+\n# TYPE huddle_sidecar_${fam} gauge$`, 'm'));
        }
        for (const fam of ['messages_in_total', 'messages_out_total', 'errors_total', 'closes_total', 'joins_total', 'resumes_total']) {
            assert.match(zero.text, new RegExp(`^# TYPE huddle_sidecar_${fam} counter$`, 'm'));
        }

        const room = uniqueRoom();
        const a = await client();
        const b = await client();
        const c = await client();
        await a.join(room, 'Ann');                       // welcome a
        const wb = await b.join(room, 'Bob');            // welcome b, peer-joined a
        await c.join(room, 'Cy');                        // welcome c, peer-joined a b
        await a.next('peer-joined');
        await a.next('peer-joined');
        await b.next('peer-joined');
        await a.send({ type: 'chat', text: 'hi' });      // chat to a b c
        for (const x of [a, b, c]) await x.next('chat');
        await b.sendRaw('not json');                     // error bad-json
        assert.equal((await b.nextError()).code, 'bad-json');
        await c.send({ type: 'signal', to: 'nobody-here-xxxx', data: {} });
        assert.equal((await c.nextError()).code, 'no-such-peer');
        await c.send({ type: 'ping', t: 1 });            // pong
        await c.next('pong');
        await c.close(1000);                             // peer-left to a b
        await a.next('peer-left');
        await b.next('peer-left');
        await b.drop();                                  // grace: peer-state (away) to a
        await s.waitForOutput(new RegExp(`grace room=${room} peer=${wb.id}`));

        const mid = await scrape(s);
        assert.equal(mid.values.get('huddle_sidecar_connections'), 1);
        assert.equal(mid.values.get('huddle_sidecar_peers'), 1);
        assert.equal(mid.values.get('huddle_sidecar_peers_in_grace'), 1);

        const d = await client();
        const wd = await d.join(room, 'Bob', { resume: wb.resume }); // welcome d, peer-state (back) to a
        assert.equal(wd.id, wb.id);

        const { values } = await scrape(s);
        const gauges = Object.fromEntries(['connections', 'peers', 'peers_in_grace', 'rooms', 'send_queue_bytes', 'draining']
            .map((k) => [k, values.get(`huddle_sidecar_${k}`)]));
        assert.deepEqual(gauges, { connections: 2, peers: 2, peers_in_grace: 0, rooms: 1, send_queue_bytes: 0, draining: 0 });
        expectFamily(values, 'huddle_sidecar_messages_in_total', 'type', { join: 4, chat: 1, signal: 1, ping: 1, invalid: 1 });
        expectFamily(values, 'huddle_sidecar_messages_out_total', 'type',
            { welcome: 4, 'peer-joined': 3, 'peer-left': 2, 'peer-state': 2, chat: 3, pong: 1, error: 2 });
        expectFamily(values, 'huddle_sidecar_errors_total', 'code', { 'bad-json': 1, 'no-such-peer': 1 });
        expectFamily(values, 'huddle_sidecar_closes_total', 'reason', { client: 1, dropped: 1 });
        assert.equal(values.get('huddle_sidecar_joins_total'), 3);
        assert.equal(values.get('huddle_sidecar_resumes_total'), 1);
    } finally {
        for (const c of clients) c.terminate();
        await stopAll([s]);
    }
});

test('metrics: a slow consumer and a kick are counted as such; redis_connected follows Redis', async () => {
    const redis = await startRedis();
    const s = await startSidecar({
        env: {
            HUDDLE_REDIS_URL: redis.url, HUDDLE_NODE_ID: 'm1', HUDDLE_ERROR_RUN: '2',
            HUDDLE_SEND_QUEUE_BYTES: '1024', HUDDLE_SEND_QUEUE_MAX_BYTES: '1024',
            HUDDLE_REDIS_PING_MS: '100', HUDDLE_REDIS_PING_TIMEOUT_MS: '500',
        },
    });
    const clients = [];
    try {
        await s.waitForOutput(/redis up as node/);
        assert.equal((await scrape(s)).values.get('huddle_sidecar_redis_connected'), 1);
        const room = uniqueRoom();
        const a = await connect(s.wsUrl);
        const b = await connect(s.wsUrl);
        const k = await connect(s.wsUrl);
        clients.push(a, b, k);
        await a.join(room, 'Ann');
        await b.join(room, 'Bob');
        await a.next('peer-joined');
        await k.sendRaw('x');
        await k.sendRaw('y');                            // second bad one in a row: kicked
        assert.equal((await k.closed()).code, 1008);
        // Over the hard ceiling HUDDLE_SEND_QUEUE_MAX_BYTES at once: b is a
        // slow consumer (over the soft cap alone it would get 10 s to drain).
        await a.send({ type: 'signal', to: b.id, data: { pad: 'x'.repeat(1100) } });
        assert.deepEqual(await b.closed(), { code: 1008, reason: 'slow consumer' });
        await a.next((m) => m.type === 'peer-left' && m.id === b.id && m.reason === 'kicked');
        let { values } = await scrape(s);
        assert.equal(values.get('huddle_sidecar_closes_total{reason="slow-consumer"}'), 1);
        assert.equal(values.get('huddle_sidecar_closes_total{reason="kicked"}'), 1);
        assert.equal(values.get('huddle_sidecar_errors_total{code="bad-json"}'), 2);
        assert.equal(values.get('huddle_sidecar_joins_total'), 2);

        redis.signal('SIGSTOP');
        await s.waitForOutput(/redis down/);
        ({ values } = await scrape(s));
        assert.equal(values.get('huddle_sidecar_redis_connected'), 0);
        redis.signal('SIGCONT');
    } finally {
        for (const c of clients) c.terminate();
        redis.signal('SIGCONT');
        await stopAll([redis, s]);
    }
});
