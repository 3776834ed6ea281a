// Soak: a day of six-person meetings compressed into a few minutes, on two
// sidecars sharing a real redis-server. Each cycle holds three meetings at
// once: people join (the newcomer sends a recorded Chromium SDP offer to
// each peer, who answers, and both send ICE candidates), chat, mute, raise
// hands, drop without a close frame and resume with their token, leave and
// come back; then the meeting ends (a leave, a close frame, or a drop) and
// the room must leave no key in Redis once its TTL passed. Mid-way one
// sidecar is drained (SIGTERM) and started again, Redis is restarted (its
// data lost), and the same sidecar is killed with SIGKILL and started again;
// clients reconnect with their resume token as the page does.
//
// Checked at the end of every meeting: every client's roster is exactly the
// people in the room (nobody missing, nobody twice), a signal reaches each
// peer and a chat reaches the room. Checked after every cycle: no room key,
// grace entry or dead node left in Redis. Checked at the end: the resident
// memory (VmRSS) and open file descriptors of every process are back within
// a margin of what they were after a warm-up cycle of their own (the
// figures are printed), and no sanitizer report.
//
// HUDDLE_SOAK_SECONDS (default 100) sets the length: one cycle per ~16 s,
// at least six.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { ARTIFACTS, ROOT, sleep, startRedis, startSidecar, stopAll } from '../lib/stack.mjs';

const SECONDS = Number(process.env.HUDDLE_SOAK_SECONDS || 100);
const CYCLE_S = 16;
const CYCLES = Math.max(6, Math.round(SECONDS / CYCLE_S));
const ROOMS = 3;
const PEOPLE = 6;
const MEETING_MS = 11000;

const GRACE_MS = 2500;
const CHAT_TTL_MS = 1500;
const NODE_TTL_MS = 2000;
const REAPER_MS = 300;
// Short timings so that a day fits in minutes; the soak is not about the
// per-address join budget (every client here is 127.0.0.1), so it is wide.
const SIDECAR_ENV = {
    HUDDLE_RESUME_GRACE_MS: String(GRACE_MS),
    // Return tickets (a leave's token kept for a while) expire too, within
    // the wait for leftovers.
    HUDDLE_RETURN_S: '1',
    HUDDLE_CHAT_HISTORY_TTL_MS: String(CHAT_TTL_MS),
    HUDDLE_REDIS_NODE_TTL_MS: String(NODE_TTL_MS),
    HUDDLE_REDIS_HEARTBEAT_MS: '500',
    HUDDLE_REDIS_REAPER_MS: String(REAPER_MS),
    HUDDLE_REDIS_PING_MS: '200',
    HUDDLE_REDIS_PING_TIMEOUT_MS: '1500',
    HUDDLE_REDIS_BACKOFF_MIN_MS: '50',
    HUDDLE_REDIS_BACKOFF_MAX_MS: '400',
    HUDDLE_ADDRESS_JOIN_BURST: '1000',
    HUDDLE_ADDRESS_JOIN_RATE: '1000',
    HUDDLE_ROOM_JOIN_BURST: '100',
    HUDDLE_ROOM_JOIN_RATE: '100',
    // ASan keeps freed memory in a quarantine (256 MB by default) before
    // reusing it, so RSS would climb for the whole run with or without a
    // leak: a small one makes RSS comparable between two quiet moments.
    ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=23:quarantine_size_mb=4',
};

// Margins for "back where it was", after a warm-up cycle of the process's
// own. Descriptors: exact, once the process has closed what it was closing
// (waited for, up to 5 s). Memory: between two quiet moments the sidecars
// moved by under 1 MB of their ~20 MB here (allocator free lists and the
// sanitizer's bookkeeping keep what a busy moment took), Redis by less;
// 6 MB + 10% leaves room for a busier machine and still catches a leak of
// what a meeting carries (its signals alone are about half a megabyte)
// within a few cycles. A longer HUDDLE_SOAK_SECONDS sharpens it.
const RSS_SLACK_KB = 6144;
const RSS_SLACK_RATIO = 0.1;

