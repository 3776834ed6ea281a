// scripts/run.sh (`make run`) itself: it starts the whole of huddle on a
// chosen port with a private runtime dir, serves pages and /ws over http
// and https, and on SIGTERM stops every process it started. A sidecar that
// dies is restarted on its port while the rest stays up; when another
// process dies it stops the rest and exits non-zero. Redis wants its
// password.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { BUILD, Proc, ROOT, freePort, httpGet, tcpListeners, tmpDir, waitForConnect } from '../lib/stack.mjs';
import { connect, expectAlive, uniqueRoom } from '../lib/wsclient.mjs';

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

/** Whether pid still runs: a zombie (ended, not yet reaped by whoever inherited it) holds nothing and does not count. */
function alive(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
        return false;
    }
}

/**
 * run.sh started on free ports with a runtime dir of its own (not waited
 * for): its Proc, with port, httpsPort and dir. terminal: as from a
 * terminal, the leader of a process group of its own (setsid), which a
 * Ctrl-C signals as a whole.
 */
async function spawnRunner(env, { terminal = false } = {}) {
    const port = await freePort();
    const httpsPort = await freePort();
    const dir = tmpDir('run');
    const script = path.join(ROOT, 'scripts', 'run.sh');
    const proc = new Proc('run.sh', terminal ? 'setsid' : script, terminal ? [script] : [], {
        env: {
            HUDDLE_PORT: String(port), HUDDLE_HTTPS_PORT: String(httpsPort), HUDDLE_RUN_DIR: dir,
            HUDDLE_BUILD_DIR: BUILD, ...env,
        },
    });
    return Object.assign(proc, { port, httpsPort, dir });
}

/** Asserts that none of kids, processes run.sh started, runs any more, once its waker (which ends within a second of it) is gone too. */
async function nothingLeft(kids) {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.deepEqual(kids.filter((k) => alive(k.pid)), [], 'processes left behind');
}

/** A member of a fresh room (named after prefix) through run's nginx. */
async function memberThrough(run, prefix) {
    const c = await connect(`${run.url.replace('http', 'ws')}/ws`, { protocols: ['huddle.v1'] });
    await c.join(uniqueRoom(prefix), 'Ivy');
    return c;
}

/** Kills (SIGKILL, by PID) whichever of kids, processes run.sh started, are still alive: a run.sh that failed to stop them must not leave them to the next test. */
function killLeft(kids) {
    for (const k of kids) if (alive(k.pid)) process.kill(k.pid, 'SIGKILL');
}

async function startRunner(env, opts) {
    const proc = await spawnRunner(env, opts);
    const { port, httpsPort } = proc;
    const m = await proc.waitForOutput(/huddle is running on (http:\/\/localhost:(\d+))(?: and https:\/\/localhost:(\d+))?/, 30000);
    assert.equal(Number(m[2]), port);
    proc.url = `http://127.0.0.1:${port}`;
    if (m[3]) assert.equal(Number(m[3]), httpsPort);
    else proc.httpsPort = undefined;
    return proc;
}


/** HUDDLE_LISTEN of a running process, from its environment. */
function listenOf(pid) {
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return env.find((e) => e.startsWith('HUDDLE_LISTEN=')).slice('HUDDLE_LISTEN='.length);
}

/** The TCP ports process pid listens on: its sockets' inodes among tcpListeners(). */
function listensOf(pid) {
    const inodes = new Set();
    for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
        let link = '';
        try { link = fs.readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; } // closed meanwhile
        const m = /^socket:\[(\d+)\]$/.exec(link);
        if (m) inodes.add(m[1]);
    }
    return tcpListeners().filter((l) => inodes.has(l.inode)).map((l) => l.port);
}

/** The first line Redis answers to the raw command cmd on the Unix socket at sockPath. */
function redisSay(sockPath, cmd) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(sockPath);
        let buf = '';
        sock.on('connect', () => sock.write(cmd));
        sock.on('data', (d) => {
            buf += d;
            const i = buf.indexOf('\r\n');
            if (i >= 0) { sock.destroy(); resolve(buf.slice(0, i)); }
        });
        sock.on('error', reject);
    });
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

