// Several huddle-sidecar processes sharing rooms through a real redis-server
// (docs/cluster.md). Each test starts its own Redis and
// two or three sidecars on free loopback ports, with short Redis timings so
// that failures are noticed in about a second.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { test } from 'node:test';
import { freePort, sleep, startRedis, startSidecar, startStack, stopAll, tmpDir, until } from '../lib/stack.mjs';
import { claims, mint } from '../lib/tokens.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

const FAST = {
    HUDDLE_REDIS_PING_MS: '200',
    HUDDLE_REDIS_PING_TIMEOUT_MS: '1500',
    HUDDLE_REDIS_BACKOFF_MIN_MS: '50',
    HUDDLE_REDIS_BACKOFF_MAX_MS: '400',
};

/** A sidecar found dead a second after its last heartbeat. */
const QUICK_DEATH = { HUDDLE_REDIS_NODE_TTL_MS: '1000', HUDDLE_REDIS_HEARTBEAT_MS: '300', HUDDLE_REDIS_REAPER_MS: '200' };

/** Counts the lines of proc's output that match re (global). */
function count(proc, re) {
    return (proc.output.match(new RegExp(re.source, 'g')) || []).length;
}

/** Resolves once proc printed re n times (an event in its log). */
async function waitCount(proc, re, n, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs;
    while (count(proc, re) < n) {
        if (!proc.running) throw new Error(`${proc.name} exited:\n${proc.tail()}`);
        if (Date.now() > deadline) throw new Error(`${proc.name}: ${re} not seen ${n} times:\n${proc.tail()}`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

const UP = /redis up as node/;

/** Stops c's Redis and waits until every sidecar says so; returns its port. */
async function redisDown(c) {
    const port = c.redis.port;
    await c.redis.stop();
    for (const s of c.scs) await s.waitForOutput(/redis down/);
    return port;
}

/** A new Redis (no data) on port, and every sidecar of c back on it. */
async function redisBack(c, port) {
    c.procs.push(await startRedis({ port }));
    for (const s of c.scs) await waitCount(s, UP, 2);
}

/** A redis-server and n sidecars on it, each up on Redis. */
async function cluster(n, { env = {}, redisArgs = [] } = {}) {
    const procs = [];
    const clients = [];
    try {
        const redis = await startRedis({ args: redisArgs });
        procs.push(redis);
        const scs = [];
        for (let i = 0; i < n; i++) {
            const s = await startSidecar({
                env: { HUDDLE_REDIS_URL: redis.url, HUDDLE_NODE_ID: `n${i + 1}`, ...FAST, ...env },
            });
            procs.push(s);
            scs.push(s);
        }
        for (const s of scs) await s.waitForOutput(UP);
        const c = {
            redis, scs, procs,
            /** A client on sidecar i; addr: the client address it comes from (through a proxy). */
            async client(i, addr) {
                const cl = await connect(scs[i].wsUrl, addr ? { headers: { 'X-Forwarded-For': addr } } : {});
                clients.push(cl);
                return cl;
            },
            async stop() {
                for (const cl of clients) cl.terminate();
                await stopAll(procs);
            },
        };
        return c;
    } catch (err) {
        await stopAll(procs);
        throw err;
    }
}

const ids = (peers) => peers.map((p) => p.id).sort();

/** A TCP relay to the Redis on port, for one sidecar to reach it through:
 * cut() drops every connection through it and refuses new ones (that
 * sidecar alone is cut off from Redis, its clients stay connected), mend()
 * lets them through again; trap(text) passes on the next command that
 * contains text, then cuts before Redis' answer comes back; hold(text)
 * keeps the next command that contains text, and what follows it on its
 * connection, until release() (Redis gets it late); holdAnswer(text)
 * passes that command on and keeps Redis' answers on its connection from
 * then on until release() (the sidecar reads it late); holding() resolves
 * once it holds one. { url, cut, mend, trap, hold, holdAnswer, holding,
 * release, close }. */
async function redisLink(port) {
    const socks = new Set();
    let open = true;
    let trapped = null;
    let muted = false; // Redis' answers are dropped from here on
    let holding = null;
    let answers = false; // holding keeps the answers, not the command
    let held = null; // { r, s, answers, chunks } once something is held
    const server = net.createServer((s) => {
        if (!open) return s.destroy();
        const r = net.connect(port, '127.0.0.1');
        for (const x of [s, r]) {
            socks.add(x);
            x.on('error', () => {});
            x.on('close', () => { socks.delete(x); s.destroy(); r.destroy(); });
        }
        s.on('data', (d) => {
            if (holding !== null && d.includes(holding)) {
                holding = null;
                held = { r, s, answers, chunks: [] };
            }
            if (held !== null && held.r === r && !held.answers) return held.chunks.push(d);
            r.write(d);
            if (trapped !== null && d.includes(trapped)) {
                trapped = null;
                muted = true;
                setTimeout(cut, 100); // Redis has it, the answer goes nowhere
            }
        });
        r.on('data', (d) => {
            if (held !== null && held.s === s && held.answers) held.chunks.push(d);
            else if (!muted) s.write(d);
        });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    const cut = () => {
        open = false;
        muted = false;
        for (const x of socks) x.destroy();
    };
    return {
        url: `redis://127.0.0.1:${server.address().port}`,
        cut,
        mend() { open = true; },
        trap(text) { trapped = text; },
        hold(text) { holding = text; answers = false; },
        holdAnswer(text) { holding = text; answers = true; },
        async holding() {
            while (held === null) await sleep(10);
        },
        release() {
            for (const d of held.chunks) (held.answers ? held.s : held.r).write(d);
            held = null;
        },
        close() { cut(); server.close(); },
    };
}

/** One sidecar on a new Redis and a second, n2, reaching it through a
 * redisLink, both with env: { c, link, n2, redis (redis-cli's answer),
 * stop }. */
async function withLink(env = {}) {
    const c = await cluster(1, { env });
    const link = await redisLink(c.redis.port);
    const stop = async () => {
        link.close();
        await c.stop();
    };
    try {
        const n2 = await startSidecar({ env: { HUDDLE_REDIS_URL: link.url, HUDDLE_NODE_ID: 'n2', ...FAST, ...env } });
        c.procs.push(n2);
        await n2.waitForOutput(UP);
        const redis = (...args) => execFileSync('redis-cli', ['-p', String(c.redis.port), ...args]).toString().trim();
        return { c, link, n2, redis, stop };
    } catch (err) {
        await stop();
        throw err;
    }
}

/** withLink(env), then Ann and Bob in a new room on its first sidecar,
 * until Bob's connection drops and Ann sees him away: { t, room, a, wb
 * (Bob's welcome), from (how many messages Ann had before the drop),
 * nodeOf (a sidecar's node id) }. */
async function bobAway(env = {}) {
    const t = await withLink(env);
    try {
        const room = uniqueRoom();
        const a = await t.c.client(0);
        await a.join(room, 'Ann');
        const b = await t.c.client(0);
        const wb = await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
        const from = a.received.length;
        b.terminate();
        await a.next((m) => m.type === 'peer-state' && m.peer.id === wb.id && m.peer.away);
        const nodeOf = (proc) => proc.output.match(/as node (\S+)/)[1];
        return { t, room, a, wb, from, nodeOf };
    } catch (err) {
        await t.stop();
        throw err;
    }
}

/** Hana, host of a new room on c's first sidecar, locks it: { room, h }. */
async function hanaLocks(c) {
    const room = uniqueRoom();
    const h = await c.client(0);
    await h.join(room, 'Hana');
    await h.send({ type: 'lock', locked: true });
    await h.next('access');
    return { room, h };
}

/** A client on sidecar proc knocking at room, once host (if given) sees
 * it in the lobby: [client, its knocking message]. */
async function knockAt(proc, room, name, host) {
    const cl = await connect(proc.wsUrl);
    await cl.send({ type: 'join', room, name });
    const kn = await cl.next('knocking');
    if (host) await host.next((x) => x.type === 'lobby' && x.waiting.some((w) => w.id === kn.id));
    return [cl, kn];
}


/** Ann on c's first sidecar and Bob on its second, in a new room, once Ann
 * has heard Bob join: { room, a, b, wa, wb } (clients and welcomes). */
async function annAndBob(c) {
    const room = uniqueRoom();
    const a = await c.client(0);
    const b = await c.client(1);
    const wa = await a.join(room, 'Ann');
    const wb = await b.join(room, 'Bob');
    await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
    return { room, a, b, wa, wb };
}

/** The roster cl gets after a resync, completed by peer-joined messages
 * until nothing more comes within a second; sorted ids. */
async function reconciled(cl, self) {
    const known = new Set(ids((await cl.next('roster', 20000)).peers));
    for (;;) {
        const m = await cl.next((x) => x.type === 'peer-joined' || x.type === 'peer-left', 1000).catch(() => null);
        if (m === null) break;
        if (m.type === 'peer-joined') known.add(m.peer.id);
        else known.delete(m.id);
    }
    known.delete(self);
    return [...known].sort();
}

/** Sends cl's join msg until it is answered other than unavailable (after
 * Redis lost its data, joins wait until the other sidecars could be back),
 * a second apart as a page's backoff would; that answer. */
async function joinAnswer(cl, msg) {
    for (let t = 0; ; t++) {
        assert.ok(t < 20, `join never answered but unavailable: ${JSON.stringify(msg)}`);
        await cl.send({ type: 'join', ...msg });
        const m = await cl.next((x) => x.type !== 'pong', 10000);
        if (m.type !== 'error' || m.code !== 'unavailable') return m;
        await sleep(1000);
    }
}

test('welcome lists members on every sidecar; joins, state, chat and leaves reach every sidecar', async () => {
    const c = await cluster(3);
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        const b = await c.client(1);
        const d = await c.client(2);
        const wa = await a.join(room, 'Ann', { audio: true });
        assert.deepEqual(wa.peers, []);
        const wb = await b.join(room, 'Bob');
        assert.deepEqual(ids(wb.peers), [wa.id]);
        assert.equal(wb.peers[0].name, 'Ann');
        assert.equal(wb.peers[0].audio, true);
        const j = await a.next('peer-joined');
        assert.equal(j.peer.id, wb.id);
        assert.equal(j.peer.name, 'Bob');
        const wd = await d.join(room, 'Dan');
        assert.deepEqual(ids(wd.peers), [wa.id, wb.id].sort());
        assert.equal((await a.next('peer-joined')).peer.id, wd.id);
        assert.equal((await b.next('peer-joined')).peer.id, wd.id);

        await b.send({ type: 'state', video: true, hand: true, name: 'Robert' });
        // A hand going up: its time, the same on every sidecar, and b hears it too.
        const { handAt } = (await b.next('peer-state')).peer;
        assert.equal(typeof handAt, 'number');
        for (const x of [a, d]) {
            const s = await x.next('peer-state');
            assert.deepEqual(s.peer, { id: wb.id, name: 'Robert', audio: false, video: true, screen: false, hand: true, role: 'guest', handAt });
        }
        await b.expectNone('peer-state');

        await d.send({ type: 'chat', text: 'hello from three' });
        for (const x of [a, b, d]) {
            const m = await x.next('chat');
            assert.equal(m.text, 'hello from three');
            assert.equal(m.from, wd.id);
            assert.equal(m.name, 'Dan');
        }
        // the history is shared: a newcomer on any sidecar gets it
        const e = await c.client(1);
        const we = await e.join(room, 'Eve');
        assert.deepEqual(we.chat.map((m) => m.text), ['hello from three']);
        assert.deepEqual(ids(we.peers), [wa.id, wb.id, wd.id].sort());
        assert.equal(we.peers.find((p) => p.id === wb.id).name, 'Robert');
        for (const x of [a, b, d]) await x.next((m) => m.type === 'peer-joined' && m.peer.id === we.id);

        // private chat to a member on another sidecar: it and the sender only
        await a.send({ type: 'chat', text: 'psst', to: wd.id });
        assert.equal((await d.next('chat')).to, wd.id);
        assert.equal((await a.next('chat')).text, 'psst');
        await b.expectNone('chat');

        await d.send({ type: 'leave' });
        for (const x of [a, b, e]) {
            const m = await x.next('peer-left');
            assert.deepEqual([m.id, m.reason], [wd.id, 'left']);
        }
        await b.close(1000);
        for (const x of [a, e]) {
            const m = await x.next('peer-left');
            assert.deepEqual([m.id, m.reason], [wb.id, 'left']);
        }
    } finally {
        await c.stop();
    }
});

test('a signal reaches its target on another sidecar, never a peer of another room', async () => {
    const c = await cluster(2);
    try {
        const room = uniqueRoom();
        const other = uniqueRoom();
        const a = await c.client(0);
        const b = await c.client(1);
        const x = await c.client(1);
        const wa = await a.join(room, 'Ann');
        const wb = await b.join(room, 'Bob');
        const wx = await x.join(other, 'Xena');
        // Ann's sidecar routes to Bob once it has heard he joined, as Ann has
        assert.equal((await a.next('peer-joined')).peer.id, wb.id);
        await a.send({ type: 'signal', to: wb.id, data: { sdp: 'offer-1' } });
        const s = await b.next('signal');
        assert.deepEqual([s.from, s.data], [wa.id, { sdp: 'offer-1' }]);
        await b.send({ type: 'signal', to: wa.id, data: { sdp: 'answer-1' } });
        assert.deepEqual((await a.next('signal')).data, { sdp: 'answer-1' });

        await a.send({ type: 'signal', to: wx.id, data: { sdp: 'wrong room' } });
        const err = await a.next('error');
        assert.deepEqual([err.code, err.ref], ['no-such-peer', 'signal']);
        await x.expectNone('signal');

        // 48 KiB of data (as JSON bytes), random content, across sidecars
        const sdp = randomBytes(40000).toString('base64url').slice(0, 49152 - 10);
        assert.equal(JSON.stringify({ sdp }).length, 49152);
        await a.send({ type: 'signal', to: wb.id, data: { sdp } });
        const big = await b.next('signal');
        assert.equal(big.from, wa.id);
        assert.equal(big.data.sdp, sdp);
    } finally {
        await c.stop();
    }
});

test('concurrent joins through different sidecars for the last seat: exactly one gets in', async () => {
    const c = await cluster(3, { env: { HUDDLE_MAX_PEERS: '2' } });
    try {
        for (let round = 0; round < 5; round++) {
            const room = uniqueRoom();
            const a = await c.client(0);
            await a.join(room, 'Ann');
            const x = await c.client(1);
            const y = await c.client(2);
            const answer = (cl) => cl.next((m) => m.type === 'welcome' || (m.type === 'error' && m.ref === 'join'));
            const [rx, ry] = await Promise.all([
                x.send({ type: 'join', room, name: 'X' }).then(() => answer(x)),
                y.send({ type: 'join', room, name: 'Y' }).then(() => answer(y)),
            ]);
            const kinds = [rx, ry].map((m) => (m.type === 'welcome' ? 'welcome' : m.code)).sort();
            assert.deepEqual(kinds, ['room-full', 'welcome'], `round ${round}`);
            const inside = rx.type === 'welcome' ? rx : ry;
            assert.equal((await a.next('peer-joined')).peer.id, inside.id);
        }
    } finally {
        await c.stop();
    }
});

test('concurrent joins through different sidecars into an empty room: each learns of the other exactly once', async () => {
    const c = await cluster(2);
    try {
        for (let round = 0; round < 10; round++) {
            const room = uniqueRoom();
            const x = await c.client(0);
            const y = await c.client(1);
            const [wx, wy] = await Promise.all([x.join(room, 'X'), y.join(room, 'Y')]);
            const learn = async (cl, w, other) => {
                if (w.peers.some((p) => p.id === other)) return 'welcome';
                const m = await cl.next((x) => x.type === 'peer-joined' && x.peer.id === other, 5000);
                return m.type;
            };
            await learn(x, wx, wy.id);
            await learn(y, wy, wx.id);
            // no second notice of the same peer
            const dup = (id, w) => (m) => m.type === 'peer-joined' && m.peer.id === id && w.peers.some((p) => p.id === id);
            await x.expectNone(dup(wy.id, wx), 100);
            await y.expectNone(dup(wx.id, wy), 100);
            x.terminate();
            y.terminate();
        }
    } finally {
        await c.stop();
    }
});

/** Ann on sidecar 1, Bob and Dan (joining with dan's fields) on sidecar 2, in a fresh room, Ann seeing Dan. */
async function annBobDan(c, dan = {}) {
    const room = uniqueRoom();
    const a = await c.client(0);
    const b = await c.client(1);
    const d = await c.client(1);
    const wa = await a.join(room, 'Ann');
    const wb = await b.join(room, 'Bob');
    const wd = await d.join(room, 'Dan', dan);
    await a.next((m) => m.type === 'peer-joined' && m.peer.id === wd.id);
    return { room, a, b, d, wa, wb, wd };
}

test('grace across sidecars: expiry is announced everywhere; a resume elsewhere keeps the seat; a still-open old connection is replaced', async () => {
    const c = await cluster(2, { env: { HUDDLE_RESUME_GRACE_MS: '1500' } });
    try {
        const { room, a, b, d, wa, wb, wd } = await annBobDan(c);
        const about = (id) => (m) => (m.type === 'peer-left' || m.type === 'peer-joined') && (m.id ?? m.peer.id) === id;

        // dropped on sidecar 2, the grace ends there: both others see timeout
        await b.drop();
        for (const x of [a, d]) {
            const m = await x.next('peer-left', 10000);
            assert.deepEqual([m.id, m.reason], [wb.id, 'timeout']);
        }

        // dropped on sidecar 2, resumed on sidecar 1 within grace: nobody
        // sees it leave, not even after the grace would have ended on 2
        await d.drop();
        const d2 = await c.client(0);
        const w2 = await d2.join(room, 'Dan', { resume: wd.resume });
        assert.equal(w2.id, wd.id);
        assert.deepEqual(ids(w2.peers), [wa.id]);
        await a.expectNone(about(wd.id), 2500);

        // the seat taken over on sidecar 2 while its connection is open there
        const d3 = await c.client(1);
        const w3 = await d3.join(room, 'Dan', { resume: w2.resume });
        assert.equal(w3.id, wd.id);
        const gone = await d2.next('peer-left');
        assert.deepEqual([gone.id, gone.reason], [wd.id, 'replaced']);
        assert.equal((await d2.closed()).code, 1000);
        await a.expectNone(about(wd.id), 500);
        await a.send({ type: 'signal', to: wd.id, data: { n: 3 } });
        assert.equal((await d3.next('signal')).from, wa.id);
    } finally {
        await c.stop();
    }
});

test('away across sidecars: a drop on one is told on the other and in a welcome there; a resume elsewhere says back', async () => {
    const c = await cluster(2, { env: { HUDDLE_RESUME_GRACE_MS: '8000' } });
    try {
        const { room, a, b, d, wd } = await annBobDan(c, { audio: true });
        const dan = { id: wd.id, name: 'Dan', audio: true, video: false, screen: false, hand: false, role: 'guest' };
        const stateOf = (id) => (m) => m.type === 'peer-state' && m.peer.id === id;

        // dropped on sidecar 2: its neighbour there and Ann on sidecar 1 hear it
        await d.drop();
        for (const x of [a, b]) assert.deepEqual((await x.next(stateOf(wd.id))).peer, { ...dan, away: true });
        // a newcomer on sidecar 1 finds the seat away in Redis' roster
        const e = await c.client(0);
        const we = await e.join(room, 'Eve');
        assert.deepEqual(we.peers.find((p) => p.id === wd.id), { ...dan, away: true });

        // resumed on sidecar 1: back for everyone, on both sidecars
        const d2 = await c.client(0);
        const w2 = await d2.join(room, 'Dan', { resume: wd.resume });
        assert.equal(w2.id, wd.id);
        assert.deepEqual(w2.self, dan);
        for (const x of [a, b, e]) assert.deepEqual((await x.next(stateOf(wd.id))).peer, dan);
        const f = await c.client(1);
        assert.deepEqual((await f.join(room, 'Fay')).peers.find((p) => p.id === wd.id), dan);
        await a.expectNone(stateOf(wd.id), 300);
    } finally {
        await c.stop();
    }
});

test('away across sidecars: a seat taken back elsewhere before its old sidecar saw the drop is not shown away there', async () => {
    const c = await cluster(2, { env: { HUDDLE_RESUME_GRACE_MS: '8000' } });
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        const d = await c.client(0);
        const b = await c.client(1);
        const wa = await a.join(room, 'Ann');
        const wd = await d.join(room, 'Dan');
        await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.name === 'Bob');
        // Sidecar 1 is busy: Dan's connection dies unseen, and he is back
        // on sidecar 2 before sidecar 1 reads either that or the x-moved.
        c.scs[0].signal('SIGSTOP');
        d.terminate();
        const d2 = await c.client(1);
        const w2 = await d2.join(room, 'Dan', { resume: wd.resume });
        assert.equal(w2.id, wd.id);
        c.scs[0].signal('SIGCONT');
        // Had sidecar 1 told Ann he was away, nobody would ever say back.
        const awayDan = (m) => m.type === 'peer-state' && m.peer.id === wd.id && m.peer.away;
        await a.expectNone(awayDan, 1500);
        await b.expectNone(awayDan, 100);
        await waitCount(c.scs[0], new RegExp(`grace room=${room} peer=${wd.id}|moved room=${room} peer=${wd.id}`), 1);
        // and Dan is reached where he is now.
        await a.send({ type: 'signal', to: wd.id, data: { n: 1 } });
        assert.equal((await d2.next('signal')).from, wa.id);
    } finally {
        await c.stop();
    }
});

test('a sidecar stopped with SIGTERM drains: 1012, no peer-left while in grace, peer-left timeout after it, resumable elsewhere meanwhile', async () => {
    const c = await cluster(2, { env: { HUDDLE_RESUME_GRACE_MS: '2000', HUDDLE_REDIS_REAPER_MS: '200' } });
    try {
        const { room, a, b, d, wb, wd } = await annBobDan(c);
        const { code } = await c.scs[1].stop();
        assert.equal(code, 0);
        assert.equal((await b.closed()).code, 1012);
        assert.equal((await d.closed()).code, 1012);
        const d2 = await c.client(0);
        assert.equal((await d2.join(room, 'Dan', { resume: wd.resume })).id, wd.id);
        const m = await a.next('peer-left', 15000);
        assert.deepEqual([m.id, m.reason], [wb.id, 'timeout']);
        await a.expectNone('peer-left', 500);
    } finally {
        await c.stop();
    }
});

test('kill -9 of a sidecar: its members are announced gone after the node TTL and their grace, a member that resumes elsewhere keeps its id', async () => {
    const c = await cluster(3, {
        env: {
            HUDDLE_REDIS_NODE_TTL_MS: '3000', HUDDLE_REDIS_HEARTBEAT_MS: '500', HUDDLE_REDIS_REAPER_MS: '500',
            HUDDLE_RESUME_GRACE_MS: '2000',
        },
    });
    try {
        const { room, a, b, d, wa, wb, wd } = await annBobDan(c);

        c.scs[1].signal('SIGKILL');
        const killed = Date.now();
        await d.closed();
        await b.closed();
        const d2 = await c.client(2);
        const w2 = await d2.join(room, 'Dan', { resume: wd.resume });
        assert.equal(w2.id, wd.id);
        assert.ok(ids(w2.peers).includes(wa.id));

        const left = await a.next('peer-left', 20000);
        assert.deepEqual([left.id, left.reason], [wb.id, 'timeout']);
        // the node TTL less two heartbeats (one may have been late), then the grace
        assert.ok(Date.now() - killed >= 3000 - 1000 + 2000, `announced after ${Date.now() - killed} ms`);
        await a.expectNone((m) => (m.type === 'peer-left' || m.type === 'peer-joined') && (m.id ?? m.peer.id) === wd.id, 1500);
        // the resumed member is routed to its new sidecar
        await a.send({ type: 'signal', to: wd.id, data: { n: 1 } });
        assert.equal((await d2.next('signal')).from, wa.id);
        await d2.send({ type: 'chat', text: 'still here' });
        assert.equal((await a.next('chat')).text, 'still here');
    } finally {
        await c.stop();
    }
});

test('a sidecar that stalls past the node TTL: its members back elsewhere within the grace keep their seats (a host hers, in a locked room); one still connected when it wakes keeps hers and what was said meanwhile; a knock there knocks again; nobody is seen leaving', async () => {
    const c = await cluster(2, { env: { ...QUICK_DEATH, HUDDLE_RESUME_GRACE_MS: '5000' } });
    const [n1, n2] = c.scs;
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        const cat = await c.client(0);
        const b = await c.client(1);
        const wa = await a.join(room, 'Ann');
        assert.equal(wa.self.role, 'host');
        const wc = await cat.join(room, 'Cat');
        const wb = await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
        await a.send({ type: 'lock', locked: true });
        await b.next((m) => m.type === 'access' && m.locked === true);
        const about = (id) => (m) => (m.type === 'peer-left' || m.type === 'peer-joined') && (m.id ?? m.peer.id) === id;
        // Kim knocks on n1
        const kim = await c.client(0);
        await kim.send({ type: 'join', room, name: 'Kim' });
        const knock = await kim.next('knocking');
        const first = (await a.next((m) => m.type === 'lobby' && m.waiting.some((w) => w.id === knock.id)))
            .waiting.find((w) => w.id === knock.id);

        n1.signal('SIGSTOP');
        // its liveness key expires: n2's reaper keeps its seats for the
        // grace, and takes its knock out of the lobby
        await waitCount(n2, /2 seat\(s\) of dead nodes wait 5000 ms/, 1);
        const reaped = Date.now();
        // what Bob says meanwhile (his chat burst) waits in Redis for n1,
        // and reaches Cat
        for (let i = 0; i < 5; i++) await b.send({ type: 'chat', text: `while asleep ${i}` });
        // Ann's page hears nothing, leaves the silent sidecar and resumes
        // on the other: her seat, host of her locked room, no knock.
        a.terminate();
        const a2 = await c.client(1);
        const back = await a2.join(room, 'Ann', { resume: wa.resume });
        assert.deepEqual([back.id, back.self.role], [wa.id, 'host']);
        // n1 wakes: its heartbeat finds its key gone, it reconnects and
        // re-asserts Cat, who never left it.
        n1.signal('SIGCONT');
        await n1.waitForOutput(/liveness key had expired/);
        // Kim knocks again by herself, waiting since she first did: Ann
        // sees her and lets her in
        const again = await a2.next((m) => m.type === 'lobby' && m.waiting.some((w) => w.id === knock.id));
        assert.deepEqual(again.waiting.find((w) => w.id === knock.id), first);
        await a2.send({ type: 'admit', id: knock.id });
        assert.equal((await kim.next('welcome')).id, knock.id);
        assert.deepEqual(kim.received.filter((m) => m.type === 'knocking').length, 1, 'told once that she knocks');
        await waitCount(n1, new RegExp(`resync room=${room} `), 1);
        for (let i = 0; i < 5; i++) assert.equal((await cat.next('chat')).text, `while asleep ${i}`);
        assert.equal(count(n1, UP), 1, 'its connections to Redis stayed');
        // past the grace's end: nobody was seen leaving or coming
        await sleep(Math.max(0, reaped + 5000 + 1000 - Date.now()));
        await b.expectNone((m) => about(wa.id)(m) || about(wc.id)(m), 100);
        assert.deepEqual(b.received.filter((m) => m.type === 'peer-left'), []);
        assert.equal(count(n2, /reaped \d+ member/), 0, n2.tail());
        const redis = (...args) => execFileSync('redis-cli', ['-p', String(c.redis.port), ...args]).toString().trim();
        assert.equal(redis('ZCARD', 'huddle:grace'), '0');
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, wc.id), n1.output.match(/as node (\S+)/)[1]);
        // and both are reached where they are
        await b.send({ type: 'chat', text: 'still here?' });
        assert.equal((await cat.next((m) => m.type === 'chat' && m.text === 'still here?')).from, wb.id);
        assert.equal((await a2.next((m) => m.type === 'chat' && m.text === 'still here?')).from, wb.id);
        await b.send({ type: 'signal', to: wc.id, data: { n: 1 } });
        assert.equal((await cat.next('signal')).from, wb.id);
    } finally {
        n1.signal('SIGCONT');
        await c.stop();
    }
});

