// The `peerjs` npm client, unchanged, in Chromium against huddle's PeerJS
// endpoint through nginx: the tutorial's call-on-user-connected flow
// (tests/e2e/peerjs-page/), a data connection both ways, a message to a
// peer before it connects, and ID-TAKEN. The page comes from an app server
// of its own (another origin, as an existing PeerJS app's would) and points
// its Peer at huddle's host, port and path /peerjs. With
// HUDDLE_TEST_SIDECARS=2 (tests/e2e/cluster-peerjs.test.mjs) the same tests
// run over two sidecars sharing a real redis-server behind nginx, the two
// calling peers on different sidecars.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { launch, waitForPlayingVideo } from '../lib/browser.mjs';
import { freePort, startStack } from '../lib/stack.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FILES = {
    'index.html': [path.join(HERE, 'peerjs-page', 'index.html'), 'text/html'],
    'app.js': [path.join(HERE, 'peerjs-page', 'app.js'), 'text/javascript'],
    'peerjs.min.js': [path.join(HERE, '..', 'node_modules', 'peerjs', 'dist', 'peerjs.min.js'), 'text/javascript'],
};

const SIDECARS = Number(process.env.HUDDLE_TEST_SIDECARS || '1');

let stack;
let browser;
let app; // the PeerJS app's own server
let appUrl;
const pages = [];

/** Serves FILES on 127.0.0.1 at a free port. */
async function startApp() {
    const port = await freePort();
    const server = http.createServer((req, res) => {
        const f = FILES[new URL(req.url, 'http://x').pathname.slice(1)];
        if (!f) {
            res.writeHead(404).end();
            return;
        }
        res.writeHead(200, { 'Content-Type': f[1] }).end(fs.readFileSync(f[0]));
    });
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${port}` };
}

before(async () => {
    // Held messages wait long enough for a page to load and open.
    // One nginx worker: least_conn then puts the second peer on the other
    // sidecar for sure (with two, each worker counts only its own).
    stack = await startStack({
        sidecars: SIDECARS,
        sidecarEnv: { HUDDLE_PEERJS_EXPIRE_MS: '30000' },
        nginxEnv: SIDECARS > 1 ? { NGINX_WORKERS: '1' } : {},
    });
    app = await startApp();
    appUrl = app.url;
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (app) await new Promise((resolve) => app.server.close(resolve));
    if (stack) await stack.stop();
});

/** The demo page in a fresh context, its Peer on huddle (id: its own). */
async function openDemo(id) {
    const context = await browser.newContext();
    await context.grantPermissions(['camera', 'microphone'], { origin: appUrl });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(err.message));
    const huddle = new URL(stack.url);
    const q = new URLSearchParams({ host: huddle.hostname, port: huddle.port });
    if (id) q.set('id', id);
    await page.goto(`${appUrl}/index.html?${q}`);
    const p = { page, context, problems };
    pages.push(p);
    return p;
}

/** Resolves with the page's PeerJS id once its Peer is open. */
async function opened(p) {
    await p.page.waitForFunction(() => window.demo && (window.demo.id || window.demo.errors.length));
    const demo = await p.page.evaluate(() => window.demo);
    assert.deepEqual(demo.errors, []);
    return demo.id;
}

/** The index in stack.sidecars of the sidecar that opened id. */
function sidecarOf(id) {
    const at = stack.sidecars.flatMap((s, i) => (s.output.includes(`peerjs: open id=${id}`) ? [i] : []));
    assert.equal(at.length, 1, `id ${id} opened on ${at.length} sidecars`);
    return at[0];
}

let a;
let b;
let ida;
let idb;

test('two peers through nginx call each other and see video', async () => {
    a = await openDemo();
    b = await openDemo();
    ida = await opened(a);
    idb = await opened(b);
    assert.match(ida, /^[0-9a-f-]{36}$/); // minted by GET /peerjs/peerjs/id
    if (SIDECARS > 1) assert.notEqual(sidecarOf(ida), sidecarOf(idb));
    await a.page.evaluate((id) => window.connectToNewUser(id), idb);
    await waitForPlayingVideo(a.page, idb);
    await waitForPlayingVideo(b.page, ida);
    assert.equal(await b.page.evaluate(() => window.demo.calls), 1);
});

test('a data connection carries text both ways', async () => {
    await a.page.evaluate((id) => window.openData(id), idb);
    await a.page.waitForFunction((id) => window.demo.open.includes(id), idb);
    await b.page.waitForFunction((id) => window.demo.open.includes(id), ida);
    await a.page.evaluate((id) => window.sendText(id, 'hello from a'), idb);
    await b.page.waitForFunction((t) => window.demo.texts.includes(t), `${ida}: hello from a`);
    await b.page.evaluate((id) => window.sendText(id, 'hello from b'), ida);
    await a.page.waitForFunction((t) => window.demo.texts.includes(t), `${idb}: hello from b`);
});

test('a connection asked for before its peer exists opens when the peer connects', async () => {
    const late = `late-${process.pid}-${Date.now()}`;
    await a.page.evaluate((id) => window.openData(id), late);
    const c = await openDemo(late);
    assert.equal(await opened(c), late);
    await a.page.waitForFunction((id) => window.demo.open.includes(id), late);
    await a.page.evaluate((id) => window.sendText(id, 'sent before you came'), late);
    await c.page.waitForFunction((t) => window.demo.texts.includes(t), `${ida}: sent before you came`);
});

test('an id already open gets unavailable-id (ID-TAKEN)', async () => {
    const d = await openDemo(ida);
    await d.page.waitForFunction(() => window.demo && window.demo.errors.length > 0);
    assert.deepEqual(await d.page.evaluate(() => window.demo.errors), ['unavailable-id']);
    // The holder keeps its id: b still reaches it.
    await b.page.evaluate((id) => window.sendText(id, 'still here'), ida);
    await a.page.waitForFunction((t) => window.demo.texts.includes(t), `${idb}: still here`);
});

test('no page had an uncaught error', () => {
    for (const p of pages) assert.deepEqual(p.problems, []);
});
