#!/usr/bin/env node
// Two release-build huddle-sidecars sharing rooms through one redis-server
// (docs/cluster.md; targets in docs/design.md), beside one sidecar alone
// driven the same way, clients in this process (npm `ws`):
//   1. join -> welcome at a newcomer on sidecar 2, and -> peer-joined at the
//      member already in the room on sidecar 1: JOINS joins at JOIN_RATE/s,
//      each newcomer leaves after its welcome.
//   2. chat delivery at 1 msg/s per member and at the rate given, on the
//      one sidecar and then on the two: ROOMS rooms of 5 (on the two, 3
//      members on sidecar 1, 2 on sidecar 2); chats sent at a fixed total
//      rate for CHAT_SECONDS, each
//      delivered to the 5 members (sender's echo included); latency from
//      send to arrival at every other member, split into same-sidecar and
//      cross-sidecar; the sidecars' (and Redis') CPU time per delivered
//      message from /proc/<pid>/schedstat (main thread run time, to the
//      nanosecond); then a second window of the same load in which perf
//      stat counts the sidecars' epoll_wait (wake-ups), epoll_ctl,
//      recvfrom and read (websocket and Redis input), sendto (websocket
//      output), write and writev calls (Redis commands). Last, the two
//      sidecars' CPU per delivery over the one's, and the across-sidecar
//      p99, beside their targets.
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
const { report, runUs } = lib;

const RATE = Number(process.argv[2] || 20000); // deliveries per second
const CHAT_SECONDS = Number(process.argv[3] || 10);
const JOINS = Number(process.argv[4] || 2000);
const JOIN_RATE = 200;
const RESIDENT_ROOMS = 20;
const ROOMS = 50;
const ROOM_SIZE = 5;
const ON_FIRST = 3; // members of each room on sidecar 1
const SYSCALLS = ['epoll_wait', 'epoll_ctl', 'recvfrom', 'read', 'sendto', 'write', 'writev'];
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

/** Sends chats from members at rate / ROOM_SIZE per second for
 * CHAT_SECONDS, then waits (up to 5 s) until delivered() counts them all.
 * Resolves { total, elapsed } (chats sent, seconds of sending). */
