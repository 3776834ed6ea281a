// The HTTP side of huddle-sidecar: the Origin allow-list on the upgrade
// (docs/design.md, "Security"), subprotocol selection, /healthz, shutdown on
// SIGTERM, /ws through the real nginx config, and the settings that stop
// start-up (docs/config.md).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BUILD, ROOT, freePort, startRedis, startSidecar, startStack, stopAll } from '../lib/stack.mjs';
import { connect, expectAlive, rawUpgrade, uniqueRoom } from '../lib/wsclient.mjs';

let sc; // no HUDDLE_ALLOWED_ORIGINS, no HUDDLE_PUBLIC_HOST: local origins only
let listed; // an explicit allow-list
let pub; // HUDDLE_PUBLIC_HOST=meet.example.org
const ALLOWED = 'https://meet.example.org,http://localhost:8080';
const clients = [];

before(async () => {
    sc = await startSidecar();
    listed = await startSidecar({ env: { HUDDLE_ALLOWED_ORIGINS: ALLOWED } });
    pub = await startSidecar({ env: { HUDDLE_PUBLIC_HOST: 'meet.example.org' } });
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll([sc, listed, pub]);
});

async function client(url, opts) {
    const c = await connect(url, opts);
    clients.push(c);
    return c;
}

async function expectStatus(url, opts, status) {
    await assert.rejects(connect(url, opts), (err) => {
        assert.equal(err.status, status, `origin ${opts.origin}: ${err.message}`);
        return true;
    });
}

test('without an allow-list, a local Origin passes and others get 403, whatever the Host', async () => {
    for (const origin of [`http://127.0.0.1:${sc.port}`, `http://localhost:${sc.port}`, 'http://127.0.0.1',
        `https://[::1]:${sc.port}`]) {
        const c = await client(sc.wsUrl, { origin });
        await c.join(uniqueRoom(), 'Ann');
    }
    // DNS rebinding: a page of evil.example resolved to us sends its own
    // name as both Host and Origin.
    await expectStatus(sc.wsUrl, { origin: 'http://evil.example', headers: { Host: 'evil.example' } }, 403);
    for (const origin of [
        'http://evil.example',
        `http://127.0.0.1:${sc.port}.evil.example`,
        `http://evil.example/http://127.0.0.1:${sc.port}`,
        'null',
    ]) {
        await expectStatus(sc.wsUrl, { origin }, 403);
    }
    await expectAlive(sc.wsUrl);
});

test('with HUDDLE_PUBLIC_HOST its origins pass besides local ones, nothing else', async () => {
    for (const origin of ['https://meet.example.org', 'https://MEET.example.org:8443', 'http://localhost:8080']) {
        const c = await client(pub.wsUrl, { origin });
        await c.join(uniqueRoom(), 'Ann');
    }
    for (const origin of ['https://evil.example', 'https://meet.example.org.evil.example', 'https://xmeet.example.org']) {
        await expectStatus(pub.wsUrl, { origin, headers: { Host: 'evil.example' } }, 403);
    }
    await expectAlive(pub.wsUrl);
});

test('an IPv6 HUDDLE_PUBLIC_HOST, bare or in brackets, however written, lets its origins pass', async () => {
    for (const host of ['2001:db8::7', '[2001:db8::7]', '2001:0DB8:0:0::7']) {
        const v6 = await startSidecar({ env: { HUDDLE_PUBLIC_HOST: host } });
        try {
            for (const origin of ['https://[2001:db8::7]', 'http://[2001:DB8::7]:8443']) {
                const c = await client(v6.wsUrl, { origin });
                await c.join(uniqueRoom(), 'Ann');
            }
            for (const origin of ['https://[2001:db8::8]', 'https://2001:db8::7', 'https://[2001:db8::7]x']) {
                await expectStatus(v6.wsUrl, { origin }, 403);
            }
        } finally {
            await stopAll([v6]);
        }
    }
});

