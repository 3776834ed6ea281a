// Test harness: starts real huddle processes (fcgi, sidecars, nginx,
// redis-server) on free loopback ports, and stops them by PID.
//
//   const stack = await startStack({ sidecars: 1 });
//   ... fetch(stack.url + '/') ...
//   await stack.stop();           // SIGTERM each, then check sanitizer output
//
// Binaries come from $HUDDLE_BUILD_DIR (scripts/test.sh points it at the
// sanitizer build), falling back to build/. Every process started here is
// killed if the test process exits early, so no test leaves one behind.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const BUILD = process.env.HUDDLE_BUILD_DIR || path.join(ROOT, 'build');
export const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');

/** pid's children and theirs (Linux /proc), deepest last; [] when it is gone. */
function descendants(pid) {
    let kids = [];
    try {
        kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch { /* gone, or no such file */ }
    return kids.flatMap((k) => [k, ...descendants(k)]);
}

// A test process that dies without stopping what it started (an uncaught
// error, EPIPE on a closed pipe) takes it along: each process and what it
// forked (nginx's workers, which outlive a killed master and keep its
// port), children first.
const live = new Set();
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]]) process.on(sig, () => process.exit(code));
process.on('exit', () => {
    for (const p of live) {
        for (const pid of [...descendants(p.pid).reverse(), p.pid]) {
            try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
        }
    }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves once cond() (or the promise it returns) is true, checked
 * every 25 ms; throws after timeoutMs with what (a string, or a function
 * giving one then). */
export async function until(cond, what, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (!(await cond())) {
        if (Date.now() > deadline)
            throw new Error(`not seen within ${timeoutMs} ms: ${typeof what === 'function' ? what() : what}`);
        await sleep(25);
    }
}

/** A fresh private directory under the system temp dir. */
export function tmpDir(prefix) {
    return fs.mkdtempSync(path.join(os.tmpdir(), `huddle-${prefix}-`));
}

/** The kernel's ephemeral range [lo, hi]: the source ports of connect(). */
function ephemeralRange() {
    try {
        const [lo, hi] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
        if (lo > 0 && hi >= lo) return [lo, hi];
    } catch { /* not Linux: assume the usual one */ }
    return [32768, 60999];
}

/** True when port binds on 127.0.0.1 now. */
function bindable(port) {
    return new Promise((resolve) => {
        const srv = net.createServer();
        srv.unref();
        srv.once('error', () => resolve(false));
        srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
}

// Ports above 10000 that Chromium refuses to load a page from
// (net::ERR_UNSAFE_PORT; its kRestrictedPorts list): never handed out.
const BROWSER_BLOCKED = new Set([10080]);

/**
 * A TCP port on 127.0.0.1 that was free a moment ago, outside the
 * ephemeral range: a server started on it later cannot find it taken by
 * some process's outgoing connection (its own, to Redis, included).
 */
export async function freePort() {
    const [lo, hi] = ephemeralRange();
    const ranges = [[10000, lo - 1], [hi + 1, 65535]].filter(([a, b]) => b - a > 1000);
    for (let tries = 0; tries < 200; tries++) {
        const [a, b] = ranges[tries % ranges.length];
        const port = a + Math.floor(Math.random() * (b - a));
        if (BROWSER_BLOCKED.has(port)) continue;
        if (await bindable(port)) return port;
    }
    throw new Error('no free port outside the ephemeral range');
}

/** The listening TCP sockets, IPv4 and IPv6, from /proc/net/tcp{,6}: [{ port, inode }]. */
export function tcpListeners() {
    const out = [];
    for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
        let text = '';
        try { text = fs.readFileSync(f, 'utf8'); } catch { continue; } // no IPv6
        for (const line of text.split('\n').slice(1)) {
            const cols = line.trim().split(/\s+/);
            if (cols.length > 9 && cols[3] === '0A') out.push({ port: parseInt(cols[1].split(':').pop(), 16), inode: cols[9] });
        }
    }
    return out;
}

/** True when a TCP socket with local port `port` is listening (/proc/net/tcp{,6}). */
function tcpListening(port) {
    return tcpListeners().some((l) => l.port === port);
}

/**
 * Resolves once something listens on target: a TCP {port} (read from
 * /proc: polling with connect() could be given the very port as its source
 * and connect to itself, holding the port the server is about to bind), or
 * a unix socket path (connected to).
 */
export async function waitForConnect(target, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const ok = typeof target === 'string'
            ? await new Promise((resolve) => {
                const sock = net.connect(target);
                sock.once('connect', () => { sock.destroy(); resolve(true); });
                sock.once('error', () => resolve(false));
            })
            : tcpListening(target.port);
        if (ok) return;
        if (Date.now() > deadline) throw new Error(`nothing listens on ${JSON.stringify(target)}`);
        await sleep(25);
    }
}

/**
 * GET over http or https without keep-alive; resolves {status, headers,
 * body}. path defaults to url's own; host sets the Host header; ca is the
 * PEM to trust and servername the TLS name checked (localhost).
 */
export function httpGet(url, { path: p, host, ca, servername = 'localhost', headers = {}, timeoutMs = 10000 } = {}) {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const target = p ?? u.pathname + u.search;
    return new Promise((resolve, reject) => {
        const req = mod.request({
            host: u.hostname, port: u.port, path: target, method: 'GET', ca, servername,
            headers: { ...(host ? { Host: host } : {}), ...headers }, agent: false,
        }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (c) => { body += c; });
            res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
        });
        req.on('error', reject);
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`GET ${u.origin}${target} timed out`)));
        req.end();
    });
}

