// What people see when something is in the way: the server unreachable at
// Join, a full room, the meeting open in another tab, too many wrong
// passwords, a page that is not a secure context.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, startSidecar, stopAll } from '../lib/stack.mjs';
import { launch, newParticipant, peoplePerTest, waitForPlayingVideo, remoteNames, watchSockets } from '../lib/browser.mjs';

// huddle.test is the public name of the insecure-context test below: its
// page's Origin must pass the sidecar's origin check.
// Three wrong passwords a minute per room: the fourth try is refused for
// its rate.
const SIDECAR_ENV = { HUDDLE_MAX_PEERS: '2', HUDDLE_PUBLIC_HOST: 'huddle.test', HUDDLE_ROOM_PASSWORD_TRIES: '3' };

let stack;
let browser;
let replacement;

before(async () => {
    stack = await startStack({ sidecars: 1, sidecarEnv: SIDECAR_ENV });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (replacement) await stopAll([replacement]);
    if (stack) await stack.stop();
});

const person = peoplePerTest(() => browser);

const real = (errs) => errs.filter((e) => !/WebSocket connection to .* failed|502/.test(e));

test('a full room says so on the pre-join screen', async () => {
    const url = `${stack.url}/small-room`;
    const a = await person(url, 'A');
    await a.join();
    const b = await person(url, 'B');
    await b.join();
    const c = await person(url, 'C', { init: watchSockets });
    await c.page.fill('#name-input', 'C');
    await c.page.click('#join-btn');
    await c.page.waitForSelector('#pre-msg:not([hidden])');
    assert.match(await c.page.textContent('#pre-msg-text'), /full/);
    assert.equal(await c.page.isHidden('#meeting'), true);
    assert.equal(await a.page.$$eval('#grid .tile', (els) => els.length), 2);
    // Enter held on Try again is one try, however long it repeats (each
    // repeat was a join: a burst that used up the room's joins for all).
    await c.page.waitForFunction(() => document.activeElement?.id === 'pre-retry');
    const joins = () => c.page.evaluate(() => window.__sent.filter((x) => JSON.parse(x).type === 'join').length);
    const before = await joins();
    await c.page.keyboard.down('Enter');
    for (let i = 0; i < 20; i++) {
        await c.page.waitForTimeout(30);
        await c.page.keyboard.down('Enter'); // Playwright: a repeat, as a held key
    }
    await c.page.keyboard.up('Enter');
    await c.page.waitForFunction(() => /full/.test(document.getElementById('pre-msg-text').textContent)
        && !document.getElementById('pre-retry').hidden);
    await c.page.waitForTimeout(300);
    assert.equal(await joins(), before + 1);
    for (const p of [a, b, c]) assert.deepEqual(p.errors(), []);
});

test('an unreachable server at Join is retried until it answers, with the microphone and name chosen meanwhile', async () => {
    const url = `${stack.url}/waiting-room`;
    const old = stack.sidecars[0];
    await old.stop();
    const a = await person(url, 'Early');
    await a.page.fill('#name-input', 'Early');
    await a.page.click('#join-btn');
    await a.page.waitForFunction(() => /reach the meeting server/.test(document.getElementById('pre-msg-text').textContent));
    assert.equal(await a.page.textContent('#join-btn'), 'Retry now');
    // Join's label follows a change of language as the line over it does.
    await a.page.selectOption('#pre-lang', 'de');
    await a.page.waitForFunction(() => document.getElementById('join-btn').textContent === 'Jetzt erneut versuchen');
    await a.page.selectOption('#pre-lang', 'en');
    await a.page.waitForFunction(() => document.getElementById('join-btn').textContent === 'Retry now');
    // While it waits, the microphone goes off and the name changes: the
    // meeting must get both (it got the first Join's: heard, and named so).
    await a.page.click('#pre-mic');
    await a.page.waitForSelector('#pre-mic[aria-pressed="false"]');
    await a.page.fill('#name-input', 'Early Bird');
    await a.page.click('#join-btn'); // Retry now
    replacement = await startSidecar({ port: old.port, env: SIDECAR_ENV });
    await a.page.waitForFunction(() => document.body.dataset.state === 'meeting', null, { timeout: 30000 });
    assert.equal(await a.page.getAttribute('#btn-mic', 'aria-pressed'), 'false');
    const b = await person(url, 'Later');
    await b.join();
    await waitForPlayingVideo(a.page, 'Later');
    assert.deepEqual(await remoteNames(b.page), ['Early Bird']);
    await b.page.waitForSelector('#grid .tile:not(.local).muted');
    assert.deepEqual(real(a.errors()), []);
});

