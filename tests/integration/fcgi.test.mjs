// Room pages through a real nginx (config from scripts/render-nginx.sh and
// nginx/huddle-locations.conf) and a real huddle-fcgi (the sanitizer build
// under make test): redirects, room page and headers, hostile paths, 404,
// 405, HEAD, static assets, parallel requests, and clean exit on signals.
// Then huddle-fcgi alone with a FastCGI client of the test's own: requests
// in turn on one connection, bytes in small pieces, a second request while
// one is active, FCGI_GET_VALUES, malformed records, no FCGI_KEEP_CONN,
// silent connections, and a client that does not read its answers.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BUILD, ROOT, freePort, startFcgi, startNginx, stopAll } from '../lib/stack.mjs';

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    + "media-src 'self' blob: mediastream:; connect-src 'self'; font-src 'self'; manifest-src 'self'; "
    + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
const SECURITY = {
    'content-security-policy': CSP,
    'permissions-policy': 'camera=(self), microphone=(self), display-capture=(self), fullscreen=(self)',
    'referrer-policy': 'no-referrer',
    'x-content-type-options': 'nosniff',
};
const UUID_V4 = /^\/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function assertSecurityHeaders(res) {
    for (const [k, v] of Object.entries(SECURITY)) assert.equal(res.headers.get(k), v, k);
}

/** The content of <meta name="huddle-room" content="..."> in html. */
function metaRoom(html) {
    const m = html.match(/<meta name="huddle-room" content="([^"]*)">/);
    return m ? m[1] : null;
}

/** Sends raw request bytes, resolves with the status code of the answer. */
function rawStatus(port, head) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        let data = Buffer.alloc(0);
        sock.on('data', (d) => { data = Buffer.concat([data, d]); });
        sock.on('error', reject);
        sock.on('close', () => {
            const m = data.toString('latin1').match(/^HTTP\/1\.1 (\d{3})/);
            m ? resolve(Number(m[1])) : reject(new Error(`no status line: ${data.toString('latin1').slice(0, 200)}`));
        });
        // write, not end: nginx takes a half-closed client for one that left (499).
        sock.write(Buffer.concat([Buffer.from('GET ', 'latin1'), head,
            Buffer.from(' HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n', 'latin1')]));
    });
}

/** Runs fn over items with at most n in flight. */
async function pool(items, n, fn) {
    const out = new Array(items.length);
    let next = 0;
    await Promise.all(Array.from({ length: n }, async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i], i);
        }
    }));
    return out;
}

/** One FastCGI record. */
function record(type, id, content = Buffer.alloc(0)) {
    const h = Buffer.from([1, type, id >> 8, id & 255, content.length >> 8, content.length & 255, 0, 0]);
    return Buffer.concat([h, content]);
}
const pair = (n, v) => Buffer.concat([Buffer.from([n.length, v.length]), Buffer.from(n), Buffer.from(v)]);
const beginRequest = (id, keep = 1, role = 1) => record(1, id, Buffer.from([0, role, keep, 0, 0, 0, 0, 0]));

/** A whole GET as nginx sends it: BEGIN_REQUEST, PARAMS, empty PARAMS,
 * empty STDIN. */
function fcgiGet(id, uri, keep = 1) {
    const params = Buffer.concat([pair('REQUEST_METHOD', 'GET'), pair('REQUEST_URI', uri)]);
    return Buffer.concat([beginRequest(id, keep), record(4, id, params), record(4, id), record(5, id)]);
}

/** A FastCGI connection to huddle-fcgi: records() resolves with the
 * records received once until(records) holds, or when the server closes
 * (then closed is true). */
async function fcgiConnect(listen) {
    const sock = net.connect(listen);
    await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    let buf = Buffer.alloc(0);
    const got = [];
    const waiters = [];
    const conn = {
        sock,
        closed: false,
        records(until) {
            return new Promise((resolve) => { waiters.push({ until, resolve }); settle(); });
        },
    };
    function settle() {
        for (const w of [...waiters]) {
            if (conn.closed || w.until(got)) {
                waiters.splice(waiters.indexOf(w), 1);
                w.resolve(got);
            }
        }
    }
    sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 8 && buf.length >= 8 + buf.readUInt16BE(4) + buf[6]) {
            const len = buf.readUInt16BE(4);
            got.push({ type: buf[1], id: buf.readUInt16BE(2), content: buf.subarray(8, 8 + len) });
            buf = buf.subarray(8 + len + buf[6]);
        }
        settle();
    });
    sock.on('close', () => { conn.closed = true; settle(); });
    sock.on('error', () => {});
    return conn;
}