test('a request with no Origin (not a browser) is allowed', async () => {
    const c = await client(sc.wsUrl);
    const w = await c.join(uniqueRoom(), 'Bot');
    assert.equal(typeof w.id, 'string');
    // No STUN/TURN configured: iceServers is still an array, without credentials.
    assert.ok(Array.isArray(w.iceServers), JSON.stringify(w));
    for (const s of w.iceServers) assert.equal(s.credential, undefined);
    const d = await client(listed.wsUrl);
    await d.join(uniqueRoom(), 'Bot');
});

test('with HUDDLE_ALLOWED_ORIGINS only the listed origins pass, exactly', async () => {
    for (const origin of ALLOWED.split(',')) {
        const c = await client(listed.wsUrl, { origin });
        await c.join(uniqueRoom(), 'Ann');
    }
    for (const origin of [
        `http://127.0.0.1:${listed.port}`,
        'http://meet.example.org',
        'https://meet.example.org:8443',
        'https://meet.example.org.evil.example',
        'https://evil-meet.example.org',
        'http://localhost:8081',
        'http://localhost',
        'https://meet.example.org,http://localhost:8080',
    ]) {
        await expectStatus(listed.wsUrl, { origin }, 403);
    }
    await expectAlive(listed.wsUrl);
});

test('subprotocol huddle.v1 is selected when offered, none when not offered', async () => {
    const a = await client(sc.wsUrl, { protocols: ['huddle.v1'] });
    assert.equal(a.protocol, 'huddle.v1');
    await a.join(uniqueRoom(), 'Ann');
    const b = await client(sc.wsUrl, { protocols: ['other.v9', 'huddle.v1'] });
    assert.equal(b.protocol, 'huddle.v1');
    const c = await client(sc.wsUrl);
    assert.equal(c.protocol, '');
    await c.join(uniqueRoom(), 'Cid');
    const r2 = await rawUpgrade(sc.wsUrl, { 'Sec-WebSocket-Protocol': 'huddle.v1' });
    r2.socket.destroy();
    assert.equal(r2.status, 101);
    assert.equal(r2.headers['sec-websocket-protocol'], 'huddle.v1');
    const r3 = await rawUpgrade(sc.wsUrl);
    r3.socket.destroy();
    assert.equal(r3.status, 101);
    assert.equal(r3.headers['sec-websocket-protocol'], undefined);
});

test('GET /healthz answers 200', async () => {
    const res = await fetch(`http://127.0.0.1:${sc.port}/healthz`);
    assert.equal(res.status, 200);
    await res.arrayBuffer();
});

test('a websocket upgrade on another path than /ws is refused', async () => {
    const u = sc.wsUrl.replace(/\/ws$/, '/other');
    await expectStatus(u, {}, 404);
    await expectStatus(sc.wsUrl.replace(/\/ws$/, '/ws/x'), {}, 404);
    await expectAlive(sc.wsUrl);
});

test('HUDDLE_MAX_CONNECTIONS caps open websockets; a freed slot is usable again', async () => {
    const s = await startSidecar({ env: { HUDDLE_MAX_CONNECTIONS: '2' } });
    try {
        const a = await client(s.wsUrl);
        const b = await client(s.wsUrl);
        await assert.rejects(connect(s.wsUrl), (err) => {
            assert.ok(err.status >= 500 && err.status < 600, `over the cap: ${err.message}`);
            return true;
        });
        await a.close(1000);
        const c = await client(s.wsUrl);
        await c.join(uniqueRoom(), 'Cid');
        b.terminate();
        c.terminate();
    } finally {
        await stopAll([s]);
    }
});

test('SIGTERM drains: every client, joined or not, gets 1012 service restart and the process exits 0 before the SIGKILL deadline', async () => {
    const s = await startSidecar();
    try {
        const room = uniqueRoom();
        const a = await client(s.wsUrl);
        const b = await client(s.wsUrl);
        const idle = await client(s.wsUrl);
        await a.join(room, 'Ann');
        await b.join(room, 'Bob');
        const r = await s.stop('SIGTERM', 5000);
        for (const c of [a, b, idle]) assert.deepEqual(await c.closed(), { code: 1012, reason: 'service restart' });
        assert.equal(r.code, 0, `exit ${JSON.stringify(r)}\n${s.tail()}`);
    } finally {
        await stopAll([s]);
    }
});

