// Pieces the sidecar benchmarks share: percentiles, a report line, a
// process's CPU time, syscall counts from perf, the join-latency run and a raw websocket client light
// enough to run thousands of. Figures only; nothing here asserts. Import
// after HUDDLE_BUILD_DIR is set (tests/lib/stack.mjs reads it).
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { sleep } from '../tests/lib/stack.mjs';
import { connect } from '../tests/lib/wsclient.mjs';

/** Counts the perf events (e.g. 'syscalls:sys_enter_sendto') of pid for
 * ms; resolves { event: count } or null without perf (or without access
 * to its tracepoints: root or kernel.perf_event_paranoid <= 1). */
export function perfCount(pid, ms, events) {
    return new Promise((resolve) => {
        const p = spawn('perf', ['stat', '-x,', '-e', events.join(','), '-p', String(pid),
            '--', 'sleep', String(ms / 1000)], { stdio: ['ignore', 'ignore', 'pipe'] });
        let err = '';
        p.stderr.on('data', (d) => { err += d; });
        p.on('error', () => resolve(null));
        p.on('close', () => {
            const out = {};
            for (const line of err.split('\n')) {
                const f = line.split(',');
                if (f.length > 2 && events.includes(f[2])) out[f[2]] = Number(f[0]);
            }
            resolve(Object.keys(out).length === events.length ? out : null);
        });
    });
}

/**
 * Resolves once a join works on each of sidecars (started with Redis: its
 * "redis up" is logged at info, which a benchmark's warn level hides).
 */
export async function sidecarsReady(sidecars) {
    for (const s of sidecars) {
        for (let i = 0; ; i++) {
            const c = await connect(s.wsUrl);
            const ok = await c.join(`probe-${i}`, 'probe').then(() => true, () => false);
            c.terminate();
            if (ok) break;
            if (i > 200) throw new Error(`${s.name} never came up`);
            await sleep(50);
        }
    }
}

/** The p-th percentile (0..100) of xs, nearest rank. */
export function pct(xs, p) {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/** Prints "label: n=.. p50 .. ms  p99 .. ms  max .. ms" for xs in ms. */
export function report(label, xs) {
    if (xs.length === 0) return console.log(`  ${label}: none`);
    const f = (v) => v.toFixed(3);
    let max = 0;
    for (const x of xs) max = Math.max(max, x);
    console.log(`  ${label}: n=${xs.length} p50 ${f(pct(xs, 50))} ms  p99 ${f(pct(xs, 99))} ms  max ${f(max)} ms`);
}

/** utime + stime of pid in microseconds. */
export function cpuUs(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[11]) + Number(rest[12]);
    return (ticks * 1e6) / 100; // USER_HZ is 100 on Linux
}

/** utime + stime of pid in microseconds, to the nanosecond (the
 * scheduler's run time of its main thread, /proc/<pid>/schedstat): finer
 * than cpuUs' 10 ms ticks; the sidecar has one thread. */
export function runUs(pid) {
    return Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]) / 1000;
}

/**
 * join -> welcome at a newcomer on newcomerUrl, and join -> peer-joined at
 * the one member already in its room (on residentUrl): joins joins at rate
 * per second over residentRooms rooms named prefix-N; each newcomer leaves
 * after its welcome. Newcomers connect ahead of their turn: only the join is
 * timed. Returns { welcome, joined }, latencies in ms.
 */
export async function joinLatency({ residentUrl, newcomerUrl, joins, rate, residentRooms, prefix }) {
    const residents = [];
    for (let r = 0; r < residentRooms; r++) {
        const c = await connect(residentUrl);
        await c.join(`${prefix}-${r}`, `resident ${r}`);
        residents.push(c);
    }
    const welcome = [];
    const joined = [];
    const interval = 1000 / rate;
    const t0 = performance.now();
    for (let i = 0; i < joins; i++) {
        const wait = t0 + i * interval - performance.now();
        if (wait > 1) await sleep(wait);
        const c = await connect(newcomerUrl);
        const res = residents[i % residentRooms];
        const start = performance.now();
        const pj = res.next('peer-joined').then(() => performance.now() - start);
        await c.send({ type: 'join', room: `${prefix}-${i % residentRooms}`, name: `n${i}` });
        await c.next('welcome');
        welcome.push(performance.now() - start);
        joined.push(await pj);
        await c.send({ type: 'leave' });
        await res.next('peer-left');
        c.terminate();
    }
    for (const c of residents) c.terminate();
    return { welcome, joined };
}

/** One masked client frame (RFC 6455 5.3). */
export function frame(opcode, payload) {
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
 * Opens one raw connection (a hand-written upgrade and masked frames: `ws`
 * objects cost more than the sidecar benchmarks measure), upgrades, joins
 * room; resolves with the socket when the welcome arrives. Keeps answering
 * server pings with pongs afterwards; onText(payload), when given, sees
 * every later text frame.
 */
export function openClient(port, room, name, onText) {
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
                else if (op === 1 && joined) onText?.(payload);
                else if (op === 1 && payload.includes('"welcome"')) { joined = true; resolve(sock); }
                else if (op === 8) sock.destroy();
            }
        });
    });
}