const ends = (n) => (recs) => recs.filter((r) => r.type === 3).length >= n;

/** The answers in recs, per END_REQUEST: { id, status, stdout }. */
function answers(recs) {
    const out = [];
    let stdout = [];
    for (const r of recs) {
        if (r.type === 6) stdout.push(r.content);
        if (r.type === 3) {
            out.push({ id: r.id, status: r.content[4], stdout: Buffer.concat(stdout).toString() });
            stdout = [];
        }
    }
    return out;
}

describe('nginx + huddle-fcgi', () => {
    let fcgi;
    let nginx;
    let url;

    before(async () => {
        fcgi = await startFcgi();
        nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr });
        url = nginx.url;
    });

    after(async () => {
        await stopAll([fcgi, nginx].filter(Boolean));
    });

    test('1,000 redirects from / give 1,000 distinct valid v4 room ids', async () => {
        const locs = await pool(Array.from({ length: 1000 }), 50, async () => {
            const res = await fetch(`${url}/`, { redirect: 'manual' });
            assert.equal(res.status, 302);
            assert.equal(res.headers.get('cache-control'), 'no-store');
            await res.arrayBuffer();
            return res.headers.get('location');
        });
        for (const l of locs) assert.match(l, UUID_V4);
        assert.equal(new Set(locs).size, 1000);
    });

    test('room page carries the room id and every security header, and is no-store', async () => {
        const res = await fetch(`${url}/Team-standup_9`);
        assert.equal(res.status, 200);
        assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
        assert.equal(res.headers.get('cache-control'), 'no-store');
        assertSecurityHeaders(res);
        const html = await res.text();
        assert.match(html, /^<!doctype html>/i);
        assert.equal(metaRoom(html), 'Team-standup_9');
    });

    test('room page ignores the query string and never reflects it', async () => {
        const res = await fetch(`${url}/abc?x=%22%3E%3Cscript%3E&y="><b>`);
        assert.equal(res.status, 200);
        const html = await res.text();
        assert.equal(metaRoom(html), 'abc');
        assert.ok(!html.includes('<script>') && !html.includes('"><b>'));
    });

    test('a room link with a trailing slash is sent on to the room, its query kept', async () => {
        const r = await fetch(`${url}/team-standup/?t=a.b.c`, { redirect: 'manual' });
        assert.equal(r.status, 301);
        assert.equal(r.headers.get('location'), '/team-standup?t=a.b.c');
        assertSecurityHeaders(r);
        const followed = await fetch(`${url}/team-standup/`);
        assert.equal(followed.status, 200);
        assert.equal(metaRoom(await followed.text()), 'team-standup');
        for (const p of ['/team-standup//', '/team-standup/x', '/healthz/', '/ws/']) {
            assert.equal((await fetch(`${url}${p}`, { redirect: 'manual' })).status, 404, p);
        }
    });

    test('healthz answers 200', async () => {
        const res = await fetch(`${url}/healthz`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), 'ok\n');
    });

    test('hostile paths get 400 or 404 and the server lives on', async () => {
        const cases = [
            ['/%00', [400, 404]],
            ['/abc%00def', [400, 404]],
            ['/../etc/passwd', [400, 404]],
            ['/%2e%2e/%2e%2e/etc/passwd', [400, 404]],
            ['/..%2f..%2fetc%2fpasswd', [400, 404]],
            ['/abc/../healthz/..', [400, 404, 200]],
            ['/%61bc', [400, 404]],
            ['/\xff\xfe\xfd', [400, 404]],
            ['/caf\xc3\xa9', [400, 404]],
            ['/\xc0\xaf', [400, 404]],
            ['/abc\x01', [400, 404]],
            ['/ws', [400, 404, 502]],
            ['/healthz/', [400, 404]],
            ['/api', [400, 404]],
            ['/assets', [400, 404]],
            ['/peerjs', [400, 404]],
            ['/metrics', [400, 404]],
            ['/-abc', [400, 404]],
            [`/${'a'.repeat(65)}`, [400, 404]],
            [`/${'a'.repeat(6000)}`, [400, 404]],
            // nginx itself refuses a request line over its 8 KiB buffer.
            [`/${'a'.repeat(8192)}`, [400, 404, 414]],
            ['/abc?\xff', [400, 404]],
        ];
        for (const [p, want] of cases) {
            const status = await rawStatus(nginx.port, Buffer.from(p, 'latin1'));
            assert.ok(want.includes(status), `${JSON.stringify(p.slice(0, 40))} gave ${status}`);
            assert.ok(fcgi.running, `huddle-fcgi died on ${JSON.stringify(p.slice(0, 40))}`);
        }
        const res = await fetch(`${url}/after-hostile`);
        assert.equal(metaRoom(await res.text()), 'after-hostile');
    });

    test('an unknown path gets the 404 page with the security headers', async () => {
        const res = await fetch(`${url}/no/such/page`);
        assert.equal(res.status, 404);
        assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
        assertSecurityHeaders(res);
        assert.equal(await res.text(), fs.readFileSync(path.join(ROOT, 'views', '404.html'), 'utf8'));
    });

    test('other methods get 405 with Allow', async () => {
        for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
            const res = await fetch(`${url}/abc`, { method, body: method === 'DELETE' ? undefined : 'x=1' });
            assert.equal(res.status, 405, method);
            assert.equal(res.headers.get('allow'), 'GET, HEAD');
            assertSecurityHeaders(res);
            await res.arrayBuffer();
        }
    });

    test('HEAD answers like GET without a body', async () => {
        const identity = { 'accept-encoding': 'identity' };
        const get = await fetch(`${url}/head-room`, { headers: identity });
        const body = await get.text();
        const head = await fetch(`${url}/head-room`, { method: 'HEAD', headers: identity });
        assert.equal(head.status, 200);
        assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(body)));
        assert.equal(head.headers.get('cache-control'), 'no-store');
        assert.equal((await head.arrayBuffer()).byteLength, 0);
        const r = await fetch(`${url}/`, { method: 'HEAD', redirect: 'manual' });
        assert.equal(r.status, 302);
        assert.match(r.headers.get('location'), UUID_V4);
    });

    test('assets are served from public/ with caching, gzip and the security headers', async () => {
        const dir = path.join(ROOT, 'public');
        const name = fs.readdirSync(dir).filter((f) => /\.(js|css|svg)$/.test(f))
            .sort((a, b) => fs.statSync(path.join(dir, b)).size - fs.statSync(path.join(dir, a)).size)[0];
        assert.ok(name, 'public/ has no js, css or svg file');
        const plain = await fetch(`${url}/assets/${name}`, { headers: { 'accept-encoding': 'identity' } });
        assert.equal(plain.status, 200);
        assert.match(plain.headers.get('cache-control'), /max-age=\d+/);
        assert.ok(plain.headers.get('etag'));
        assertSecurityHeaders(plain);
        assert.deepEqual(Buffer.from(await plain.arrayBuffer()), fs.readFileSync(path.join(dir, name)));
        // fetch() decodes gzip itself; ask with a raw request to see the encoding.
        const gzipped = (file) => new Promise((resolve, reject) => {
            const sock = net.connect(nginx.port, '127.0.0.1');
            const data = [];
            sock.on('data', (d) => data.push(d));
            sock.on('error', reject);
            sock.on('close', () => {
                const all = Buffer.concat(data);
                const end = all.indexOf('\r\n\r\n');
                resolve({ head: all.subarray(0, end + 2).toString('latin1'), body: all.subarray(end + 4) });
            });
            sock.write(`GET /assets/${file} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`);
        });
        assert.match((await gzipped(name)).head, /\r\nContent-Encoding: gzip\r\n/i);
        // The bundle goes as scripts/assets.sh compressed it (gzip_static),
        // byte for byte, and says so to caches.
        const bundle = await gzipped('dist/app.js');
        assert.match(bundle.head, /\r\nContent-Encoding: gzip\r\n/i);
        assert.match(bundle.head, /\r\nVary: Accept-Encoding\r\n/i);
        assert.deepEqual(bundle.body, fs.readFileSync(path.join(dir, 'dist', 'app.js.gz')));
        const missing = await fetch(`${url}/assets/no-such-file.js`);
        assert.equal(missing.status, 404);
        assertSecurityHeaders(missing);
        for (const p of ['/assets/../../etc/passwd', '/assets/..%2f..%2f..%2fetc%2fpasswd',
            '/assets/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/assets//etc/passwd']) {
            const outside = await rawStatus(nginx.port, Buffer.from(p));
            assert.ok([400, 404].includes(outside), `${p} gave ${outside}`);
        }
    });

    test('without sidecars /ws answers 502 cleanly', async () => {
        const res = await fetch(`${url}/ws`);
        assert.ok([502, 503].includes(res.status), `got ${res.status}`);
        await res.arrayBuffer();
    });

    test('500 parallel requests over 100 rooms each carry their own room id', async () => {
        const rooms = Array.from({ length: 500 }, (_, i) => `par-${i % 100}-${'x'.repeat(i % 40)}`);
        const got = await Promise.all(rooms.map(async (room) => {
            const res = await fetch(`${url}/${room}`);
            assert.equal(res.status, 200);
            return metaRoom(await res.text());
        }));
        assert.deepEqual(got, rooms);
    });
});