test('/ws works through the real nginx config, with the browser Origin of the page', async () => {
    const stack = await startStack({ sidecars: 1 });
    try {
        const room = uniqueRoom();
        const a = await client(stack.wsUrl, { origin: stack.url, protocols: ['huddle.v1'] });
        const b = await client(stack.wsUrl, { origin: stack.url, protocols: ['huddle.v1'] });
        assert.equal(a.protocol, 'huddle.v1');
        const wa = await a.join(room, 'Ann');
        const wb = await b.join(room, 'Bob');
        assert.deepEqual(wb.peers.map((p) => p.id), [wa.id]);
        await a.next('peer-joined');
        const data = { sdp: 'z'.repeat(40000) };
        await b.send({ type: 'signal', to: wa.id, data });
        assert.deepEqual((await a.next('signal')).data, data);
        await a.send({ type: 'chat', text: 'via nginx' });
        assert.equal((await b.next('chat')).text, 'via nginx');
        await expectStatus(stack.wsUrl, { origin: 'http://evil.example' }, 403);
        // docs/protocol.md: "a connection that offers none, or only
        // others, is v1 with no subprotocol selected". The bare sidecar
        // cannot (lws 4.1.6 refuses such an upgrade; docs/protocol.md
        // "Deviations"); /ws through nginx must.
        const host = { Host: `127.0.0.1:${stack.nginx.port}` };
        for (const [offer, want] of [
            ['chat, superchat', undefined],
            ['other.v9, huddle.v1', 'huddle.v1'],
            ['huddle.v1', 'huddle.v1'],
            [undefined, undefined],
        ]) {
            const r = await rawUpgrade(stack.wsUrl, offer ? { ...host, 'Sec-WebSocket-Protocol': offer } : host);
            r.socket.destroy();
            assert.equal(r.status, 101, `offer ${offer}`);
            assert.equal(r.headers['sec-websocket-protocol'], want, `offer ${offer}`);
        }
        const o = await client(stack.wsUrl, { origin: stack.url, protocols: ['chat'] }).catch((e) => e);
        // ws (like a browser) fails a connection whose offer got no answer;
        // what matters is that the server accepted it (101 above).
        assert.ok(o instanceof Error && /subprotocol/i.test(o.message), String(o));
        a.terminate();
        b.terminate();
    } finally {
        await stack.stop();
    }
});

/** Runs the sidecar with env added; its exit status and stderr. */
function runSidecar(env) {
    const r = spawnSync(path.join(BUILD, 'sidecar', 'huddle-sidecar'), [], {
        env: { ...process.env, HUDDLE_LISTEN: '127.0.0.1:1', ...env },
        encoding: 'utf8', timeout: 10000,
    });
    return { status: r.status, stderr: r.stderr };
}