test('kill -9 of a sidecar with someone knocking there, and someone admitted but not yet in: the lobby goes with it, the admission after the grace', async () => {
    const c = await cluster(2, {
        env: { HUDDLE_REDIS_NODE_TTL_MS: '3000', HUDDLE_REDIS_HEARTBEAT_MS: '500', HUDDLE_REDIS_REAPER_MS: '500',
            HUDDLE_RESUME_GRACE_MS: '4000' },
    });
    try {
        const { room, h } = await hanaLocks(c);
        const key = (what) => `huddle:room:${room}:${what}`;
        const redis = (...args) => execFileSync('redis-cli', ['-p', String(c.redis.port), ...args]).toString().trim();
        const knocksOf = (proc) => `huddle:node:${proc.output.match(/as node (\S+)/)[1]}:knocks`;

        // what the node keeps of its knocks goes when they are answered,
        // come in or stop waiting
        const knockAt1 = async (name) => {
            const cl = await c.client(1);
            await cl.send({ type: 'join', room, name });
            const kn = await cl.next('knocking');
            await h.next((m) => m.type === 'lobby' && m.waiting.some((w) => w.id === kn.id));
            return [cl, kn];
        };
        const [d, kd] = await knockAt1('Dee');
        const [e, ke] = await knockAt1('Eve');
        const [f] = await knockAt1('Fay');
        assert.equal(redis('SCARD', knocksOf(c.scs[1])), '3');
        await h.send({ type: 'deny', id: kd.id });
        const de = await d.next('error');
        assert.deepEqual([de.code, de.reason], ['denied', 'host']);
        await h.send({ type: 'admit', id: ke.id });
        await e.next('welcome');
        f.terminate();
        await h.next((m) => m.type === 'lobby' && m.waiting.length === 0);
        assert.equal(redis('SCARD', knocksOf(c.scs[1])), '0');
        assert.equal(redis('HLEN', key('answers')), '0');

        const k = await c.client(1);
        await k.send({ type: 'join', room, name: 'Kay' });
        const knock = await k.next('knocking');
        assert.deepEqual((await h.next((m) => m.type === 'lobby' && m.waiting.some((w) => w.id === knock.id))).waiting.map((w) => w.id), [knock.id]);
        h.buffer = h.buffer.filter((m) => m.type !== 'lobby'); // only what comes after the kill
        c.scs[1].signal('SIGKILL');
        await k.closed();
        // the reaper finds the node gone and takes its knock out of the lobby
        assert.deepEqual((await h.next('lobby', 20000)).waiting, []);
        assert.equal(redis('HLEN', key('lobby')), '0');

        // an admission whose knocker's sidecar dies before the knocker is in
        const c3 = await startSidecar({
            env: { HUDDLE_REDIS_URL: c.redis.url, HUDDLE_NODE_ID: 'n3', ...FAST,
                HUDDLE_REDIS_NODE_TTL_MS: '3000', HUDDLE_REDIS_HEARTBEAT_MS: '500', HUDDLE_REDIS_REAPER_MS: '500' },
        });
        c.procs.push(c3);
        await c3.waitForOutput(UP);
        const k2 = await connect(c3.wsUrl);
        await k2.send({ type: 'join', room, name: 'Kim' });
        const knock2 = await k2.next('knocking');
        await h.next((m) => m.type === 'lobby' && m.waiting.length === 1);
        c3.signal('SIGSTOP'); // the admit reaches Redis, never the knocker
        await h.send({ type: 'admit', id: knock2.id });
        assert.deepEqual((await h.next('lobby')).waiting, []);
        assert.equal(redis('HEXISTS', key('answers'), knock2.id), '1');
        const node3 = c3.output.match(/as node (\S+)/)[1];
        c3.signal('SIGKILL');
        k2.terminate();
        // the reaper keeps it for the grace, in case its node comes back
        await until(() => redis('EXISTS', knocksOf(c3)) === '0', 'the reaper', 20000);
        assert.notEqual(redis('ZSCORE', 'huddle:grace', `${room} ${knock2.id} ${node3}`), '');
        await until(() => redis('HEXISTS', key('answers'), knock2.id) === '0', 'the admission gone after the grace', 20000);
        assert.equal(redis('ZCARD', 'huddle:grace'), '0');
    } finally {
        await c.stop();
    }
});