describe('kept and silent connections never stop huddle-fcgi from serving', () => {
    test('a silent TCP client does not keep huddle-fcgi from serving nginx', async () => {
        const port = await freePort();
        const fcgi = await startFcgi({ listen: `127.0.0.1:${port}`, env: { HUDDLE_FCGI_THREADS: '1', HUDDLE_FCGI_IDLE_MS: '200' } });
        const nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr });
        const silent = net.connect(port, '127.0.0.1');
        try {
            await new Promise((resolve, reject) => { silent.once('connect', resolve); silent.once('error', reject); });
            const res = await fetch(`${nginx.url}/after-silent`);
            assert.equal(res.status, 200);
            assert.equal(metaRoom(await res.text()), 'after-silent');
        } finally {
            silent.destroy();
            await stopAll([fcgi, nginx]);
        }
    });

    test('more kept nginx connections than HUDDLE_FCGI_THREADS (which no longer limits them) all get served', async () => {
        // nginx keeps up to 64 idle connections per worker; the setting
        // that once gave huddle-fcgi 2 threads is accepted and has no effect.
        const fcgi = await startFcgi({ env: { HUDDLE_FCGI_THREADS: '2', HUDDLE_FCGI_IDLE_MS: '200' } });
        const nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr });
        try {
            for (let round = 0; round < 2; round++) {
                const rooms = Array.from({ length: 40 }, (_, i) => `pin-${round}-${i}`);
                const got = await Promise.all(rooms.map(async (room) => {
                    const res = await fetch(`${nginx.url}/${room}`);
                    assert.equal(res.status, 200);
                    return metaRoom(await res.text());
                }));
                assert.deepEqual(got, rooms);
            }
        } finally {
            await stopAll([fcgi, nginx]);
        }
    });
});

