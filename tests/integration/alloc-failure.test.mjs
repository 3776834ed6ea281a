// Allocation failures in huddle-sidecar, reached on purpose. The release
// build runs with tests/fault/failmalloc.c preloaded, which makes a share
// of the sidecar's own allocations (and cJSON's) fail for six seconds
// while members join, chat, signal, change state, drop and resume, leave
// and come back. Linux overcommits memory, so without it these paths are
// never reached by a test. docs/hardening.md has the policy this checks:
//   - the process stays up and exits cleanly;
//   - an answer that could not be built or a message that could not be
//     parsed is `unavailable`, never a wrong error such as bad-json;
//   - a member who would miss a message is closed with 1011 and, like the
//     page, resumes (with the token it holds, even when the welcome that
//     carried a newer one was lost);
//   - the log stays bounded;
//   - afterwards, on one sidecar, every member's roster, built only from
//     what it was sent, equals the room's, and chat and signals reach
//     everyone; on two sidecars with Redis, everyone gets back in and a
//     new meeting across both works in full.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { Proc, ROOT, freePort, sleep, startRedis, stopAll, tmpDir, waitForConnect } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

const RELEASE = path.join(ROOT, 'build', 'sidecar', 'huddle-sidecar');
const FAIL_FROM_MS = 1500;
const FAIL_UNTIL_MS = 7500;
const FAIL_PPM = 20000; // 2% of the eligible allocations
// no-such-peer: a signal to someone whose leave was still on its way (a
// race of any busy meeting; checkWhole shows that signals reach everyone).
const ALLOWED_ERRORS = new Set(['unavailable', 'no-such-peer']);

let shim;
const started = [];

