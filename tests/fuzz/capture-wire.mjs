// Records the seeds of fuzz_wire (tests/fuzz/seeds/wire/): the bytes a real
// nginx (config from scripts/render-nginx.sh) sends huddle-fcgi, through a
// tap on the unix socket between them, one file per connection:
//   nginx_*    one request each (no upstream keepalive, so nginx closes
//              after each): a room page, HEAD, "/", a POST with a body,
//              /healthz, a 404 and a percent-encoded path
//   nginx_kept several requests on one kept connection
// and a few written here by hand: FCGI_GET_VALUES, an unknown type, a
// second request while one is active, an abort, a version 2 record, pairs
// that do not add up, a role other than responder. Each file starts with
// the harness's selector byte (pieces of 8 bytes). Run by hand after a
// change to nginx/huddle-locations.conf, review the diff, commit:
//   HUDDLE_BUILD_DIR=build node tests/fuzz/capture-wire.mjs [outdir]
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, startFcgi, startNginx, stopAll, tmpDir } from '../lib/stack.mjs';

const OUT = process.argv[2] || path.join(ROOT, 'tests', 'fuzz', 'seeds', 'wire');
const SELECTOR = Buffer.from([7]);

/** A unix socket that forwards to target and hands each connection's
 * client-to-server bytes to done(buffer) when it closes. */
function tap(sock, target, done) {
    const server = net.createServer((c) => {
        const up = net.connect(target);
        const seen = [];
        c.on('data', (d) => { seen.push(d); up.write(d); });
        up.on('data', (d) => c.write(d));
        c.on('close', () => { up.destroy(); done(Buffer.concat(seen)); });
        up.on('close', () => c.destroy());
        c.on('error', () => {});
        up.on('error', () => {});
    });
    return new Promise((resolve) => server.listen(sock, () => resolve(server)));
}

/** One FastCGI record. */
function rec(type, id, content = Buffer.alloc(0)) {
    const h = Buffer.from([1, type, id >> 8, id & 255, content.length >> 8, content.length & 255, 0, 0]);
    return Buffer.concat([h, content]);
}
const pair = (n, v) => Buffer.concat([Buffer.from([n.length, v.length]), Buffer.from(n), Buffer.from(v)]);
const begin = (id, role = 1, keep = 1) => rec(1, id, Buffer.from([0, role, keep, 0, 0, 0, 0, 0]));
const get = (id, uri) => Buffer.concat([begin(id),
    rec(4, id, Buffer.concat([pair('REQUEST_METHOD', 'GET'), pair('REQUEST_URI', uri)])), rec(4, id), rec(5, id)]);

async function capture(keepalive, requests) {
    const dir = tmpDir('capture-wire');
    const fcgi = await startFcgi();
    const seen = [];
    const server = await tap(path.join(dir, 'tap.sock'), fcgi.listen, (b) => seen.push(b));
    const nginx = await startNginx({ fcgiAddr: `unix:${path.join(dir, 'tap.sock')}`,
        env: { NGINX_FCGI_KEEPALIVE: String(keepalive), NGINX_WORKERS: '1' } });
    try {
        for (const [method, p, body] of requests) {
            const res = await fetch(`${nginx.url}${p}`, { method, body, redirect: 'manual' });
            await res.arrayBuffer();
        }
    } finally {
        await stopAll([nginx, fcgi]);
        server.close();
    }
    return seen;
}

const single = [
    ['nginx_room', 'GET', '/team-standup_9?x=1'], ['nginx_head', 'HEAD', '/head-room'],
    ['nginx_root', 'GET', '/'], ['nginx_post', 'POST', '/abc', 'x=1'],
    ['nginx_healthz', 'GET', '/healthz'], ['nginx_404', 'GET', '/no/such/page'],
    ['nginx_encoded', 'GET', '/%61bc/%2e%2e?q=%22'],
];
fs.mkdirSync(OUT, { recursive: true });
for (const [name, method, p, body] of single) {
    const [bytes] = await capture(0, [[method, p, body]]);
    if (!bytes) throw new Error(`${method} ${p} never reached huddle-fcgi`);
    fs.writeFileSync(path.join(OUT, name), Buffer.concat([SELECTOR, bytes]));
}
const kept = await capture(8, single.map(([, ...r]) => r));
fs.writeFileSync(path.join(OUT, 'nginx_kept'), Buffer.concat([SELECTOR, ...kept]));
const hand = {
    get_values: rec(9, 0, Buffer.concat([pair('FCGI_MAX_CONNS', ''), pair('FCGI_MPXS_CONNS', '')])),
    unknown_type: Buffer.concat([rec(6, 0, Buffer.from('x')), rec(200, 3), get(1, '/after')]),
    second_request: Buffer.concat([begin(1), get(2, '/second'), rec(4, 1), rec(5, 1)]),
    abort: Buffer.concat([begin(1), rec(2, 1), get(1, '/after-abort')]),
    version_2: Buffer.concat([get(1, '/first'), Buffer.from([2, 5, 0, 1, 0, 0, 0, 0]), get(1, '/never')]),
    broken_pairs: Buffer.concat([begin(1), rec(4, 1, Buffer.from([14, 3, 0x52, 0x45, 11, 120])), rec(4, 1)]),
    other_role: Buffer.concat([begin(1, 2, 0), get(2, '/never')]),
    big_answer: get(1, '/big140000'),
};
for (const [name, bytes] of Object.entries(hand)) {
    fs.writeFileSync(path.join(OUT, name), Buffer.concat([SELECTOR, bytes]));
}
console.log(`wrote ${single.length + 1 + Object.keys(hand).length} seeds to ${OUT}`);