test('the meeting open in another tab of the browser: the pre-join screen says so while that tab is in it', async () => {
    const url = `${stack.url}/two-tabs`;
    const a = await person(url, 'Tabby');
    await a.join();
    // A second tab of the same browser (same context), on the pre-join screen.
    const second = await a.context.newPage();
    const problems = [];
    second.on('pageerror', (err) => problems.push(err.message));
    second.on('console', (msg) => msg.type() === 'error' && problems.push(msg.text()));
    await second.goto(url);
    const said = () => second.waitForFunction(() => !document.getElementById('pre-tab').hidden
        && document.getElementById('pre-tab').textContent === 'You are already in this meeting in another tab. Joining here as well would cause an echo.');
    await said();
    // The first tab leaves: the warning goes.
    await a.page.click('#btn-leave');
    await second.waitForSelector('#pre-tab', { state: 'hidden' });
    // It comes back in (a page loaded anew): the warning comes back.
    await a.page.goto(url);
    await a.join();
    await said();
    // Joined anyway, on purpose: it works, and the meeting has both tabs.
    await second.fill('#name-input', 'Tabby too');
    await second.click('#join-btn');
    await second.waitForFunction(() => document.body.dataset.state === 'meeting');
    await waitForPlayingVideo(a.page, 'Tabby too');
    assert.deepEqual(await remoteNames(a.page), ['Tabby too']);
    assert.deepEqual(real(a.errors()), []);
    assert.deepEqual(real(problems), []);
});

test('past the room\'s wrong passwords the pre-join screen says to wait a minute, and keeps the field', async () => {
    const url = `${stack.url}/guarded`;
    const host = await person(url, 'Gina Host');
    await host.join();
    await host.page.click('#btn-people');
    await host.page.click('#host-password');
    await host.page.waitForSelector('#ask[open]');
    await host.page.fill('#ask-input', 'tulip');
    await host.page.click('#ask-ok');
    await host.page.waitForSelector('#mark-password:not([hidden])');
    const guest = await person(url, 'Gus', { init: watchSockets });
    await guest.page.fill('#name-input', 'Gus');
    await guest.page.click('#join-btn');
    await guest.page.waitForSelector('#pw-row:not([hidden])');
    // Each Join is a websocket of its own; Join is enabled again once
    // the answer came.
    const tryPassword = async (pw, n) => {
        await guest.page.fill('#pw-input', pw);
        await guest.page.click('#join-btn');
        await guest.page.waitForFunction((k) => window.__ws.length === k && !document.getElementById('join-btn').disabled, n);
        return guest.page.textContent('#pre-msg-text');
    };
    assert.match(await tryPassword('rose', 2), /^Wrong password\. Try again\.$/);
    assert.match(await tryPassword('lily', 3), /^Wrong password\. Try again\. You tried again at/);
    assert.match(await tryPassword('iris', 4), /^Wrong password\. Try again\. You tried again at/);
    // The room's three tries are used: even the right one waits now.
    assert.equal(await tryPassword('tulip', 5), 'Too many wrong passwords were tried for this meeting. Wait a minute, then try again.');
    assert.deepEqual([await guest.page.isVisible('#pw-row'), await guest.page.evaluate(() => document.activeElement.id)], [true, 'pw-input']);
    assert.equal(await guest.page.evaluate(() => document.body.dataset.state), 'prejoin');
    assert.deepEqual(real(guest.errors()), []);
});

test('outside a secure context the page explains HTTPS and still joins to watch', async () => {
    // huddle.test maps to loopback but is not "localhost": plain http there
    // is not a secure context, so there is no camera API at all.
    const port = new URL(stack.url).port;
    const insecure = await launch({ args: ['--host-resolver-rules=MAP huddle.test 127.0.0.1'] });
    try {
        const url = `http://huddle.test:${port}/secure-check`;
        const v = await newParticipant(insecure, url, 'Viewer');
        await v.page.waitForSelector('#pre-msg:not([hidden])');
        assert.match(await v.page.textContent('#pre-msg-text'), /https/i);
        const s = await person(`${stack.url}/secure-check`, 'Speaker');
        await s.join();
        await v.join();
        await waitForPlayingVideo(v.page, 'Speaker');
        assert.deepEqual(await remoteNames(s.page), ['Viewer']);
        assert.deepEqual(real(v.errors()), []);
        assert.deepEqual(s.errors(), []);
    } finally {
        await insecure.close();
    }
});
