// nginx's per-client limits on /ws (nginx/huddle-http.conf and
// huddle-locations.conf, numbers from render-nginx.sh's environment), with
// real nginx, fcgi and a sidecar. Low limits keep it light: one address
// holding its share of websockets keeps them while its extra upgrades get
// 429, and a newcomer from another address still joins; the upgrade rate
// likewise; behind a trusted proxy the limit follows X-Forwarded-For, and an
// IPv6 client counts by its /64.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { Client, uniqueRoom } from '../lib/wsclient.mjs';
import { startFcgi, startNginx, startSidecar, stopAll } from '../lib/stack.mjs';

/**
 * Upgrades to url from localAddress (a loopback address) with extra
 * headers. Resolves {status: 101, client} or {status} for a refusal.
 */
function upgrade(url, { localAddress = '127.0.0.1', headers = {} } = {}) {
    return new Promise((resolve, reject) => {
        const ws = new WebSocket(url, 'huddle.v1', { localAddress, headers, perMessageDeflate: false });
        const client = new Client(ws);
        ws.once('open', () => resolve({ status: 101, client }));
        ws.once('unexpected-response', (req, res) => {
            res.resume();
            req.destroy();
            resolve({ status: res.statusCode });
        });
        ws.once('error', (err) => reject(err));
    });
}

/** Plain GET of path from localAddress; resolves the status. */
function getStatus(port, path, localAddress) {
    return new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode);
        }).on('error', reject);
    });
}

let fcgi;
let sidecar;
before(async () => {
    fcgi = await startFcgi();
    sidecar = await startSidecar();
});
after(() => stopAll([sidecar, fcgi]));

/** nginx over the shared fcgi and sidecar with these limits. */
function nginxWith(env) {
    return startNginx({ fcgiAddr: fcgi.nginxAddr, sidecarAddrs: [sidecar.addr], env });
}

test('one address keeps its websockets, its extra ones get 429, another address still joins', async () => {
    const nginx = await nginxWith({ NGINX_WS_CONN_PER_ADDR: '4', NGINX_WS_RATE_PER_ADDR: '1000r/s' });
    const url = `ws://127.0.0.1:${nginx.port}/ws`;
    const room = uniqueRoom('conn');
    const held = [];
    try {
        for (let i = 0; i < 4; i++) {
            const r = await upgrade(url);
            assert.equal(r.status, 101, `websocket ${i + 1} of 4`);
            await r.client.join(room, `held${i}`);
            held.push(r.client);
        }
        for (let i = 0; i < 3; i++) {
            const r = await upgrade(url);
            assert.equal(r.status, 429, `extra websocket ${i + 1}`);
        }
        // Pages are not limited.
        assert.equal(await getStatus(nginx.port, '/healthz', '127.0.0.1'), 200);

        const newcomer = await upgrade(url, { localAddress: '127.0.0.2' });
        assert.equal(newcomer.status, 101, 'another address is not limited by the first');
        const w = await newcomer.client.join(room, 'newcomer');
        assert.equal(w.peers.length, 4);
        held.push(newcomer.client);

        // The held ones never noticed.
        for (const c of held.slice(0, 4)) {
            assert.equal(c.closeInfo, null);
            await c.next((m) => m.type === 'peer-joined' && m.peer.name === 'newcomer');
        }

        // One leaves: its address may open one again.
        await held[0].close(1000);
        held.shift();
        const back = await upgrade(url);
        assert.equal(back.status, 101);
        held.push(back.client);
        assert.equal((await upgrade(url)).status, 429);
    } finally {
        for (const c of held) c.terminate();
        await stopAll([nginx]);
    }
});

test('the upgrade rate: a burst passes, the next upgrade gets 429, other addresses and pages are not slowed', async () => {
    const nginx = await nginxWith({
        NGINX_WS_CONN_PER_ADDR: '100', NGINX_WS_RATE_PER_ADDR: '1r/m', NGINX_WS_BURST_PER_ADDR: '3',
    });
    const url = `ws://127.0.0.1:${nginx.port}/ws`;
    const open = [];
    try {
        // One at the rate plus a burst of 3.
        for (let i = 0; i < 4; i++) {
            const r = await upgrade(url);
            assert.equal(r.status, 101, `upgrade ${i + 1} of 4`);
            open.push(r.client);
        }
        assert.equal((await upgrade(url)).status, 429);
        // Closing does not give the rate back (unlike the connection limit).
        for (const c of open.splice(0)) await c.close(1000);
        assert.equal((await upgrade(url)).status, 429);

        const other = await upgrade(url, { localAddress: '127.0.0.3' });
        assert.equal(other.status, 101);
        open.push(other.client);
        await other.client.join(uniqueRoom('rate'), 'other');
        for (let i = 0; i < 10; i++) assert.equal(await getStatus(nginx.port, '/healthz', '127.0.0.1'), 200);
    } finally {
        for (const c of open) c.terminate();
        await stopAll([nginx]);
    }
});

test('behind a trusted proxy the limit counts X-Forwarded-For, an IPv6 client by its /64', async () => {
    const nginx = await nginxWith({
        NGINX_WS_CONN_PER_ADDR: '2', NGINX_WS_RATE_PER_ADDR: '1000r/s', NGINX_REAL_IP_FROM: '127.0.0.1',
    });
    const url = `ws://127.0.0.1:${nginx.port}/ws`;
    const open = [];
    const from = async (xff) => {
        const r = await upgrade(url, { headers: { 'X-Forwarded-For': xff } });
        if (r.client) open.push(r.client);
        return r.status;
    };
    try {
        assert.equal(await from('198.51.100.7'), 101);
        assert.equal(await from('198.51.100.7'), 101);
        assert.equal(await from('198.51.100.7'), 429);
        assert.equal(await from('198.51.100.8'), 101, 'another client behind the same proxy');

        // One /64, two addresses: one client.
        assert.equal(await from('2001:db8:1:2::a'), 101);
        assert.equal(await from('2001:db8:1:2:ffff:1:2:3'), 101);
        assert.equal(await from('2001:db8:1:2::b'), 429);
        assert.equal(await from('2001:db8:1:3::a'), 101, 'the next /64 is another client');

        // Written with "::" inside the first four groups: counted coarser.
        assert.equal(await from('2001:db8::1'), 101);
        assert.equal(await from('2001:db8::2:0:0:1'), 101);
        assert.equal(await from('2001:db8::3'), 429);

        // The proxy's own requests with no header count as the proxy.
        assert.equal((await upgrade(url)).status, 101);
    } finally {
        for (const c of open) c.terminate();
        await stopAll([nginx]);
    }
});

test('the access log keeps no query string (a join token in a room link is not written down), and no health checks', async () => {
    const nginx = await nginxWith({});
    try {
        assert.equal(await getStatus(nginx.port, '/healthz', '127.0.0.1'), 200);
        assert.equal(await getStatus(nginx.port, '/token-room?token=eyJTOPSECRET.x.y', '127.0.0.1'), 200);
        const log = path.join(nginx.dir, 'access.log');
        let text = '';
        for (let i = 0; i < 100 && !text.includes('/token-room'); i++) { // flushed every second
            await new Promise((r) => setTimeout(r, 50));
            text = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
        }
        assert.match(text, /"GET \/token-room HTTP\/1\.1" 200 /);
        assert.doesNotMatch(text, /TOPSECRET|token=/);
        assert.doesNotMatch(text, /healthz/);
    } finally {
        await nginx.stop();
    }
});