/** runSidecar without blocking this process (a server of ours must answer meanwhile); killed after 10 s. */
async function runSidecarAsync(env) {
    const child = spawn(path.join(BUILD, 'sidecar', 'huddle-sidecar'), [], { env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
    const [status] = await once(child, 'exit');
    clearTimeout(timer);
    return { status, stderr };
}

test('a bad setting stops start-up with exit 2 and a line that names it: HUDDLE_LWS_LOG like the rest', () => {
    const cases = [
        [{ HUDDLE_LWS_LOG: 'debug' }, /HUDDLE_LWS_LOG=debug: want a whole number from 0 to 65535/],
        [{ HUDDLE_LWS_LOG: '65536' }, /HUDDLE_LWS_LOG=65536/],
        [{ HUDDLE_LWS_LOG: '-1' }, /HUDDLE_LWS_LOG=-1/],
        [{ HUDDLE_MAX_PEERS: '0' }, /HUDDLE_MAX_PEERS=0/],
        // after the TURN set-up: under ASan (make test) a leak would exit 23, not 2
        [{ HUDDLE_TURN_URLS: 'turn:turn.example.org:3478', HUDDLE_TURN_SECRET: 'x'.repeat(32), HUDDLE_TRUSTED_PROXIES: 'nonsense' },
            /HUDDLE_TRUSTED_PROXIES=nonsense: want addresses or networks/],
        [{ HUDDLE_REDIS_URL: 'redis://127.0.0.1:1', HUDDLE_REDIS_HEARTBEAT_MS: '5000', HUDDLE_REDIS_NODE_TTL_MS: '5000' },
            /HUDDLE_REDIS_HEARTBEAT_MS=5000: want less than HUDDLE_REDIS_NODE_TTL_MS/],
        [{ HUDDLE_REDIS_URL: 'redis://127.0.0.1:1', HUDDLE_REDIS_BACKOFF_MIN_MS: '200', HUDDLE_REDIS_BACKOFF_MAX_MS: '100' },
            /HUDDLE_REDIS_BACKOFF_MAX_MS=100: want at least HUDDLE_REDIS_BACKOFF_MIN_MS/],
        [{ HUDDLE_STUN_URLS: 'stun.example.org:3478' }, /HUDDLE_STUN_URLS or HUDDLE_TURN_URLS: want stun:\/stuns: URLs \(and turn:\/turns: in the TURN list\)/],
        [{ HUDDLE_TURN_URLS: 'turn.example.org:3478', HUDDLE_TURN_SECRET: 'x'.repeat(32) }, /HUDDLE_STUN_URLS or HUDDLE_TURN_URLS: want/],
        // the URL is not echoed: it may hold the password
        [{ HUDDLE_REDIS_URL: 'redis://:secret@127.0.0.1' }, /HUDDLE_REDIS_URL: want redis:\/\/\[:password@\]host:port/],
        [{ HUDDLE_REDIS_URL: 'redis://127.0.0.1:1', HUDDLE_NODE_ID: 'node one' }, /HUDDLE_NODE_ID=node one: want 1\.\.64 of/],
    ];
    for (const [env, line] of cases) {
        const r = runSidecar(env);
        assert.equal(r.status, 2, JSON.stringify(env));
        assert.match(r.stderr, line);
        assert.doesNotMatch(r.stderr, /secret/);
    }
});

test('HUDDLE_ALLOWED_ORIGINS must be origins as browsers send them: a bare host, "*", a path or a default port stops start-up; an app\'s scheme and IPv6 pass', () => {
    for (const bad of ['meet.example.org', '*', 'https://meet.example.org/meet', 'https://', 'https://ok.example,meet.example.org',
        'https://meet.example.org:443', 'http://[::1', 'http://h:', 'http://h:99999', 'http://h:080',
        'http://user@h', 'http://h?x', 'http://[1.2.3.4]', 'http://h.example//']) {
        const r = runSidecar({ HUDDLE_ALLOWED_ORIGINS: bad });
        assert.equal(r.status, 2, bad);
        assert.match(r.stderr, /HUDDLE_ALLOWED_ORIGINS=.*: want origins as browsers send them/, bad);
    }
    // Taken (start-up goes on to the next setting, a bad one here).
    const good = 'capacitor://localhost, http://[::1]:8080/ HTTPS://Meet.Example.org,https://meet.example.org:8443';
    const r = runSidecar({ HUDDLE_ALLOWED_ORIGINS: good, HUDDLE_TRUSTED_PROXIES: 'nonsense' });
    assert.equal(r.status, 2);
    assert.doesNotMatch(r.stderr, /HUDDLE_ALLOWED_ORIGINS/);
    assert.match(r.stderr, /HUDDLE_TRUSTED_PROXIES=nonsense/);
});

test('a HUDDLE_LISTEN it cannot bind (port taken, address not this machine\'s) stops it with a line that names it, with Redis too', async () => {
    const port = await freePort();
    const taken = net.createServer().listen(port, '127.0.0.1');
    await once(taken, 'listening');
    const redis = await startRedis();
    try {
        const cases = [
            [{ HUDDLE_LISTEN: `127.0.0.1:${port}` }, /cannot listen there: Address already in use/],
            // (unless this machine lets one bind any address)
            ...(fs.readFileSync('/proc/sys/net/ipv4/ip_nonlocal_bind', 'utf8').trim() === '0'
                ? [[{ HUDDLE_LISTEN: '192.0.2.1:8081' }, /cannot listen there: Cannot assign requested address/]] : []),
            // with Redis the port opens once the bus is up, inside its callback
            [{ HUDDLE_LISTEN: `127.0.0.1:${port}`, HUDDLE_REDIS_URL: redis.url }, /cannot listen there: Address already in use/],
        ];
        for (const [env, why] of cases) {
            const r = await runSidecarAsync(env);
            assert.equal(r.status, 1, `${JSON.stringify(env)}: ${r.stderr}`);
            assert.match(r.stderr, new RegExp(`HUDDLE_LISTEN=${env.HUDDLE_LISTEN.replace(/\./g, '\\.')}: ${why.source}`));
            assert.doesNotMatch(r.stderr, /listening on/);
        }
    } finally {
        taken.close();
        await stopAll([redis]);
    }
});

test('HUDDLE_LISTEN takes host:port by the common rules and refuses the rest', async () => {
    for (const bad of ['127.0.0.1', '127.0.0.1:0', '127.0.0.1:08081', '::1:8081', 'a b:80', '127.0.0.1:65536']) {
        const r = runSidecar({ HUDDLE_LISTEN: bad });
        assert.notEqual(r.status, 0, bad);
        assert.match(r.stderr, /HUDDLE_LISTEN=.*want host:port/, bad);
    }
    // checked at start-up, before any wait for Redis (none answers here)
    const port0 = await freePort();
    const r = runSidecar({ HUDDLE_LISTEN: '127.0.0.1', HUDDLE_REDIS_URL: `redis://127.0.0.1:${port0}` });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /HUDDLE_LISTEN=127\.0\.0\.1: want host:port/);
    assert.doesNotMatch(r.stderr, /connecting to redis/);
    const port = await freePort();
    const local = await startSidecar({ port, env: { HUDDLE_LISTEN: `localhost:${port}` } });
    try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        assert.equal(res.status, 200);
    } finally {
        await stopAll([local]);
    }
});

