// Abuse of huddle-sidecar by clients that stay within each single limit:
// bursts of join/leave churn, signals to a slow reader, the fd limit,
// ping amplification, hostile names and origins. Each case proves the
// attacked members stay connected and still get a chat sent after the
// attack, and that the process keeps serving.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BUILD, Proc, freePort, httpGet, sleep, startSidecar, startStack, stopAll, waitForConnect } from '../lib/stack.mjs';
import { connect, expectAlive, uniqueRoom } from '../lib/wsclient.mjs';

let sc; // defaults
let stack; // nginx, fcgi and two sidecars on Redis
const clients = [];
const started = [];

before(async () => {
    sc = await startSidecar();
    started.push(sc);
    stack = await startStack({ sidecars: 2 });
});

after(async () => {
    for (const c of clients) c.terminate();
    await stopAll(started);
    await stack?.stop();
});

async function client(url = sc.wsUrl, opts) {
    const c = await connect(url, opts);
    clients.push(c);
    return c;
}

/** A masked client text frame holding text (RFC 6455 section 5.2). */
function frame(text, { mask = true, opcode = 1 } = {}) {
    const payload = Buffer.from(text);
    const n = payload.length;
    const head = n < 126 ? Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | n])
        : Buffer.from([0x80 | opcode, (mask ? 0x80 : 0) | 126, n >> 8, n & 255]);
    if (!mask) return Buffer.concat([head, payload]);
    const key = crypto.randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < n; i++) body[i] ^= key[i & 3];
    return Buffer.concat([head, key, body]);
}

/** Members of one fresh room, all joined and all seeing each other. */
async function members(url, n, prefix = 'm') {
    const room = uniqueRoom();
    const out = [];
    for (let i = 0; i < n; i++) {
        const c = await client(url);
        await c.join(room, `${prefix}${i}`);
        out.push(c);
    }
    for (let i = 0; i < n; i++) {
        for (let k = i + 1; k < n; k++) await out[i].next('peer-joined');
    }
    return { room, list: out };
}

/** A chat sent now by the first member arrives at every other member. */
async function chatReachesAll(list, text) {
    await list[0].send({ type: 'chat', text });
    await Promise.all(list.slice(1).map((c) => c.next((m) => m.type === 'chat' && m.text === text, 5000)));
    for (const c of list) assert.equal(c.closeInfo, null, `a member was closed: ${JSON.stringify(c.closeInfo)}`);
}

/**
 * 27 fresh connections each write 5 x (join, leave) of room in one TCP
 * write, all at the same instant.
 */
async function churnBurst(url, room) {
    const conns = [];
    for (let i = 0; i < 27; i++) conns.push(await client(url));
    const msgs = [];
    for (let i = 0; i < 5; i++) {
        msgs.push(frame(JSON.stringify({ type: 'join', room, name: `churn${i}` })));
        msgs.push(frame(JSON.stringify({ type: 'leave' })));
    }
    const burst = Buffer.concat(msgs);
    for (const c of conns) c.socket.write(burst);
    // Every churner got an answer to its last message (welcome, a
    // rate-limited error or peer-left), so the burst has been handled.
    await Promise.all(conns.map((c) => c.next((m) => m.type !== 'pong', 10000).catch(() => {})));
    return conns;
}

test('a burst of join/leave churn from 27 connections gets no member kicked', async () => {
    const { room, list } = await members(sc.wsUrl, 4);
    await churnBurst(sc.wsUrl, room);
    await chatReachesAll(list, 'after the churn');
    // Joins and leaves of one pass cancel out: the members see at most the
    // room's join budget (32) worth of presence, not 270 events.
    const presence = list[1].received.filter((m) => m.type === 'peer-joined' || m.type === 'peer-left');
    assert.ok(presence.length <= 2 * 32 + 10, `presence messages: ${presence.length}`);
    await expectAlive(sc.wsUrl);
});

test('the same churn through nginx and two sidecars on Redis gets no member kicked', async () => {
    const { room, list } = await members(stack.wsUrl, 4);
    await churnBurst(stack.wsUrl, room);
    await chatReachesAll(list, 'after the churn, clustered');
    await expectAlive(stack.wsUrl);
});

