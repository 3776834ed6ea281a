// scripts/run.sh (`make run`) itself: it starts the whole of huddle on a
// chosen port with a private runtime dir, serves pages and /ws, and on
// SIGTERM stops every process it started; when one of them dies it stops
// the rest and exits non-zero.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { BUILD, Proc, ROOT, freePort, tmpDir } from '../lib/stack.mjs';

const HAVE_SIDECAR = fs.existsSync(path.join(BUILD, 'sidecar', 'huddle-sidecar'));

/** Every live descendant of pid, as [{pid, comm}]. */
function descendants(pid) {
    const kids = new Map();
    for (const d of fs.readdirSync('/proc')) {
        if (!/^\d+$/.test(d)) continue;
        let stat;
        try { stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8'); } catch { continue; }
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const ppid = Number(rest[1]);
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        if (!kids.has(ppid)) kids.set(ppid, []);
        kids.get(ppid).push({ pid: Number(d), comm });
    }
    const out = [];
    const walk = (p) => {
        for (const k of kids.get(p) || []) { out.push(k); walk(k.pid); }
    };
    walk(pid);
    return out;
}

function alive(pid) {
    try { process.kill(pid, 0); return true; } catch { return false; }
}

async function startRunner(env) {
    const port = await freePort();
    const proc = new Proc('run.sh', path.join(ROOT, 'scripts', 'run.sh'), [], {
        env: { HUDDLE_PORT: String(port), HUDDLE_RUN_DIR: tmpDir('run'), HUDDLE_BUILD_DIR: BUILD, ...env },
    });
    const m = await proc.waitForOutput(/huddle is running on (http:\/\/localhost:(\d+))/, 30000);
    assert.equal(Number(m[2]), port);
    proc.url = `http://127.0.0.1:${port}`;
    return proc;
}

test('run.sh serves huddle on the given port and SIGTERM leaves no process behind', async () => {
    const sidecars = HAVE_SIDECAR ? 2 : 0;
    const run = await startRunner({ HUDDLE_SIDECARS: String(sidecars) });
    try {
        const res = await fetch(`${run.url}/`, { redirect: 'manual' });
        assert.equal(res.status, 302);
        const room = await fetch(run.url + res.headers.get('location'));
        assert.equal(room.status, 200);
        assert.match(await room.text(), /<meta name="huddle-room" content="[0-9a-f-]{36}">/);
        if (sidecars) {
            const ws = new WebSocket(`${run.url.replace('http', 'ws')}/ws`);
            await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
            ws.close();
        }
        const kids = descendants(run.pid);
        const comms = kids.map((k) => k.comm);
        assert.ok(comms.includes('huddle-fcgi'), comms.join(','));
        assert.ok(comms.includes('nginx'), comms.join(','));
        assert.equal(comms.filter((c) => c === 'huddle-sidecar').length, sidecars);
        assert.equal(comms.includes('redis-server'), sidecars > 1);
        const { code, signal, ms } = await run.stop('SIGTERM', 15000);
        console.log(`run.sh stopped in ${ms} ms`);
        assert.equal(signal, null);
        assert.equal(code, 0);
        const left = kids.filter((k) => alive(k.pid));
        assert.deepEqual(left, [], 'processes left behind');
        assert.equal(run.sanitizerReport(), null);
    } finally {
        await run.stop('SIGKILL');
    }
});

test('run.sh stops everything and exits non-zero when one of its processes dies', async () => {
    const run = await startRunner({ HUDDLE_SIDECARS: HAVE_SIDECAR ? '1' : '0' });
    try {
        const kids = descendants(run.pid);
        const fcgi = kids.find((k) => k.comm === 'huddle-fcgi');
        assert.ok(fcgi);
        process.kill(fcgi.pid, 'SIGKILL');
        const { code } = await run.exited;
        assert.notEqual(code, 0);
        assert.match(run.output, /huddle-fcgi .* exited/);
        const left = kids.filter((k) => alive(k.pid));
        assert.deepEqual(left, [], 'processes left behind');
    } finally {
        await run.stop('SIGKILL');
    }
});
