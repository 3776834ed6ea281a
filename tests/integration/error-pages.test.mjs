// huddle's own error pages through a real nginx (render-nginx.sh over
// nginx/huddle-locations.conf): every error nginx answers itself (a bad
// request line, too long a URI or header, too large a body, a method a
// static file does not take, 429 from the /ws rate limit, 502 when
// huddle-fcgi or the sidecars are down) keeps its status and gets the page
// of its family from public/errors/, and a 404 (huddle-fcgi's or nginx's,
// or a folder under /assets/) is views/404.html; each with text/html and
// the security headers.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ROOT, startFcgi, startNginx, stopAll } from '../lib/stack.mjs';

const SECURITY = {
    'content-security-policy': /^default-src 'none'; script-src 'self'; style-src 'self';/,
    'permissions-policy': /^camera=\(self\)/,
    'referrer-policy': /^no-referrer$/,
    'x-content-type-options': /^nosniff$/,
};
const page = (rel) => fs.readFileSync(path.join(ROOT, rel), 'utf8');

/**
 * Sends raw request bytes on a new connection and resolves with
 * {status, headers, body} once nginx closes it. halfClose: end the
 * sending side after the request (a body never sent: nginx would otherwise
 * linger to read it).
 */
function raw(port, request, { halfClose = false } = {}) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        const chunks = [];
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', reject);
        sock.on('close', () => {
            const text = Buffer.concat(chunks).toString('latin1');
            const end = text.indexOf('\r\n\r\n');
            const m = text.match(/^HTTP\/1\.[01] (\d{3})/);
            if (!m || end < 0) return reject(new Error(`no answer: ${text.slice(0, 200)}`));
            const headers = {};
            for (const line of text.slice(0, end).split('\r\n').slice(1)) {
                const i = line.indexOf(':');
                headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
            }
            resolve({ status: Number(m[1]), headers, body: Buffer.from(text.slice(end + 4), 'latin1').toString('utf8') });
        });
        // write, not end: nginx takes a half-closed client for one that
        // left, unless it has answered already.
        if (halfClose) sock.end(Buffer.from(request, 'latin1'));
        else sock.write(Buffer.from(request, 'latin1'));
    });
}

/** A request with Connection: close (HTTP/1.0 when asked, so no chunking). */
const req = (line, headers = '') => `${line}\r\nHost: localhost\r\nConnection: close\r\n${headers}\r\n`;

/** Asserts r is the huddle page file rel, with its status and headers. */
function assertPage(r, status, rel) {
    assert.equal(r.status, status);
    assert.equal(r.headers['content-type'], 'text/html; charset=utf-8');
    for (const [k, v] of Object.entries(SECURITY)) assert.match(r.headers[k] ?? '', v, k);
    assert.equal(r.body, page(rel));
    assert.match(r.body, /<title>[^<]+ · huddle<\/title>/);
    assert.match(r.body, /<link rel="stylesheet" href="\/assets\/dist\/app\.css">/);
    assert.match(r.body, /<a class="primary" href="\/">Start a new meeting<\/a>/);
}

describe('with huddle-fcgi up and no sidecar', () => {
    let fcgi;
    let nginx;
    before(async () => {
        fcgi = await startFcgi();
        // /ws: one upgrade a minute and a burst of one, so the third is a 429.
        nginx = await startNginx({
            fcgiAddr: fcgi.nginxAddr,
            env: { NGINX_WS_RATE_PER_ADDR: '1r/m', NGINX_WS_BURST_PER_ADDR: '1' },
        });
    });
    after(() => stopAll([fcgi, nginx]));

    test('400: a malformed request line', async () => {
        assertPage(await raw(nginx.port, 'GET /a b c d\r\n\r\n'), 400, 'public/errors/400.html');
        assertPage(await raw(nginx.port, '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\r\n\r\n'), 400, 'public/errors/400.html');
    });

    test('400: header fields too large (nginx\'s 494) stay a 400', async () => {
        const r = await raw(nginx.port, req('GET / HTTP/1.1', `X-Big: ${'x'.repeat(20000)}\r\n`));
        assertPage(r, 400, 'public/errors/400.html');
    });

    test('414: too long a URI', async () => {
        assertPage(await raw(nginx.port, req(`GET /${'a'.repeat(20000)} HTTP/1.1`)), 414, 'public/errors/400.html');
    });

    test('413: too large a body', async () => {
        const r = await raw(nginx.port, req('POST /some-room HTTP/1.1', 'Content-Length: 5000000\r\n'), { halfClose: true });
        assertPage(r, 413, 'public/errors/400.html');
    });

    test('405: a POST to a static file', async () => {
        const r = await raw(nginx.port, req('POST /assets/dist/app.css HTTP/1.0', 'Content-Length: 0\r\n'));
        assertPage(r, 405, 'public/errors/400.html');
    });

    test('404: huddle-fcgi\'s page, and the same page for a missing static file', async () => {
        assertPage(await raw(nginx.port, req('GET /no/such/page HTTP/1.0')), 404, 'views/404.html');
        assertPage(await raw(nginx.port, req('GET /assets/no-such.js HTTP/1.0')), 404, 'views/404.html');
        // A folder (nginx's 403: no index, no listing) is no page either.
        assertPage(await raw(nginx.port, req('GET /assets/i18n/ HTTP/1.0')), 404, 'views/404.html');
        const head = await raw(nginx.port, req('HEAD /assets/no-such.js HTTP/1.0'));
        assert.equal(head.status, 404);
        assert.equal(head.body, '');
    });

    test('502 with no sidecar, then 429 from the /ws rate limit', async () => {
        for (let i = 0; i < 2; i++) assertPage(await raw(nginx.port, req('GET /ws HTTP/1.0')), 502, 'public/errors/50x.html');
        assertPage(await raw(nginx.port, req('GET /ws HTTP/1.0')), 429, 'public/errors/429.html');
    });

    test('the pages\' stylesheet is served', async () => {
        const r = await raw(nginx.port, req('GET /assets/dist/app.css HTTP/1.0'));
        assert.equal(r.status, 200);
        assert.match(r.body, /\.errpage-card\{/); // the bundle's, minified
    });
});

describe('with huddle-fcgi stopped', () => {
    test('502 for a room page and for a 404 that would go to huddle-fcgi', async () => {
        const fcgi = await startFcgi();
        const nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr });
        try {
            assert.equal((await raw(nginx.port, req('GET /healthz HTTP/1.0'))).status, 200);
            await fcgi.stop();
            assertPage(await raw(nginx.port, req('GET /team-standup HTTP/1.0')), 502, 'public/errors/50x.html');
            assertPage(await raw(nginx.port, req('GET / HTTP/1.0')), 502, 'public/errors/50x.html');
            // nginx's 404 goes to huddle-fcgi for its page, and that fails.
            assertPage(await raw(nginx.port, req('GET /assets/no-such.js HTTP/1.0')), 502, 'public/errors/50x.html');
            // Static files do not need huddle-fcgi.
            assert.equal((await raw(nginx.port, req('GET /assets/dist/app.css HTTP/1.0'))).status, 200);
        } finally {
            await stopAll([fcgi, nginx]);
        }
    });
});