test('per-address limits: joins and connections from one X-Forwarded-For address', async () => {
    const s = await startSidecar({
        env: { HUDDLE_ADDRESS_JOIN_BURST: '3', HUDDLE_ADDRESS_JOIN_RATE: '1', HUDDLE_ADDRESS_CONNECTIONS: '4' },
    });
    started.push(s);
    const xff = { headers: { 'X-Forwarded-For': '198.51.100.7, 203.0.113.9' } };
    const cs = [];
    for (let i = 0; i < 4; i++) cs.push(await client(s.wsUrl, xff));
    // The fifth connection from 203.0.113.9 (the last hop) is refused;
    // also with a header too long to copy whole on the stack, once 256
    // bytes (read cut short, it counted as no header: no limits at all).
    await assert.rejects(connect(s.wsUrl, xff), (err) => err.status === 503);
    const long = { headers: { 'X-Forwarded-For': `${'198.51.100.250, '.repeat(40)}203.0.113.9` } };
    assert.ok(long.headers['X-Forwarded-For'].length > 600);
    await assert.rejects(connect(s.wsUrl, long), (err) => err.status === 503);
    // A long header whose last entry is no address counts as the proxy's
    // own address, which has its limits (nothing in it is taken).
    const junk = { headers: { 'X-Forwarded-For': `${'x'.repeat(700)}, not-an-address` } };
    const viaProxy = [];
    for (let i = 0; i < 4; i++) viaProxy.push(await client(s.wsUrl, junk));
    await assert.rejects(connect(s.wsUrl, junk), (err) => err.status === 503);
    // Another address is not affected.
    const other = await client(s.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.10' } });
    await other.join(uniqueRoom(), 'Other');
    // Three joins pass across the address' connections, the fourth is refused.
    for (let i = 0; i < 3; i++) await cs[i].join(uniqueRoom(), `a${i}`);
    await cs[3].send({ type: 'join', room: uniqueRoom(), name: 'a3' });
    const e = await cs[3].next('error');
    assert.equal(e.code, 'rate-limited');
    assert.equal(e.ref, 'join');
    // X-Forwarded-For from an untrusted peer would be ignored; loopback is
    // trusted, so this is the proxy's word. A direct loopback client
    // without the header has no per-address limits.
    await expectAlive(s.wsUrl);
});

/** The value of gauge huddle_sidecar_<name> on sidecar s's /metrics. */
async function gauge(s, name) {
    const { body } = await httpGet(`http://127.0.0.1:${s.port}/metrics`);
    const m = new RegExp(`^huddle_sidecar_${name} (\\d+)$`, 'm').exec(body);
    assert.ok(m, `no ${name} in /metrics`);
    return Number(m[1]);
}

test('upgrades let through to a handshake that fails (no Sec-WebSocket-Key) leave no client address behind', async () => {
    const s = await startSidecar();
    started.push(s);
    // Each from an address of its own, through the loopback proxy: the
    // sidecar counts it when it lets the upgrade through; libwebsockets
    // refuses the handshake after that.
    const refused = [];
    for (let i = 1; i <= 30; i++) {
        refused.push(new Promise((resolve) => {
            const sock = net.connect(s.port, '127.0.0.1', () => sock.write([
                'GET /ws HTTP/1.1', `Host: 127.0.0.1:${s.port}`, 'Upgrade: websocket', 'Connection: Upgrade',
                'Sec-WebSocket-Version: 13', `X-Forwarded-For: 203.0.113.${i}`, '', ''].join('\r\n')));
            sock.on('error', () => {});
            sock.on('close', resolve);
            sock.setTimeout(5000, () => sock.destroy());
        }));
    }
    await Promise.all(refused);
    // One websocket that works, from yet another address, and is closed.
    const c = await client(s.wsUrl, { headers: { 'X-Forwarded-For': '203.0.113.200' } });
    assert.equal(await gauge(s, 'client_addresses'), 1, 'only the open websocket\'s address');
    await c.close();
    for (let i = 0; i < 50 && await gauge(s, 'client_addresses') !== 0; i++) await sleep(100);
    assert.equal(await gauge(s, 'client_addresses'), 0, 'every address let go of');
    await expectAlive(s.wsUrl);
});

test('signals at the allowed rate to a slow reader slow the sender down and close nobody', async () => {
    const { list } = await members(sc.wsUrl, 3, 'sig');
    const [a, b, c] = list;
    a.pause(); // reads nothing for now
    const data = { sdp: 'y'.repeat(48 * 1024 - 20) };
    let refused = 0;
    // The allowed rate: the burst of 200, then 50 a second for 4 s. A
    // sender told to slow down waits a little, as the front end would.
    for (let i = 0; i < 400 && !b.closeInfo; i++) {
        await b.send({ type: 'signal', to: a.id, data });
        if (i >= 200) await new Promise((r) => setTimeout(r, 20));
        const err = b.buffer.findIndex((m) => m.type === 'error');
        if (err >= 0) {
            const [e] = b.buffer.splice(err, 1);
            assert.equal(e.code, 'rate-limited', JSON.stringify(e));
            assert.equal(e.ref, 'signal');
            refused++;
            await new Promise((r) => setTimeout(r, 100));
        }
    }
    assert.ok(refused > 0, 'the sender was never told to slow down');
    a.resume();
    await chatReachesAll([c, a, b], 'after the signals');
    await expectAlive(sc.wsUrl);
});

/** utime + stime of pid, in clock ticks. */
function cpuTicks(pid) {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
}

test('at its fd limit the sidecar refuses new sockets cleanly, without spinning or flooding its log', async () => {
    const port = await freePort();
    const bin = path.join(BUILD, 'sidecar', 'huddle-sidecar');
    const p = new Proc(`sidecar-lowfd:${port}`, 'bash', ['-c', `ulimit -n 256 && exec "${bin}"`], {
        env: { HUDDLE_LISTEN: `127.0.0.1:${port}` },
    });
    try {
        await waitForConnect({ port });
        const url = `ws://127.0.0.1:${port}/ws`;
        const { list } = await members(url, 4, 'fd');
        // Hold 300 raw sockets open (more than the 256 fds): those past
        // the limit must be closed by the server, not left in its backlog.
        const held = [];
        let closedByServer = 0;
        await Promise.all(Array.from({ length: 300 }, () => new Promise((resolve) => {
            const s = net.connect(port, '127.0.0.1');
            held.push(s);
            s.on('error', () => {});
            s.on('close', () => { closedByServer++; });
            s.once('connect', resolve);
            s.once('error', resolve);
        })));
        const logBefore = p.output.length;
        const cpu0 = cpuTicks(p.pid);
        const t0 = Date.now();
        // Keep knocking for 3 s: each attempt must be answered, not queued.
        let refusedCleanly = 0;
        while (Date.now() - t0 < 3000) {
            await connect(url, { timeoutMs: 3000 }).then((c) => { c.terminate(); }, () => { refusedCleanly++; });
        }
        const ticks = cpuTicks(p.pid) - cpu0;
        const secs = (Date.now() - t0) / 1000;
        const logGrowth = p.output.length - logBefore;
        console.log(`fd limit: ${refusedCleanly} refused, ${closedByServer} held sockets closed, `
            + `cpu ${(ticks / 100 / secs * 100).toFixed(0)}%, log +${logGrowth} bytes`);
        assert.ok(refusedCleanly > 0, 'no attempt was refused');
        assert.ok(closedByServer > 0, 'the sockets over the limit were not closed');
        assert.ok(logGrowth < 64 * 1024, `log grew by ${logGrowth} bytes`);
        assert.ok(ticks / 100 < secs * 0.5, `CPU ${ticks} ticks in ${secs} s`);
        for (const s of held) s.destroy();
        await chatReachesAll(list, 'after the fd flood');
        await expectAlive(url);
    } finally {
        await p.stop();
        assert.equal(p.sanitizerReport(), null);
    }
});

test('ping is rate-limited like state, even before join', async () => {
    const c = await client();
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 260 }, (_, i) => c.send({ type: 'ping', t: i })));
    const e = await c.next('error');
    const secs = (Date.now() - t0) / 1000;
    assert.equal(e.code, 'rate-limited');
    assert.equal(e.ref, 'ping');
    // the bucket: 200, then 50 a second for as long as the pings took to arrive
    const pongs = c.received.filter((m) => m.type === 'pong').length;
    assert.ok(pongs <= 200 + Math.ceil(50 * secs), `${pongs} pongs in ${secs} s`);
    assert.ok(pongs < 260);
});

