// The sidecar restarts during a call: the clients reconnect on their own,
// the media connections survive (same video element, frames still coming)
// and no tile is duplicated. A chat line the sidecar died with is not lost:
// it comes back marked maybe not sent, with Send again. A host away longer
// than the grace comes back as a guest: the page says so and keeps none of
// the host's lobby; while knocking to get back in it sends nothing that
// could get its knock closed, and what changed meanwhile follows the welcome.
// Someone knocking whose connection drops is told the server is out of
// reach, and knocks again once it answers; one whose browser goes offline
// a moment keeps the knock, and one denied meanwhile is told so. The
// browser going offline is shown within seconds. A page numbers its
// resumes, across a reload too, and keeps its way back when reloaded again
// while still joining.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, startSidecar, startNginx, stopAll } from '../lib/stack.mjs';
import { launch, peoplePerTest, realErrors, recordToasts, remoteNames, waitForPlayingVideo, watchSockets } from '../lib/browser.mjs';

let stack;
let browser;
let replacement;
let proxy;
let spare;

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (proxy) await stopAll([proxy]);
    if (spare) await stopAll([spare]);
    if (replacement) await stopAll([replacement]);
    if (stack) await stack.stop();
});

const person = peoplePerTest(() => browser);

/** How many times p's page has been welcomed so far (its sessions). */
const sessionsOf = (p) => p.page.evaluate(() => Number(document.body.dataset.sessions));

/** Resolves once p's page is in the meeting on a session after its n-th. */
const backAfter = (p, n, timeout) => p.page.waitForFunction((k) => document.body.dataset.state === 'meeting'
    && Number(document.body.dataset.sessions) > k, n, { timeout });

/** The seat ids of the tiles on p's page, its own first. */
const tileIds = (p) => p.page.$$eval('#grid .tile', (els) => els.map((e) => e.dataset.peer));


test('after a sidecar restart video keeps playing, clients rejoin, no duplicate tile', async () => {
    const url = `${stack.url}/restart-me`;
    const a = await person(url, 'Alice', { init: recordToasts });
    await a.join();
    const b = await person(url, 'Bob', { init: recordToasts });
    await b.join();
    await waitForPlayingVideo(a.page, 'Bob');
    await waitForPlayingVideo(b.page, 'Alice');
    for (const p of [a, b]) {
        await p.page.$eval('#grid .tile:not(.local) video', (v) => { v.dataset.before = 'yes'; });
    }
    // Bob's hand goes up, then Alice's.
    await b.page.click('#btn-hand');
    await a.page.waitForSelector('#grid .tile.hand');
    await a.page.click('#btn-hand');
    await b.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 2);
    const hands = (p) => p.page.$$eval('#hands-list li', (els) => els.map((e) => e.textContent));
    const order = { a: await hands(a), b: await hands(b) };
    assert.equal(order.a.length, 2);
    // What the toasts say from here on (those of the hands gone first).
    const toastsSince = {};
    for (const p of [a, b]) {
        await p.page.waitForSelector('#toast', { state: 'hidden', timeout: 20000 });
        toastsSince[p.name] = await p.page.evaluate(() => window.__toasts.length);
    }

    const old = stack.sidecars[0];
    await old.stop();
    assert.equal(old.sanitizerReport(), null);
    await a.page.waitForFunction(() => document.body.dataset.state === 'reconnecting');
    assert.match(await a.page.textContent('#banner'), /Reconnecting/);
    assert.equal(await a.page.isVisible('#banner'), true);
    // Media is peer to peer: it keeps flowing while signalling is down.
    await waitForPlayingVideo(a.page, 'Bob');

    replacement = await startSidecar({ port: old.port, env: { HUDDLE_NODE_ID: 'node1' } });
    for (const p of [a, b]) await backAfter(p, 1, 30000);
    assert.equal(await a.page.isHidden('#banner'), true);
    for (const [p, other] of [[a, 'Bob'], [b, 'Alice']]) {
        await p.page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 2);
        assert.deepEqual(await remoteNames(p.page), [other]);
        await waitForPlayingVideo(p.page, other);
        const same = await p.page.$eval('#grid .tile:not(.local) video', (v) => v.dataset.before === 'yes');
        assert.equal(same, true, 'the same tile and connection carried on');
    }
    // The same two people, hands up as before and in the same order: nobody
    // "joined", no hand "went up".
    for (const [p, was] of [[a, order.a], [b, order.b]]) {
        await p.page.waitForFunction((n) => document.querySelectorAll('#hands-list li').length === n, was.length);
        assert.deepEqual(await hands(p), was);
        const said = await p.page.evaluate((from) => window.__toasts.slice(from).map((x) => x.text), toastsSince[p.name]);
        assert.deepEqual(said.filter((text) => /joined|raised a hand/.test(text)), [], `${p.name}'s toasts: ${said}`);
    }
    // Signalling works again: a chat goes through the new sidecar.
    await a.page.click('#btn-chat');
    await a.page.fill('#chat-input', 'still here');
    await a.page.press('#chat-input', 'Enter');
    await b.page.waitForFunction(() => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'still here'));
    // And the rebound tiles follow state changes under their new ids.
    await b.page.click('#btn-mic');
    await a.page.waitForSelector('#grid .tile:not(.local).muted');
    assert.equal(await a.page.$$eval('#grid .tile', (els) => els.length), 2);
    assert.deepEqual(realErrors(a.errors()), []);
    assert.deepEqual(realErrors(b.errors()), []);
});

