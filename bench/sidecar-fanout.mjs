#!/usr/bin/env node
// Chat fan-out near the syscall floor (docs/performance.md; docs/design.md,
// "Performance targets"): one release-build huddle-sidecar on loopback,
// ROOMS rooms of ROOM_SIZE raw-socket members in this process; the members
// send chat at a paced total rate so that the sidecar delivers RATE
// messages per second (each chat goes to the whole room, its sender
// included). For each rate it prints, measured over the same seconds:
//   - deliveries per second reached;
//   - the sidecar's CPU per delivery (/proc/<pid>/schedstat run time), and
//     that against one 150-byte loopback send() (bench/syscall-floor.c, run
//     just before);
//   - with perf installed: sendto, writev, epoll_ctl and all syscalls per
//     delivery, counted over a second window of the same length (perf's
//     tracepoints would inflate the CPU figure, so they never overlap).
// Prints figures beside the targets; asserts nothing. The load generator
// shares the cores.
//
//   node bench/sidecar-fanout.mjs [rates=16000,40000] [seconds=10]
//   BENCH_BUILD_DIR=/path/to/release/build (else HUDDLE_BUILD_DIR, else build/)
//   BENCH_COMPARE=/path/to/another/build: each rate runs on both binaries,
//   one after the other in the same run (before/after a change).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUILD = process.env.BENCH_BUILD_DIR || process.env.HUDDLE_BUILD_DIR || path.join(ROOT, 'build');
process.env.HUDDLE_BUILD_DIR = BUILD;
const { Proc, stopAll, sleep, freePort, waitForConnect } = await import('../tests/lib/stack.mjs');
const { openClient, frame, runUs, perfCount } = await import('./lib.mjs');

const RATES = (process.argv[2] || '16000,40000').split(',').map(Number);
const SECONDS = Number(process.argv[3] || 10);
const ROOMS = 40;
const ROOM_SIZE = 8; // HUDDLE_MAX_PEERS' default
const TICK_MS = 2;
const PERF_EVENTS = ['sendto', 'writev', 'epoll_ctl'].map((s) => `syscalls:sys_enter_${s}`)
    .concat('raw_syscalls:sys_enter');

/** A sidecar from build dir, chat limits out of the way of the load. */
async function startAt(build) {
    const port = await freePort();
    const bin = path.join(build, 'sidecar', 'huddle-sidecar');
    const proc = new Proc(`sidecar:${port}`, bin, [], {
        env: {
            HUDDLE_LISTEN: `127.0.0.1:${port}`, HUDDLE_LOG_LEVEL: 'warn',
            HUDDLE_CHAT_RATE: '100000', HUDDLE_CHAT_BURST: '100000',
        },
    });
    await waitForConnect({ port });
    proc.port = port;
    return proc;
}

/** One 150-byte loopback send(), in us of CPU (bench/syscall-floor.c):
 * paced at rate over as many connections as the members (the floor of one
 * send per delivery), or with rate 0 back to back on one connection. */
function sendFloor(rate) {
    const bin = path.join(BUILD, 'bench', 'syscall-floor');
    const args = rate ? ['150', String(ROOMS * ROOM_SIZE), String(rate), '3'] : ['150'];
    const r = spawnSync(bin, args, { encoding: 'utf8' });
    const m = /([\d.]+) us CPU per send/.exec(r.stdout || '');
    if (!m) throw new Error(`${bin} failed: ${r.stderr || r.error}`);
    return Number(m[1]);
}

/** Members send chat so that rate deliveries/s leave the sidecar, until
 * stop() is called. A generator that falls behind (the cores are shared)
 * skips what is more than 10 ms late instead of sending it in a burst.
 * Returns { stop }. */
function pace(members, rate) {
    const sends = rate / ROOM_SIZE;
    const msg = frame(1, Buffer.from(JSON.stringify({ type: 'chat', text: 'x'.repeat(68) })));
    const t0 = performance.now();
    const late = Math.ceil(sends / 100);
    let sent = 0;
    const timer = setInterval(() => {
        const due = Math.floor(((performance.now() - t0) / 1000) * sends);
        if (due - sent > late) sent = due - late;
        for (; sent < due; sent++) members[sent % members.length].write(msg);
    }, TICK_MS);
    return { stop: () => clearInterval(timer) };
}

async function measure(build, rate) {
    const sc = await startAt(build);
    let delivered = 0;
    let bytes = 0;
    const onText = (p) => { delivered++; bytes += p.length; };
    const members = [];
    try {
        for (let r = 0; r < ROOMS; r++)
            for (let k = 0; k < ROOM_SIZE; k++)
                members.push(await openClient(sc.port, `fan-${r}`, `m${k}`, onText));
        const floor = sendFloor(rate);
        const tight = sendFloor(0);
        const load = pace(members, rate);
        await sleep(1000); // warm-up
        const d0 = delivered;
        const b0 = bytes;
        const c0 = runUs(sc.pid);
        const w0 = performance.now();
        await sleep(SECONDS * 1000);
        const cpu = runUs(sc.pid) - c0;
        const secs = (performance.now() - w0) / 1000;
        const n = delivered - d0;
        const size = (bytes - b0) / n;
        const d1 = delivered;
        const counts = await perfCount(sc.pid, SECONDS * 1000, PERF_EVENTS);
        const n2 = delivered - d1;
        load.stop();
        const per = cpu / n;
        console.log(`  ${build}: ${(n / secs).toFixed(0)} deliveries/s (asked ${rate}), ${size.toFixed(0)}-byte messages`);
        console.log(`    sidecar CPU ${per.toFixed(2)} us per delivery = ${(per / floor).toFixed(2)}x one send() paced alike (${floor.toFixed(2)} us);`
            + ` ${(per / tight).toFixed(1)}x one back to back (${tight.toFixed(2)} us)`);
        if (counts) {
            const f = (e) => (counts[e] / n2).toFixed(3);
            console.log(`    per delivery: sendto ${f(PERF_EVENTS[0])}  writev ${f(PERF_EVENTS[1])}  epoll_ctl ${f(PERF_EVENTS[2])}  all syscalls ${f(PERF_EVENTS[3])} (perf stat, ${n2} deliveries)`);
        } else {
            console.log('    syscalls: perf stat unavailable (linux-perf, perf_event_paranoid <= 1)');
        }
    } finally {
        for (const m of members) m.destroy();
        await stopAll([sc]);
    }
}

const builds = [BUILD, ...(process.env.BENCH_COMPARE ? [process.env.BENCH_COMPARE] : [])];
for (const b of builds) {
    if (!fs.existsSync(path.join(b, 'sidecar', 'huddle-sidecar'))) throw new Error(`no huddle-sidecar in ${b}`);
}
console.log(`sidecar-fanout: ${ROOMS} rooms x ${ROOM_SIZE} members, chat paced every ${TICK_MS} ms, ${SECONDS} s per window`);
console.log('  targets: CPU per delivery <= 1.3x one send() at 16,000/s, <= 1.0x at 40,000/s; no epoll_ctl per delivery');
for (const rate of RATES) {
    console.log(`rate ${rate} deliveries/s:`);
    for (const b of builds) await measure(b, rate);
}
