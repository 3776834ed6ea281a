// Draining a sidecar (SIGTERM, docs/config.md "Stopping and draining"):
// new upgrades and /healthz answer 503 at once, every client is closed with
// 1012 and its seat waits in grace. With Redis the seats outlive the
// process: a member resumes on another sidecar, through nginx, with the same
// id while the others see nothing (not even that it is away, as after a
// drop), and a seat nobody takes back is announced
// gone (peer-left timeout) once, after its grace. Real redis-server, real
// sidecars, real nginx.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sleep, startSidecar, startStack, stopAll } from '../lib/stack.mjs';
import { connect, rawUpgrade, uniqueRoom } from '../lib/wsclient.mjs';

const FAST = {
    HUDDLE_REDIS_PING_MS: '200',
    HUDDLE_REDIS_PING_TIMEOUT_MS: '1500',
    HUDDLE_REDIS_BACKOFF_MIN_MS: '50',
    HUDDLE_REDIS_BACKOFF_MAX_MS: '400',
    HUDDLE_REDIS_REAPER_MS: '200',
    HUDDLE_REDIS_HEARTBEAT_MS: '500',
    HUDDLE_REDIS_NODE_TTL_MS: '2000',
};

const healthz = async (port) => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, body: await res.text() };
};

/** Resolves once /healthz of port answers status (a drain has begun). */
async function healthzBecomes(port, status, timeoutMs = 5000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const h = await healthz(port);
        if (h.status === status) return h;
        if (Date.now() > deadline) throw new Error(`/healthz still answers ${h.status}`);
    }
}

/**
 * Connects to url and joins with the resume token, as the front end does
 * after 1012; an upgrade answered 502/503 (the drained sidecar still
 * refusing, or just gone) is tried again until the deadline.
 */
async function resumeVia(url, room, name, token, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        let c;
        try {
            c = await connect(url);
        } catch (err) {
            if (![502, 503].includes(err.status) || Date.now() > deadline) throw err;
            await new Promise((r) => setTimeout(r, 50));
            continue;
        }
        const w = await c.join(room, name, { resume: token });
        return { c, w };
    }
}

/** Waits ms, then asserts x received nothing matching pred since message
 * number from (expectNone, but blind to what was buffered before). */
async function noneSince(x, from, pred, ms) {
    await sleep(ms);
    assert.deepEqual(x.received.slice(from).filter(pred), []);
}

/** Presence of id: its leave, its join, or a peer-state (a drained seat
 * is not announced away, nor back once resumed). */
const aboutPeer = (id) => (m) => (m.type === 'peer-left' && m.id === id)
    || (['peer-joined', 'peer-state'].includes(m.type) && m.peer.id === id);

test('standalone: SIGTERM closes clients with 1012, refuses upgrades and /healthz with 503, exits 0', async () => {
    const s = await startSidecar();
    const clients = [];
    try {
        assert.deepEqual(await healthz(s.port), { status: 200, body: 'ok\n' });
        const room = uniqueRoom();
        const a = await connect(s.wsUrl);
        const b = await connect(s.wsUrl);
        clients.push(a, b);
        await a.join(room, 'Ann');
        await b.join(room, 'Bob');
        await a.next('peer-joined');
        // b stops reading: it never answers the close, so the drain waits
        // for it and the refusals can be seen meanwhile.
        b.pause();
        const seen = a.received.length;
        s.signal('SIGTERM');
        assert.equal((await a.closed()).code, 1012);
        assert.equal(a.closeInfo.reason, 'service restart');
        assert.deepEqual(await healthzBecomes(s.port, 503), { status: 503, body: 'draining\n' });
        assert.match(await (await fetch(`http://127.0.0.1:${s.port}/metrics`)).text(), /^huddle_sidecar_draining 1$/m);
        const up = await rawUpgrade(s.wsUrl, { 'Sec-WebSocket-Protocol': 'huddle.v1' });
        up.socket.destroy();
        assert.equal(up.status, 503);
        // a got nothing about b before its close: a drain is no leave, and
        // b is not away: it comes back at once
        assert.deepEqual(a.received.slice(seen).filter(aboutPeer(b.id)), []);
        const { code } = await s.exited;
        assert.equal(code, 0);
        assert.match(s.output, /signal 15: draining 2 connections/);
    } finally {
        for (const c of clients) c.terminate();
        await stopAll([s]);
    }
});

