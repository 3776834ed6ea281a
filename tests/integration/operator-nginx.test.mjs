// huddle inside an operator's own nginx, as docs/nginx.md tells: a config
// written here (not by render-nginx.sh) with its own http block, another
// site on another name serving a static file, a plain-http server that
// redirects huddle's name to https, and huddle's https server that includes
// nginx/huddle-http.conf and nginx/huddle-locations.conf straight from the
// repository. Both sites work side by side.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Client, uniqueRoom } from '../lib/wsclient.mjs';
import {
    Proc, ROOT, freePort, httpGet, startFcgi, startSidecar, stopAll, tmpDir, waitForConnect,
} from '../lib/stack.mjs';

const NAME = 'meet.huddle.test';
const OTHER = 'other.huddle.test';

/** GET path on 127.0.0.1:port with Host (its name also the TLS name). */
const get = (scheme, port, p, host, ca) => httpGet(`${scheme}://127.0.0.1:${port}`, { path: p, host, ca, servername: host.split(':')[0] });

const procs = [];
let nginx;
let httpPort;
let httpsPort;
let ca;

before(async () => {
    const fcgi = await startFcgi({ listen: `127.0.0.1:${await freePort()}` });
    procs.push(fcgi);
    // An operator's site has a public name: the sidecar allows its origin.
    const sidecar = await startSidecar({ env: { HUDDLE_PUBLIC_HOST: NAME } });
    procs.push(sidecar);

    const dir = tmpDir('operator');
    fs.chmodSync(dir, 0o755);
    const site = path.join(dir, 'other-site');
    fs.mkdirSync(site);
    fs.writeFileSync(path.join(site, 'hello.txt'), 'the other site\n');
    const cert = path.join(dir, 'fullchain.pem');
    const key = path.join(dir, 'privkey.pem');
    const made = spawnSync('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
        '-subj', `/CN=${NAME}`, '-addext', `subjectAltName=DNS:${NAME}`, '-keyout', key, '-out', cert,
    ], { encoding: 'utf8' });
    assert.equal(made.status, 0, made.stderr);
    ca = fs.readFileSync(cert);

    httpPort = await freePort();
    httpsPort = await freePort();
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, `# an operator's nginx.conf
${process.getuid() === 0 ? 'user www-data;' : ''}
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
daemon off;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    client_body_temp_path ${dir}/body;
    proxy_temp_path ${dir}/proxy;
    fastcgi_temp_path ${dir}/fastcgi;
    uwsgi_temp_path ${dir}/uwsgi;
    scgi_temp_path ${dir}/scgi;

    # Another site on this nginx, untouched by huddle.
    server {
        listen 127.0.0.1:${httpPort};
        server_name ${OTHER};
        root ${site};
        add_header X-Other-Site yes;
    }

    include ${ROOT}/nginx/huddle-http.conf;
    upstream huddle_fcgi    { server ${fcgi.listen}; keepalive 4; }
    upstream huddle_sidecar { least_conn; server ${sidecar.addr} max_fails=0; }

    server {
        listen 127.0.0.1:${httpPort};
        server_name ${NAME};
        server_tokens off;
        location / { return 301 https://$host:${httpsPort}$request_uri; }
    }

    server {
        listen 127.0.0.1:${httpsPort} ssl http2;
        server_name ${NAME};
        ssl_certificate     ${cert};
        ssl_certificate_key ${key};
        add_header Strict-Transport-Security "max-age=600" always;
        access_log ${dir}/huddle.log huddle if=$huddle_logged;
        server_tokens off;

        set $huddle_public  ${ROOT}/public;
        set $huddle_sidecar huddle_sidecar;
        include ${ROOT}/nginx/huddle-locations.conf;
    }
}
`);
    const t = spawnSync('nginx', ['-t', '-e', 'stderr', '-p', dir, '-c', conf], { encoding: 'utf8' });
    assert.equal(t.status, 0, t.stderr);
    nginx = new Proc('nginx:operator', 'nginx', ['-e', 'stderr', '-p', dir, '-c', conf]);
    nginx.dir = dir;
    procs.push(nginx);
    await waitForConnect({ port: httpsPort });
});
after(() => stopAll(procs));

test('the other site serves its file, without huddle\'s headers', async () => {
    const r = await get('http', httpPort, '/hello.txt', OTHER);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'the other site\n');
    assert.equal(r.headers['x-other-site'], 'yes');
    assert.equal(r.headers['content-security-policy'], undefined);
});