test('a pong is never larger than its ping; raw control characters are bad-json', async () => {
    const c = await client();
    const sizes = [];
    c.ws.on('message', (d) => sizes.push(d.length));
    for (const raw of ['{"type":"ping","t":1E5}', '{"type":"ping","t":"\\u0041\\u0042"}',
        '{"type":"ping","t":[1.0,2.50]}', '{"type":"ping","t":"\\u00e9\\ud83d\\ude00"}']) {
        sizes.length = 0;
        await c.sendRaw(raw);
        const m = await c.next('pong');
        assert.ok(sizes[0] <= Buffer.byteLength(raw), `${raw} answered ${sizes[0]} bytes: ${JSON.stringify(m)}`);
    }
    sizes.length = 0;
    const amp = `{"type":"ping","t":"${'\x01'.repeat(10000)}"}`;
    await c.sendRaw(amp);
    const e = await c.next('error');
    assert.equal(e.code, 'bad-json');
    assert.ok(sizes[0] < 200);
    await c.sendRaw(`{"type":"ping","t":"${'x'.repeat(63)}"}`);
    assert.equal((await c.next('error')).code, 'bad-message');
});

test('reserved room names in any case are no rooms, in the sidecar and in fcgi', async () => {
    const c = await client();
    for (const room of ['HEALTHZ', 'WS', 'Assets', 'Metrics', 'API']) {
        await c.send({ type: 'join', room, name: 'n' });
        const e = await c.next('error');
        assert.equal(e.code, 'invalid-room', room);
    }
    for (const p of ['/HEALTHZ', '/WS', '/Assets', '/Api']) {
        const res = await fetch(`${stack.url}${p}`, { redirect: 'manual' });
        await res.text();
        assert.notEqual(res.status, 200, `${p} answered a room page`);
    }
});