test('a host answers knocks while their sidecar is cut off from Redis: when it is back the denied are told, the admitted come in, and one who left meanwhile leaves the lobby', async () => {
    const t = await withLink();
    const { c, link, n2, redis } = t;
    try {
        const { room, h } = await hanaLocks(c);
        const [k, kk] = await knockAt(n2, room, 'Kim');
        const [l, kl] = await knockAt(n2, room, 'Lea');
        const [m, km] = await knockAt(n2, room, 'Max');
        await h.next((x) => x.type === 'lobby' && x.waiting.length === 3);

        link.cut();
        await n2.waitForOutput(/redis down/);
        await h.send({ type: 'deny', id: kk.id });
        await h.send({ type: 'admit', id: kl.id });
        await h.next((x) => x.type === 'lobby' && x.waiting.length === 1 && x.waiting[0].id === km.id);
        const seen = h.received.length;
        m.terminate(); // Max gives up while his sidecar cannot tell Redis
        await n2.waitForOutput(/not withdrawn in redis/);
        assert.equal(redis('HLEN', `huddle:room:${room}:answers`), '2');

        link.mend();
        await waitCount(n2, UP, 2);
        const e = await k.next('error');
        assert.deepEqual([e.code, e.reason], ['denied', 'host']);
        assert.equal((await l.next('welcome')).id, kl.id);
        await h.next((x) => x.type === 'peer-joined' && x.peer.id === kl.id);
        await h.next((x) => x.type === 'lobby' && x.waiting.length === 0);
        // nobody came back to the lobby, and Redis kept nothing of them
        for (const x of h.received.slice(seen).filter((y) => y.type === 'lobby'))
            assert.deepEqual(x.waiting.filter((w) => w.id === kk.id || w.id === kl.id), []);
        assert.equal(k.received.filter((x) => x.type === 'knocking').length, 1);
        assert.equal(redis('HLEN', `huddle:room:${room}:answers`), '0');
        assert.equal(redis('HLEN', `huddle:room:${room}:lobby`), '0');
        assert.equal(redis('EXISTS', `huddle:node:${n2.output.match(/as node (\S+)/)[1]}:knocks`), '0');
    } finally {
        await t.stop();
    }
});