test('huddle\'s name over plain http redirects to https', async () => {
    const r = await get('http', httpPort, '/team-standup?x=1', NAME);
    assert.equal(r.status, 301);
    assert.equal(r.headers.location, `https://${NAME}:${httpsPort}/team-standup?x=1`);
    assert.equal(r.headers.server, 'nginx', 'the redirect names no version');
});

test('huddle over https: the new-room redirect, the room page, /assets and its headers', async () => {
    const root = await get('https', httpsPort, '/', NAME, ca);
    assert.equal(root.status, 302);
    const page = await get('https', httpsPort, root.headers.location, NAME, ca);
    assert.equal(page.status, 200);
    assert.match(page.body, /<meta name="huddle-room" content="[0-9a-f-]{36}">/);
    assert.match(page.headers['content-security-policy'], /default-src 'none'/);
    assert.equal(page.headers['strict-transport-security'], 'max-age=600', 'the operator\'s own header is kept');
    assert.equal(page.headers['x-content-type-options'], 'nosniff');
    const asset = await get('https', httpsPort, '/assets/dist/app.css', NAME, ca);
    assert.equal(asset.status, 200);
    assert.match(asset.headers['content-type'], /text\/css/);
    const missing = await get('https', httpsPort, '/metrics', NAME, ca);
    assert.equal(missing.status, 404);
});

test('huddle\'s error pages in the operator\'s server: nginx\'s own errors and a missing file', async () => {
    const long = await get('https', httpsPort, `/${'a'.repeat(20000)}`, NAME, ca);
    assert.equal(long.status, 414);
    assert.match(long.headers['content-type'], /^text\/html/);
    assert.equal(long.body, fs.readFileSync(path.join(ROOT, 'public', 'errors', '400.html'), 'utf8'));
    assert.match(long.headers['content-security-policy'], /default-src 'none'/);
    const missing = await get('https', httpsPort, '/assets/no-such.js', NAME, ca);
    assert.equal(missing.status, 404);
    assert.equal(missing.body, fs.readFileSync(path.join(ROOT, 'views', '404.html'), 'utf8'));
});

test('a websocket join through the operator\'s nginx', async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, 'huddle.v1', {
        ca, servername: NAME, headers: { Host: `${NAME}:${httpsPort}` }, origin: `https://${NAME}:${httpsPort}`,
    });
    const a = new Client(ws);
    await new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); });
    const room = uniqueRoom('operator');
    await a.join(room, 'Ann');
    const ws2 = new WebSocket(`wss://127.0.0.1:${httpsPort}/ws`, 'huddle.v1', {
        ca, servername: NAME, headers: { Host: `${NAME}:${httpsPort}` }, origin: `https://${NAME}:${httpsPort}`,
    });
    const b = new Client(ws2);
    await new Promise((resolve, reject) => { ws2.once('open', resolve); ws2.once('error', reject); });
    const w = await b.join(room, 'Bob');
    assert.deepEqual(w.peers.map((p) => p.name), ['Ann']);
    await a.next((m) => m.type === 'peer-joined' && m.peer.name === 'Bob');
    await a.close(1000);
    await b.close(1000);
});

test('huddle\'s log, as the docs give it, keeps no join token; nginx names no version', async () => {
    const r = await get('https', httpsPort, '/token-room?token=eyJTOPSECRET.x.y', `${NAME}:${httpsPort}`, ca);
    assert.equal(r.status, 200);
    assert.equal(r.headers.server, 'nginx');
    assert.equal((await get('https', httpsPort, '/assets/no-such.js?token=eyJTOPSECRET', `${NAME}:${httpsPort}`, ca)).status, 404);
    const log = path.join(nginx.dir, 'huddle.log');
    let text = '';
    for (let i = 0; i < 100 && !text.includes('/no-such.js'); i++) { // written at once (no buffer)
        await new Promise((res) => setTimeout(res, 50));
        text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
    }
    assert.match(text, /"GET \/token-room HTTP\/1\.1" 200 /);
    // A 404 names the path asked for, not the page it was answered with.
    assert.match(text, /"GET \/assets\/no-such\.js HTTP\/1\.1" 404 /);
    assert.doesNotMatch(text, /TOPSECRET|token=/);
});