test('the effective configuration is logged at start: every setting of the table, the last ones too', async () => {
    // The integer settings, as sidecar/main.c's table names them.
    const names = [...fs.readFileSync(path.join(ROOT, 'sidecar/main.c'), 'utf8').matchAll(/\{"(HUDDLE_[A-Z0-9_]+)",/g)].map((m) => m[1]);
    assert.ok(names.length > 50, `${names.length} settings`);
    const s = await startSidecar({ env: { HUDDLE_LOBBY_MAX: '7', HUDDLE_MAX_PEERS: '6' } });
    try {
        // The sidecar wrote its lines before it listened, but this process
        // may read them from the pipe after it found the port open.
        const configLines = () => s.output.split('\n').filter((l) => / config HUDDLE_[A-Z_]+=\d/.test(l)).join(' ');
        const last = names[names.length - 1];
        for (let i = 0; i < 50 && !configLines().includes(`${last}=`); i++) await new Promise((r) => setTimeout(r, 100));
        const logged = configLines();
        const missing = names.filter((n) => !new RegExp(`\\b${n}=\\d+\\b`).test(logged));
        assert.deepEqual(missing, []);
        assert.match(logged, /\bHUDDLE_LOBBY_MAX=7\b/);
        assert.match(logged, /\bHUDDLE_MAX_PEERS=6\b/);
        // Each line stays well under the log's own cap.
        for (const l of s.output.split('\n')) assert.ok(l.length < 700, `a log line of ${l.length} bytes`);
    } finally {
        await stopAll([s]);
    }
});
