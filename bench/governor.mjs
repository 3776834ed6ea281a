#!/usr/bin/env node
// The quality governor's benchmark: for 4 and 6 people in one room (one
// Chromium, a context each, fake camera and microphone, the real nginx and
// sidecar), the total uplink (the video and audio RTP bytes every page
// sent, per second, summed over the pages) and the browser's CPU (user +
// system time of every Chromium process, from /proc, as % of one core),
// with the governor on and off. Off is the page's benchmark switch
// (localStorage 'huddle.governor' = 'off', public/encoding.js): every link
// then carries the room cap, whatever the receiver shows. Each page shows
// the others in the plain grid of a 1280x800 window.
// Prints a table and writes bench/results/governor.md. Run it alone on
// the machine (flock /work/notes/load.lock on a shared one).
//
//   node bench/governor.mjs [settle_s=15] [window_s=15]
import fs from 'node:fs';
import path from 'node:path';
import { startStack, ROOT } from '../tests/lib/stack.mjs';
import { launch, newParticipant, keepPeerConnections } from '../tests/lib/browser.mjs';

const settleS = Number(process.argv[2] || 15);
const windowS = Number(process.argv[3] || 15);
const HZ = 100; // clock ticks per second of /proc/<pid>/stat (USER_HZ on Linux)
const NAMES = ['Ada', 'Bo', 'Cy', 'Dee', 'Eli', 'Fay'];

/** The pids of every process below pid (its children, theirs, ...). */
function descendants(pid) {
    const kids = new Map();
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        try {
            const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
            const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
            if (!kids.has(ppid)) kids.set(ppid, []);
            kids.get(ppid).push(Number(d));
        } catch { /* gone meanwhile */ }
    }
    const out = [];
    const todo = [pid];
    while (todo.length) for (const k of kids.get(todo.pop()) || []) out.push(k), todo.push(k);
    return out;
}

/** CPU ticks (user + system) used so far by the Chromium processes below this one. */
function chromiumTicks() {
    let sum = 0;
    for (const pid of descendants(process.pid)) {
        try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            if (!stat.includes('(chromium') && !stat.includes('(chrome')) continue;
            const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            sum += Number(f[11]) + Number(f[12]);
        } catch { /* gone meanwhile */ }
    }
    return sum;
}

/** RTP bytes page has sent so far on each of its connections (video and audio), by index in window.__pcs. */
const bytesSent = (page) => page.evaluate(async () => Promise.all(window.__pcs.map(async (pc) => {
    if (pc.connectionState === 'closed') return null;
    let sum = 0;
    for (const s of (await pc.getStats()).values()) if (s.type === 'outbound-rtp') sum += s.bytesSent || 0;
    return sum;
})));

/** What each connection sent between two bytesSent() readings, summed (one closed meanwhile counts for nothing). */
const sentBetween = (a, b) => b.reduce((sum, v, i) => sum + (v !== null && a[i] != null && v >= a[i] ? v - a[i] : 0), 0);

/** Resolves when page shows n - 1 remote tiles, each with decoded video. */
const allPlaying = (page, others) => page.waitForFunction((k) => {
    const vs = [...document.querySelectorAll('#grid .tile:not(.local) video')];
    return vs.length === k && vs.every((v) => v.videoWidth > 0);
}, others, { timeout: 120000 });

/** The maxBitrate of every video sender of page (bps; 0 when none is set). */
const caps = (page) => page.evaluate(() => window.__pcs.filter((pc) => pc.connectionState === 'connected')
    .flatMap((pc) => pc.getSenders().filter((s) => s.track && s.track.kind === 'video'))
    .map((s) => (s.getParameters().encodings[0] || {}).maxBitrate || 0));

/** name in the room at url, once more if the first try timed out (a busy machine loads slowly). */
async function joined(browser, url, name, storageState) {
    for (let tries = 1; ; tries++) {
        let p = null;
        try {
            p = await newParticipant(browser, url, name, { init: keepPeerConnections, context: { storageState } });
            p.page.setDefaultTimeout(120000);
            await p.join();
            return p;
        } catch (err) {
            if (p) await p.close();
            if (tries === 2) throw err;
        }
    }
}