const SANITIZER_RE = /ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: UndefinedBehaviorSanitizer/;

/** A child process with its output kept (capped) for assertions. */
export class Proc {
    constructor(name, cmd, args, { env = {}, cwd = ROOT } = {}) {
        this.name = name;
        this.output = '';
        this.child = spawn(cmd, args, {
            cwd,
            env: {
                ...process.env,
                ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:exitcode=23',
                LSAN_OPTIONS: `suppressions=${path.join(ROOT, 'tests', 'lsan.supp')}:print_suppressions=0`,
                UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
                ...env,
            },
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        this.pid = this.child.pid;
        live.add(this);
        const keep = (chunk) => {
            if (this.output.length < 4 << 20) this.output += chunk.toString();
            if (process.env.HUDDLE_TEST_VERBOSE) process.stderr.write(`[${name}] ${chunk}`);
        };
        this.child.stdout.on('data', keep);
        this.child.stderr.on('data', keep);
        this.exited = new Promise((resolve) => {
            this.child.on('exit', (code, signal) => {
                live.delete(this);
                this.exitInfo = { code, signal };
                resolve(this.exitInfo);
            });
        });
    }

    get running() { return this.exitInfo === undefined; }

    /** Sends a signal (by PID) to this process only. */
    signal(sig) {
        if (this.running) process.kill(this.pid, sig);
    }

    /** Resolves with the first match of re in the output (waits for it). */
    async waitForOutput(re, timeoutMs = 10000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
            const m = this.output.match(re);
            if (m) return m;
            if (!this.running) throw new Error(`${this.name} exited before printing ${re}:\n${this.tail()}`);
            if (Date.now() > deadline) throw new Error(`${this.name} did not print ${re}:\n${this.tail()}`);
            await sleep(20);
        }
    }

    /** SIGTERM (or sig); SIGKILL after timeoutMs. Resolves {code, signal, ms}. */
    async stop(sig = 'SIGTERM', timeoutMs = 5000) {
        const t0 = Date.now();
        if (this.running) {
            this.signal(sig);
            const timer = setTimeout(() => this.signal('SIGKILL'), timeoutMs);
            await this.exited;
            clearTimeout(timer);
        }
        return { ...this.exitInfo, ms: Date.now() - t0 };
    }

    /** The sanitizer report in the output, or null when there is none. */
    sanitizerReport() {
        const i = this.output.search(SANITIZER_RE);
        return i < 0 ? null : this.output.slice(Math.max(0, i - 200), i + 4000);
    }

    tail(n = 3000) { return this.output.slice(-n); }
}

function bin(name) {
    const p = path.join(BUILD, name.replace('huddle-', ''), name);
    if (!fs.existsSync(p)) throw new Error(`${p} is missing: run make (or make asan)`);
    return p;
}

/** huddle-fcgi on a unix socket (default) or a TCP address. */
export async function startFcgi({ listen, env = {}, dir = tmpDir('fcgi') } = {}) {
    listen ??= path.join(dir, 'fcgi.sock');
    const proc = new Proc('fcgi', bin('huddle-fcgi'), [], {
        env: { HUDDLE_FCGI_LISTEN: listen, HUDDLE_VIEWS_DIR: path.join(ROOT, 'views'), ...env },
    });
    const target = listen.startsWith('/') ? listen
        : { host: listen.split(':')[0], port: Number(listen.split(':')[1]) };
    await Promise.race([waitForConnect(target), proc.exited.then(() => {
        throw new Error(`huddle-fcgi exited at start:\n${proc.tail()}`);
    })]);
    proc.listen = listen;
    proc.nginxAddr = listen.startsWith('/') ? `unix:${listen}` : listen;
    return proc;
}

/** huddle-sidecar on 127.0.0.1:<free port>; resolves once /healthz answers. */
export async function startSidecar({ port, env = {} } = {}) {
    port ??= await freePort();
    const proc = new Proc(`sidecar:${port}`, bin('huddle-sidecar'), [], {
        env: { HUDDLE_LISTEN: `127.0.0.1:${port}`, ...env },
    });
    await Promise.race([waitForConnect({ port }), proc.exited.then(() => {
        throw new Error(`huddle-sidecar exited at start:\n${proc.tail()}`);
    })]);
    proc.port = port;
    proc.addr = `127.0.0.1:${port}`;
    proc.wsUrl = `ws://127.0.0.1:${port}/ws`;
    return proc;
}

/**
 * A private redis-server on a free port, no persistence. With unix, it also
 * listens on a Unix socket in its directory, and url names that socket.
 */
export async function startRedis({ port, args = [], unix = false } = {}) {
    port ??= await freePort();
    const dir = tmpDir('redis');
    const sock = path.join(dir, 'redis.sock');
    const proc = new Proc(`redis:${port}`, 'redis-server', [
        '--port', String(port), '--bind', '127.0.0.1', '--save', '',
        '--appendonly', 'no', '--dir', dir, '--daemonize', 'no',
        ...(unix ? ['--unixsocket', sock, '--unixsocketperm', '700'] : []), ...args,
    ]);
    await waitForConnect({ port });
    if (unix) await waitForConnect(sock); // opened after the TCP port
    proc.port = port;
    proc.sock = unix ? sock : null;
    proc.url = unix ? `unix://${sock}` : `redis://127.0.0.1:${port}`;
    return proc;
}

/**
 * n sidecars with env, named `${prefix}1`.. (HUDDLE_NODE_ID), sharing a
 * redis-server of their own when n > 1. Resolves { sidecars, redis (null
 * for one sidecar), procs: everything started, Redis first, for stopAll }.
 */
export async function startSidecars(n, env = {}, prefix = 'node') {
    const redis = n > 1 ? await startRedis() : null;
    const common = redis ? { ...env, HUDDLE_REDIS_URL: redis.url } : env;
    const sidecars = [];
    for (let i = 0; i < n; i++) {
        sidecars.push(await startSidecar({ env: { ...common, HUDDLE_NODE_ID: `${prefix}${i + 1}` } }));
    }
    return { sidecars, redis, procs: redis ? [redis, ...sidecars] : sidecars };
}

/** nginx with the config rendered by scripts/render-nginx.sh. */
export async function startNginx({ port, fcgiAddr, sidecarAddrs = [], env = {} } = {}) {
    port ??= await freePort();
    const dir = tmpDir('nginx');
    const renderEnv = {
        ...process.env,
        NGINX_LISTEN: `127.0.0.1:${port}`,
        FCGI_ADDR: fcgiAddr,
        SIDECAR_ADDRS: sidecarAddrs.join(' '),
        PUBLIC_DIR: path.join(ROOT, 'public'),
        ...env,
    };
    const r = spawnSync(path.join(ROOT, 'scripts', 'render-nginx.sh'), [dir], { env: renderEnv, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`render-nginx.sh failed: ${r.stderr}`);
    const proc = new Proc(`nginx:${port}`, 'nginx', ['-e', 'stderr', '-p', dir, '-c', path.join(dir, 'nginx.conf')]);
    await Promise.race([waitForConnect({ port }), proc.exited.then(() => {
        throw new Error(`nginx exited at start:\n${proc.tail()}`);
    })]);
    proc.port = port;
    proc.url = `http://127.0.0.1:${port}`;
    proc.dir = dir;
    return proc;
}

/**
 * The whole of huddle behind one nginx: fcgi, `sidecars` sidecars, and a
 * redis-server when redis is true (or sidecars > 1). nginxEnv goes to
 * scripts/render-nginx.sh (e.g. { NGINX_WORKERS: '1' }). Returns
 * { url, wsUrl, nginx, fcgi, sidecars, redis, stop() }.
 */
export async function startStack({ sidecars = 1, redis, sidecarEnv = {}, fcgiEnv = {}, nginxEnv = {} } = {}) {
    const started = [];
    try {
        redis ??= sidecars > 1;
        const r = redis ? await startRedis() : null;
        if (r) started.push(r);
        const fcgi = await startFcgi({ env: fcgiEnv });
        started.push(fcgi);
        const scs = [];
        for (let i = 0; i < sidecars; i++) {
            const env = { HUDDLE_NODE_ID: `node${i + 1}`, ...sidecarEnv };
            if (r) env.HUDDLE_REDIS_URL = r.url;
            const s = await startSidecar({ env });
            started.push(s);
            scs.push(s);
        }
        const nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr, sidecarAddrs: scs.map((s) => s.addr), env: nginxEnv });
        started.push(nginx);
        return {
            url: nginx.url,
            wsUrl: `ws://127.0.0.1:${nginx.port}/ws`,
            nginx, fcgi, sidecars: scs, redis: r,
            stop: () => stopAll(started),
        };
    } catch (err) {
        await stopAll(started);
        throw err;
    }
}

/** Stops processes in reverse order; throws if any left a sanitizer report. */
export async function stopAll(procs) {
    const reports = [];
    for (const p of [...procs].reverse()) {
        await p.stop();
        const rep = p.sanitizerReport();
        if (rep) reports.push(`${p.name}:\n${rep}`);
    }
    if (reports.length) throw new Error(`sanitizer reports:\n${reports.join('\n')}`);
}
