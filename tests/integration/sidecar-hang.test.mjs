// The loop guard (sidecar/loopguard.c): a sidecar whose event loop stops
// turning ends itself, so that its supervisor starts it again and nginx
// stops sending upgrades to a process that answers none; one stopped as a
// whole (SIGSTOP, a frozen container) is not taken for stuck. The stuck
// loop is a real one: tests/fault/freeze.c stops the sidecar's main thread
// with ptrace and leaves its other threads running.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { before, test } from 'node:test';
import { ROOT, sleep, startSidecar, stopAll, tmpDir } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

let freeze;

before(() => {
    freeze = path.join(tmpDir('freeze'), 'freeze');
    const cc = spawnSync('cc', ['-O2', '-Wall', '-Werror', '-o', freeze,
        path.join(ROOT, 'tests', 'fault', 'freeze.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `building freeze: ${cc.stderr}`);
});

/** Stops thread tid for ms; resolves once it is stopped, with { ended }:
 * a promise of what freeze printed last ("gone": the process ended
 * meanwhile; "thawed"). */
async function freezeThread(tid, ms) {
    const p = spawn(freeze, [String(tid), String(ms)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => { out += c; });
    p.stderr.on('data', (c) => { out += c; });
    const ended = new Promise((resolve) => p.on('exit', () => resolve(out.trim().split('\n').at(-1))));
    for (const deadline = Date.now() + 5000; !out.includes('frozen'); await sleep(10)) {
        assert.ok(Date.now() < deadline && p.exitCode === null, `freeze did not stop the thread: ${out}`);
    }
    return { ended };
}

test('a sidecar whose event loop is stuck aborts after HUDDLE_HANG_ABORT_MS, saying why, and its clients see their connection end', async () => {
    const sc = await startSidecar({ env: { HUDDLE_HANG_ABORT_MS: '1500' } });
    try {
        const a = await connect(sc.wsUrl);
        await a.join(uniqueRoom(), 'Ann');
        const { ended } = await freezeThread(sc.pid, 30000); // the main thread is the loop's
        const t0 = Date.now();
        const { signal } = await sc.exited;
        const ms = Date.now() - t0;
        assert.equal(signal, 'SIGABRT');
        assert.ok(ms >= 1000 && ms < 10000, `aborted ${ms} ms after the loop stopped`);
        assert.match(sc.output, /error sidecar: the event loop has not turned for \d+ ms \(HUDDLE_HANG_ABORT_MS=1500\): aborting, to be restarted/);
        assert.equal(await ended, 'gone');
        await a.closed();
    } finally {
        await stopAll([sc]);
    }
});

test('a sidecar stopped as a whole (SIGSTOP) longer than the limit, or whose loop stands still shorter than it, goes on', async () => {
    const sc = await startSidecar({ env: { HUDDLE_HANG_ABORT_MS: '2000' } });
    try {
        const a = await connect(sc.wsUrl);
        const room = uniqueRoom();
        await a.join(room, 'Ann');
        // Its loop stops, then the whole process (the guard too) for 5 s;
        // continued, the guard runs first while the loop is still held
        // half a second more: the guard was stopped too, so it counts
        // afresh instead of counting the 5 s against the loop.
        const { ended } = await freezeThread(sc.pid, 5500);
        sc.signal('SIGSTOP');
        await sleep(5000);
        sc.signal('SIGCONT');
        assert.equal(await ended, 'thawed');
        // and a loop held shorter than the limit
        assert.equal(await (await freezeThread(sc.pid, 1000)).ended, 'thawed');
        await sleep(3000);
        assert.ok(sc.running, `it ended:\n${sc.tail()}`);
        const b = await connect(sc.wsUrl);
        await b.join(room, 'Bob');
        assert.equal((await a.next('peer-joined')).peer.name, 'Bob');
        assert.doesNotMatch(sc.output, /event loop has not turned/);
    } finally {
        await stopAll([sc]);
    }
});

test('HUDDLE_HANG_ABORT_MS under a second is refused at start-up, naming the setting; 0 turns the guard off', async () => {
    await assert.rejects(startSidecar({ env: { HUDDLE_HANG_ABORT_MS: '500' } }),
        /HUDDLE_HANG_ABORT_MS=500: want 0 \(never\) or at least 1000/);
    const sc = await startSidecar({ env: { HUDDLE_HANG_ABORT_MS: '0' } });
    try {
        const { ended } = await freezeThread(sc.pid, 2500);
        assert.equal(await ended, 'thawed');
        assert.ok(sc.running);
    } finally {
        await stopAll([sc]);
    }
});