test('after a dropped connection (nginx restarted) the client resumes its seat with the same id', async () => {
    const url = `${stack.url}/resume-me`;
    const a = await person(url, 'Alice');
    await a.join();
    const b = await person(url, 'Bob');
    await b.join();
    await waitForPlayingVideo(a.page, 'Bob');
    const idsBefore = await tileIds(a);
    const sessions = await sessionsOf(a);

    // nginx going away drops the upstream websockets without a close frame
    // from the browser: the sidecar keeps the seats for the grace period.
    const old = stack.nginx;
    await old.stop();
    await a.page.waitForFunction(() => document.body.dataset.state === 'reconnecting');
    await waitForPlayingVideo(a.page, 'Bob');
    proxy = await startNginx({ port: old.port, fcgiAddr: stack.fcgi.nginxAddr, sidecarAddrs: [(replacement || stack.sidecars[0]).addr] });
    for (const p of [a, b]) await backAfter(p, sessions, 30000);
    assert.deepEqual(await tileIds(a), idsBefore, 'same ids: the seats were resumed');
    await waitForPlayingVideo(a.page, 'Bob');
    await waitForPlayingVideo(b.page, 'Alice');
    await b.page.click('#btn-hand');
    await a.page.waitForSelector('#grid .tile.hand');
    assert.deepEqual(realErrors(a.errors()), []);
    assert.deepEqual(realErrors(b.errors()), []);
});

test('the browser going offline: the page says it reconnects within seconds, not after its pings miss, and back online takes its seat back at once; the other sees nobody leave or join', async () => {
    const url = `${stack.url}/offline-me`;
    const a = await person(url, 'Alice', { init: recordToasts });
    await a.join();
    const b = await person(url, 'Bob', { init: recordToasts });
    await b.join();
    await waitForPlayingVideo(b.page, 'Alice');
    const idsBefore = await tileIds(b);
    const sessions = await sessionsOf(a);
    // Chromium's offline stops the websocket's frames too: a ping at
    // once, unanswered, gives the socket up within 2 to 3 s (the pings
    // alone: 7 to 13 s).
    await a.page.context().setOffline(true);
    await a.page.waitForFunction(() => document.body.dataset.state === 'reconnecting', null, { timeout: 5000 });
    await a.page.context().setOffline(false);
    await backAfter(a, sessions, 10000);
    assert.deepEqual(await tileIds(b), idsBefore, 'same ids: her seat was taken back');
    const toasts = await b.page.evaluate(() => window.__toasts.map((x) => x.text));
    assert.deepEqual(toasts.filter((x) => /Alice (left|joined)/.test(x)), []);
    await waitForPlayingVideo(b.page, 'Alice');
    assert.deepEqual(realErrors(a.errors()), []);
    assert.deepEqual(realErrors(b.errors()), []);
});