async function run(stack, n, on) {
    const browser = await launch();
    try {
        const url = `${stack.url}/bench-governor-${n}-${on ? 'on' : 'off'}-${Date.now()}`;
        // Off: the switch stored for the room's origin before the page loads.
        const storageState = { cookies: [], origins: on ? [] : [{ origin: stack.url, localStorage: [{ name: 'huddle.governor', value: 'off' }] }] };
        const pages = [];
        for (const name of NAMES.slice(0, n)) {
            const p = await joined(browser, url, name, storageState);
            pages.push(p);
        }
        // On a busy machine some links may not come up: measure anyway, and say how many did.
        for (const p of pages) await allPlaying(p.page, n - 1).catch(() => {});
        await new Promise((r) => setTimeout(r, settleS * 1000));
        const b0 = await Promise.all(pages.map((p) => bytesSent(p.page)));
        const c0 = chromiumTicks();
        const t0 = Date.now();
        await new Promise((r) => setTimeout(r, windowS * 1000));
        const b1 = await Promise.all(pages.map((p) => bytesSent(p.page)));
        const c1 = chromiumTicks();
        const secs = (Date.now() - t0) / 1000;
        const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
        const bytes = b1.reduce((s, b, i) => s + sentBetween(b0[i], b), 0);
        const all = (await Promise.all(pages.map((p) => caps(p.page)))).flat();
        const capKbps = Math.round(all.reduce((s, c) => s + c, 0) / Math.max(1, all.length) / 1000);
        const links = `${all.length}/${n * (n - 1)}`;
        return { kbps: Math.round((bytes * 8) / secs / 1000), cpu: Math.round(((c1 - c0) / HZ / secs) * 100), capKbps, load, links };
    } finally {
        await browser.close();
    }
}

const stack = await startStack({ sidecars: 1 });
const rows = [];
try {
    const failed = (err) => {
        console.log(`a run failed: ${err.message.split('\n')[0]}`);
        return { kbps: 0, cpu: 0, capKbps: 0, load: '-', links: 'failed' };
    };
    for (const n of [4, 6]) {
        const on = await run(stack, n, true).catch(failed);
        const off = await run(stack, n, false).catch(failed);
        rows.push({ n, on, off });
        console.log(`${n} people: uplink ${on.kbps} kbit/s governed vs ${off.kbps} ungoverned; CPU ${on.cpu} % vs ${off.cpu} %; mean link cap ${on.capKbps} vs ${off.capKbps} kbit/s; load average ${on.load} / ${off.load}; video links up ${on.links} / ${off.links}`);
    }
} finally {
    await stack.stop();
}

const pct = (a, b) => (b ? `${Math.round((100 * (a - b)) / b)} %` : 'n/a');
const table = [
    '| people | uplink, governor on (kbit/s) | uplink, off (kbit/s) | change | browser CPU, on (% of a core) | CPU, off | change | mean link cap, on / off (kbit/s) | load average, on / off | video links up, on / off |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(({ n, on, off }) => `| ${n} | ${on.kbps} | ${off.kbps} | ${pct(on.kbps, off.kbps)} | ${on.cpu} | ${off.cpu} | ${pct(on.cpu, off.cpu)} | ${on.capKbps} / ${off.capKbps} | ${on.load} / ${off.load} | ${on.links} / ${off.links} |`),
].join('\n');
console.log(table);
const md = `# Quality governor: uplink and CPU, on and off

\`node bench/governor.mjs ${settleS} ${windowS}\` on ${new Date().toISOString().slice(0, 10)}: one Chromium (a context per person,
fake camera and microphone, 1280x800 windows, plain grid), the real nginx and sidecar.
Mean link cap: the mean \`maxBitrate\` of every video sender at the end (a link
that dropped raises the others' room cap). Load average: the machine's, at the end of the window. Video links up: the
connected video senders over n x (n - 1); a busy machine can leave some down.
Uplink: the RTP bytes (video and audio) every page sent over ${windowS} s after ${settleS} s of settling,
per second, summed over the pages. CPU: user + system time of every Chromium process
over the same ${windowS} s (% of one core; the machine has ${(await import('node:os')).cpus().length}).
"Off": localStorage \`huddle.governor\` = \`off\`, every link carries the room cap.

${table}
`;
fs.mkdirSync(path.join(ROOT, 'bench', 'results'), { recursive: true });
fs.writeFileSync(path.join(ROOT, 'bench', 'results', 'governor.md'), md);