test('run.sh on Ctrl-C (SIGINT to its whole process group) drains the sidecars while nginx and Redis still serve', async () => {
    if (!HAVE_SIDECAR) return;
    const run = await startRunner({ HUDDLE_SIDECARS: '2' }, { terminal: true });
    let kids = [];
    try {
        kids = descendants(run.pid);
        const c = await memberThrough(run, 'ctrlc');
        process.kill(-run.pid, 'SIGINT');
        // A sidecar that drains closes 1012 through nginx, its seat handed
        // to Redis; before, nginx and Redis got the Ctrl-C too: 1006.
        assert.deepEqual(await c.closed(15000), { code: 1012, reason: 'service restart' });
        const { code, signal } = await run.exited;
        assert.deepEqual({ code, signal }, { code: 0, signal: null });
        assert.match(run.output, /handing 1 seat\(s\) over to redis/);
        await nothingLeft(kids);
    } finally {
        await run.stop('SIGKILL');
        killLeft(kids);
    }
});

test('run.sh given a second Ctrl-C while the sidecars drain kills what is left at once, and leaves nothing behind', async () => {
    if (!HAVE_SIDECAR) return;
    const run = await startRunner({ HUDDLE_SIDECARS: '2' }, { terminal: true });
    let kids = [];
    try {
        kids = descendants(run.pid);
        await memberThrough(run, 'twice');
        process.kill(-run.pid, 'SIGINT');
        await run.waitForOutput(/draining 1 connections/);
        process.kill(-run.pid, 'SIGINT');
        const { code, signal } = await run.exited;
        assert.deepEqual({ code, signal }, { code: 130, signal: null });
        assert.match(run.output, /run: stopping now/);
        // Before, the second one ended the runner alone: the programs, in
        // sessions of their own, went on holding the ports.
        await nothingLeft(kids);
    } finally {
        await run.stop('SIGKILL');
        killLeft(kids);
    }
});

test('run.sh whose nginx master dies stops its workers too, and the rest', async () => {
    const run = await startRunner({ HUDDLE_SIDECARS: '0', HUDDLE_HTTPS_PORT: '0' });
    let kids = [];
    try {
        kids = descendants(run.pid);
        const master = kids.find((k) => k.comm === 'nginx' && descendants(k.pid).length > 0);
        assert.ok(master, kids.map((k) => k.comm).join(','));
        const workers = descendants(master.pid);
        process.kill(master.pid, 'SIGKILL');
        const { code } = await run.exited;
        assert.notEqual(code, 0);
        assert.match(run.output, /nginx \(pid \d+\) exited with status 137: stopping the rest/);
        assert.deepEqual(workers.filter((k) => alive(k.pid)), [], 'nginx workers left holding the port');
        assert.equal(tcpListeners().some((l) => l.port === run.port), false);
        assert.deepEqual(kids.filter((k) => alive(k.pid)), [], 'processes left behind');
    } finally {
        await run.stop('SIGKILL');
        killLeft(kids);
    }
});