test('a page numbers its resumes, on and across a reload: a dropped socket\'s resume is 1, the reload\'s 2, and the seat stays hers', async () => {
    const url = `${stack.url}/numbered-me`;
    const a = await person(url, 'Alice', { init: watchSockets });
    await a.join();
    const joins = () => a.page.evaluate(() => window.__sent.map((x) => JSON.parse(x)).filter((m) => m.type === 'join'));
    const ownId = () => a.page.$eval('#grid .tile.local', (t) => t.dataset.peer);
    const id = await ownId();
    assert.match(id, /^[A-Za-z0-9_-]{16}$/);
    assert.equal((await joins())[0].attempt, undefined, 'the first join takes no seat back');
    const sessions = await sessionsOf(a);
    await a.page.evaluate(() => window.__ws.at(-1).close(4000, 'a test drops it'));
    await backAfter(a, sessions, 10000);
    const [, again] = await joins();
    assert.equal(again.attempt, 1);
    assert.equal(await ownId(), id);
    // Alone, the reload keeps her seat (4001 "back soon"), and the count
    await a.page.reload();
    await a.join();
    const [back] = await joins();
    assert.equal(back.attempt, 2);
    assert.equal(await ownId(), id, 'the same seat');
    assert.deepEqual(realErrors(a.errors()), []);
});

test('a page reloaded again while its way back is still joining (the server stalled) keeps it: back in the same seat once the server answers', async () => {
    const url = `${stack.url}/twice-reloaded`;
    const a = await person(url, 'Alice');
    await a.join();
    const id = await a.page.$eval('#grid .tile.local', (t) => t.dataset.peer);
    // Alone: the reload keeps her seat ("back soon") and the way back.
    await a.page.reload();
    await a.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    // The server stalls; Join waits on it, and she reloads again meanwhile.
    const sidecar = replacement || stack.sidecars[0];
    sidecar.signal('SIGSTOP');
    try {
        await a.page.click('#join-btn');
        await a.page.waitForTimeout(500);
        await a.page.reload();
        await a.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    } finally {
        sidecar.signal('SIGCONT');
    }
    await a.join();
    assert.equal(await a.page.$eval('#grid .tile.local', (t) => t.dataset.peer), id, 'the same seat');
    assert.deepEqual(realErrors(a.errors()), []);
});

test('a chat line the sidecar died with before answering comes back as maybe not sent, and Send again delivers it', async () => {
    const url = `${stack.url}/lost-line`;
    const a = await person(url, 'Alice');
    await a.join();
    const b = await person(url, 'Bob');
    await b.join();
    await waitForPlayingVideo(a.page, 'Bob');
    const texts = (page) => page.$$eval('#chat-log li', (els) => els.map((li) => ({
        text: li.querySelector('.text').textContent,
        mine: li.classList.contains('mine'),
        unsent: li.classList.contains('unsent'),
        why: li.querySelector('.unsent-why') ? li.querySelector('.unsent-why').textContent : null,
    })));
    const has = (page, text) => page.waitForFunction((x) => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === x), text);
    for (const p of [a, b]) await p.page.click('#btn-chat');
    await a.page.fill('#chat-input', 'seen by all');
    await a.page.press('#chat-input', 'Enter');
    await has(b.page, 'seen by all');
    await has(a.page, 'seen by all');
    const sessions = await sessionsOf(a);

    // The sidecar stops reading, gets the line, and dies without answering it.
    const doomed = replacement || stack.sidecars[0];
    doomed.signal('SIGSTOP');
    await a.page.fill('#chat-input', 'lost with the sidecar');
    await a.page.press('#chat-input', 'Enter');
    assert.equal(await a.page.inputValue('#chat-input'), '', 'the box was emptied: the line was sent');
    await a.page.waitForTimeout(300);
    doomed.signal('SIGKILL');
    await doomed.exited;
    spare = await startSidecar({ port: doomed.port, env: { HUDDLE_NODE_ID: 'node1' } });
    for (const p of [a, b]) await backAfter(p, sessions, 30000);
    // Alice's log: the line that went, as before; the lost one, with why and Send again.
    await a.page.waitForSelector('#chat-log li.unsent');
    assert.deepEqual(await texts(a.page), [
        { text: 'seen by all', mine: true, unsent: false, why: null },
        { text: 'lost with the sidecar', mine: true, unsent: true, why: 'Maybe not sent: the connection dropped before the server confirmed it.' },
    ]);
    assert.deepEqual((await texts(b.page)).map((m) => m.text), ['seen by all']);
    await a.page.click('#chat-log li.unsent button');
    await has(b.page, 'lost with the sidecar');
    // The line leaves the log on the click and comes back with the server's
    // echo, which can reach Alice after Bob has it.
    await a.page.waitForFunction(() => !document.querySelector('#chat-log li.unsent')
        && document.querySelectorAll('#chat-log li').length === 2);
    assert.deepEqual((await texts(a.page)).map((m) => [m.text, m.mine, m.unsent]), [
        ['seen by all', true, false], ['lost with the sidecar', true, false],
    ]);
    assert.deepEqual(realErrors(a.errors()), []);
    assert.deepEqual(realErrors(b.errors()), []);
});