test('cluster: drained members resume on another sidecar through nginx with the same id; nobody sees them leave or join', async () => {
    const stack = await startStack({ sidecars: 3, sidecarEnv: { ...FAST, HUDDLE_RESUME_GRACE_MS: '8000' } });
    const clients = [];
    const track = (c) => { clients.push(c); return c; };
    try {
        for (const s of stack.sidecars) await s.waitForOutput(/redis up as node/);
        const [s0, s1, s2] = stack.sidecars;
        const room = uniqueRoom();
        const a = track(await connect(s0.wsUrl));
        const d = track(await connect(s2.wsUrl));
        const b = track(await connect(s1.wsUrl));
        const c = track(await connect(s1.wsUrl));
        const wa = await a.join(room, 'Ann');
        const wd = await d.join(room, 'Dan');
        const wb = await b.join(room, 'Bob', { audio: true });
        await b.send({ type: 'state', hand: true });
        const wc = await c.join(room, 'Cat');
        for (const x of [a, d]) {
            await x.next((m) => m.type === 'peer-joined' && m.peer.id === wc.id);
            await x.next((m) => m.type === 'peer-state' && m.peer.id === wb.id);
        }
        const seenA = a.received.length;
        const seenD = d.received.length;

        s1.signal('SIGTERM');
        for (const x of [b, c]) {
            const info = await x.closed();
            assert.deepEqual(info, { code: 1012, reason: 'service restart' });
        }
        assert.equal((await s1.exited).code, 0);
        assert.match(s1.output, /drain: handing 2 seat\(s\) over to redis/);
        assert.match(s1.output, /drain: redis holds the seats/);

        // The process is gone; its seats are not: b takes its own back
        // through nginx, wherever nginx sends it.
        const { c: b2, w: w2 } = await resumeVia(stack.wsUrl, room, 'Bob', wb.resume);
        track(b2);
        assert.equal(w2.id, wb.id);
        assert.deepEqual(w2.peers.map((p) => p.id).sort(), [wa.id, wc.id, wd.id].sort());
        assert.equal(w2.peers.find((p) => p.id === wd.id).name, 'Dan');
        assert.ok(w2.resume && w2.resume !== wb.resume);

        // Routed to its new sidecar both ways.
        await a.send({ type: 'signal', to: wb.id, data: { n: 1 } });
        assert.equal((await b2.next('signal')).from, wa.id);
        await b2.send({ type: 'signal', to: wd.id, data: { n: 2 } });
        assert.equal((await d.next('signal')).from, wb.id);
        await b2.send({ type: 'chat', text: 'back' });
        for (const x of [a, d]) assert.equal((await x.next('chat')).text, 'back');

        // Nobody saw b leave or come back.
        for (const [x, from] of [[a, seenA], [d, seenD]]) {
            assert.deepEqual(x.received.slice(from).filter(aboutPeer(wb.id)), []);
            assert.deepEqual(x.received.slice(from).filter(aboutPeer(wc.id)), []);
        }
        await noneSince(a, seenA, aboutPeer(wb.id), 500);
    } finally {
        for (const c of clients) c.terminate();
        await stack.stop();
    }
});

test('cluster: a drained seat nobody resumes is announced peer-left timeout exactly once, after its grace', async () => {
    const grace = 3000;
    const stack = await startStack({ sidecars: 2, sidecarEnv: { ...FAST, HUDDLE_RESUME_GRACE_MS: String(grace) } });
    const clients = [];
    try {
        for (const s of stack.sidecars) await s.waitForOutput(/redis up as node/);
        const [s0, s1] = stack.sidecars;
        const room = uniqueRoom();
        const a = await connect(s0.wsUrl);
        const a2 = await connect(s0.wsUrl);
        const b = await connect(s1.wsUrl);
        clients.push(a, a2, b);
        await a.join(room, 'Ann');
        await a2.join(room, 'Amy');
        const wb = await b.join(room, 'Bob');
        await a.next('peer-joined');
        await a2.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);

        const t0 = Date.now();
        const seen = [a.received.length, a2.received.length];
        s1.signal('SIGTERM');
        assert.equal((await b.closed()).code, 1012);
        assert.equal((await s1.exited).code, 0);
        // After the exit, the reaper of s0 runs every 200 ms and finds the
        // drained node gone, but the seat's grace has not ended.
        await noneSince(a, seen[0], aboutPeer(wb.id), Math.max(0, grace - 1000 - (Date.now() - t0)));
        for (const x of [a, a2]) {
            const left = await x.next((m) => m.type === 'peer-left' && m.id === wb.id, grace + 10000);
            assert.equal(left.reason, 'timeout');
        }
        await sleep(1000);
        for (const [i, x] of [a, a2].entries()) {
            const about = x.received.slice(seen[i]).filter(aboutPeer(wb.id));
            assert.deepEqual(about.map((m) => [m.type, m.reason]), [['peer-left', 'timeout']]);
        }
        // and the token died with the seat: a resume is a fresh join
        const late = await connect(s0.wsUrl);
        clients.push(late);
        const w = await late.join(room, 'Bob', { resume: wb.resume });
        assert.notEqual(w.id, wb.id);
    } finally {
        for (const c of clients) c.terminate();
        await stack.stop();
    }
});
