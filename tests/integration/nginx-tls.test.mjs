// The nginx that scripts/render-nginx.sh writes, with TLS: https serves
// pages, assets and /ws with a self-signed certificate it made; plain http
// redirects to https except for loopback names and /healthz; HSTS only when
// asked and only over https; /metrics is never proxied.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http2 from 'node:http2';
import path from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Client, uniqueRoom } from '../lib/wsclient.mjs';
import { ROOT, freePort, httpGet, startFcgi, startNginx, startSidecar, stopAll, tmpDir } from '../lib/stack.mjs';


/** Starts nginx over fcgi and sidecar with TLS; extra env for render-nginx. */
async function startTlsNginx(fcgi, sidecar, env = {}) {
    const dir = tmpDir('tls');
    const httpsPort = await freePort();
    const nginx = await startNginx({
        fcgiAddr: fcgi.nginxAddr,
        sidecarAddrs: [sidecar.addr],
        env: {
            NGINX_HTTPS_LISTEN: `127.0.0.1:${httpsPort}`,
            TLS_CERT: path.join(dir, 'fullchain.pem'),
            TLS_KEY: path.join(dir, 'privkey.pem'),
            TLS_SELF_SIGNED: 'localhost 127.0.0.1 ::1',
            ...env,
        },
    });
    nginx.httpsUrl = `https://127.0.0.1:${httpsPort}`;
    nginx.httpsPort = httpsPort;
    nginx.ca = fs.readFileSync(path.join(dir, 'fullchain.pem'));
    nginx.tlsDir = dir;
    return nginx;
}

let fcgi;
let sidecar;
let nginx;
const procs = [];
before(async () => {
    fcgi = await startFcgi();
    procs.push(fcgi);
    sidecar = await startSidecar();
    procs.push(sidecar);
    nginx = await startTlsNginx(fcgi, sidecar);
    procs.push(nginx);
});
after(() => stopAll(procs));