test('a host whose sidecar was cut off from Redis gets the lobby as it is when the sidecar is back', async () => {
    const t = await withLink();
    const { c, link, n2, redis } = t;
    try {
        const room = uniqueRoom();
        const h = await connect(n2.wsUrl);
        await h.join(room, 'Hana');
        await h.send({ type: 'lock', locked: true });
        await h.next('access');
        const [kai, kk] = await knockAt(c.scs[0], room, 'Kai');
        await h.next((x) => x.type === 'lobby' && x.waiting.some((w) => w.id === kk.id));

        link.cut();
        await n2.waitForOutput(/redis down/);
        kai.terminate(); // Kai gives up, Kim knocks: Hana's sidecar hears neither
        const [, km] = await knockAt(c.scs[0], room, 'Kim');
        link.mend();
        await waitCount(n2, UP, 2);
        const now = await h.next((x) => x.type === 'lobby' && x.waiting.some((w) => w.id === km.id));
        assert.deepEqual(now.waiting.map((w) => w.id), [km.id]);
        h.terminate();
    } finally {
        await t.stop();
    }
});

test('a join Redis seated whose answer was lost: once Redis is back the seat is left, and nobody keeps a member with no one behind it', async () => {
    const t = await withLink();
    const { c, link, n2, redis } = t;
    try {
        const room = uniqueRoom();
        const h = await c.client(0);
        await h.join(room, 'Hana');
        const k = await connect(n2.wsUrl);
        link.trap('Kimberly'); // her join reaches Redis, its answer never n2
        await k.send({ type: 'join', room, name: 'Kimberly' });
        const joined = await h.next((x) => x.type === 'peer-joined' && x.peer.name === 'Kimberly');
        assert.equal((await k.next('error')).code, 'unavailable');
        await n2.waitForOutput(/redis down/);
        await sleep(300);
        assert.equal(redis('HEXISTS', `huddle:room:${room}:members`, joined.peer.id), '1');
        link.mend();
        await waitCount(n2, UP, 2);
        assert.equal((await h.next((x) => x.type === 'peer-left' && x.id === joined.peer.id)).reason, 'left');
        assert.equal(redis('HEXISTS', `huddle:room:${room}:members`, joined.peer.id), '0');
        k.terminate();
    } finally {
        await t.stop();
    }
});

test('a resume whose connection goes before Redis answers keeps its seat: the page takes it back with the token it has, and one that never comes back times out after its grace', async () => {
    const grace = 4000;
    const t = await withLink({ HUDDLE_RESUME_GRACE_MS: String(grace) });
    const { c, link, n2, redis } = t;
    const n2node = n2.output.match(/as node (\S+)/)[1];
    const about = (id) => (m) => (m.type === 'peer-left' && m.id === id) || (m.type === 'peer-joined' && m.peer.id === id);
    const connections = async () => (await (await fetch(`http://127.0.0.1:${n2.port}/metrics`)).text())
        .match(/^huddle_sidecar_connections (\d+)$/m)[1];
    /** The page with token comes back through n2 (where nobody else is
     * connected); its resume reaches Redis, and its connection is gone
     * before n2 reads the answer. */
    const resumeLost = async (room, token) => {
        link.hold(token);
        const cl = await connect(n2.wsUrl);
        await cl.send({ type: 'join', room, name: 'Bob', resume: token });
        await link.holding();
        cl.terminate();
        await until(async () => await connections() === '0', 'n2 saw the connection go', 5000);
        link.release();
    };
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        await a.join(room, 'Ann');
        const away = (m) => m.type === 'peer-state' && m.peer.id === wb.id && m.peer.away;
        const back = (m) => m.type === 'peer-state' && m.peer.id === wb.id && !m.peer.away;
        const b = await connect(n2.wsUrl);
        const wb = await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
        const from = a.received.length;

        // Bob's connection to n2 drops; his resume on n2 itself is lost
        b.terminate();
        await a.next(away);
        await resumeLost(room, wb.resume);
        await sleep(300);
        // his page comes back through the other sidecar with the token it has
        const b2 = await c.client(0);
        const w2 = await b2.join(room, 'Bob', { resume: wb.resume });
        assert.equal(w2.id, wb.id);
        await a.next(back);

        // it drops again, and the resume lost is on the other sidecar: the
        // seat moves to n2 and waits there
        b2.terminate();
        await a.next(away);
        await resumeLost(room, w2.resume);
        await n2.waitForOutput(new RegExp(`grace room=${room} peer=${wb.id}: its page never got the resume's answer`));
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, wb.id), n2node);
        const b3 = await c.client(0);
        const w3 = await b3.join(room, 'Bob', { resume: w2.resume });
        assert.equal(w3.id, wb.id);
        await a.next(back);
        assert.deepEqual(a.received.slice(from).filter(about(wb.id)), [], 'Ann was told Bob left');

        // once more, and this time the page never comes back
        b3.terminate();
        await a.next(away);
        await resumeLost(room, w3.resume);
        const lost = Date.now();
        await waitCount(n2, new RegExp(`grace room=${room} peer=${wb.id}: its page never got the resume's answer`), 2, 5000);
        const left = await a.next(about(wb.id), grace + 10000);
        assert.deepEqual([left.type, left.reason], ['peer-left', 'timeout']);
        assert.ok(Date.now() - lost >= grace - 1000, `left after ${Date.now() - lost} ms`);
        await a.expectNone(about(wb.id), 1000);
        assert.equal(redis('HEXISTS', `huddle:room:${room}:members`, wb.id), '0');
    } finally {
        await t.stop();
    }
});

test('a resume answered late, after its page had gone and taken its seat back on another sidecar: that seat stays the page\'s, and nobody is left holding a ghost', async () => {
    const { t, room, a, wb, from, nodeOf } = await bobAway();
    const { c, link, n2, redis } = t;
    const n1node = nodeOf(c.scs[0]);
    const about = (m) => (m.type === 'peer-left' && m.id === wb.id) || (m.type === 'peer-joined' && m.peer.id === wb.id);
    try {
        // his page resumes through n2: Redis gives n2 the seat, the answer waits on the way
        link.holdAnswer(wb.resume);
        const b2 = await connect(n2.wsUrl);
        await b2.send({ type: 'join', room, name: 'Bob', resume: wb.resume });
        await link.holding();
        await until(() => redis('HGET', `huddle:room:${room}:nodes`, wb.id) !== n1node, 'the seat given to n2', 5000);
        b2.terminate();
        // meanwhile the page comes back through n1 with the token it has
        const b3 = await c.client(0);
        const w3 = await b3.join(room, 'Bob', { resume: wb.resume });
        assert.equal(w3.id, wb.id);
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, wb.id), n1node);
        link.release(); // n2 reads the late answer
        await n2.waitForOutput(new RegExp(`grace room=${room} peer=${wb.id}: its page never got the resume's answer`));
        await n2.waitForOutput(new RegExp(`moved room=${room} peer=${wb.id}`));
        await b3.expectNone((m) => m.type === 'peer-left', 1000);
        assert.equal(b3.closeInfo, null, 'Bob\'s connection was closed');
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, wb.id), n1node);
        await b3.send({ type: 'chat', text: 'still here' });
        assert.equal((await a.next('chat')).from, wb.id);
        assert.deepEqual(a.received.slice(from).filter(about), [], 'Ann was told Bob left');
        b3.send({ type: 'leave' });
        assert.equal((await a.next(about)).reason, 'left');
        await a.expectNone(about, 500);
        assert.equal(redis('HEXISTS', `huddle:room:${room}:members`, wb.id), '0');
    } finally {
        await t.stop();
    }
});

