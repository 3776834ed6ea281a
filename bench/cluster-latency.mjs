#!/usr/bin/env node
// Two release-build huddle-sidecars sharing rooms through one redis-server
// (docs/cluster.md; targets in docs/design.md), clients in this process (npm `ws`):
//   1. join -> welcome at a newcomer on sidecar 2, and -> peer-joined at the
//      member already in the room on sidecar 1: JOINS joins at JOIN_RATE/s,
//      each newcomer leaves after its welcome.
//   2. chat delivery: ROOMS rooms of 5 (3 members on sidecar 1, 2 on
//      sidecar 2); chats sent at a fixed total rate for CHAT_SECONDS, each
//      delivered to the 5 members (sender's echo included); latency from
//      send to arrival at every other member, split into same-sidecar and
//      cross-sidecar; the sidecars' (and Redis') CPU time per delivered
//      message from /proc/<pid>/stat; then a second window of the same
//      load in which perf stat counts sidecar 1's epoll_ctl, sendto, write
//      and writev calls (websocket sends are sendto, Redis commands write).
// Prints figures; asserts nothing. The load generator shares the 2 cores.
//
//   node bench/cluster-latency.mjs [deliveriesPerSecond=20000] [chatSeconds=10] [joins=2000]
//   BENCH_BUILD_DIR=/path/to/release/build (else HUDDLE_BUILD_DIR, else build/)
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
process.env.HUDDLE_BUILD_DIR = process.env.BENCH_BUILD_DIR || process.env.HUDDLE_BUILD_DIR || path.join(ROOT, 'build');
const { startRedis, startSidecar, stopAll, sleep } = await import('../tests/lib/stack.mjs');
const { connect } = await import('../tests/lib/wsclient.mjs');
const lib = await import('./lib.mjs');
const { report, cpuUs } = lib;

const RATE = Number(process.argv[2] || 20000); // deliveries per second
const CHAT_SECONDS = Number(process.argv[3] || 10);
const JOINS = Number(process.argv[4] || 2000);
const JOIN_RATE = 200;
const RESIDENT_ROOMS = 20;
const ROOMS = 50;
const ROOM_SIZE = 5;
const ON_FIRST = 3; // members of each room on sidecar 1
const SYSCALLS = ['epoll_ctl', 'sendto', 'write', 'writev'];
const PERF_EVENTS = SYSCALLS.map((s) => `syscalls:sys_enter_${s}`);

async function joinLatency([s1, s2]) {
    const { welcome, joined } = await lib.joinLatency({
        residentUrl: s1.wsUrl, newcomerUrl: s2.wsUrl,
        joins: JOINS, rate: JOIN_RATE, residentRooms: RESIDENT_ROOMS, prefix: 'clat',
    });
    console.log(`join (${JOINS} joins at ${JOIN_RATE}/s on sidecar 2, the member present on sidecar 1):`);
    report('join -> welcome', welcome);
    report('join -> peer-joined at the member on the other sidecar', joined);
}

/** Sends chats from members at RATE / ROOM_SIZE per second for
 * CHAT_SECONDS, then waits (up to 5 s) until delivered() counts them all.
 * Resolves { total, elapsed } (chats sent, seconds of sending). */
async function sendChats(members, delivered) {
    const chatsPerSec = RATE / ROOM_SIZE;
    const total = Math.round(chatsPerSec * CHAT_SECONDS);
    const TICK = 5; // ms: chats due in each tick are sent together
    const t0 = performance.now();
    let sent = 0;
    while (sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - t0) * chatsPerSec) / 1000));
        for (; sent < due; sent++) {
            const c = members[(sent * 7) % members.length];
            c.ws.send(`{"type":"chat","text":"${performance.now()}"}`);
        }
        await sleep(TICK);
    }
    const elapsed = (performance.now() - t0) / 1000;
    for (let i = 0; i < 200 && delivered() < total * ROOM_SIZE; i++) await sleep(25);
    return { total, elapsed };
}