// A real Chromium offer, answer and ICE candidates, recorded by
// tests/fuzz/capture-seeds.mjs (the fuzz seeds of the message parser).
const SEEDS = path.join(ROOT, 'tests', 'fuzz', 'seeds', 'msg');
const seed = (f) => JSON.parse(fs.readFileSync(path.join(SEEDS, f), 'utf8')).data;
const OFFER = seed('chromium_signal_offer');
const ANSWER = seed('chromium_signal_answer');
const CANDIDATES = [seed('chromium_signal_candidate_host_udp'), seed('chromium_signal_candidate_host_tcp')];

const NAMES = ['Ana', 'Bérénice', 'Chidi 😀', 'Dmitrij', 'Eun-ji', 'Fatoumata'].slice(0, PEOPLE);

const rand = (n) => Math.floor(Math.random() * n);
const pick = (a) => a[rand(a.length)];

/** RSS (kB) and open descriptors of a live process. */
function usage(pid) {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return {
        rssKb: Number(status.match(/^VmRSS:\s+(\d+) kB/m)[1]),
        fds: fs.readdirSync(`/proc/${pid}/fd`).length,
    };
}

/** The world: Redis, the two sidecars, and which of them take clients. */
class World {
    constructor() {
        this.sidecars = [];
        this.redis = null;
        this.cycle = 0; // the cycle running (0: before the first)
        this.exited = []; // processes replaced during the run
        this.unexpected = []; // protocol surprises, reported at the end
        this.stats = { signals: 0, chats: 0, drops: 0, reconnects: 0, resumes: 0, resumesAsNew: 0, unavailable: 0, resent: 0 };
    }

    /** Sidecars a client may connect to (not draining, not stopped). */
    live() { return this.sidecars.filter((s) => s.accepting); }

    async startSidecar(i, port) {
        const s = await startSidecar({
            port, env: { ...SIDECAR_ENV, HUDDLE_NODE_ID: `node${i + 1}`, HUDDLE_REDIS_URL: this.redis.url },
        });
        const m = await s.waitForOutput(/redis up as node (\S+)/, 15000);
        s.nodeId = m[1];
        s.accepting = true;
        s.startCycle = this.cycle;
        s.name = `sidecar ${s.nodeId} (pid ${s.pid})`;
        this.sidecars[i] = s;
        return s;
    }

    redisCli(...args) {
        return execFileSync('redis-cli', ['-p', String(this.redis.port), ...args], { encoding: 'utf8' })
            .split('\n').filter(Boolean);
    }

    /** What Redis holds beyond the live sidecars' own liveness keys. */
    leftovers() {
        const live = this.sidecars.map((s) => s.nodeId);
        // Redis' epoch is one key for good (docs/cluster.md, "Keys").
        const keys = this.redisCli('--scan', '--pattern', 'huddle:*')
            .filter((k) => !live.some((id) => k === `huddle:node:${id}`) && k !== 'huddle:nodes' && k !== 'huddle:epoch');
        const nodes = this.redisCli('SMEMBERS', 'huddle:nodes').filter((id) => !live.includes(id));
        return [...keys, ...nodes.map((id) => `huddle:nodes member ${id}`)];
    }
}

/** One simulated participant: a websocket, a roster, a resume token. */
class Person {
    constructor(world, room, name) {
        this.world = world;
        this.room = room;
        this.name = name;
        this.id = null;
        this.token = null;
        this.view = new Map(); // id -> name, as this client's page would list
        this.present = false; // in the meeting (joined, not left)
        this.ws = null;
        this.reconnecting = null; // promise while coming back
        this.heard = new Set(); // nonces of checkpoint signals and chats
        this.errors = []; // the last error answers, for a failure's message
    }