test('a resume whose answer is lost with the link to Redis, its page gone: once Redis is back the sidecar finds the seat it was given, which ends with its grace', async () => {
    const grace = 4000;
    const { t, room, a, wb, nodeOf } = await bobAway({ HUDDLE_RESUME_GRACE_MS: String(grace) });
    const { link, n2, redis } = t;
    const n2node = nodeOf(n2);
    try {
        // his page resumes through n2: Redis gives n2 the seat, the link
        // goes before the answer, and the page gives up
        link.trap(wb.resume);
        const b2 = await connect(n2.wsUrl);
        await b2.send({ type: 'join', room, name: 'Bob', resume: wb.resume });
        assert.equal((await b2.next('error')).code, 'unavailable');
        b2.terminate();
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, wb.id), n2node);
        await n2.waitForOutput(/redis down/);
        link.mend();
        await n2.waitForOutput(new RegExp(`grace room=${room} peer=${wb.id}: its page never got the resume's answer`));
        const found = Date.now();
        const left = await a.next((m) => m.type === 'peer-left' && m.id === wb.id, grace + 10000);
        assert.equal(left.reason, 'timeout');
        assert.ok(Date.now() - found >= grace - 1000, `left after ${Date.now() - found} ms`);
        assert.equal(redis('HEXISTS', `huddle:room:${room}:members`, wb.id), '0');
    } finally {
        await t.stop();
    }
});

test('a resume that a stalled sidecar reads after its page gave up on it and took its seat back on another: refused, the page keeps its newer connection', async () => {
    const { t, room, a, wb, from, nodeOf } = await bobAway();
    const { c, n2, redis } = t;
    const about = (m) => (m.type === 'peer-left' && m.id === wb.id) || (m.type === 'peer-joined' && m.peer.id === wb.id);
    try {
        // his page's first try reaches n2, which stalls before reading it
        // (and a second connection's, which stays open, say a copy of
        // the page)
        const late = await connect(n2.wsUrl);
        const open = await connect(n2.wsUrl);
        n2.signal('SIGSTOP');
        await late.send({ type: 'join', room, name: 'Bob', resume: wb.resume, attempt: 1 });
        await open.send({ type: 'join', room, name: 'Bob', resume: wb.resume, attempt: 1 });
        // the page gives up on it (after 7 s; at once here) and resumes
        // on n1 with its next try and the same token
        const b2 = await c.client(0);
        const w2 = await b2.join(room, 'Bob', { resume: wb.resume, attempt: 2 });
        assert.equal(w2.id, wb.id);
        late.close(4001, 'back soon');
        // n2 wakes and reads the first try, with a token still good
        n2.signal('SIGCONT');
        await waitCount(n2, new RegExp(`stale resume room=${room} peer=${wb.id}`), 2);
        const told = await open.next('peer-left');
        assert.deepEqual([told.id, told.reason], [wb.id, 'replaced']);
        assert.deepEqual(await open.closed(), { code: 1000, reason: 'replaced' });
        await b2.expectNone((m) => m.type === 'peer-left', 500);
        assert.equal(b2.closeInfo, null, 'Bob\'s connection was closed');
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, wb.id), nodeOf(c.scs[0]));
        await b2.send({ type: 'chat', text: 'still here' });
        assert.equal((await a.next('chat')).from, wb.id);
        assert.deepEqual(a.received.slice(from).filter(about), [], 'Ann was told Bob left');
    } finally {
        n2.signal('SIGCONT');
        await t.stop();
    }
});

test('an x-moved that reaches a sidecar after the seat it is about came back there leaves that seat alone, and a third sidecar routes to where the seat is', async () => {
    const { t, room, a, wb, from, nodeOf } = await bobAway();
    const { c, link, n2, redis } = t;
    const n1 = c.scs[0];
    const about = (m) => (m.type === 'peer-left' && m.id === wb.id) || (m.type === 'peer-joined' && m.peer.id === wb.id);
    try {
        // Cat, on a third sidecar, hears both x-moved, the later first
        const n3 = await startSidecar({ env: { HUDDLE_REDIS_URL: c.redis.url, HUDDLE_NODE_ID: 'n3', ...FAST } });
        c.procs.push(n3);
        await n3.waitForOutput(UP);
        const cat = await connect(n3.wsUrl);
        const wc = await cat.join(room, 'Cat');
        // his page resumes through n2, whose x-moved to n1 waits on its way to Redis
        link.hold('x-moved');
        const b2 = await connect(n2.wsUrl);
        const w2 = await b2.join(room, 'Bob', { resume: wb.resume, attempt: 1 });
        assert.equal(w2.id, wb.id);
        await link.holding();
        // that connection drops at once: the page is back on n1 with the
        // token n2 gave it
        b2.terminate();
        const b3 = await c.client(0);
        const w3 = await b3.join(room, 'Bob', { resume: w2.resume, attempt: 2 });
        assert.equal(w3.id, wb.id);
        link.release(); // n2's x-moved reaches n1 now
        await n1.waitForOutput(new RegExp(`stale x-moved room=${room} peer=${wb.id}`));
        await b3.expectNone((m) => m.type === 'peer-left', 500);
        assert.equal(b3.closeInfo, null, 'Bob\'s connection was closed');
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, wb.id), nodeOf(n1));
        await b3.send({ type: 'chat', text: 'still here' });
        assert.equal((await a.next('chat')).from, wb.id);
        assert.deepEqual(a.received.slice(from).filter(about), [], 'Ann was told Bob left');
        await cat.send({ type: 'signal', to: wb.id, data: { n: 1 } });
        assert.equal((await b3.next('signal')).from, wc.id);
        cat.terminate();
    } finally {
        await t.stop();
    }
});

test('a late resume answer for a seat already on its sidecar, its page gone again: the claim\'s x-moved carries the seat\'s moves as Redis has them, so the seat is not lost between two sidecars', async () => {
    const grace = 4000;
    const redis = await startRedis();
    const procs = [redis];
    const l1 = await redisLink(redis.port);
    const l2 = await redisLink(redis.port);
    try {
        const env = { ...FAST, HUDDLE_RESUME_GRACE_MS: String(grace) };
        const n1 = await startSidecar({ env: { HUDDLE_REDIS_URL: l1.url, HUDDLE_NODE_ID: 'n1', ...env } });
        procs.push(n1);
        const n2 = await startSidecar({ env: { HUDDLE_REDIS_URL: l2.url, HUDDLE_NODE_ID: 'n2', ...env } });
        procs.push(n2);
        for (const n of [n1, n2]) await n.waitForOutput(UP);
        const rc = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args]).toString().trim();
        const room = uniqueRoom();
        const a = await connect(n1.wsUrl);
        await a.join(room, 'Ann');
        const b = await connect(n1.wsUrl);
        const wb = await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
        b.terminate();
        await a.next((m) => m.type === 'peer-state' && m.peer.id === wb.id && m.peer.away);
        // Bob's page resumes on n2, whose x-moved to n1 waits on its way
        l2.hold('x-moved');
        const b2 = await connect(n2.wsUrl);
        assert.equal((await b2.join(room, 'Bob', { resume: wb.resume, attempt: 1 })).id, wb.id);
        await l2.holding();
        b2.terminate();
        // and back on n1 with the token it still has (the seat still
        // there, in its grace): Redis answers, the answer waits, the page
        // goes again
        l1.holdAnswer(wb.resume);
        const b3 = await connect(n1.wsUrl);
        await b3.send({ type: 'join', room, name: 'Bob', resume: wb.resume, attempt: 2 });
        await l1.holding();
        b3.terminate();
        await n1.waitForOutput(new RegExp(`grace room=${room} peer=${wb.id}`));
        l1.release(); // n1 claims the seat: x-moved with its second move
        await n2.waitForOutput(new RegExp(`moved room=${room} peer=${wb.id}`));
        l2.release(); // n2's x-moved of the first reaches n1 now: stale
        await n1.waitForOutput(new RegExp(`stale x-moved room=${room} peer=${wb.id}`));
        assert.equal(rc('HGET', `huddle:room:${room}:nodes`, wb.id), n1.output.match(/as node (\S+)/)[1]);
        // nobody comes back: the seat ends with its grace, told once
        const left = await a.next((m) => m.type === 'peer-left' && m.id === wb.id, grace + 10000);
        assert.equal(left.reason, 'timeout');
        await a.expectNone((m) => m.type === 'peer-left' && m.id === wb.id, 500);
        assert.equal(rc('HEXISTS', `huddle:room:${room}:members`, wb.id), '0');
    } finally {
        l1.close();
        l2.close();
        await stopAll(procs);
    }
});

test('Redis back without its data: a seat\'s moves count on from what its sidecar re-asserted, so the next move reaches the sidecar it left', async () => {
    const c = await cluster(2);
    const [n1, n2] = c.scs;
    const rc = (...args) => execFileSync('redis-cli', ['-p', String(c.redis.port), ...args]).toString().trim();
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        await a.join(room, 'Ann');
        const cat = await c.client(1);
        const wc = await cat.join(room, 'Cat');
        const b = await c.client(0);
        const wb = await b.join(room, 'Bob');
        await cat.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
        b.terminate();
        await a.next((m) => m.type === 'peer-state' && m.peer.id === wb.id && m.peer.away);
        // his page resumes on n2: the seat's first move
        const b2 = await c.client(1);
        const w2 = await b2.join(room, 'Bob', { resume: wb.resume, attempt: 1 });
        assert.equal(w2.id, wb.id);
        await redisBack(c, await redisDown(c));
        // n2 re-asserted him with his one move
        await until(() => rc('HGET', `huddle:room:${room}:tokens`, `m:${wb.id}`) === '1', 'the count back', 10000);
        // his page drops from n2 and comes back on n1: the second move,
        // which n2 obeys
        b2.terminate();
        const b3 = await c.client(0);
        let w3 = null;
        for (let n = 2; !w3 || w3.type !== 'welcome'; n++) {
            w3 = await joinAnswer(b3, { room, name: 'Bob', resume: w2.resume, attempt: n });
        }
        assert.equal(w3.id, wb.id);
        await n2.waitForOutput(new RegExp(`moved room=${room} peer=${wb.id}`));
        assert.equal(count(n2, /stale x-moved/), 0);
        await cat.send({ type: 'signal', to: wb.id, data: { n: 1 } });
        assert.equal((await b3.next('signal')).from, wc.id);
    } finally {
        await c.stop();
    }
});