describe('huddle-fcgi signals', () => {
    for (const sig of ['SIGTERM', 'SIGINT']) {
        test(`${sig} makes huddle-fcgi exit 0 even with kept nginx connections`, async () => {
            const fcgi = await startFcgi();
            const nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr });
            try {
                // Leave idle kept-alive FastCGI connections behind.
                await Promise.all(Array.from({ length: 20 }, async (_, i) => {
                    const res = await fetch(`${nginx.url}/sig-${i}`);
                    await res.arrayBuffer();
                }));
                const { code, signal, ms } = await fcgi.stop(sig);
                console.log(`huddle-fcgi exit after ${sig}: ${ms} ms`);
                assert.equal(signal, null);
                assert.equal(code, 0);
                assert.match(fcgi.output, /stopped/);
                assert.equal(fcgi.sanitizerReport(), null);
                assert.ok(!fs.existsSync(fcgi.listen), 'socket file left behind');
            } finally {
                await stopAll([fcgi, nginx]);
            }
        });
    }
});

describe('huddle-fcgi stops with answers still queued', () => {
    test('SIGTERM gives a client that does not read 1.5 s, then closes it and exits 0', async () => {
        const fcgi = await startFcgi({ env: { HUDDLE_FCGI_IDLE_MS: '60000' } });
        try {
            const greedy = await fcgiConnect(fcgi.listen);
            greedy.sock.write(Buffer.concat(Array.from({ length: 300 }, (_, i) => fcgiGet(1, `/queued-${i}`))));
            // Once the first answer is in, the rest (about 5 MB) waits on it.
            await greedy.records(ends(1));
            greedy.sock.pause();
            const { code, ms } = await fcgi.stop('SIGTERM');
            console.log(`huddle-fcgi exit with answers queued: ${ms} ms`);
            assert.equal(code, 0);
            assert.match(fcgi.output, /output still queued after 1500 ms; closing/);
            assert.match(fcgi.output, /stopped/);
            assert.equal(fcgi.sanitizerReport(), null);
            greedy.sock.destroy();
        } finally {
            await stopAll([fcgi]);
        }
    });
});