    send(obj) {
        if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(obj));
    }

    /** Opens a websocket to a live sidecar; retries while none takes it. */
    async open(deadline) {
        for (;;) {
            const s = pick(this.world.live().length ? this.world.live() : this.world.sidecars);
            try {
                return await new Promise((resolve, reject) => {
                    const ws = new WebSocket(s.wsUrl, { perMessageDeflate: false, handshakeTimeout: 5000 });
                    ws.once('open', () => { this.node = s.nodeId; resolve(ws); });
                    ws.once('unexpected-response', (req, res) => {
                        res.resume();
                        req.destroy();
                        reject(new Error(`HTTP ${res.statusCode}`));
                    });
                    ws.once('error', reject);
                });
            } catch (err) {
                if (Date.now() > deadline) throw new Error(`${this.name}: no sidecar takes a websocket: ${err.message}`);
                await sleep(100);
            }
        }
    }

    /** Connects and joins (with the resume token when resume is true);
     * `unavailable` (Redis away) is tried again, as the page does. */
    async join(resume) {
        const deadline = Date.now() + 20000;
        for (;;) {
            const ws = await this.open(deadline);
            this.ws = ws;
            const answer = new Promise((resolve) => {
                this.onAnswer = resolve;
                ws.once('close', () => resolve({ type: 'closed' }));
            });
            ws.on('message', (data) => this.receive(JSON.parse(data.toString())));
            ws.on('close', (code) => this.closed(ws, code));
            ws.on('error', () => {});
            this.send({ type: 'join', room: this.room, name: this.name, audio: true, video: true,
                ...(resume && this.token ? { resume: this.token } : {}) });
            const m = await answer;
            this.onAnswer = null;
            if (m.type === 'welcome') return m;
            ws.terminate(); // receive() counted the error
            if (Date.now() > deadline) throw new Error(`${this.name}: cannot join ${this.room}: ${JSON.stringify(m)}`);
            await sleep(150);
        }
    }

    /** A fresh join: new seat, offers to everyone already there. */
    async enter() {
        const w = await this.join(false);
        this.present = true;
        for (const p of w.peers) this.offer(p.id);
    }

    offer(to) {
        this.send({ type: 'signal', to, data: OFFER });
        for (const c of CANDIDATES) this.send({ type: 'signal', to, data: c });
    }

    receive(m) {
        switch (m.type) {
        case 'welcome':
            this.id = m.id;
            this.token = m.resume;
            this.view = new Map(m.peers.map((p) => [p.id, p.name]));
            break;
        case 'peer-joined':
        case 'peer-state':
            if (m.peer.id !== this.id) this.view.set(m.peer.id, m.peer.name);
            break;
        case 'peer-left':
            this.view.delete(m.id);
            break;
        case 'roster':
            this.view = new Map(m.peers.map((p) => [p.id, p.name]));
            break;
        case 'signal':
            this.world.stats.signals++;
            if (m.data.description?.type === 'offer') {
                this.send({ type: 'signal', to: m.from, data: ANSWER });
                for (const c of CANDIDATES) this.send({ type: 'signal', to: m.from, data: c });
            }
            if (m.data.nonce) this.heard.add(`${m.from} ${m.data.nonce}`);
            break;
        case 'chat':
            this.world.stats.chats++;
            this.heard.add(`chat ${m.text}`);
            break;
        case 'error':
            this.errors = [...this.errors.slice(-4), `${new Date().toISOString()} ${JSON.stringify(m)}`];
            // Redis away (signal, chat across sidecars) or a peer that just
            // left while a signal to it was on its way: the page shrugs too.
            if (m.code === 'unavailable') this.world.stats.unavailable++;
            else if (m.code !== 'no-such-peer') this.world.unexpected.push(`${this.name}: ${JSON.stringify(m)}`);
            break;
        default:
            break;
        }
        if ((m.type === 'welcome' || m.type === 'error') && this.onAnswer) this.onAnswer(m);
    }

    /** The server closed us: come back with the token, as the page does
     * after 1012 (drain) or a lost connection (a killed sidecar). */
    closed(ws, code) {
        // While reconnecting, join()'s own loop deals with a close.
        if (ws !== this.ws || !this.present || this.leaving || this.reconnecting) return;
        if (code !== 1012 && code !== 1006) {
            this.world.unexpected.push(`${this.name}: closed by the server with ${code}`);
        }
        this.world.stats.reconnects++;
        this.comeBack(rand(300));
    }

    comeBack(afterMs) {
        this.ws = null;
        this.reconnecting = (async () => {
            await sleep(afterMs);
            const before = this.id;
            await this.join(true);
            // A seat that could not be taken back (gone from Redis) is a
            // fresh join: new id, the old one announced gone to the others.
            this.world.stats[this.id === before ? 'resumes' : 'resumesAsNew']++;
        })().finally(() => { this.reconnecting = null; });
        this.reconnecting.catch(() => {});
    }

    /** Drops the TCP connection without a close frame, resumes later. */
    drop() {
        if (!this.ws || this.reconnecting) return;
        this.world.stats.drops++;
        const ws = this.ws;
        this.ws = null;
        ws._socket?.destroy();
        this.comeBack(200 + rand(1200));
    }

    /** Ends the meeting: leave, close frame, or a drop nobody resumes. */
    async quit(how) {
        this.present = false;
        this.leaving = true;
        await this.reconnecting?.catch(() => {});
        const ws = this.ws;
        this.ws = null;
        if (!ws) return;
        if (how === 'leave') {
            ws.send(JSON.stringify({ type: 'leave' }));
            ws.close(1000);
        } else if (how === 'close') {
            ws.close(1000);
        } else {
            ws._socket?.destroy();
        }
        if (ws.readyState !== WebSocket.CLOSED) await new Promise((r) => ws.once('close', r));
    }
}