test('a knock sent again whose answer was lost after Redis let it in, then left by its knocker: the seat it may have taken is left once Redis is back', async () => {
    const t = await withLink();
    const { c, link, n2, redis } = t;
    try {
        const { room, h } = await hanaLocks(c);
        const [k, kk] = await knockAt(n2, room, 'Kimberly', h);
        link.cut();
        await n2.waitForOutput(/redis down/);
        await h.send({ type: 'admit', id: kk.id });
        await h.next((x) => x.type === 'lobby' && x.waiting.length === 0);
        link.trap('Kimberly'); // her knock sent again takes the seat; n2 never hears
        link.mend();
        await h.next((x) => x.type === 'peer-joined' && x.peer.id === kk.id);
        await waitCount(n2, /redis down/, 2);
        k.terminate(); // and she gives up meanwhile
        await n2.waitForOutput(/leave room=\S+ peer=\S+: not told to redis/);
        link.mend();
        assert.equal((await h.next((x) => x.type === 'peer-left' && x.id === kk.id, 10000)).reason, 'left');
        assert.equal(redis('HEXISTS', `huddle:room:${room}:members`, kk.id), '0');
        await until(() => redis('EXISTS', `huddle:room:${room}:answers`) === '0' &&
            redis('HLEN', `huddle:room:${room}:lobby`) === '0', 'nothing of the knock left', 5000);
    } finally {
        await t.stop();
    }
});

test('an admitted knocker whose join reaches Redis only after the meeting ended is told it ended; a member who leaves while her sidecar is cut off is seen leaving once it is back', async () => {
    const t = await withLink();
    const { c, link, n2, redis } = t;
    try {
        const { room, h } = await hanaLocks(c);
        const [k, kk] = await knockAt(n2, room, 'Kimberly', h);
        link.hold('Kimberly'); // the join her admission sends waits on the way
        await h.send({ type: 'admit', id: kk.id });
        await link.holding();
        await h.send({ type: 'end' });
        await h.next('ended');
        link.release();
        const e = await k.next('error');
        assert.deepEqual([e.code, e.reason], ['denied', 'ended']);
        await until(() => redis('EXISTS', `huddle:room:${room}:answers`) === '0', 'the answer taken', 5000);
        assert.equal(redis('HLEN', `huddle:room:${room}:members`), '0');

        // Bob, alone on n2 in another room, leaves while n2 is cut off
        const room2 = uniqueRoom();
        const a = await c.client(0);
        await a.join(room2, 'Ann');
        const b = await connect(n2.wsUrl);
        const wb = await b.join(room2, 'Bob');
        link.cut();
        await n2.waitForOutput(/redis down/);
        await b.send({ type: 'leave' });
        await n2.waitForOutput(/leave room=\S+ peer=\S+: not told to redis/);
        link.mend();
        assert.equal((await a.next((x) => x.type === 'peer-left' && x.id === wb.id, 10000)).reason, 'left');
        assert.equal(redis('HEXISTS', `huddle:room:${room2}:members`, wb.id), '0');
    } finally {
        await t.stop();
    }
});

test('a host answers knocks on a sidecar stalled past the node TTL: the answers wait the grace, and when it wakes the admitted come in and the denied are told', async () => {
    // a 2.5 s node TTL: the host's answers reach Redis before the reaper
    // takes the knocks out of the lobby, on a busy machine too
    const c = await cluster(2, { env: { ...QUICK_DEATH, HUDDLE_REDIS_NODE_TTL_MS: '2500', HUDDLE_RESUME_GRACE_MS: '4000' } });
    const n1 = c.scs[1];
    try {
        const redis = (...args) => execFileSync('redis-cli', ['-p', String(c.redis.port), ...args]).toString().trim();
        const node = n1.output.match(/as node (\S+)/)[1];
        const { room, h } = await hanaLocks(c);
        const [k, kk] = await knockAt(n1, room, 'Kim');
        const [l, kl] = await knockAt(n1, room, 'Lea');
        await h.next((x) => x.type === 'lobby' && x.waiting.length === 2);

        n1.signal('SIGSTOP');
        await h.send({ type: 'deny', id: kk.id });
        await h.send({ type: 'admit', id: kl.id });
        await h.next((x) => x.type === 'lobby' && x.waiting.length === 0);
        const seen = h.received.length;
        // the reaper takes n1 for dead; the answers wait the grace for it
        await until(() => redis('EXISTS', `huddle:node:${node}:knocks`) === '0', 'the reaper', 10000);
        const reaped = Date.now();
        assert.notEqual(redis('ZSCORE', 'huddle:grace', `${room} ${kl.id} ${node}`), '');
        assert.notEqual(redis('ZSCORE', 'huddle:grace', `${room} ${kk.id} ${node}`), '');
        assert.equal(redis('HLEN', `huddle:room:${room}:answers`), '2');

        n1.signal('SIGCONT');
        const e = await k.next('error');
        assert.deepEqual([e.code, e.reason], ['denied', 'host']);
        assert.equal((await l.next('welcome')).id, kl.id);
        await h.next((x) => x.type === 'peer-joined' && x.peer.id === kl.id);
        await until(() => redis('HLEN', `huddle:room:${room}:answers`) === '0', 'the answers taken', 5000);
        for (const x of h.received.slice(seen).filter((y) => y.type === 'lobby'))
            assert.deepEqual(x.waiting, []);
        assert.equal(l.received.filter((x) => x.type === 'knocking').length, 1);
        // past the grace's end, Lea keeps the seat her admission gave her
        await sleep(Math.max(0, reaped + 4000 + 1000 - Date.now()));
        assert.equal(redis('ZCARD', 'huddle:grace'), '0');
        assert.equal(redis('HEXISTS', `huddle:room:${room}:members`, kl.id), '1');
        assert.deepEqual(h.received.filter((x) => x.type === 'peer-left'), []);
    } finally {
        n1.signal('SIGCONT');
        await c.stop();
    }
});

test('Redis stopped, then started: no crash, local chat goes on, cross-sidecar sends answer unavailable, roster after', async () => {
    const c = await cluster(2);
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        const a2 = await c.client(0);
        const b = await c.client(1);
        const wa = await a.join(room, 'Ann');
        const wa2 = await a2.join(room, 'Al');
        const wb = await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);

        const port = await redisDown(c);

        // Redis stays away for 10 s (the Redis-down case of docs/cluster.md); chat inside one sidecar goes
        // on all the while, once a second.
        const downUntil = Date.now() + 10000;
        for (let i = 0; Date.now() < downUntil; i++) {
            await a.send({ type: 'chat', text: `local only ${i}` });
            assert.equal((await a2.next('chat')).text, `local only ${i}`);
            await sleep(1000);
        }
        await a.send({ type: 'signal', to: wb.id, data: { x: 1 } });
        const err = await a.next((m) => m.type === 'error' && m.ref === 'signal');
        assert.equal(err.code, 'unavailable');
        await a.send({ type: 'signal', to: wa2.id, data: { x: 2 } });
        assert.equal((await a2.next('signal')).from, wa.id);

        const redis2 = await startRedis({ port });
        c.procs.push(redis2);
        // each sidecar re-asserts its members, then sends roster: a member
        // re-asserted later by the other sidecar comes as peer-joined
        assert.deepEqual(await reconciled(a, wa.id), [wa2.id, wb.id].sort());
        assert.deepEqual(await reconciled(b, wb.id), [wa.id, wa2.id].sort());
        await a.send({ type: 'chat', text: 'back' });
        assert.equal((await b.next((m) => m.type === 'chat' && m.text === 'back')).from, wa.id);
        await b.send({ type: 'signal', to: wa.id, data: { y: 1 } });
        assert.equal((await a.next('signal')).from, wb.id);
    } finally {
        await c.stop();
    }
});

test('Redis back without its data, one sidecar back well before the other: no page is told a member of the other left, and the roster after lists everyone', async () => {
    // Before, the first sidecar back sent its members the roster at once,
    // without the members of the one still waiting out its backoff: their
    // pages dropped those tiles and calls, to get them back as newcomers.
    const c = await cluster(2);
    const [n1, n2] = c.scs;
    try {
        const { a, b, wa, wb } = await annAndBob(c);
        const port = await redisDown(c);
        n2.signal('SIGSTOP'); // held back: n1 is back first
        const from = a.received.length;
        c.procs.push(await startRedis({ port }));
        await waitCount(n1, UP, 2);
        // ping timeout 1500 + backoff max 400 + 1000 ms
        await waitCount(n1, /resync room=.*members of other nodes not in redis, roster in 2900 ms/, 1);
        n2.signal('SIGCONT');
        await waitCount(n2, UP, 2);
        // (a roster lists everyone but its addressee)
        assert.deepEqual(ids((await a.next('roster', 10000)).peers), [wb.id]);
        const seen = a.received.slice(from);
        assert.deepEqual(seen.filter((m) => m.type === 'peer-left' || (m.type === 'roster' && !ids(m.peers).includes(wb.id))), [],
            'Ann was told Bob left');
        assert.deepEqual(ids((await b.next('roster', 10000)).peers), [wa.id]);
        await a.send({ type: 'signal', to: wb.id, data: { back: 1 } });
        assert.equal((await b.next('signal')).from, wa.id);
        // And once more a second after the wait (a peer-joined read before
        // the roster's answer must not be dropped for good).
        assert.deepEqual(ids((await a.next('roster', 5000)).peers), [wb.id]);
    } finally {
        n2.signal('SIGCONT');
        await c.stop();
    }
});