test('names with bidi controls or nothing visible are bad-message', async () => {
    const c = await client();
    for (const name of ['\u202Eevil', 'a\u2066b', '\u200B', ' \u00A0 ', '\uFEFF\u2060']) {
        await c.send({ type: 'join', room: uniqueRoom(), name });
        const e = await c.next('error');
        assert.equal(e.code, 'bad-message', JSON.stringify(name));
    }
    await c.join(uniqueRoom(), 'Zoë 🙂');
});

/** A raw websocket: upgrade by hand, then bytes both ways. */
async function rawSocket(port) {
    const s = net.connect(port, '127.0.0.1');
    await new Promise((r) => s.once('connect', r));
    s.write('GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
        + `Sec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    let buf = Buffer.alloc(0);
    await new Promise((resolve) => {
        const on = (d) => {
            buf = Buffer.concat([buf, d]);
            const i = buf.indexOf('\r\n\r\n');
            if (i >= 0) { s.off('data', on); buf = buf.subarray(i + 4); resolve(); }
        };
        s.on('data', on);
    });
    const chunks = [buf];
    const ended = new Promise((r) => s.on('close', r));
    s.on('data', (d) => chunks.push(d));
    s.on('error', () => {});
    return { s, ended, data: () => Buffer.concat(chunks) };
}

/** The close code of the first close frame in b, or null. */
function closeCode(b) {
    let i = 0;
    while (i + 2 <= b.length) {
        const op = b[i] & 15;
        let n = b[i + 1] & 127;
        let h = 2;
        if (n === 126) { n = b.readUInt16BE(i + 2); h = 4; }
        if (op === 8) return n >= 2 ? b.readUInt16BE(i + h) : 0;
        i += h + n;
    }
    return null;
}

test('RFC 6455: out-of-range close codes are answered 1002, their reason not echoed', async () => {
    for (const code of [999, 1004, 1005, 1006, 1015, 1016, 2999]) {
        const r = await rawSocket(sc.port);
        const p = Buffer.alloc(2 + 9);
        p.writeUInt16BE(code);
        p.write('echo-this', 2);
        r.s.write(frame(p, { opcode: 8 }));
        await Promise.race([r.ended, new Promise((res) => setTimeout(res, 3000))]);
        const back = r.data();
        assert.equal(closeCode(back), 1002, `close ${code} answered ${closeCode(back)}`);
        assert.ok(!back.toString('latin1').includes('echo-this'), `close ${code}: reason echoed`);
        r.s.destroy();
    }
    await expectAlive(sc.wsUrl);
});

/** Open sockets of process pid. */
function socketCount(pid) {
    let n = 0;
    for (const f of fs.readdirSync(`/proc/${pid}/fd`)) {
        try {
            if (fs.readlinkSync(`/proc/${pid}/fd/${f}`).startsWith('socket:')) n++;
        } catch { /* closed meanwhile */ }
    }
    return n;
}

/** Polls cond() every 20 ms until it holds; throws after timeoutMs. */
async function until(cond, what, timeoutMs = 10000) {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
        if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
    }
}

const UPGRADE_START = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n';
const UPGRADE_REST = 'Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
    + `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\n\r\n`;

/**
 * A TCP connection from localAddress that sends the start of an upgrade
 * request and holds. Resolves once connected; s.serverClosed resolves when
 * the other side closes it.
 */
function slowUpgrade(port, localAddress) {
    return new Promise((resolve, reject) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress });
        s.serverClosed = new Promise((r) => s.once('close', r));
        s.once('error', (err) => { if (!s.connecting) return; reject(err); });
        s.on('error', () => {});
        s.once('connect', () => { s.write(UPGRADE_START); resolve(s); });
    });
}

/** Sends the rest of s's upgrade; resolves the status line of the answer. */
function finishUpgrade(s) {
    return new Promise((resolve) => {
        let got = '';
        const on = (d) => {
            got += d.toString('latin1');
            if (got.includes('\r\n')) { s.off('data', on); resolve(got.slice(0, got.indexOf('\r\n'))); }
        };
        s.on('data', on);
        s.once('close', () => resolve(got || 'closed'));
        s.write(UPGRADE_REST);
    });
}

test('slow upgrades from one address cannot take the header slots: a newcomer joins, members chat, fds stay bounded', async () => {
    const cap = 16;
    // A long upgrade deadline: only the per-address cap can keep the
    // header slots free.
    const s = await startSidecar({
        env: { HUDDLE_UPGRADE_TIMEOUT_S: '120', HUDDLE_ADDRESS_PENDING_UPGRADES: String(cap) },
    });
    started.push(s);
    const { room, list } = await members(s.wsUrl, 2, 'slow');
    const base = socketCount(s.pid);
    const held = [];
    try {
        // 1,200 unfinished upgrades from 127.0.0.2 (more than the 1,024
        // header slots), opened 100 at a time.
        for (let i = 0; i < 1200; i += 100) {
            held.push(...await Promise.all(Array.from({ length: 100 }, () => slowUpgrade(s.port, '127.0.0.2'))));
        }
        console.log(`slow upgrades: 1200 open, the sidecar holds ${socketCount(s.pid) - base} more sockets`);
        // A newcomer from 127.0.0.1, queued behind all of them, upgrades,
        // joins and gets its welcome within the usual waits.
        const c = await client(s.wsUrl, { timeoutMs: 10000 });
        const w = await c.join(room, 'newcomer');
        assert.equal(w.peers.length, 2);
        await chatReachesAll([...list, c], 'during the slow upgrades');
        const during = socketCount(s.pid) - base;
        let closedByServer = 0;
        for (const h of held) h.serverClosed.then(() => { closedByServer++; });
        await new Promise((r) => setImmediate(r));
        const refusals = (s.output.match(/unfinished upgrades from there/g) || []).length;
        console.log(`slow upgrades: sidecar holds ${during} more sockets with 1200 slow upgrades open `
            + `(${closedByServer} closed by it so far), ${refusals} refusal log lines`);
        assert.ok(during <= cap + 1 + 8, `the sidecar holds ${during} more sockets`);
        assert.ok(refusals > 0 && refusals < 200, `${refusals} refusal log lines`);
        // The attacker leaves: every count is released, so the same
        // address gets exactly its cap of unfinished upgrades again.
        for (const h of held.splice(0)) h.destroy();
        await until(() => socketCount(s.pid) <= base + 1, 'the sidecar did not close the slow upgrades');
        for (let i = 0; i < cap; i++) held.push(await slowUpgrade(s.port, '127.0.0.2'));
        const over = await slowUpgrade(s.port, '127.0.0.2');
        held.push(over);
        await Promise.race([over.serverClosed, new Promise((_, rej) => setTimeout(
            () => rej(new Error('the upgrade over the cap was not closed')), 10000))]);
        const answers = await Promise.all(held.slice(0, cap).map(finishUpgrade));
        for (const a of answers) assert.match(a, /^HTTP\/1\.1 101/);
        await expectAlive(s.wsUrl);
    } finally {
        for (const h of held) h.destroy();
    }
});

test('documented deviation: an unmasked client frame is parsed like a masked one (lws 4.1.6 hides the mask bit)', async () => {
    // RFC 6455 wants close 1002 here; docs/protocol.md ("Deviations")
    // says why the sidecar cannot. If this starts failing, libwebsockets
    // began enforcing it: update that text.
    const r = await rawSocket(sc.port);
    r.s.write(frame('{"type":"ping","t":7}', { mask: false }));
    await until(() => r.data().includes('"pong"') || r.s.destroyed, 'no answer to the unmasked ping');
    assert.equal(closeCode(r.data()), null);
    assert.match(r.data().toString('latin1'), /"type":"pong"/);
    r.s.destroy();
});