/** What each present person should list: everyone else present. */
function rosterProblems(people) {
    const problems = [];
    for (const p of people.filter((x) => x.present)) {
        const want = people.filter((q) => q.present && q !== p).map((q) => `${q.id} ${q.name}`).sort();
        const got = [...p.view].map(([id, name]) => `${id} ${name}`).sort();
        const names = [...p.view.values()];
        if (new Set(names).size !== names.length) problems.push(`${p.name} lists someone twice: ${got.join(', ')}`);
        if (JSON.stringify(want) !== JSON.stringify(got)) {
            problems.push(`${p.name} (${p.id}) lists [${got.join(', ')}], the room holds [${want.join(', ')}]`);
        }
    }
    return problems;
}

let current = null; // the World of the running test
const surprises = () => (current?.unexpected.length ? `\nalso seen: ${current.unexpected.join('\n  ')}` : '');

/** Resolves once cond() is empty (a list of problems); throws with the
 * last list after timeoutMs. */
async function until(what, cond, timeoutMs) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const problems = await cond();
        if (problems.length === 0) return;
        if (Date.now() > deadline) throw new Error(`${what}:\n  ${problems.join('\n  ')}${surprises()}`);
        await sleep(100);
    }
}

/**
 * The end of a meeting: everyone sends a signal to each peer it lists and
 * one chat goes to the room; each must arrive. A signal sent in the moment
 * a peer's seat moves to another sidecar may go to the old one, which
 * drops it as it would for a member in grace (pub/sub is at most once):
 * what did not arrive within 2 s is sent again, five times at most, and
 * counted (stats.resent).
 */
async function checkpoint(world, people, tag) {
    const missing = () => people.flatMap((p) => [
        ...[...p.view.keys()].filter((id) => !p.heard.has(`${id} ${tag}`)).map((id) => [people.find((q) => q.id === id), p]),
        ...(p.heard.has(`chat end of meeting ${tag}`) ? [] : [[people[0], p, 'chat']]),
    ]);
    for (const p of people) for (const id of p.view.keys()) p.send({ type: 'signal', to: id, data: { nonce: tag } });
    people[0].send({ type: 'chat', text: `end of meeting ${tag}` });
    for (let round = 1; ; round++) {
        try {
            await until(`checkpoint ${tag}`, () => (missing().length ? ['missing'] : []), 2000);
            return;
        } catch {
            const lost = missing();
            if (round === 5) {
                throw new Error(`checkpoint ${tag}: after ${round} tries\n  ${lost.map(([from, to, chat]) => `${to.name} `
                    + `(${to.id} on ${to.node}) got no ${chat || 'signal'} from ${from?.name} (${from?.id} on ${from?.node}; `
                    + `its last errors: ${from?.errors.join(', ')})`).join('\n  ')}${surprises()}`);
            }
            for (const [from, to, chat] of lost) {
                world.stats.resent++;
                if (chat) from.send({ type: 'chat', text: `end of meeting ${tag}` });
                else from.send({ type: 'signal', to: to.id, data: { nonce: tag } });
            }
        }
    }
}