test('someone knocking whose browser goes offline a moment keeps the knock: the host sees one row, the same knock, one notice; let in, she is in', async () => {
    const url = `${stack.url}/knock-blink`;
    const host = await person(url, 'Hal', { init: recordToasts });
    await host.join();
    await host.page.click('#btn-people');
    await host.page.click('#host-lock');
    await host.page.waitForSelector('#mark-locked:not([hidden])');
    const kim = await person(url, 'Kim', { init: watchSockets });
    await kim.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await kim.page.fill('#name-input', 'Kim');
    await kim.page.click('#join-btn');
    await host.page.waitForSelector('#lobby-list li:has-text("Kim")');
    const knock = await host.page.getAttribute('#lobby-list li:has-text("Kim")', 'data-knock');
    // Offline, her socket's frames stop (the sidecar does not see it go):
    // her page gives it up within 2 to 3 s and says so under its card.
    await kim.page.context().setOffline(true);
    await kim.page.waitForFunction(() => !document.getElementById('gate-note').hidden, null, { timeout: 8000 });
    await kim.page.context().setOffline(false);
    await kim.page.waitForFunction(() => document.getElementById('gate-note').hidden, null, { timeout: 15000 });
    const joins = await kim.page.evaluate(() => window.__sent.map((x) => JSON.parse(x)).filter((m) => m.type === 'join'));
    assert.ok(joins.length >= 2, JSON.stringify(joins));
    assert.equal(joins[0].resume, undefined);
    assert.match(joins.at(-1).resume, /^[A-Za-z0-9_-]{22}$/, 'the knock\'s token');
    await host.page.waitForTimeout(1000);
    assert.deepEqual(await host.page.$$eval('#lobby-list li', (els) => els.map((li) => li.dataset.knock)), [knock]);
    const told = (await host.page.evaluate(() => window.__toasts.map((x) => x.text))).filter((x) => /Kim/.test(x));
    assert.equal(told.length, 1, told.join(' | '));
    await host.page.click('#lobby-list li:has-text("Kim") button.admit');
    await kim.page.waitForFunction(() => document.body.dataset.state === 'meeting', null, { timeout: 10000 });
    assert.equal((await tileIds(kim))[0], knock, 'her seat is the knock the host let in');
    for (const p of [host, kim]) assert.deepEqual(realErrors(p.errors()), [], p.name);
});

test('someone knocking who is denied while her browser is offline is told so once back: the host sees no new knock', async () => {
    const url = `${stack.url}/knock-denied-away`;
    const host = await person(url, 'Hal', { init: recordToasts });
    await host.join();
    await host.page.click('#btn-people');
    await host.page.click('#host-lock');
    await host.page.waitForSelector('#mark-locked:not([hidden])');
    const kim = await person(url, 'Kim');
    await kim.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await kim.page.fill('#name-input', 'Kim');
    await kim.page.click('#join-btn');
    await host.page.waitForSelector('#lobby-list li:has-text("Kim")');
    await kim.page.context().setOffline(true);
    await kim.page.waitForFunction(() => !document.getElementById('gate-note').hidden, null, { timeout: 8000 });
    // The denial goes to the socket her page gave up (left open, the
    // sidecar still holds it): she reads it once the network is back.
    await host.page.click('#lobby-list li:has-text("Kim") button.deny');
    await host.page.waitForSelector('#lobby', { state: 'hidden' });
    await kim.page.context().setOffline(false);
    await kim.page.waitForFunction(() => document.getElementById('gate').dataset.why === 'denied', null, { timeout: 10000 });
    await host.page.waitForTimeout(1500);
    assert.equal(await host.page.$$eval('#lobby-list li', (els) => els.length), 0);
    const told = (await host.page.evaluate(() => window.__toasts.map((x) => x.text))).filter((x) => /Kim/.test(x));
    assert.equal(told.length, 1, told.join(' | '));
    for (const p of [host, kim]) assert.deepEqual(realErrors(p.errors()), [], p.name);
});

