// Pieces the sidecar benchmarks share: percentiles, a report line, a
// process's CPU time, and the join-latency run. Figures only; nothing here
// asserts. Import after HUDDLE_BUILD_DIR is set (tests/lib/stack.mjs reads it).
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { sleep } from '../tests/lib/stack.mjs';
import { connect } from '../tests/lib/wsclient.mjs';

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