test('run.sh restarts a sidecar killed with SIGKILL on its port, with backoff, and nothing else moves', async () => {
    if (!HAVE_SIDECAR) return;
    const run = await startRunner({ HUDDLE_SIDECARS: '2' });
    try {
        const kids = descendants(run.pid);
        const pidOf = (comm) => kids.filter((k) => k.comm === comm).map((k) => k.pid);
        const [s1, s2] = pidOf('huddle-sidecar');
        const others = [...pidOf('nginx'), ...pidOf('huddle-fcgi'), ...pidOf('redis-server')];
        const [port1, port2] = [listenOf(s1), listenOf(s2)].map((l) => Number(l.split(':')[1]));
        // Out of memory, the kernel's OOM killer takes a sidecar first.
        const adj = (pid) => Number(fs.readFileSync(`/proc/${pid}/oom_score_adj`, 'utf8'));
        assert.deepEqual([adj(s1), adj(s2)], [500, 500], 'sidecars oom_score_adj');
        for (const p of others) assert.equal(adj(p), adj(run.pid), `pid ${p} keeps the runner's oom_score_adj`);

        // A client on the sidecar that survives.
        const stay = await connect(`ws://127.0.0.1:${port2}/ws`, { protocols: ['huddle.v1'] });
        await stay.join(uniqueRoom('stay'), 'Stay');

        process.kill(s1, 'SIGKILL');
        await run.waitForOutput(/huddle-sidecar 1 \(pid \d+, port \d+\) exited with status 137 after \d+ ms: restarting it in 0\.500 s/);
        await run.waitForOutput(/huddle-sidecar 1 restarted \(pid (\d+)/);
        await waitForConnect({ port: port1 });
        const again = descendants(run.pid).filter((k) => k.comm === 'huddle-sidecar').map((k) => k.pid);
        assert.equal(again.length, 2);
        assert.ok(again.includes(s2), 'the other sidecar kept its pid');
        const s1b = again.find((p) => p !== s2);
        assert.notEqual(s1b, s1);
        assert.equal(listenOf(s1b), `127.0.0.1:${port1}`, 'same port');
        assert.equal(adj(s1b), 500, 'a restarted sidecar keeps oom_score_adj 500');
        for (const p of others) assert.ok(alive(p), `pid ${p} is gone`);

        // The client on the other sidecar never noticed; the restarted one serves.
        assert.equal(stay.closeInfo, null);
        await stay.send({ type: 'ping', t: 1 });
        await stay.next('pong');
        await expectAlive(`ws://127.0.0.1:${port1}/ws`);
        await expectAlive(`${run.url.replace('http', 'ws')}/ws`);

        // Dying again soon: the delay doubles.
        process.kill(s1b, 'SIGKILL');
        await run.waitForOutput(/huddle-sidecar 1 \(pid \d+, port \d+\) exited with status 137 after \d+ ms: restarting it in 1\.000 s/);
        await run.waitForOutput(/huddle-sidecar 1 restarted[\s\S]*huddle-sidecar 1 restarted/);
        await waitForConnect({ port: port1 });
        stay.terminate();

        const { code } = await run.stop('SIGTERM', 20000);
        assert.equal(code, 0);
        const left = descendants(run.pid).filter((k) => alive(k.pid));
        assert.deepEqual(left, [], 'processes left behind');
        assert.equal(run.sanitizerReport(), null);
    } finally {
        await run.stop('SIGKILL');
    }
});

test('run.sh serves https with its self-signed certificate and redirects only public names to it', async () => {
    const run = await startRunner({ HUDDLE_SIDECARS: HAVE_SIDECAR ? '1' : '0' });
    try {
        assert.ok(run.httpsPort, 'the https URL is printed');
        const ca = fs.readFileSync(path.join(run.dir, 'tls', 'fullchain.pem'));
        assert.equal(fs.statSync(path.join(run.dir, 'tls', 'privkey.pem')).mode & 0o077, 0);
        const httpsUrl = `https://127.0.0.1:${run.httpsPort}`;
        const root = await httpGet(`${httpsUrl}/`, { ca });
        assert.equal(root.status, 302);
        const page = await httpGet(httpsUrl + root.headers.location, { ca });
        assert.equal(page.status, 200);
        assert.match(page.body, /<meta name="huddle-room"/);
        if (HAVE_SIDECAR) {
            const ws = new WebSocket(`wss://127.0.0.1:${run.httpsPort}/ws`, 'huddle.v1', { ca, servername: 'localhost' });
            await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
            ws.close();
        }

        const away = await httpGet(`${run.url}/standup?x=1`, { host: `meet.example.org:${run.port}` });
        assert.equal(away.status, 301);
        assert.equal(away.headers.location, `https://meet.example.org:${run.httpsPort}/standup?x=1`);
        const local = await httpGet(`${run.url}/`, { host: `localhost:${run.port}` });
        assert.equal(local.status, 302);
        assert.match(local.headers.location, /^\/[0-9a-f-]{36}$/);
        const health = await httpGet(`${run.url}/healthz`, { host: 'meet.example.org' });
        assert.equal(health.status, 200);
    } finally {
        await run.stop('SIGTERM', 15000);
    }
});

test('run.sh with HUDDLE_HTTPS_PORT=0 serves plain http only, without a redirect', async () => {
    const run = await startRunner({ HUDDLE_SIDECARS: '0', HUDDLE_HTTPS_PORT: '0' });
    try {
        assert.equal(run.httpsPort, undefined);
        assert.doesNotMatch(run.output, /https:/);
        const r = await httpGet(`${run.url}/`, { host: 'meet.example.org' });
        assert.equal(r.status, 302);
        assert.equal(fs.existsSync(path.join(run.dir, 'tls')), false);
    } finally {
        const kids = descendants(run.pid);
        const { signal } = await run.stop('SIGTERM', 15000);
        killLeft(kids);
        assert.equal(signal, null, 'run.sh did not stop on SIGTERM (SIGKILL after 15 s)');
    }
});

test('run.sh given SIGTERM while it is still starting stops everything it started, at once', async () => {
    // The signal comes the moment nginx listens, while run.sh most likely
    // sleeps before looking again: before, the signal only set a flag, the
    // look found nginx up, and the main loop then waited for good.
    const run = await spawnRunner({ HUDDLE_SIDECARS: '0', HUDDLE_HTTPS_PORT: '0' });
    let kids = [];
    try {
        const deadline = Date.now() + 20000;
        while (!tcpListeners().some((l) => l.port === run.port)) {
            assert.ok(run.running && Date.now() < deadline, `nginx never listened:\n${run.tail()}`);
            await new Promise((resolve) => setTimeout(resolve, 1));
        }
        kids = descendants(run.pid);
        const { code, signal } = await run.stop('SIGTERM', 15000);
        kids = [...kids, ...descendants(run.pid)];
        assert.equal(signal, null, `run.sh did not stop on SIGTERM (SIGKILL after 15 s):\n${run.tail()}`);
        assert.equal(code, 0);
        await nothingLeft(kids);
    } finally {
        await run.stop('SIGKILL');
        killLeft(kids);
    }
});

test('run.sh gives Redis a Unix socket of mode 0700 and no TCP port, and a password: a client without it is refused', async () => {
    if (!HAVE_SIDECAR) return;
    const run = await startRunner({ HUDDLE_SIDECARS: '2' });
    try {
        const conf = fs.readFileSync(path.join(run.dir, 'redis.conf'), 'utf8');
        assert.match(conf, /^port 0$/m);
        const sock = path.join(run.dir, 'redis', 'redis.sock');
        assert.equal(conf.match(/^unixsocket (.+)$/m)[1], sock);
        assert.ok(fs.statSync(sock).isSocket());
        assert.equal(fs.statSync(sock).mode & 0o077, 0);
        const redisPid = descendants(run.pid).find((k) => k.comm === 'redis-server').pid;
        assert.deepEqual(listensOf(redisPid), [], 'Redis listens on no TCP port');
        const sidecarPid = descendants(run.pid).find((k) => k.comm === 'huddle-sidecar').pid;
        assert.equal(`127.0.0.1:${listensOf(sidecarPid)[0]}`, listenOf(sidecarPid), 'listensOf sees a listener');
        const pass = fs.readFileSync(path.join(run.dir, 'redis.pass'), 'utf8');
        assert.match(pass, /^[0-9a-f]{48}$/);
        assert.equal(fs.statSync(path.join(run.dir, 'redis.pass')).mode & 0o077, 0);
        assert.equal(fs.statSync(path.join(run.dir, 'redis.conf')).mode & 0o077, 0);
        assert.match(await redisSay(sock, 'PING\r\n'), /^-NOAUTH/);
        assert.match(await redisSay(sock, 'AUTH wrong-password\r\n'), /^-(WRONGPASS|ERR)/);
        assert.equal(await redisSay(sock, `AUTH ${pass}\r\nPING\r\n`), '+OK');
        // The sidecars got it: both serve, sharing rooms through Redis.
        const room = uniqueRoom('redis');
        const kids = descendants(run.pid).filter((k) => k.comm === 'huddle-sidecar');
        const [a, b] = kids.map((k) => `ws://${listenOf(k.pid)}/ws`);
        const ca = await connect(a, { protocols: ['huddle.v1'] });
        await ca.join(room, 'A');
        const cb = await connect(b, { protocols: ['huddle.v1'] });
        const w = await cb.join(room, 'B');
        assert.deepEqual(w.peers.map((p) => p.name), ['A']);
        ca.terminate();
        cb.terminate();
    } finally {
        await run.stop('SIGTERM', 15000);
    }
});