test('a host away longer than the grace comes back as a guest: told so as she knocks, no host\'s tools or lobby left on the page', async () => {
    const quick = await startStack({ sidecars: 1, sidecarEnv: { HUDDLE_RESUME_GRACE_MS: '2000' } });
    const url = `${quick.url}/host-away`;
    const open = (name, opts) => person(url, name, opts);
    try {
        const ann = await open('Ann', { init: watchSockets });
        await ann.join();
        const ben = await open('Ben');
        await ben.join();
        await waitForPlayingVideo(ann.page, 'Ben');
        await ann.page.click('#btn-people');
        await ann.page.click('#host-lock');
        await ann.page.waitForSelector('#mark-locked:not([hidden])');
        const dan = await open('Dan', { init: watchSockets });
        await dan.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
        await dan.page.fill('#name-input', 'Dan');
        await dan.page.click('#join-btn');
        await ann.page.waitForSelector('#lobby-list li:has-text("Dan")');

        // Ann's connection drops and stays down past the grace: Ben is the host now.
        await ann.page.evaluate(() => { window.__blockWs = true; window.__ws.at(-1).close(4000); });
        await ben.page.waitForFunction(() => document.querySelector('#host-tools') && !document.querySelector('#host-tools').hidden, null, { timeout: 20000 });
        await ben.page.click('#btn-people');
        await ann.page.evaluate(() => { window.__blockWs = false; });
        // Back, Ann knocks at the locked meeting. While she waits her page
        // sends nothing but pings (the sidecar would answer each with
        // not-joined, and enough errors close the socket and the knock):
        // she raises her hand 13 times over, her knock stays.
        await ben.page.waitForSelector('#lobby-list li:has-text("Ann") button.admit', { timeout: 30000 });
        // Knocking, she is told she is no host now, and a host's tools and
        // lobby are gone from her page (they showed on while she waited).
        await ann.page.waitForFunction(() => /You are no longer a host/.test(document.getElementById('toast').textContent));
        assert.equal(await ann.page.isHidden('#host-tools'), true);
        assert.equal(await ann.page.$$eval('#lobby-list li', (els) => els.length), 0, 'the host\'s lobby is gone');
        assert.equal(await ann.page.textContent('#banner-text'), 'Waiting for a host to let you back in…');
        for (let i = 0; i < 13; i++) await ann.page.click('#btn-hand');
        await ann.page.waitForTimeout(1000);
        assert.doesNotMatch(quick.sidecars[0].output, /too many errors/);
        assert.equal(await ben.page.$$eval('#lobby-list li', (els) => els.filter((li) => li.textContent.includes('Ann')).length), 1);
        // Ben lets her in: her raised hand, kept while she waited, reaches him.
        await ben.page.click('#lobby-list li:has-text("Ann") button.admit');
        await ben.page.waitForSelector('#grid .tile.hand:has(.name:text-is("Ann"))');
        await backAfter(ann, 1, 20000);
        assert.equal(await ann.page.isHidden('#host-tools'), true);
        assert.equal(await ann.page.$$eval('#lobby-list li', (els) => els.length), 0, 'the host\'s lobby is gone');
        assert.equal(await ann.page.isHidden('#waiting-badge'), true);
        // Dan still waits, for Ben.
        await ben.page.waitForSelector('#lobby-list li:has-text("Dan")');
        // His connection drops and the server stays out of reach a while:
        // his card says so; once it answers he knocks again.
        await dan.page.evaluate(() => { window.__blockWs = true; window.__ws.at(-1).close(4000); });
        await dan.page.waitForFunction(() => !document.getElementById('gate-note').hidden
            && /Can't reach the meeting server/.test(document.getElementById('gate-note').textContent));
        assert.equal(await dan.page.getAttribute('#gate', 'data-why'), 'knocking');
        await dan.page.evaluate(() => { window.__blockWs = false; });
        await dan.page.waitForFunction(() => document.getElementById('gate-note').hidden, null, { timeout: 20000 });
        await ben.page.waitForSelector('#lobby-list li:has-text("Dan")');
        for (const p of [ann, ben]) assert.deepEqual(realErrors(p.errors()), [], p.name);
    } finally {
        await quick.stop();
    }
});