describe('huddle-fcgi speaks FastCGI to any client', () => {
    let fcgi;

    before(async () => {
        fcgi = await startFcgi({ env: { HUDDLE_FCGI_IDLE_MS: '500' } });
    });

    after(async () => {
        await stopAll([fcgi].filter(Boolean));
    });

    test('requests sent in one go on one kept connection are answered in order', async () => {
        const c = await fcgiConnect(fcgi.listen);
        c.sock.write(Buffer.concat([fcgiGet(1, '/first'), fcgiGet(2, '/second'), fcgiGet(1, '/healthz')]));
        const a = answers(await c.records(ends(3)));
        c.sock.destroy();
        assert.deepEqual(a.map((x) => [x.id, x.status]), [[1, 0], [2, 0], [1, 0]]);
        assert.equal(metaRoom(a[0].stdout), 'first');
        assert.equal(metaRoom(a[1].stdout), 'second');
        assert.match(a[2].stdout, /^Status: 200 OK\r\n[^]*\r\n\r\nok\n$/);
        const len = Number(a[0].stdout.match(/\r\nContent-Length: (\d+)\r\n/)[1]);
        assert.equal(Buffer.byteLength(a[0].stdout.split('\r\n\r\n').slice(1).join('\r\n\r\n')), len);
    });

    test('a request that arrives in pieces of 3 bytes is answered once whole', async () => {
        const c = await fcgiConnect(fcgi.listen);
        const bytes = fcgiGet(1, '/in-pieces');
        for (let i = 0; i < bytes.length; i += 3) {
            c.sock.write(bytes.subarray(i, i + 3));
            // Paced so that the pieces reach the server in separate reads.
            await new Promise((resolve) => setTimeout(resolve, 2));
        }
        const a = answers(await c.records(ends(1)));
        c.sock.destroy();
        assert.equal(metaRoom(a[0].stdout), 'in-pieces');
    });

    test('FCGI_GET_VALUES says it does not multiplex, and a second request while one is active is refused', async () => {
        const c = await fcgiConnect(fcgi.listen);
        const query = record(9, 0, Buffer.concat([pair('FCGI_MPXS_CONNS', ''), pair('FCGI_MAX_REQS', '')]));
        const params = Buffer.concat([pair('REQUEST_METHOD', 'GET'), pair('REQUEST_URI', '/kept-one')]);
        c.sock.write(Buffer.concat([query, beginRequest(1), fcgiGet(2, '/other'), record(4, 1, params), record(4, 1)]));
        const recs = await c.records(ends(2));
        c.sock.destroy();
        const values = recs.find((r) => r.type === 10);
        assert.deepEqual(values.content, pair('FCGI_MPXS_CONNS', '0'));
        const a = answers(recs);
        assert.deepEqual(a.map((x) => [x.id, x.status]), [[2, 1], [1, 0]]);
        assert.equal(metaRoom(a[1].stdout), 'kept-one');
    });

    test('without FCGI_KEEP_CONN the connection closes after its answer', async () => {
        const c = await fcgiConnect(fcgi.listen);
        c.sock.write(Buffer.concat([fcgiGet(1, '/once', 0), fcgiGet(1, '/never', 1)]));
        const recs = await c.records(() => false);
        assert.ok(c.closed);
        const a = answers(recs);
        assert.equal(a.length, 1);
        assert.equal(metaRoom(a[0].stdout), 'once');
    });

    test('a record of another version is logged and closes its connection; the others go on', async () => {
        const other = await fcgiConnect(fcgi.listen);
        const c = await fcgiConnect(fcgi.listen);
        c.sock.write(Buffer.concat([fcgiGet(1, '/before'), Buffer.from([2, 5, 0, 1, 0, 0, 0, 0]), fcgiGet(1, '/after')]));
        const a = answers(await c.records(() => false));
        assert.ok(c.closed);
        assert.deepEqual(a.map((x) => metaRoom(x.stdout)), ['before']);
        await fcgi.waitForOutput(/record of version 2: closing/);
        other.sock.write(fcgiGet(1, '/still-here'));
        assert.equal(metaRoom(answers(await other.records(ends(1)))[0].stdout), 'still-here');
        other.sock.destroy();
        assert.ok(fcgi.running);
    });

    test('unknown record types get UNKNOWN_TYPE and the connection stays', async () => {
        const c = await fcgiConnect(fcgi.listen);
        c.sock.write(Buffer.concat([record(6, 0, Buffer.from('x')), record(77, 1), fcgiGet(1, '/known')]));
        const recs = await c.records(ends(1));
        c.sock.destroy();
        assert.deepEqual(recs.filter((r) => r.type === 11).map((r) => r.content[0]), [6, 77]);
        assert.equal(metaRoom(answers(recs)[0].stdout), 'known');
    });

    test('silent connections on the unix socket, fresh or half a record, are closed after HUDDLE_FCGI_IDLE_MS', async () => {
        const silent = await Promise.all([fcgiConnect(fcgi.listen), fcgiConnect(fcgi.listen)]);
        silent[1].sock.write(Buffer.from([1, 1, 0]));
        const served = await fcgiConnect(fcgi.listen);
        served.sock.write(fcgiGet(1, '/while-silent'));
        assert.equal(metaRoom(answers(await served.records(ends(1)))[0].stdout), 'while-silent');
        await Promise.all(silent.map((c) => c.records(() => false)));
        assert.ok(silent.every((c) => c.closed));
        served.sock.destroy();
    });

    test('a client that does not read its answers is read no more, holds a bounded buffer, and the others go on', async () => {
        // Its own server, whose idle timeout does not end the test early.
        const fcgi = await startFcgi({ env: { HUDDLE_FCGI_IDLE_MS: '60000' } });
        try {
            await notReading(fcgi);
        } finally {
            await stopAll([fcgi]);
        }
    });
});