test('Redis away longer than the node TTL and back with its data (append-only file): nobody is reaped before their sidecar is back, the lock stays', async () => {
    // Every node's liveness key expires while Redis is away. The first
    // sidecar back must not reap the seats of one still waiting out its
    // reconnect backoff (at most 3 s here; held stopped for 1.5 s after
    // the first is back, where the first one's reaper runs every 0.2 s).
    const dir = tmpDir('redis-aof');
    const redisArgs = ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
    const c = await cluster(2, {
        env: {
            ...QUICK_DEATH,
            HUDDLE_REDIS_BACKOFF_MAX_MS: '3000',
        },
        redisArgs,
    });
    const [n1, n2] = c.scs;
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        const b = await c.client(1);
        await a.join(room, 'Ann');
        const wb = await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
        await a.send({ type: 'lock', locked: true });
        await a.next((m) => m.type === 'access' && m.locked === true);

        const port = await redisDown(c);
        n2.signal('SIGSTOP');
        await sleep(1500); // past the node TTL: both liveness keys are gone
        c.procs.push(await startRedis({ port, args: redisArgs }));
        await waitCount(n1, UP, 2);
        await sleep(1500); // seven of n1's reaper periods
        n2.signal('SIGCONT');
        await waitCount(n2, UP, 2);
        await sleep(1000);
        assert.equal(count(n1, /reaped \d+ member|seat\(s\) of dead nodes wait/), 0, `n1 reaped:\n${n1.tail()}`);
        const left = [...a.received, ...b.received].filter((m) => m.type === 'peer-left');
        assert.deepEqual(left, [], 'someone was seen leaving');
        // The room is still locked: a newcomer knocks.
        const d = await c.client(0);
        await d.send({ type: 'join', room, name: 'Dee' });
        await d.next('knocking');
    } finally {
        n2.signal('SIGCONT');
        await c.stop();
    }
});

test('Redis back without its data: a room that was locked, or had a password, is locked again (its hosts told why); an open room stays open; every page hears its access', async () => {
    // Before, the rooms' locks and passwords went with Redis' data while
    // the hosts' pages still showed them: anyone could walk in.
    const c = await cluster(2);
    try {
        const locked = await annAndBob(c);
        const pw = await annAndBob(c);
        const open = await annAndBob(c);
        await locked.a.send({ type: 'lock', locked: true });
        await locked.b.next((m) => m.type === 'access' && m.locked === true);
        await pw.a.send({ type: 'password', password: 'swordfish' });
        await pw.b.next((m) => m.type === 'access' && m.password === true);
        const from = new Map([locked, pw, open].flatMap((x) => [[x.a, x.a.received.length], [x.b, x.b.received.length]]));

        await redisBack(c, await redisDown(c));

        // The hosts (Ann, first in) and the guests hear the room locked
        // again, "restored" (from each sidecar: the first one back may
        // say it before the other listens to the room again).
        for (const x of [locked, pw]) {
            for (const cl of [x.a, x.b]) {
                const m = await cl.next((m) => m.type === 'access' && m.restored === true, 10000);
                assert.deepEqual(m, { type: 'access', locked: true, password: false, restored: true });
            }
        }
        // An open room: its pages hear it open, nothing restored.
        for (const cl of [open.a, open.b]) {
            const m = await cl.next('access', 10000);
            assert.deepEqual(m, { type: 'access', locked: false, password: false });
        }
        for (const cl of [open.a, open.b]) {
            assert.deepEqual(cl.received.slice(from.get(cl)).filter((m) => m.type === 'access' && m.locked), [], 'the open room was locked');
        }
        // A newcomer knocks at the locked rooms, even with the password
        // (Redis no longer has it), and walks into the open one.
        for (const [x, extra] of [[locked, {}], [pw, { password: 'swordfish' }]]) {
            const d = await c.client(1);
            assert.equal((await joinAnswer(d, { room: x.room, name: 'Dee', ...extra })).type, 'knocking');
        }
        const e = await c.client(0);
        assert.equal((await joinAnswer(e, { room: open.room, name: 'Eve' })).type, 'welcome');
        // A host's lock or password ends "restored".
        await pw.a.send({ type: 'password', password: 'swordfish' });
        assert.deepEqual(await pw.b.next((m) => m.type === 'access' && m.password === true), { type: 'access', locked: true, password: true });
    } finally {
        await c.stop();
    }
});

test('Redis back without its data: a room held by one sidecar that learnt of its lock from a join\'s answer is locked again, with a host', async () => {
    const c = await cluster(2);
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        const wa = await a.join(room, 'Ann');
        await a.send({ type: 'lock', locked: true });
        await a.next((m) => m.type === 'access' && m.locked === true);
        // Bob knocks on the other sidecar and is let in: his sidecar knows
        // of the lock from his join's answer only. Ann leaves: Bob, the
        // only one left, on the one sidecar holding the room, is its host.
        const b = await c.client(1);
        await b.send({ type: 'join', room, name: 'Bob' });
        const kb = await b.next('knocking');
        await a.next((m) => m.type === 'lobby' && m.waiting.some((w) => w.id === kb.id));
        await a.send({ type: 'admit', id: kb.id });
        const wb = await b.next('welcome');
        assert.deepEqual(wb.access, { locked: true, password: false });
        await a.send({ type: 'leave' });
        await b.next((m) => m.type === 'peer-left' && m.id === wa.id);

        await redisBack(c, await redisDown(c));
        assert.deepEqual(await b.next((m) => m.type === 'access', 10000), { type: 'access', locked: true, password: false, restored: true });
        const d = await c.client(0);
        const kd = await joinAnswer(d, { room, name: 'Dee' });
        assert.equal(kd.type, 'knocking');
        // Bob, a host, can let her in.
        await b.next((m) => m.type === 'lobby' && m.waiting.some((w) => w.id === kd.id));
        await b.send({ type: 'admit', id: kd.id });
        await d.next('welcome');
    } finally {
        await c.stop();
    }
});

test('Redis back without its data, join tokens on: hosts still come only from tokens, and a host\'s removal still bans the address', async () => {
    // Before, a re-asserted seat told Redis neither that tokens were on
    // (when the last token host left, a guest became host) nor its
    // address (a removal banned nobody).
    const secret = 'a-test-secret-of-more-than-32-bytes-0123456789';
    const c = await cluster(2, { env: { HUDDLE_JWT_SECRET: secret } });
    try {
        const room = uniqueRoom();
        const token = (name, role) => mint(claims(room, { name, role }), { secret });
        const a = await c.client(0);
        const b = await c.client(1);
        const g = await c.client(1, '10.9.0.7');
        const wa = await a.join(room, 'x', { token: token('Ann', 'host') });
        const wb = await b.join(room, 'x', { token: token('Bob', 'guest') });
        const wg = await g.join(room, 'x', { token: token('Gus', 'guest') });
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wg.id);
        assert.deepEqual([wa.self.role, wb.self.role, wg.self.role], ['host', 'guest', 'guest']);

        await redisBack(c, await redisDown(c));
        await a.next('roster', 20000);
        await b.next('roster', 20000);

        // Ann removes Gus and leaves: Bob stays a guest (tokens make the
        // hosts; nobody has joined since, whose join would tell Redis).
        await a.send({ type: 'kick', to: wg.id });
        await b.next((m) => m.type === 'peer-left' && m.id === wg.id);
        await a.send({ type: 'leave' });
        await b.next((m) => m.type === 'peer-left' && m.id === wa.id);
        await b.send({ type: 'lock', locked: true });
        assert.equal((await b.next('error')).code, 'forbidden');
        assert.deepEqual(b.received.filter((m) => m.type === 'peer-state' && m.peer.id === wb.id && m.peer.role === 'host'), []);
        // Gus' address is banned: Dee, from the same address (one
        // office), cannot come in with her own token.
        const d = await c.client(1, '10.9.0.7');
        assert.equal((await joinAnswer(d, { room, name: 'x', token: token('Dee', 'guest') })).code, 'banned');
    } finally {
        await c.stop();
    }
});

test('Redis back without its data: joins wait until the other sidecars could re-assert their members, so nobody walks into a locked room as its host meanwhile; a seat of the sidecar\'s own is taken back meanwhile', async () => {
    // Before, a join on the first sidecar back found the room empty in
    // Redis and walked in as its host, before the sidecar holding the
    // room (back a moment later) had locked it again.
    const c = await cluster(2);
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        await a.join(room, 'Ann');
        const b = await c.client(1);
        const wb = await b.join(uniqueRoom(), 'Bob');
        await a.send({ type: 'lock', locked: true });
        await a.next((m) => m.type === 'access' && m.locked === true);
        // Ann's sidecar is held while Redis restarts without its data; the
        // other one is back first.
        c.scs[0].signal('SIGSTOP');
        const port = c.redis.port;
        await c.redis.stop();
        await c.scs[1].waitForOutput(/redis down/);
        c.procs.push(await startRedis({ port }));
        await waitCount(c.scs[1], UP, 2);
        assert.equal(count(c.scs[1], /joins wait \d+ ms for the other nodes/), 1);
        const e = await c.client(1);
        await e.send({ type: 'join', room, name: 'Eve' });
        const err = await e.next('error');
        assert.deepEqual([err.code, err.ref], ['unavailable', 'join']);
        // Bob, on the sidecar back first, drops and takes his seat back
        // at once: it was re-asserted, and its grace runs meanwhile.
        await b.drop();
        const b2 = await c.client(1);
        const back = await b2.join(wb.room, 'Bob', { resume: wb.resume });
        assert.equal(back.id, wb.id);
        // Ann's sidecar comes back and locks the room again; Eve, trying
        // again, knocks.
        c.scs[0].signal('SIGCONT');
        await waitCount(c.scs[0], UP, 2);
        assert.equal((await a.next((m) => m.type === 'access', 10000)).restored, true);
        assert.equal((await joinAnswer(e, { room, name: 'Eve' })).type, 'knocking');
    } finally {
        c.scs[0].signal('SIGCONT');
        await c.stop();
    }
});

test('Redis back without its data with a knock waiting: the knock ends unavailable (sent again it would walk past the lock, not there yet), and knocking again finds the room locked', async () => {
    const c = await cluster(2);
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        await a.join(room, 'Ann');
        await a.send({ type: 'lock', locked: true });
        await a.next((m) => m.type === 'access' && m.locked === true);
        const kim = await c.client(0);
        await kim.send({ type: 'join', room, name: 'Kim' });
        await kim.next('knocking');
        const port = await redisDown(c);
        await redisBack(c, port);
        const err = await kim.next('error');
        assert.deepEqual([err.code, err.ref], ['unavailable', 'join']);
        assert.equal(kim.received.filter((m) => m.type === 'welcome').length, 0, 'walked in');
        assert.equal((await a.next((m) => m.type === 'access', 10000)).restored, true);
        const again = await c.client(0);
        assert.equal((await joinAnswer(again, { room, name: 'Kim' })).type, 'knocking');
    } finally {
        await c.stop();
    }
});