/** One meeting of PEOPLE in room; event (if any) runs half-way. */
async function meeting(world, cycle, r, event) {
    const room = `soak-${process.pid}-c${cycle}-r${r}`;
    const people = NAMES.map((n) => new Person(world, room, `${n} ${cycle}.${r}`));
    const t0 = Date.now();
    for (const p of people) {
        await sleep(rand(400));
        await p.enter();
    }
    let evented = false;
    while (Date.now() - t0 < MEETING_MS) {
        await sleep(150 + rand(250));
        if (event && !evented && Date.now() - t0 > MEETING_MS / 2) {
            evented = true;
            await event();
        }
        const p = pick(people.filter((x) => x.present && x.ws && !x.reconnecting));
        if (!p) continue;
        const roll = Math.random();
        if (roll < 0.35) p.send({ type: 'chat', text: `note ${rand(1e6)} from ${p.name}` });
        else if (roll < 0.75) p.send({ type: 'state', [pick(['audio', 'video', 'hand', 'screen'])]: Math.random() < 0.5 });
        else if (roll < 0.9) p.drop();
        else if (roll < 0.95 && people.filter((x) => x.present).length > 2) {
            // Leaves and comes back as a new person (new id, new offers).
            await p.quit(pick(['leave', 'close']));
            p.leaving = false;
            await sleep(rand(500));
            await p.enter();
        }
    }
    // End of the meeting: the rosters agree with the room, a signal reaches
    // each peer, a chat reaches everyone.
    await Promise.all(people.map((p) => p.reconnecting?.catch(() => {})));
    await until(`room ${room}: rosters`, () => rosterProblems(people), GRACE_MS + NODE_TTL_MS + REAPER_MS + 8000);
    await checkpoint(world, people, `${cycle}.${r}`);
    const ways = ['leave', 'leave', 'leave', 'close', 'close', 'drop'];
    await Promise.all(people.map((p, i) => p.quit(ways[i % ways.length])));
}