test('the self-signed certificate names the loopback names, keeps its key private, and is made once', () => {
    const cert = path.join(nginx.tlsDir, 'fullchain.pem');
    const key = path.join(nginx.tlsDir, 'privkey.pem');
    assert.equal(fs.statSync(key).mode & 0o077, 0, 'key readable by others');
    const text = spawnSync('openssl', ['x509', '-in', cert, '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /DNS:localhost/);
    assert.match(text.stdout, /IP Address:127\.0\.0\.1/);
    assert.match(text.stdout, /IP Address:0:0:0:0:0:0:0:1/);
    const before = fs.readFileSync(cert, 'utf8');
    const r = spawnSync(path.join(ROOT, 'scripts', 'render-nginx.sh'), [tmpDir('tls-again')], {
        encoding: 'utf8',
        env: {
            ...process.env, NGINX_LISTEN: '127.0.0.1:1', NGINX_HTTPS_LISTEN: '127.0.0.1:2',
            FCGI_ADDR: fcgi.nginxAddr, PUBLIC_DIR: path.join(ROOT, 'public'),
            TLS_CERT: cert, TLS_KEY: key, TLS_SELF_SIGNED: 'localhost',
        },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(fs.readFileSync(cert, 'utf8'), before, 'the certificate was made again');
});

test('https serves the room page, assets and a websocket join with the certificate it made', async () => {
    const root = await httpGet(nginx.httpsUrl, { ca: nginx.ca });
    assert.equal(root.status, 302);
    const room = root.headers.location;
    assert.match(room, /^\/[0-9a-f-]{36}$/);
    const page = await httpGet(nginx.httpsUrl, { path: room, ca: nginx.ca });
    assert.equal(page.status, 200);
    assert.match(page.body, /<meta name="huddle-room"/);
    assert.match(page.headers['content-security-policy'], /default-src 'none'/);
    assert.equal(page.headers['strict-transport-security'], undefined, 'no HSTS unless asked');
    const asset = await httpGet(nginx.httpsUrl, { path: '/assets/dist/app.js', ca: nginx.ca });
    assert.equal(asset.status, 200);
    assert.match(asset.headers['content-type'], /javascript/);

    const ws = new WebSocket(`wss://127.0.0.1:${nginx.httpsPort}/ws`, 'huddle.v1', {
        ca: nginx.ca, servername: 'localhost', origin: `https://127.0.0.1:${nginx.httpsPort}`,
    });
    const c = new Client(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const welcome = await c.join(uniqueRoom('tls'), 'Ann');
    assert.equal(welcome.type, 'welcome');
    await c.close(1000);
});

test('https without the certificate as a trusted CA is refused by the client (it is self-signed)', async () => {
    await assert.rejects(httpGet(nginx.httpsUrl), /self[- ]signed|unable to verify|certificate/i);
});

test('plain http redirects to https for a public name, keeping the path and query', async () => {
    const r = await httpGet(nginx.url, { path: '/team-standup?x=1', host: `meet.example.org:${nginx.port}` });
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, `https://meet.example.org:${nginx.httpsPort}/team-standup?x=1`);
    const ws = await httpGet(nginx.url, { path: '/ws', host: '192.0.2.7' });
    assert.equal(ws.status, 301);
    assert.equal(ws.headers.location, `https://192.0.2.7:${nginx.httpsPort}/ws`);
});

test('plain http is served, not redirected, for loopback names and for /healthz', async () => {
    for (const host of ['localhost', `localhost:${nginx.port}`, `127.0.0.1:${nginx.port}`, '127.9.8.7', `[::1]:${nginx.port}`]) {
        const r = await httpGet(nginx.url, { host });
        assert.equal(r.status, 302, `Host ${host}`);
        assert.match(r.headers.location, /^\/[0-9a-f-]{36}$/, `Host ${host}`);
    }
    const h = await httpGet(nginx.url, { path: '/healthz', host: 'meet.example.org' });
    assert.equal(h.status, 200);
    // Names that only look like loopback are redirected.
    for (const host of ['localhost.example.org', '127.0.0.1.example.org', '1127.0.0.1']) {
        const r = await httpGet(nginx.url, { host });
        assert.equal(r.status, 301, `Host ${host}`);
    }
});

test('/metrics is never proxied: 404 over http and https, whatever the spelling', async () => {
    for (const p of ['/metrics', '/metrics/', '/metrics?x=1', '/ws/../metrics', '/%6detrics', '/ws/metrics']) {
        for (const [url, ca] of [[nginx.url, undefined], [nginx.httpsUrl, nginx.ca]]) {
            const r = await httpGet(url, { path: p, ca });
            assert.equal(r.status, 404, `${url}${p}`);
            assert.doesNotMatch(r.body, /huddle_[a-z_]+ [0-9]/, `${url}${p} looks like counters`);
        }
    }
});

test('HTTPS_PUBLIC_PORT=443 leaves the port out; NGINX_HSTS adds HSTS to https answers only; ACME challenges over http', async () => {
    const acme = tmpDir('acme');
    fs.mkdirSync(path.join(acme, '.well-known', 'acme-challenge'), { recursive: true });
    fs.writeFileSync(path.join(acme, '.well-known', 'acme-challenge', 'tok-123'), 'tok-123.thumb');
    const n = await startTlsNginx(fcgi, sidecar, {
        HTTPS_PUBLIC_PORT: '443', NGINX_HSTS: 'max-age=300', NGINX_ACME_ROOT: acme,
    });
    try {
        const challenge = await httpGet(n.url, { path: '/.well-known/acme-challenge/tok-123', host: 'meet.example.org' });
        assert.equal(challenge.status, 200);
        assert.equal(challenge.body, 'tok-123.thumb');
        const other = await httpGet(n.url, { path: '/.well-known/other', host: 'meet.example.org' });
        assert.equal(other.status, 301);
        const r = await httpGet(n.url, { path: '/a?b', host: 'meet.example.org' });
        assert.equal(r.status, 301);
        assert.equal(r.headers.location, 'https://meet.example.org/a?b');
        assert.equal(r.headers['strict-transport-security'], undefined);
        const local = await httpGet(n.url, { path: '/healthz' });
        assert.equal(local.status, 200);
        assert.equal(local.headers['strict-transport-security'], undefined);
        const s = await httpGet(n.httpsUrl, { path: '/healthz', ca: n.ca });
        assert.equal(s.status, 200);
        assert.equal(s.headers['strict-transport-security'], 'max-age=300');
        const missing = await httpGet(n.httpsUrl, { path: '/nope/nope', ca: n.ca });
        assert.equal(missing.status, 404);
        assert.equal(missing.headers['strict-transport-security'], 'max-age=300');
    } finally {
        await stopAll([n]);
    }
});

/** One HTTP/2 request over TLS to nginx; resolves { status, headers, body }. */
function h2Request(headers, body) {
    return new Promise((resolve, reject) => {
        const session = http2.connect(nginx.httpsUrl, { ca: nginx.ca, servername: 'localhost' });
        session.on('error', reject);
        const req = session.request(headers);
        const chunks = [];
        let head;
        req.on('response', (h) => { head = h; });
        req.on('data', (d) => chunks.push(d));
        req.on('end', () => {
            session.close();
            resolve({ status: head[':status'], headers: head, body: Buffer.concat(chunks).toString('utf8') });
        });
        req.on('error', reject);
        if (body) req.end(body);
        else req.end();
    });
}

test('over HTTP/2 too, nginx\'s own errors get huddle\'s page with their status: 413 for a body too large', async () => {
    const page = fs.readFileSync(path.join(ROOT, 'public/errors/400.html'), 'utf8');
    const big = await h2Request({ ':method': 'POST', ':path': '/some-room', 'content-length': String(2 << 20) }, Buffer.alloc(2 << 20, 120));
    assert.equal(big.status, 413);
    assert.equal(big.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(big.body, page);
    const notAllowed = await h2Request({ ':method': 'POST', ':path': '/assets/dist/app.css', 'content-length': '0' });
    assert.equal(notAllowed.status, 405);
    assert.equal(notAllowed.body, page);
});