before(() => {
    assert.ok(fs.existsSync(RELEASE), `${RELEASE} is missing: run make`);
    shim = path.join(tmpDir('failmalloc'), 'failmalloc.so');
    const cc = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-Wall', '-Werror', '-o', shim,
        path.join(ROOT, 'tests', 'fault', 'failmalloc.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `building failmalloc.so: ${cc.stderr}`);
});

after(async () => {
    await stopAll(started);
});

/** A release sidecar with allocations failing in [FAIL_FROM_MS, FAIL_UNTIL_MS). */
async function failingSidecar(env = {}) {
    const port = await freePort();
    const proc = new Proc(`sidecar:${port}`, RELEASE, [], {
        env: {
            HUDDLE_LISTEN: `127.0.0.1:${port}`,
            HUDDLE_MAX_PEERS: '20',
            // All 18 members come from 127.0.0.1, and each one retries its
            // join 50 ms after an `unavailable`: on a slow or busy machine
            // that outruns the per-address and per-room join budgets (and a
            // stalled sidecar reads a second's chat at once). Those limits
            // have their own tests; here they would only hide the answers
            // this test is about.
            HUDDLE_ADDRESS_JOIN_BURST: '1000',
            HUDDLE_ADDRESS_JOIN_RATE: '1000',
            HUDDLE_ROOM_JOIN_BURST: '1000',
            HUDDLE_ROOM_JOIN_RATE: '1000',
            HUDDLE_JOIN_BURST: '100',
            HUDDLE_JOIN_RATE: '100',
            HUDDLE_CHAT_BURST: '100',
            HUDDLE_CHAT_RATE: '100',
            LD_PRELOAD: shim,
            HUDDLE_FAILMALLOC: `${FAIL_PPM}:${FAIL_FROM_MS}:${FAIL_UNTIL_MS}`,
            ...env,
        },
    });
    proc.bornAt = Date.now();
    started.push(proc);
    await waitForConnect({ port });
    proc.wsUrl = `ws://127.0.0.1:${port}/ws`;
    return proc;
}

/**
 * One member as the page is one: it keeps its roster from what it is sent
 * (welcome, peer-joined, peer-left) and, when its connection closes, comes
 * back with its resume token.
 */
class Member {
    constructor(urls, room, name) {
        this.urls = urls;
        this.room = room;
        this.name = name;
        this.roster = new Set();
        this.errors = [];
        this.closes = [];
        this.acts = 0;
    }

    async connectAndJoin() {
        for (let attempt = 0; ; attempt++) {
            const url = this.urls[attempt % this.urls.length];
            let c;
            try {
                c = await connect(url, { timeoutMs: 5000 });
                this.url = url;
            } catch (err) {
                if (attempt > 200) throw err;
                await sleep(50);
                continue;
            }
            c.ws.on('message', (data) => this.observe(JSON.parse(data.toString())));
            c.closedPromise.then((info) => { if (this.c === c) this.closes.push(info.code); });
            this.c = c;
            const extra = this.resume ? { resume: this.resume } : {};
            try {
                const w = await c.join(this.room, this.name, extra);
                this.resume = w.resume;
                return;
            } catch (err) {
                c.terminate();
                if (attempt > 200) throw err;
                await sleep(50);
            }
        }
    }

    /** join again on the same connection (after leave), until welcomed. */
    async rejoin() {
        for (;;) {
            // Answers to earlier messages are not this join's answer.
            this.c.buffer = this.c.buffer.filter((x) => x.type !== 'error');
            try {
                const w = await this.c.join(this.room, this.name);
                this.resume = w.resume;
                return;
            } catch (err) {
                if (!this.open) return this.connectAndJoin();
                // Its leave was answered `unavailable` (nothing could be
                // parsed): the sidecar rightly still has it in the room.
                const since = this.errors.slice(this.leftAt);
                if (since.includes('already-joined') && since.includes('unavailable')) {
                    this.errors = [...this.errors.slice(0, this.leftAt), ...since.filter((e) => e !== 'already-joined')];
                    await this.c.send({ type: 'leave' });
                }
                await sleep(50);
            }
        }
    }

    observe(m) {
        if (m.type === 'welcome') {
            if (this.id !== m.id) this.ids = [...(this.ids || []), `${m.id}${this.resume ? ' (after resume)' : ''}`];
            this.id = m.id;
            this.roster = new Set([m.id, ...m.peers.map((p) => p.id)]);
        } else if (m.type === 'peer-joined') {
            this.roster.add(m.peer.id);
        } else if (m.type === 'peer-left') {
            this.roster.delete(m.id);
        } else if (m.type === 'error') {
            this.errors.push(m.code);
        }
    }

    get open() { return this.c && !this.c.closeInfo; }

    /** One thing a person does; reconnects (resume) when closed. */
    async act() {
        const i = this.acts++;
        if (!this.open) return this.connectAndJoin();
        const others = [...this.roster].filter((id) => id !== this.id);
        const to = others[i % Math.max(1, others.length)];
        switch (i % 6) {
        case 0: return this.c.send({ type: 'chat', text: `${this.name} says ${i} ${'x'.repeat(i % 300)}` });
        case 1: return to && this.c.send({ type: 'signal', to, data: { type: 'candidate', candidate: `candidate:${i} 1 udp 2122260223 192.0.2.1 ${40000 + i} typ host`, sdpMid: '0' } });
        case 2: return this.c.send({ type: 'state', audio: i % 2 === 0, hand: i % 3 === 0 });
        case 3: return this.c.send({ type: 'ping', t: i });
        case 4: // drop without a close, then resume
            if (i % 5 === 0) { await this.c.drop(); return this.connectAndJoin(); }
            return undefined;
        default: // leave, then join afresh
            if (i % 7 === 0) {
                this.leftAt = this.errors.length;
                // The token is kept: if this connection closes before the
                // leave is done (it may be answered `unavailable`), the seat
                // is in grace and a reconnect takes it back.
                await this.c.send({ type: 'leave' });
                this.roster = new Set();
                return this.rejoin();
            }
            return undefined;
        }
    }
}

/** Runs members' actions until the failure window of every proc is over. */
async function churn(members, procs) {
    const end = Math.max(...procs.map((p) => p.bornAt)) + FAIL_UNTIL_MS + 300;
    let i = 0;
    while (Date.now() < end) {
        const m = members[i % members.length];
        await m.act().catch(() => { /* its connection closed mid-action: the next act resumes */ });
        i++;
        // About 8 actions a second per member, as a busy page.
        if (i % members.length === 0) await sleep(120);
    }
    return i;
}

/** Brings everyone back and checks each roster against a newcomer's view. */
/** Brings everyone back and checks each roster against a newcomer's view. */
async function checkWhole(members, rooms, url) {
    for (const m of members) if (!m.open) await m.connectAndJoin();
    for (const room of rooms) {
        const inRoom = members.filter((m) => m.room === room);
        const expected = new Set(inRoom.map((m) => m.id));
        const observer = await connect(url);
        const w = await observer.join(room, 'observer');
        const truth = new Set(w.peers.map((p) => p.id));
        assert.deepEqual([...truth].sort(), [...expected].sort(), `room ${room}: the sidecar lists exactly its members; ids: ${inRoom.map((m) => `${m.name}: ${m.ids.join(' ')}`).join('; ')}`);
        // Everyone learns of the observer, then sees a chat from it.
        await observer.send({ type: 'chat', text: 'after the storm' });
        for (const m of inRoom) {
            await m.c.next((x) => x.type === 'chat' && x.text === 'after the storm', 5000)
                .catch((err) => { throw new Error(`${m.name} (${m.id}, ${m.url}) missed the chat: ${m.ids.join(' ')}: ${err.message.slice(0, 200)}`); });
            const want = new Set([...expected, w.id]);
            assert.deepEqual([...m.roster].sort(), [...want].sort(), `${m.name}'s roster in ${room}`);
        }
        // Signals reach everyone, across sidecars too.
        await observer.send({ type: 'chat', text: 'signals now' });
        for (const m of inRoom) {
            await observer.send({ type: 'signal', to: m.id, data: { type: 'check', n: m.name } });
            const got = await m.c.next((x) => x.type === 'signal' && x.data?.type === 'check', 5000)
                .catch((err) => { throw new Error(`${m.name} (${m.id}, ${m.url}) missed the signal: ${err.message.slice(0, 200)}`); });
            assert.equal(got.from, w.id);
        }
        observer.terminate();
    }
}

function checkErrorsAndLog(members, procs) {
    const wrong = members.flatMap((m) => m.errors.filter((code) => !ALLOWED_ERRORS.has(code)).map((code) => `${m.name}: ${code}`));
    assert.deepEqual(wrong, [], 'only `unavailable` answers while memory runs out');
    const closes = members.flatMap((m) => m.closes).filter((code) => code !== 1011 && code !== 1006);
    assert.deepEqual(closes, [], 'closes are 1011 (or 1006 for our own drops)');
    for (const p of procs) {
        assert.ok(p.running, `${p.name} is still running:\n${p.tail()}`);
        const oom = p.output.split('\n').filter((l) => /out of memory|no memory/.test(l));
        assert.ok(oom.length < 400, `${p.name}: the log is bounded (${oom.length} out-of-memory lines)`);
    }
}

/** A new meeting across urls works in full: presence, chat, signals. */
async function checkFresh(urls) {
    const room = uniqueRoom();
    const cs = [];
    for (let i = 0; i < 6; i++) {
        const c = await connect(urls[i % urls.length]);
        await c.join(room, `fresh${i}`);
        cs.push(c);
    }
    const ids = cs.map((c) => c.id);
    for (const [i, c] of cs.entries()) {
        for (const id of ids.slice(i + 1)) await c.next((x) => x.type === 'peer-joined' && x.peer.id === id);
        const others = new Set([...c.welcome.peers.map((p) => p.id), ...ids.slice(i + 1)]);
        assert.deepEqual([...others].sort(), ids.filter((id) => id !== c.id).sort(), `fresh${i} sees everyone`);
    }
    await cs[0].send({ type: 'chat', text: 'fresh' });
    for (const c of cs.slice(1)) await c.next((x) => x.type === 'chat' && x.text === 'fresh');
    for (const from of cs) {
        for (const to of cs) {
            if (to === from) continue;
            await from.send({ type: 'signal', to: to.id, data: { type: 'fresh', from: from.id } });
            await to.next((x) => x.type === 'signal' && x.data?.type === 'fresh' && x.data.from === from.id);
        }
    }
    for (const c of cs) c.terminate();
}

async function stopAndCount(procs) {
    let failed = 0;
    for (const p of procs) {
        const { code } = await p.stop();
        assert.equal(code, 0, `${p.name} exits cleanly:\n${p.tail()}`);
        const m = p.output.match(/failmalloc: (\d+) failed of (\d+) eligible/);
        assert.ok(m, `${p.name}: failmalloc reported:\n${p.tail()}`);
        console.log(`# ${p.name}: ${m[1]} of ${m[2]} eligible allocations failed`);
        failed += Number(m[1]);
    }
    assert.ok(failed > 50, `allocations did fail (${failed})`);
}

test('one sidecar: allocations fail for 6 s under churn, and the meeting is whole after', { timeout: 90000 }, async () => {
    const sc = await failingSidecar();
    const rooms = [uniqueRoom(), uniqueRoom(), uniqueRoom()];
    const members = [];
    for (let i = 0; i < 18; i++) members.push(new Member([sc.wsUrl], rooms[i % 3], `m${i}`));
    for (const m of members) await m.connectAndJoin();
    const actions = await churn(members, [sc]);
    console.log(`# ${actions} actions by ${members.length} members`);
    checkErrorsAndLog(members, [sc]);
    await checkWhole(members, rooms, sc.wsUrl);
    await checkFresh([sc.wsUrl]);
    for (const m of members) m.c.terminate();
    await stopAndCount([sc]);
});

test('two sidecars on Redis: allocations fail on both under churn, and the meeting is whole after', { timeout: 120000 }, async () => {
    const redis = await startRedis();
    started.push(redis);
    const env = { HUDDLE_REDIS_URL: redis.url };
    const a = await failingSidecar({ ...env, HUDDLE_NODE_ID: 'node1' });
    const b = await failingSidecar({ ...env, HUDDLE_NODE_ID: 'node2' });
    const rooms = [uniqueRoom(), uniqueRoom(), uniqueRoom()];
    const members = [];
    for (let i = 0; i < 18; i++) {
        const urls = i % 2 === 0 ? [a.wsUrl, b.wsUrl] : [b.wsUrl, a.wsUrl];
        members.push(new Member(urls, rooms[i % 3], `m${i}`));
    }
    for (const m of members) await m.connectAndJoin();
    const actions = await churn(members, [a, b]);
    console.log(`# ${actions} actions by ${members.length} members`);
    checkErrorsAndLog(members, [a, b]);
    // Known gap (docs/hardening.md): with Redis, a meeting that lived
    // through the failures may keep a stale roster or route here and there;
    // everyone gets back in, and new meetings work in full on both.
    for (const m of members) if (!m.open) await m.connectAndJoin();
    await checkFresh([a.wsUrl, b.wsUrl]);
    for (const m of members) m.c.terminate();
    await stopAndCount([a, b]);
});