async function sendChats(members, rate, delivered) {
    const chatsPerSec = rate / ROOM_SIZE;
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

/**
 * ROOMS rooms of ROOM_SIZE, member k of each on scs[k < ON_FIRST ? 0 : 1]
 * (all on scs[0] when there is one), chats at rate deliveries/s for
 * CHAT_SECONDS: prints the latencies (same sidecar, across) and the CPU per
 * delivered message of the sidecars (and of redis, if given); then a
 * second window of the same load counts the sidecars' syscalls. Resolves
 * the sidecars' CPU per delivered message (us) and the across p99 (ms).
 */
async function chatLatency(label, scs, redis, rate) {
    const members = [];
    for (let r = 0; r < ROOMS; r++) {
        for (let k = 0; k < ROOM_SIZE; k++) {
            const node = scs.length > 1 && k >= ON_FIRST ? 1 : 0;
            const c = await connect(scs[node].wsUrl);
            await c.join(`cchat-${label.replace(/\W+/g, '-')}-${r}`, `m${k}`);
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
    const pids = [...scs.map((s) => s.pid), ...(redis ? [redis.pid] : [])];
    const idle0 = pids.map(runUs);
    await sleep(2000);
    const idle = pids.map((p, i) => (runUs(p) - idle0[i]) * (CHAT_SECONDS / 2));
    const cpu0 = pids.map(runUs);
    const d0 = delivered;
    const { total, elapsed } = await sendChats(members, rate, () => delivered - d0);
    const cpu = pids.map((p, i) => runUs(p) - cpu0[i]);
    const n = delivered - d0;
    // a second window of the same load under perf, out of the CPU figures
    timing = false;
    const d1 = delivered;
    const [counts] = await Promise.all([
        Promise.all(scs.map((sc) => lib.perfCount(sc.pid, CHAT_SECONDS * 1000, PERF_EVENTS))),
        sendChats(members, rate, () => delivered - d1),
    ]);
    const n2 = delivered - d1;
    for (const c of members) c.terminate();
    const where = scs.length > 1 ? `${ON_FIRST} members on sidecar 1 and ${ROOM_SIZE - ON_FIRST} on sidecar 2` : 'all on one sidecar, no Redis';
    console.log(`chat, ${label} (${ROOMS} rooms x ${ROOM_SIZE}, ${where}; ` +
        `${total} chats in ${elapsed.toFixed(1)} s = ${(n / elapsed).toFixed(0)} deliveries/s, aimed ${rate}):`);
    console.log(`  delivered ${n} of ${total * ROOM_SIZE}`);
    report('chat send -> arrival, same sidecar', same);
    if (scs.length > 1) report('chat send -> arrival, across sidecars (via Redis)', cross);
    const sc = scs.reduce((a, _, i) => a + cpu[i], 0);
    const scIdle = scs.reduce((a, _, i) => a + idle[i], 0);
    console.log(`  sidecars' CPU ${scs.map((_, i) => (cpu[i] / 1000).toFixed(0)).join(' + ')} ms for ${n} delivered: ` +
        `${(sc / n).toFixed(2)} us per delivered message (net of idle ${((sc - scIdle) / n).toFixed(2)} us)`);
    if (redis) console.log(`  redis-server CPU ${(cpu.at(-1) / 1000).toFixed(0)} ms: ${(cpu.at(-1) / n).toFixed(2)} us per delivered message`);
    if (counts.every(Boolean)) {
        const f = (e) => (counts.reduce((a, c) => a + c[`syscalls:sys_enter_${e}`], 0) / n2).toFixed(3);
        console.log(`  ${scs.length > 1 ? 'both sidecars' : 'the sidecar'}, syscalls per delivered message (perf stat, second window, ${n2} delivered): ` +
            SYSCALLS.map((e) => `${e} ${f(e)}`).join('  '));
    } else {
        console.log('  syscalls: perf stat unavailable (linux-perf, perf_event_paranoid <= 1)');
    }
    return { cpu: sc / n, cross: cross.length ? lib.pct(cross, 99) : null };
}

const redis = await startRedis();
const env = {
    HUDDLE_LOG_LEVEL: 'warn', HUDDLE_CHAT_BURST: '1000000', HUDDLE_CHAT_RATE: '1000000',
    HUDDLE_SEND_QUEUE_MESSAGES: '100000', HUDDLE_SEND_QUEUE_BYTES: '268435456',
};
const scs = [
    await startSidecar({ env: { ...env, HUDDLE_REDIS_URL: redis.url, HUDDLE_NODE_ID: 'bench1' } }),
    await startSidecar({ env: { ...env, HUDDLE_REDIS_URL: redis.url, HUDDLE_NODE_ID: 'bench2' } }),
];
const alone = await startSidecar({ env }); // the one-sidecar figures, same clients, same rates
try {
    await lib.sidecarsReady([...scs, alone]);
    console.log(`cluster-latency: ${process.env.HUDDLE_BUILD_DIR}/sidecar/huddle-sidecar x2, pids ${scs.map((s) => s.pid).join(' ')}; ` +
        `redis pid ${redis.pid}; one sidecar alone for comparison, pid ${alone.pid}`);
    await joinLatency(scs);
    // 1 msg/s per member (ROOMS x ROOM_SIZE members, each chat delivered to ROOM_SIZE) and RATE.
    const slow = ROOMS * ROOM_SIZE * ROOM_SIZE;
    const rows = [];
    for (const rate of [slow, RATE]) {
        const one = await chatLatency(`one sidecar at ${rate}/s`, [alone], null, rate);
        const two = await chatLatency(`two sidecars at ${rate}/s`, scs, redis, rate);
        rows.push({ rate, one, two });
    }
    console.log('two sidecars + Redis against one sidecar, same clients and rates in this run:');
    for (const { rate, one, two } of rows) {
        const per = rate / (ROOMS * ROOM_SIZE * ROOM_SIZE);
        console.log(`  ${per.toFixed(0)} msg/s per member (${rate} deliveries/s): sidecars' CPU per delivery ${two.cpu.toFixed(2)} us vs ${one.cpu.toFixed(2)} us: ` +
            `${(two.cpu / one.cpu).toFixed(2)}x (target <= 2x); across-sidecar delivery p99 ${two.cross.toFixed(3)} ms` +
            (per <= 1 ? ' (target <= 2 ms at 1 msg/s per member)' : ''));
    }
} finally {
    await stopAll([...scs, alone, redis]);
}
