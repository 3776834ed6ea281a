#!/usr/bin/env node
// Sidecar RSS per idle joined connection (docs/design.md, "Performance targets": <= 4 KiB
// each at 19,000 connections). Starts a release-build huddle-sidecar, opens
// N websocket connections from this process (raw sockets with a hand-written
// upgrade and masked frames: `ws` objects cost more than we measure), each
// joins a room of 5, then reads VmRSS of the sidecar from /proc before and
// after. Prints figures; asserts nothing.
//
//   node bench/sidecar-memory.mjs [N=10000]
//   BENCH_BUILD_DIR=/path/to/release/build (else HUDDLE_BUILD_DIR, else build/)
//
// File descriptors: this process needs N sockets and the sidecar N more;
// each stays under its own `ulimit -n` (20,000 here), so N <= ~19,500.
import fs from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
process.env.HUDDLE_BUILD_DIR = process.env.BENCH_BUILD_DIR || process.env.HUDDLE_BUILD_DIR || path.join(ROOT, 'build');
const { startSidecar, stopAll, sleep } = await import('../tests/lib/stack.mjs');
const { openClient } = await import('./lib.mjs');

const N = Number(process.argv[2] || 10000);
const ROOM_SIZE = 5;
const CONCURRENCY = 200;

function status(pid) {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)[1]);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

// Each side holds N sockets: both need `ulimit -n` above N (plus a few).
const fdLimit = Number(/^Max open files\s+(\d+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'))?.[1] || 0);
if (fdLimit && N + 64 > fdLimit) {
    console.log(`sidecar-memory: N=${N} needs ulimit -n above ${N + 64} (it is ${fdLimit}); raise it or pass a smaller N`);
    process.exit(2);
}

const sc = await startSidecar({ env: { HUDDLE_LOG_LEVEL: 'warn', HUDDLE_MAX_CONNECTIONS: String(N + 1000) } });
const socks = [];
try {
    await sleep(300);
    const before = status(sc.pid);
    const t0 = Date.now();
    let next = 0;
    let failed = 0;
    let firstError = null;
    const worker = async () => {
        while (next < N) {
            const i = next++;
            try {
                socks.push(await openClient(sc.port, `mem-${Math.floor(i / ROOM_SIZE)}`, `peer ${i}`));
            } catch (err) {
                failed++;
                firstError ??= err;
            }
        }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const openMs = Date.now() - t0;
    await sleep(1500); // let allocator caches settle; nothing else is awaited
    const after = status(sc.pid);
    const per = (after.rss - before.rss) / socks.length;
    console.log(`sidecar-memory: ${process.env.HUDDLE_BUILD_DIR}/sidecar/huddle-sidecar, pid ${sc.pid}`);
    console.log(`  ${socks.length} of ${N} connections joined (rooms of ${ROOM_SIZE}), opened in ${openMs} ms`);
    if (failed) console.log(`  ${failed} failed to join; first: ${firstError.message}`);
    console.log(`  sidecar VmRSS before ${before.rss} KiB, after ${after.rss} KiB, VmHWM ${after.hwm} KiB`);
    console.log(`  RSS per idle joined connection: ${per.toFixed(2)} KiB (target <= 4 KiB)`);
} finally {
    for (const s of socks) s.destroy();
    await stopAll([sc]);
}