async function chatLatency(scs, redis) {
    const members = [];
    for (let r = 0; r < ROOMS; r++) {
        for (let k = 0; k < ROOM_SIZE; k++) {
            const node = k < ON_FIRST ? 0 : 1;
            const c = await connect(scs[node].wsUrl);
            await c.join(`cchat-${r}`, `m${k}`);
            c.node = node;
            members.push(c);
        }
    }
    const byId = new Map(members.map((c) => [c.id, c]));
    const same = [];
    const cross = [];
    let delivered = 0;
    let timing = true; // latencies of the first window only
    for (const c of members) {
        c.ws.removeAllListeners('message');
        c.ws.on('message', (data) => {
            const s = data.toString();
            if (!s.startsWith('{"type":"chat"')) return;
            delivered++;
            const m = JSON.parse(s);
            if (m.from === c.id || !timing) return;
            const lat = performance.now() - Number(m.text);
            (byId.get(m.from).node === c.node ? same : cross).push(lat);
        });
    }
    await sleep(500);
    const pids = [...scs.map((s) => s.pid), redis.pid];
    const idle0 = pids.map(cpuUs);
    await sleep(2000);
    const idle = pids.map((p, i) => (cpuUs(p) - idle0[i]) * (CHAT_SECONDS / 2));
    const cpu0 = pids.map(cpuUs);
    const d0 = delivered;
    const { total, elapsed } = await sendChats(members, () => delivered - d0);
    const cpu = pids.map((p, i) => cpuUs(p) - cpu0[i]);
    const n = delivered - d0;
    // a second window of the same load under perf, out of the CPU figures
    timing = false;
    const d1 = delivered;
    const [counts] = await Promise.all([
        lib.perfCount(scs[0].pid, CHAT_SECONDS * 1000, PERF_EVENTS),
        sendChats(members, () => delivered - d1),
    ]);
    const n2 = delivered - d1;
    for (const c of members) c.terminate();
    console.log(`chat (${ROOMS} rooms x ${ROOM_SIZE}, ${ON_FIRST} members on sidecar 1 and ${ROOM_SIZE - ON_FIRST} on sidecar 2; ` +
        `${total} chats in ${elapsed.toFixed(1)} s = ${(n / elapsed).toFixed(0)} deliveries/s, aimed ${RATE}):`);
    console.log(`  delivered ${n} of ${total * ROOM_SIZE}`);
    report('chat send -> arrival, same sidecar', same);
    report('chat send -> arrival, across sidecars (via Redis)', cross);
    const sc = cpu[0] + cpu[1];
    const scIdle = idle[0] + idle[1];
    console.log(`  sidecars' CPU ${(cpu[0] / 1000).toFixed(0)} + ${(cpu[1] / 1000).toFixed(0)} ms for ${n} delivered: ` +
        `${(sc / n).toFixed(2)} us per delivered message (net of idle ${((sc - scIdle) / n).toFixed(2)} us)`);
    console.log(`  redis-server CPU ${(cpu[2] / 1000).toFixed(0)} ms: ${(cpu[2] / n).toFixed(2)} us per delivered message`);
    if (counts) {
        const f = (e) => (counts[`syscalls:sys_enter_${e}`] / n2).toFixed(3);
        console.log(`  sidecar 1 per delivered message (perf stat, second window, ${n2} delivered): ` +
            SYSCALLS.map((e) => `${e} ${f(e)}`).join('  '));
    } else {
        console.log('  syscalls: perf stat unavailable (linux-perf, perf_event_paranoid <= 1)');
    }
}

const redis = await startRedis();
const env = {
    HUDDLE_REDIS_URL: redis.url, HUDDLE_LOG_LEVEL: 'warn',
    HUDDLE_CHAT_BURST: '1000000', HUDDLE_CHAT_RATE: '1000000',
    HUDDLE_SEND_QUEUE_MESSAGES: '100000', HUDDLE_SEND_QUEUE_BYTES: '268435456',
};
const scs = [
    await startSidecar({ env: { ...env, HUDDLE_NODE_ID: 'bench1' } }),
    await startSidecar({ env: { ...env, HUDDLE_NODE_ID: 'bench2' } }),
];
try {
    // "redis up" is logged at info, which warn hides: wait for a join to work
    for (const s of scs) {
        for (let i = 0; ; i++) {
            const c = await connect(s.wsUrl);
            const ok = await c.join(`probe-${i}`, 'probe').then(() => true, () => false);
            c.terminate();
            if (ok) break;
            if (i > 200) throw new Error(`${s.name} never came up on Redis`);
            await sleep(50);
        }
    }
    console.log(`cluster-latency: ${process.env.HUDDLE_BUILD_DIR}/sidecar/huddle-sidecar x2, pids ${scs.map((s) => s.pid).join(' ')}; redis pid ${redis.pid}`);
    await joinLatency(scs);
    await chatLatency(scs, redis);
} finally {
    await stopAll([...scs, redis]);
}