test('a locked room Redis forgot while its sidecar was cut off (its members reaped after their grace), with Redis keeping its data: not locked again when the sidecar is back; its pages hear it open', async () => {
    const c = await cluster(2, { env: { ...QUICK_DEATH, HUDDLE_RESUME_GRACE_MS: '300' } });
    const [n1, n2] = c.scs;
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        await a.join(room, 'Ann');
        await a.send({ type: 'lock', locked: true });
        await a.next((m) => m.type === 'access' && m.locked === true);
        const from = a.received.length;
        n1.signal('SIGSTOP'); // its liveness key expires: n2 reaps Ann after her grace, the room empties
        await waitCount(n2, /reaped \d+ member/, 1);
        // Redis closes n1's connections (and n2's): back, n1 reconnects
        // and re-asserts Ann, into a room Redis has no lock for.
        for (const type of ['normal', 'pubsub']) execFileSync('redis-cli', ['-p', String(c.redis.port), 'CLIENT', 'KILL', 'TYPE', type]);
        n1.signal('SIGCONT');
        // Both are back on Redis (n2 lost its connections too: until it is
        // up again, it answers a join unavailable).
        await waitCount(n1, UP, 2);
        await waitCount(n2, UP, 2);
        assert.deepEqual(await a.next((m) => m.type === 'access', 15000), { type: 'access', locked: false, password: false });
        assert.equal(count(n1, /redis lost its data/), 0);
        const d = await c.client(1);
        assert.ok((await d.join(room, 'Dee')).id, 'the room is open');
        assert.deepEqual(a.received.slice(from).filter((m) => m.type === 'access' && m.locked), []);
    } finally {
        n1.signal('SIGCONT');
        await c.stop();
    }
});

/**
 * Publishes chat from a (member id) until Redis drops the stopped
 * sidecar's subscription for overrunning its output buffer (c's Redis runs
 * with a small pubsub limit). The stopped process's socket buffers fill
 * first, which can hold tens of MB where tcp_rmem allows it: each message
 * is 2,000 four-byte characters, at most 160 MB in all.
 */
async function floodUntilDropped(c, a, id) {
    const text = '\u6F22'.repeat(2000);
    for (let i = 0; !/output buffer limits/.test(c.redis.output); i++) {
        assert.ok(i < 20000, 'Redis never dropped the stopped subscriber');
        await a.send({ type: 'chat', text });
        if (i % 50 === 49) await a.next((m) => m.type === 'chat' && m.from === id); // keep pace
    }
}

test('a sidecar stopped until Redis drops it as a slow subscriber recovers by itself', async () => {
    const c = await cluster(2, {
        redisArgs: ['--client-output-buffer-limit', 'pubsub 64kb 32kb 1'],
        env: {
            HUDDLE_CHAT_BURST: '100000', HUDDLE_CHAT_RATE: '100000',
            // what reached the stopped sidecar before the drop is delivered
            // after SIGCONT: big queues, so Bob is not closed as slow
            HUDDLE_SEND_QUEUE_MESSAGES: '100000', HUDDLE_SEND_QUEUE_BYTES: '268435456',
        },
    });
    try {
        const { a, b, wa, wb } = await annAndBob(c);

        c.scs[1].signal('SIGSTOP');
        await floodUntilDropped(c, a, wa.id);
        c.scs[1].signal('SIGCONT');

        await b.next('roster', 20000);
        await a.send({ type: 'chat', text: 'after' });
        assert.equal((await b.next((m) => m.type === 'chat' && m.text === 'after')).from, wa.id);
        await b.send({ type: 'chat', text: 'me too' });
        assert.equal((await a.next((m) => m.type === 'chat' && m.text === 'me too')).from, wb.id);
    } finally {
        await c.stop();
    }
});

test('a role changed while a sidecar was cut off from Redis survives its re-assertion, and the member hears it', async () => {
    const c = await cluster(2);
    try {
        const room = uniqueRoom();
        const a = await c.client(0);
        const b = await c.client(1);
        const wa = await a.join(room, 'Ann'); // the first member: host
        const wb = await b.join(room, 'Bob');
        await a.next((m) => m.type === 'peer-joined' && m.peer.id === wb.id);
        assert.equal(wa.self.role, 'host');

        // Bob's sidecar stops and loses its subscription; Ann's sidecar
        // gets its own back. Ann makes Bob a host, which Redis records and
        // publishes to nobody on Bob's sidecar; when it runs again it
        // re-asserts Bob as the guest it knew.
        c.scs[1].signal('SIGSTOP');
        const ups = count(c.scs[0], UP);
        execFileSync('redis-cli', ['-p', String(c.redis.port), 'CLIENT', 'KILL', 'TYPE', 'pubsub']);
        await waitCount(c.scs[0], UP, ups + 1);
        await a.send({ type: 'role', to: wb.id, role: 'host' });
        const st = await a.next((m) => m.type === 'peer-state' && m.peer.id === wb.id);
        assert.equal(st.peer.role, 'host');
        const resyncs = count(c.scs[1], /resync room=/);
        c.scs[1].signal('SIGCONT');
        await waitCount(c.scs[1], /resync room=/, resyncs + 1);

        // Redis kept the host's decision, Bob was told, and Bob acts as a host.
        const me = await b.next((m) => m.type === 'peer-state' && m.peer.id === wb.id, 20000);
        assert.equal(me.peer.role, 'host');
        const stored = execFileSync('redis-cli', ['-p', String(c.redis.port), 'HGET', `huddle:room:${room}:members`, wb.id]).toString();
        assert.match(stored, /"role":"host"/);
        const late = await c.client(0);
        const wl = await late.join(room, 'Cleo');
        assert.equal(wl.peers.find((p) => p.id === wb.id).role, 'host');
        await b.send({ type: 'lock', locked: true });
        assert.equal((await late.next('access')).locked, true);
    } finally {
        await c.stop();
    }
});

test('a sidecar started while Redis is down listens anyway, answers join with unavailable, then serves once Redis is up', async () => {
    const port = await freePort();
    const procs = [];
    try {
        const sc = await startSidecar({ env: { HUDDLE_REDIS_URL: `redis://127.0.0.1:${port}`, HUDDLE_NODE_ID: 'late', ...FAST } });
        procs.push(sc);
        const a = await connect(sc.wsUrl);
        await a.send({ type: 'join', room: uniqueRoom(), name: 'Ann' });
        const err = await a.next('error');
        assert.deepEqual([err.code, err.ref], ['unavailable', 'join']);
        procs.unshift(await startRedis({ port }));
        await sc.waitForOutput(UP, 20000);
        const w = await a.join(uniqueRoom(), 'Ann');
        assert.equal(typeof w.id, 'string');
        a.terminate();
    } finally {
        await stopAll(procs);
    }
});

test('through nginx with two sidecars, clients on different sidecars meet', async () => {
    const stack = await startStack({ sidecars: 2, sidecarEnv: FAST });
    const clients = [];
    try {
        for (const s of stack.sidecars) await s.waitForOutput(UP);
        // nginx' workers balance separately: find one client on each sidecar
        // by joining a probe room and reading the sidecars' logs
        const on = (id) => stack.sidecars.findIndex((s) => s.output.includes(`peer=${id}`));
        const placed = [null, null];
        for (let i = 0; placed.includes(null); i++) {
            assert.ok(i < 20, 'nginx never reached both sidecars');
            const cl = await connect(stack.wsUrl);
            clients.push(cl);
            const w = await cl.join(uniqueRoom('probe'), 'probe');
            const where = on(w.id);
            if (placed[where] === null) placed[where] = cl;
            await cl.send({ type: 'leave' });
        }
        const [a, b] = placed;
        const room = uniqueRoom();
        const wa = await a.join(room, 'Ann');
        const wb = await b.join(room, 'Bob');
        assert.notEqual(on(wa.id), on(wb.id));
        assert.deepEqual(ids(wb.peers), [wa.id]);
        assert.equal((await a.next('peer-joined')).peer.id, wb.id);
        await a.send({ type: 'signal', to: wb.id, data: { sdp: 'o' } });
        assert.equal((await b.next('signal')).from, wa.id);
        await b.send({ type: 'chat', text: 'hi' });
        assert.equal((await a.next('chat')).text, 'hi');
    } finally {
        for (const cl of clients) cl.terminate();
        await stack.stop();
    }
});

test('over a Unix socket, with a password and a db: members on two sidecars meet; a wrong password is logged and retried', async () => {
    const pass = randomBytes(12).toString('hex');
    const procs = [];
    const clients = [];
    try {
        const redis = await startRedis({ unix: true, args: ['--requirepass', pass] });
        procs.push(redis);
        const url = `unix://:${pass}@${redis.sock}?db=3`;
        const scs = [];
        for (const id of ['u1', 'u2']) {
            const s = await startSidecar({ env: { HUDDLE_REDIS_URL: url, HUDDLE_NODE_ID: id, ...FAST } });
            procs.push(s);
            scs.push(s);
            await s.waitForOutput(UP);
            assert.match(s.output, new RegExp(`connected to redis ${redis.sock} as node ${id}\\.`));
        }
        const [a, b] = [await connect(scs[0].wsUrl), await connect(scs[1].wsUrl)];
        clients.push(a, b);
        const room = uniqueRoom('unix');
        const wa = await a.join(room, 'Ann');
        const wb = await b.join(room, 'Bob');
        assert.deepEqual(ids(wb.peers), [wa.id]);
        assert.equal((await a.next('peer-joined')).peer.id, wb.id);
        await a.send({ type: 'signal', to: wb.id, data: { sdp: 'o' } });
        assert.equal((await b.next('signal')).from, wa.id);
        await b.send({ type: 'chat', text: 'over the socket' });
        assert.equal((await a.next('chat')).text, 'over the socket');
        // The rooms live in db 3, not in db 0.
        const keys = (db) => execFileSync('redis-cli', ['-s', redis.sock, '-a', pass, '--no-auth-warning', '-n', String(db), 'keys', 'huddle:*'],
            { encoding: 'utf8' }).trim();
        assert.match(keys(3), /huddle:/);
        assert.equal(keys(0), '');

        const bad = await startSidecar({ env: { HUDDLE_REDIS_URL: `unix://:wrong@${redis.sock}`, HUDDLE_NODE_ID: 'u3', ...FAST } });
        procs.push(bad);
        await waitCount(bad, /handshake: redis answered WRONGPASS/, 2);
        assert.ok(bad.running);
    } finally {
        for (const cl of clients) cl.terminate();
        await stopAll(procs);
    }
});