/** The greedy client's test, against fcgi. */
async function notReading(fcgi) {
    const rss = () => Number(fs.readFileSync(`/proc/${fcgi.pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)[1]) * 1024;
    const n = 1500;
    const greedy = await fcgiConnect(fcgi.listen);
    greedy.sock.pause();
    const before = rss();
    greedy.sock.write(Buffer.concat(Array.from({ length: n }, (_, i) => fcgiGet(1 + (i % 3), `/greedy-${i}`))));
    // While its answers wait (n pages: about 28 MB), others are served.
    for (let i = 0; i < 5; i++) {
        const c = await fcgiConnect(fcgi.listen);
        c.sock.write(fcgiGet(1, `/meanwhile-${i}`));
        assert.equal(metaRoom(answers(await c.records(ends(1)))[0].stdout), `meanwhile-${i}`);
        c.sock.destroy();
    }
    const grown = rss() - before;
    console.log(`huddle-fcgi RSS grew by ${(grown / 1048576).toFixed(1)} MiB with ${n} answers unread`);
    assert.ok(grown < 12 * 1048576, `RSS grew by ${grown} bytes`);
    greedy.sock.resume();
    const a = answers(await greedy.records(ends(n)));
    greedy.sock.destroy();
    assert.equal(a.length, n);
    assert.deepEqual(a.map((x) => metaRoom(x.stdout)), Array.from({ length: n }, (_, i) => `greedy-${i}`));
}

test('a views folder without the templates stops start-up with a line naming HUDDLE_VIEWS_DIR', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'views-'));
    try {
        const r = spawnSync(path.join(BUILD, 'fcgi', 'huddle-fcgi'), [], {
            env: { ...process.env, HUDDLE_FCGI_LISTEN: '127.0.0.1:1', HUDDLE_VIEWS_DIR: empty }, encoding: 'utf8', timeout: 10000,
        });
        assert.equal(r.status, 1, r.stderr); // not a sanitizer's exit status either
        assert.doesNotMatch(r.stderr, /Sanitizer/);
        assert.match(r.stderr, new RegExp(`template ${empty}/room\\.html: No such file or directory`));
        assert.match(r.stderr, new RegExp(`HUDDLE_VIEWS_DIR=${empty}: the templates could not be read`));
    } finally {
        fs.rmSync(empty, { recursive: true });
    }
});
