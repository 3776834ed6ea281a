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
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
process.env.HUDDLE_BUILD_DIR = process.env.BENCH_BUILD_DIR || process.env.HUDDLE_BUILD_DIR || path.join(ROOT, 'build');
const { startSidecar, stopAll, sleep } = await import('../tests/lib/stack.mjs');

const N = Number(process.argv[2] || 10000);
const ROOM_SIZE = 5;
const CONCURRENCY = 200;

function status(pid) {
    const s = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)[1]);
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** One masked client frame (RFC 6455 5.3). */
function frame(opcode, payload) {
    const len = payload.length;
    const head = len < 126 ? Buffer.alloc(2) : Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    if (len < 126) head[1] = 0x80 | len;
    else { head[1] = 0x80 | 126; head.writeUInt16BE(len, 2); }
    const mask = crypto.randomBytes(4);
    const body = Buffer.alloc(len);
    for (let i = 0; i < len; i++) body[i] = payload[i] ^ mask[i & 3];
    return Buffer.concat([head, mask, body]);
}

/**
 * Opens one connection, upgrades, joins room; resolves when the welcome
 * arrives. Keeps answering server pings with pongs afterwards.
 */
function openClient(port, room, name) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        let buf = Buffer.alloc(0);
        let upgraded = false;
        let joined = false;
        sock.setNoDelay(true);
        sock.on('connect', () => {
            sock.write(`GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\n`
                + 'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
                + `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`);
        });
        sock.on('error', (e) => { if (!joined) reject(e); });
        sock.on('close', () => { if (!joined) reject(new Error('closed before welcome')); });
        sock.on('data', (chunk) => {
            buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
            if (!upgraded) {
                const end = buf.indexOf('\r\n\r\n');
                if (end < 0) return;
                const head = buf.subarray(0, end).toString();
                if (!head.startsWith('HTTP/1.1 101')) { reject(new Error(head.split('\r\n')[0])); sock.destroy(); return; }
                upgraded = true;
                buf = buf.subarray(end + 4);
                sock.write(frame(1, Buffer.from(JSON.stringify({ type: 'join', room, name }))));
            }
            for (;;) {
                if (buf.length < 2) return;
                const op = buf[0] & 0x0f;
                let len = buf[1] & 0x7f;
                let off = 2;
                if (len === 126) { if (buf.length < 4) return; len = buf.readUInt16BE(2); off = 4; }
                else if (len === 127) { if (buf.length < 10) return; len = Number(buf.readBigUInt64BE(2)); off = 10; }
                if (buf.length < off + len) return;
                const payload = buf.subarray(off, off + len);
                buf = buf.subarray(off + len);
                if (op === 9) sock.write(frame(10, payload));
                else if (op === 1 && !joined && payload.includes('"welcome"')) { joined = true; resolve(sock); }
                else if (op === 8) sock.destroy();
            }
        });
    });
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
