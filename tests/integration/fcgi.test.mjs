// Room pages through a real nginx (config from scripts/render-nginx.sh and
// nginx/huddle-locations.conf) and a real huddle-fcgi (the sanitizer build
// under make test): redirects, room page and headers, hostile paths, 404,
// 405, HEAD, static assets, parallel requests, and clean exit on signals.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, freePort, startFcgi, startNginx, stopAll } from '../lib/stack.mjs';

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
        const enc = await new Promise((resolve, reject) => {
            const sock = net.connect(nginx.port, '127.0.0.1');
            let data = '';
            sock.on('data', (d) => { data += d.toString('latin1'); });
            sock.on('error', reject);
            sock.on('close', () => resolve(data));
            sock.write(`GET /assets/${name} HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n`);
        });
        assert.match(enc, /\r\nContent-Encoding: gzip\r\n/i);
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

describe('huddle-fcgi threads are never pinned for good', () => {
    test('a silent TCP client does not keep the only thread from serving nginx', async () => {
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

    test('more kept nginx connections than threads still get every request served', async () => {
        // nginx keeps up to 8 idle connections per worker; huddle-fcgi has 2 threads.
        const fcgi = await startFcgi({ env: { HUDDLE_FCGI_THREADS: '2', HUDDLE_FCGI_IDLE_MS: '200' } });
        const nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr, env: { HUDDLE_FCGI_THREADS: '32' } });
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
