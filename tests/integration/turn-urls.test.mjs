// welcome.iceServers with TURN URLs built from one host (docs/config.md):
// HUDDLE_TURN_SECRET without HUDDLE_TURN_URLS offers stun:, turn: (udp, tcp)
// and turns: on HUDDLE_PUBLIC_HOST or, when unset, on the host the
// websocket request named, with coturn's use-auth-secret credentials.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { test } from 'node:test';
import { BUILD, startRedis, startSidecar, stopAll } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

const SECRET = 'north-wind';

/** The iceServers of a welcome for a client whose request says Host: host. */
async function iceFor(s, host) {
    const c = await connect(s.wsUrl, host ? { headers: { Host: host } } : {});
    try {
        const w = await c.join(uniqueRoom(), 'Ann');
        return { ice: w.iceServers, id: w.id };
    } finally {
        c.terminate();
    }
}

/** Checks the TURN entry's credential as coturn would. */
function checkCredential(turn, id) {
    const [expiry, who] = turn.username.split(':');
    assert.equal(who, id);
    assert.ok(Number(expiry) > Date.now() / 1000);
    assert.equal(turn.credential, createHmac('sha1', SECRET).update(turn.username).digest('base64'));
}

const built = (h, turn = 3478, turns = 5349) => [
    `turn:${h}:${turn}?transport=udp`, `turn:${h}:${turn}?transport=tcp`, `turns:${h}:${turns}?transport=tcp`,
];

test('without HUDDLE_PUBLIC_HOST the URLs name the host of the request, port removed; a Host that is not a plain host gets no TURN', async () => {
    const s = await startSidecar({ env: { HUDDLE_TURN_SECRET: SECRET } });
    try {
        for (const [host, h] of [['meet.example.org:8443', 'meet.example.org'], ['192.0.2.7', '192.0.2.7'],
            ['[2001:db8::7]:443', '[2001:db8::7]'], [undefined, '127.0.0.1']]) {
            const { ice, id } = await iceFor(s, host);
            assert.equal(ice.length, 2, JSON.stringify(ice));
            assert.deepEqual(ice[0], { urls: [`stun:${h}:3478`] });
            assert.deepEqual(ice[1].urls, built(h));
            checkCredential(ice[1], id);
        }
        for (const host of ['a_b.example', 'x.example:99999', 'evil.example:80:81', '[::1', 'host.']) {
            const { ice } = await iceFor(s, host);
            assert.deepEqual(ice, [], host);
        }
    } finally {
        await stopAll([s]);
    }
});

test('HUDDLE_PUBLIC_HOST and the ports name the TURN server whatever the request says; HUDDLE_STUN_URLS is kept', async () => {
    const s = await startSidecar({
        env: {
            HUDDLE_TURN_SECRET: SECRET, HUDDLE_PUBLIC_HOST: 'turn.example.org',
            HUDDLE_TURN_PORT: '3479', HUDDLE_TURNS_PORT: '443', HUDDLE_STUN_URLS: 'stun:stun.example.net:3478',
        },
    });
    try {
        const { ice, id } = await iceFor(s, 'other.example:8080');
        assert.deepEqual(ice[0], { urls: ['stun:stun.example.net:3478'] });
        assert.deepEqual(ice[1].urls, built('turn.example.org', 3479, 443));
        checkCredential(ice[1], id);
    } finally {
        await stopAll([s]);
    }
});

test('HUDDLE_TURNS_PORT=0 leaves the turns: URL out (a TURN server without a certificate)', async () => {
    const s = await startSidecar({ env: { HUDDLE_TURN_SECRET: SECRET, HUDDLE_PUBLIC_HOST: 'turn.example.org', HUDDLE_TURNS_PORT: '0' } });
    try {
        const { ice, id } = await iceFor(s);
        assert.deepEqual(ice[0], { urls: ['stun:turn.example.org:3478'] });
        assert.deepEqual(ice[1].urls, built('turn.example.org').slice(0, 2));
        checkCredential(ice[1], id);
        assert.match(s.output, /no turns: URL \(HUDDLE_TURNS_PORT=0\)/);
    } finally {
        await stopAll([s]);
    }
});

test('with Redis the welcome carries the built URLs too; HUDDLE_TURN_URLS keeps its meaning', async () => {
    const redis = await startRedis();
    const s = await startSidecar({ env: { HUDDLE_TURN_SECRET: SECRET, HUDDLE_REDIS_URL: redis.url } });
    const listed = await startSidecar({ env: { HUDDLE_TURN_SECRET: SECRET, HUDDLE_TURN_URLS: 'turn:listed.example:3478' } });
    try {
        await s.waitForOutput(/redis up as node/);
        const { ice, id } = await iceFor(s, 'meet.example.org');
        assert.deepEqual(ice[1].urls, built('meet.example.org'));
        checkCredential(ice[1], id);
        const l = await iceFor(listed, 'meet.example.org');
        assert.deepEqual(l.ice.map((e) => e.urls), [['turn:listed.example:3478']]);
    } finally {
        await stopAll([listed, s, redis]);
    }
});

test('ice renews the iceServers: fresh TURN credentials on the same URLs, the lifetime in welcome\'s limits; only in a room, within the signal rate', async () => {
    const s = await startSidecar({ env: { HUDDLE_TURN_SECRET: SECRET, HUDDLE_TURN_TTL_S: '60', HUDDLE_SIGNAL_BURST: '3', HUDDLE_SIGNAL_RATE: '1' } });
    const c = await connect(s.wsUrl, { headers: { Host: 'meet.example.org' } });
    try {
        await c.send({ type: 'ice' });
        assert.equal((await c.next('error')).code, 'not-joined');
        const w = await c.join(uniqueRoom(), 'Ann');
        assert.equal(w.limits.turnTtlS, 60);
        const [first] = w.iceServers[1].username.split(':');
        await new Promise((r) => setTimeout(r, 1100)); // the next second
        await c.send({ type: 'ice' });
        const fresh = (await c.next('ice')).iceServers;
        assert.deepEqual(fresh.map((e) => e.urls), w.iceServers.map((e) => e.urls));
        checkCredential(fresh[1], w.id);
        const [expiry] = fresh[1].username.split(':');
        assert.ok(Number(expiry) > Number(first), `${expiry} after ${first}`);
        assert.ok(Math.abs(Number(expiry) - (Date.now() / 1000 + 60)) < 5);
        // The signal bucket: 3 at once, then refused.
        for (let i = 0; i < 4; i++) await c.send({ type: 'ice' });
        const err = await c.next('error');
        assert.deepEqual([err.code, err.ref], ['rate-limited', 'ice']);
    } finally {
        c.terminate();
        await stopAll([s]);
    }
});

test('a HUDDLE_PUBLIC_HOST that is not a plain host stops start-up with a message that names it', () => {
    for (const bad of ['turn.example.org:3478', 'https://turn.example.org', 'a b', '"x"']) {
        const r = spawnSync(path.join(BUILD, 'sidecar', 'huddle-sidecar'), [], {
            env: { ...process.env, HUDDLE_LISTEN: '127.0.0.1:1', HUDDLE_TURN_SECRET: SECRET, HUDDLE_PUBLIC_HOST: bad },
            encoding: 'utf8', timeout: 10000,
        });
        assert.equal(r.status, 2, bad);
        assert.match(r.stderr, /HUDDLE_PUBLIC_HOST/);
    }
});