test(`soak: ${CYCLES} cycles of ${ROOMS} six-person meetings on two sidecars and Redis, with a drain, a Redis restart and a kill -9`, { timeout: (CYCLES * CYCLE_S + 240) * 1000 }, async () => {
    const world = new World();
    current = world;
    const all = () => [world.redis, ...world.sidecars].filter((p) => p && p.running);
    const samples = new Map(); // process -> [{cycle, rssKb, fds}]
    try {
        world.redis = await startRedis();
        world.redis.startCycle = 0;
        world.redis.name = `redis-server (pid ${world.redis.pid})`;
        for (let i = 0; i < 2; i++) await world.startSidecar(i);

        // The events, by cycle: one sidecar drained and started again, Redis
        // restarted, the same sidecar killed and started again; the last two
        // cycles are quiet so every process has a warm-up and a final one.
        const at = (f) => Math.min(CYCLES - 2, Math.max(2, Math.round(CYCLES * f)));
        const events = new Map([
            [at(0.34), ['SIGTERM sidecar 1', async () => {
                const s = world.sidecars[0];
                s.accepting = false;
                const { code } = await s.stop('SIGTERM', 10000);
                assert.equal(code, 0, `drained sidecar exited ${code}:\n${s.tail()}`);
                world.exited.push(s);
                await world.startSidecar(0, s.port);
            }]],
            [at(0.5), ['restart Redis', async () => {
                const r = world.redis;
                await r.stop();
                world.exited.push(r);
                const marks = world.sidecars.map((s) => s.output.length);
                world.redis = await startRedis({ port: r.port });
                world.redis.startCycle = world.cycle;
                world.redis.name = `redis-server (pid ${world.redis.pid})`;
                await until('sidecars back on the new Redis', () => world.sidecars
                    .filter((s, i) => !/redis up as node/.test(s.output.slice(marks[i])))
                    .map((s) => `${s.name} not up`), 15000);
            }]],
            [at(0.67), ['SIGKILL sidecar 1', async () => {
                const s = world.sidecars[0];
                s.accepting = false;
                await s.stop('SIGKILL');
                world.exited.push(s);
                await world.startSidecar(0, s.port);
            }]],
        ]);

        for (let cycle = 1; cycle <= CYCLES; cycle++) {
            world.cycle = cycle;
            const ev = events.get(cycle);
            const t0 = Date.now();
            await Promise.all(Array.from({ length: ROOMS }, (_, r) => meeting(world, cycle, r, r === 0 && ev ? ev[1] : null)));
            // After the meetings, their TTLs: nothing left in Redis.
            await until(`cycle ${cycle}: keys left in Redis after the TTL`, () => world.leftovers(),
                GRACE_MS + CHAT_TTL_MS + NODE_TTL_MS + 2 * REAPER_MS + 5000);
            for (const p of all()) {
                if (!samples.has(p)) samples.set(p, []);
                samples.get(p).push({ cycle, ...usage(p.pid) });
            }
            console.log(`cycle ${cycle}${ev ? ` (${ev[0]})` : ''}: ${((Date.now() - t0) / 1000).toFixed(1)} s; ${
                all().map((p) => { const u = usage(p.pid); return `${p.name} ${u.rssKb} kB ${u.fds} fds`; }).join('; ')}`);
        }
        console.log(`traffic: ${JSON.stringify(world.stats)}`);
        assert.deepEqual(world.unexpected, []);

        // Each process still running against itself after its warm-up: the
        // first quiet moment after a whole cycle it lived through.
        for (const p of all()) {
            const s = samples.get(p).filter((x) => x.cycle > p.startCycle);
            assert.ok(s.length >= 2, `${p.name} has ${s.length} samples after its warm-up: too short a run`);
            const base = s[0];
            const rssMax = base.rssKb + Math.max(RSS_SLACK_KB, base.rssKb * RSS_SLACK_RATIO);
            // Not more than then: a client connected at that moment and
            // gone now (Redis: a reconnecting sidecar's, this test's own
            // redis-cli) is one fewer, not a leak.
            await until(`${p.name}: open descriptors back to ${base.fds} or fewer`, () => {
                const fds = usage(p.pid).fds;
                return fds <= base.fds ? [] : [`${fds} open`];
            }, 5000);
            const end = usage(p.pid);
            console.log(`${p.name}: after warm-up (cycle ${base.cycle}) ${base.rssKb} kB RSS, ${base.fds} fds; `
                + `at the end ${end.rssKb} kB, ${end.fds} fds (limit ${Math.round(rssMax)} kB)`);
            assert.ok(end.rssKb <= rssMax, `${p.name}: RSS ${end.rssKb} kB after warm-up ${base.rssKb} kB`);
        }
        for (const p of world.exited) {
            assert.equal(p.sanitizerReport(), null, `${p.name} (replaced mid-way):\n${p.sanitizerReport()}`);
        }
    } finally {
        const procs = all();
        await stopAll(procs).finally(() => {
            // The logs of every process, for a failure's post-mortem.
            fs.mkdirSync(ARTIFACTS, { recursive: true });
            for (const p of [...world.exited, ...procs]) {
                fs.writeFileSync(path.join(ARTIFACTS, `soak-${p.name.split(' ')[0]}-${p.pid}.log`), p.output);
            }
        });
    }
});
