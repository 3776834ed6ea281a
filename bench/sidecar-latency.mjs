#!/usr/bin/env node
// Sidecar latency at a fixed rate (docs/design.md, "Performance targets"), one release-build
// huddle-sidecar on loopback, clients in this process (npm `ws`):
//   1. join -> welcome at the newcomer, and join -> peer-joined at the one
//      member already in the room: JOINS joins at JOIN_RATE per second, each
//      newcomer leaves after its welcome.
//   2. chat delivery: ROOMS rooms of 5, every member sends 1 chat per second
//      for CHAT_SECONDS; latency from send to arrival at each other member,
//      plus the sidecar's CPU time per delivered message (/proc/<pid>/stat).
// Prints p50/p99/max; asserts nothing. The load generator shares the cores.
//
//   node bench/sidecar-latency.mjs [joins=2000] [chatSeconds=10]
//   BENCH_BUILD_DIR=/path/to/release/build (else HUDDLE_BUILD_DIR, else build/)
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
process.env.HUDDLE_BUILD_DIR = process.env.BENCH_BUILD_DIR || process.env.HUDDLE_BUILD_DIR || path.join(ROOT, 'build');
const { startSidecar, stopAll, sleep } = await import('../tests/lib/stack.mjs');
const { connect } = await import('../tests/lib/wsclient.mjs');
const lib = await import('./lib.mjs');
const { report, cpuUs } = lib;

const JOINS = Number(process.argv[2] || 2000);
const CHAT_SECONDS = Number(process.argv[3] || 10);
const JOIN_RATE = 200; // per second
const RESIDENT_ROOMS = 20;
const ROOMS = 50;
const ROOM_SIZE = 5;

async function joinLatency(sc) {
    const { welcome, joined } = await lib.joinLatency({
        residentUrl: sc.wsUrl, newcomerUrl: sc.wsUrl,
        joins: JOINS, rate: JOIN_RATE, residentRooms: RESIDENT_ROOMS, prefix: 'lat',
    });
    console.log(`join (${JOINS} joins at ${JOIN_RATE}/s, rooms with one member present):`);
    report('join -> welcome', welcome);
    report('join -> peer-joined at the member', joined);
}

async function chatLatency(sc) {
    const members = [];
    for (let r = 0; r < ROOMS; r++) {
        for (let k = 0; k < ROOM_SIZE; k++) {
            const c = await connect(sc.wsUrl);
            await c.join(`chat-${r}`, `m${k}`);
            members.push(c);
        }
    }
    const lat = [];
    let delivered = 0;
    for (const c of members) {
        c.ws.on('message', (data) => {
            const m = JSON.parse(data);
            if (m.type !== 'chat') return;
            delivered++;
            if (m.from !== c.id) lat.push(performance.now() - Number(m.text));
        });
    }
    await sleep(300);
    // The same members idle for the same time: the CPU the loop spends
    // without traffic (timers, pings), subtracted below.
    const idle0 = cpuUs(sc.pid);
    await sleep(CHAT_SECONDS * 1000);
    const idle = cpuUs(sc.pid) - idle0;
    const cpu0 = cpuUs(sc.pid);
    const d0 = delivered;
    // Each member sends once per second, the members spread evenly.
    const total = members.length * CHAT_SECONDS;
    const interval = 1000 / members.length;
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
        const due = t0 + i * interval;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        members[i % members.length].ws.send(JSON.stringify({ type: 'chat', text: String(performance.now()) }));
    }
    await sleep(500);
    const cpu = cpuUs(sc.pid) - cpu0;
    const n = delivered - d0;
    for (const c of members) c.terminate();
    console.log(`chat (${ROOMS} rooms x ${ROOM_SIZE}, 1 msg/s per member, ${CHAT_SECONDS} s, ${total} sent):`);
    report('chat send -> arrival at the others', lat);
    console.log(`  sidecar CPU ${(cpu / 1000).toFixed(0)} ms for ${n} delivered messages: ${(cpu / n).toFixed(2)} us per delivered message (incl. echo)`);
    console.log(`  idle CPU over the same ${CHAT_SECONDS} s, same members: ${(idle / 1000).toFixed(0)} ms; net of it ${((cpu - idle) / n).toFixed(2)} us per delivered message`);
}

const sc = await startSidecar({ env: { HUDDLE_LOG_LEVEL: 'warn' } });
try {
    console.log(`sidecar-latency: ${process.env.HUDDLE_BUILD_DIR}/sidecar/huddle-sidecar, pid ${sc.pid}`);
    await joinLatency(sc);
    await chatLatency(sc);
} finally {
    await stopAll([sc]);
}
