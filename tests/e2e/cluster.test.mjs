// Two sidecars sharing rooms through Redis: people spread over both meet,
// and when one sidecar stalls or is killed (kill -9) its people resume on
// the other while the call's media keeps flowing; with Redis down, what the page
// sends by itself and is refused is not shown as an error; a join
// refused meanwhile is tried again until it is in; a Redis back
// without its data leaves a locked meeting locked, its host told why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { sleep, startRedis, startStack, stopAll } from '../lib/stack.mjs';
import { launch, peoplePerTest, realErrors, recordToasts, waitForPlayingVideo, remoteNames, watchSockets } from '../lib/browser.mjs';

let stack;
let browser;
let redisAgain = null; // a Redis started in place of the stack's

before(async () => {
    // One nginx worker: least_conn then spreads the people over both
    // sidecars for sure (with two, each worker counts only its own).
    // A join timeout longer than any test: a page is never let go of by it.
    stack = await startStack({ sidecars: 2, nginxEnv: { NGINX_WORKERS: '1' }, sidecarEnv: { HUDDLE_JOIN_TIMEOUT_MS: '120000' } });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
    if (redisAgain) await stopAll([redisAgain]);
});

const person = peoplePerTest(() => browser);


/** The index in stack.sidecars of the sidecar that seated p in room (it
 * logged the join of p's own id, which p's own tile carries). */
async function seatOf(p, room) {
    const id = await p.page.getAttribute('#grid .tile.local', 'data-peer');
    const re = new RegExp(`\\bjoin room=${room} peer=${id} `);
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await sleep(20)) {
        const at = stack.sidecars.flatMap((s, i) => (re.test(s.output) ? [i] : []));
        if (at.length === 1) return at[0];
    }
    throw new Error(`no one sidecar logged ${re}`);
}

test('a chat line sent while Redis is down reaches its own sidecar\'s people and says it may not have reached everyone', async () => {
    const room = 'redis-asleep';
    const people = [];
    for (const n of ['Ann', 'Ben', 'Cal']) {
        const p = await person(`${stack.url}/${room}`, n, { init: watchSockets });
        await p.join();
        people.push(p);
    }
    for (const p of people) await p.page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 3);
    const seats = [];
    for (const p of people) seats.push(await seatOf(p, room));
    // Three people on two sidecars: two share one. The sender and a
    // neighbour there, the third on the other sidecar.
    const [s, l] = people.filter((p, i) => seats.filter((x) => x === seats[i]).length === 2);
    const r = people.find((p) => p !== s && p !== l);
    assert.ok(s && l && r, `seats ${seats}`);
    for (const p of people) await p.page.click('#btn-chat');
    const ups = () => stack.sidecars.map((x) => x.output.split('redis up as node').length);
    const upsBefore = ups();
    stack.redis.signal('SIGSTOP');
    try {
        for (const x of stack.sidecars) await x.waitForOutput(/redis down/, 15000);
        await s.page.fill('#chat-input', 'while Redis sleeps');
        await s.page.press('#chat-input', 'Enter');
        const has = (page) => page.waitForFunction(() => [...document.querySelectorAll('#chat-log .text')]
            .some((e) => e.textContent === 'while Redis sleeps'), null, { timeout: 10000 });
        await has(l.page);
        await has(s.page);
        // Shown as sent (no Send again: it reached the people here), with a word of warning.
        await s.page.waitForSelector('#chat-log li.mine .unsent-why');
        const mine = await s.page.$eval('#chat-log li.mine:last-child', (li) => ({
            unsent: li.classList.contains('unsent'), why: li.querySelector('.unsent-why').textContent, again: !!li.querySelector('button'),
        }));
        assert.deepEqual(mine, { unsent: false, why: 'The server is busy: this may not have reached everyone.', again: false });
        await sleep(500);
        assert.equal(await r.page.$$eval('#chat-log .text', (els) => els.some((e) => e.textContent === 'while Redis sleeps')), false);
        // What the page sends by itself, refused meanwhile (a signal to the
        // other sidecar: unavailable), is nothing to tell the person. Before,
        // each one toasted "The server is busy; trying again…".
        const other = await r.page.getAttribute('#grid .tile.local', 'data-peer');
        const refusals = () => s.page.evaluate(() => window.__ws.at(-1).__refusals || 0);
        await s.page.evaluate((to) => {
            const ws = window.__ws.at(-1);
            ws.addEventListener('message', (e) => {
                const m = JSON.parse(e.data);
                if (m.type === 'error' && m.ref === 'signal') ws.__refusals = (ws.__refusals || 0) + 1;
            });
            ws.send(JSON.stringify({ type: 'signal', to, data: { view: 'a test' } }));
        }, other);
        for (let t = 0; await refusals() === 0; t++) {
            assert.ok(t < 100, 'no answer to the signal');
            await sleep(50);
        }
        await sleep(1600); // a toast queued behind another shows within 1.5 s
        assert.doesNotMatch(await s.page.textContent('#toast'), /busy/);
        // The host locks meanwhile: refused (unavailable), and nothing
        // tries it again, so she is told it was not done (before: "The
        // server is busy; trying again…", and the meeting stayed open).
        const host = people[0];
        await host.page.click('#tab-people');
        await host.page.click('#host-lock');
        await host.page.waitForFunction(() => document.getElementById('toast').textContent
            === 'That was not done: the meeting server is cut off for a moment. Try again shortly.', null, { timeout: 10000 });
        assert.equal((await host.page.textContent('#host-lock')).trim(), 'Lock meeting');
    } finally {
        stack.redis.signal('SIGCONT');
    }
    // Both sidecars are back on Redis before the next test.
    for (let t = 0; ups().some((n, i) => n <= upsBefore[i]); t++) {
        if (t > 300) assert.fail('the sidecars did not reconnect to Redis');
        await sleep(50);
    }
    for (const p of people) assert.deepEqual(realErrors(p.errors()), [], p.name);
});

test('a Join pressed, and a way back taken, while Redis is down get in by themselves once it is up', async () => {
    // Before, a join answered "unavailable" (this sidecar not on Redis)
    // said "trying again" and never did: the page waited until the
    // sidecar closed a connection that had not joined (its join timeout,
    // here longer than the test).
    const room = 'redis-wait';
    const unavailable = () => {
        window.__unavailable = 0;
        const Native = window.WebSocket;
        window.WebSocket = class extends Native {
            constructor(...args) {
                super(...args);
                window.__last = this;
                this.addEventListener('message', (e) => {
                    const m = JSON.parse(e.data);
                    if (m.type === 'error' && m.code === 'unavailable' && m.ref === 'join') window.__unavailable++;
                });
            }
        };
    };
    const ann = await person(`${stack.url}/${room}`, 'Ann', { init: unavailable });
    await ann.join();
    const id = await ann.page.getAttribute('#grid .tile.local', 'data-peer');
    const says = (what) => stack.sidecars.map((x) => x.output.split(what).length);
    const upsBefore = says('redis up as node');
    const downsBefore = says('redis down');
    stack.redis.signal('SIGSTOP');
    let bo;
    try {
        for (let t = 0; says('redis down').some((n, i) => n <= downsBefore[i]); t++) {
            assert.ok(t < 300, 'the sidecars did not notice Redis stopped');
            await sleep(50);
        }
        // Ann's connection drops (a close code that is not a leave): her
        // way back is answered unavailable.
        await ann.page.evaluate(() => window.__last.close(4000, 'a test drop'));
        bo = await person(`${stack.url}/${room}`, 'Bo', { init: unavailable });
        await bo.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
        await bo.page.fill('#name-input', 'Bo');
        await bo.page.click('#join-btn');
        for (const p of [ann, bo]) await p.page.waitForFunction(() => window.__unavailable > 0, null, { timeout: 15000 });
        // Bo's page says it tries again; Ann's that she is reconnecting.
        await bo.page.waitForFunction(() => /^Can't reach the meeting server\. Retrying in \d+ s…$/.test(document.getElementById('pre-msg-text').textContent));
        assert.equal(await ann.page.evaluate(() => document.body.dataset.state), 'reconnecting');
    } finally {
        stack.redis.signal('SIGCONT');
    }
    for (let t = 0; says('redis up as node').some((n, i) => n <= upsBefore[i]); t++) {
        if (t > 300) assert.fail('the sidecars did not reconnect to Redis');
        await sleep(50);
    }
    // Both in, by themselves: Bo in the meeting with Ann, Ann in her own seat.
    await bo.page.waitForFunction(() => document.body.dataset.state === 'meeting', null, { timeout: 15000 });
    for (const [p, other] of [[ann, 'Bo'], [bo, 'Ann']]) await waitForPlayingVideo(p.page, other);
    assert.equal(await ann.page.getAttribute('#grid .tile.local', 'data-peer'), id);
    for (const p of [ann, bo]) assert.deepEqual(realErrors(p.errors()), [], p.name);
});

test('a sidecar that stalls mid-call: its people are back on the other one with their seats, a host still host of her locked meeting, and nobody saw anyone leave', async () => {
    const room = 'stalled-sidecar';
    const ann = await person(`${stack.url}/${room}`, 'Ann', { init: recordToasts });
    await ann.join();
    const ben = await person(`${stack.url}/${room}`, 'Ben', { init: recordToasts });
    await ben.join();
    await waitForPlayingVideo(ann.page, 'Ben');
    await waitForPlayingVideo(ben.page, 'Ann');
    const seats = [await seatOf(ann, room), await seatOf(ben, room)];
    assert.notEqual(seats[0], seats[1], 'Ann and Ben on one sidecar');
    await ann.page.click('#btn-people');
    await ann.page.click('#host-lock');
    await ann.page.waitForSelector('#mark-locked:not([hidden])');
    const annId = await ann.page.getAttribute('#grid .tile.local', 'data-peer');
    const sessions = await ann.page.evaluate(() => Number(document.body.dataset.sessions));
    // Ben's page notes every tile that leaves his grid.
    await ben.page.evaluate(() => {
        window.__tilesGone = [];
        new MutationObserver((records) => {
            for (const r of records) {
                for (const n of r.removedNodes) if (n.classList && n.classList.contains('tile')) window.__tilesGone.push(n.dataset.peer);
            }
        }).observe(document.getElementById('grid'), { childList: true });
    });

    // Ann's sidecar stops answering (a stopped process; a host cut off
    // from the network looks alike), far past its node TTL.
    const stalled = stack.sidecars[seats[0]];
    stalled.signal('SIGSTOP');
    try {
        // Her page hears nothing for a while, gives the sidecar up and
        // resumes through nginx on the other: the same seat.
        await ann.page.waitForFunction((n) => document.body.dataset.state === 'meeting'
            && Number(document.body.dataset.sessions) > n, sessions, { timeout: 40000 });
        assert.equal(await ann.page.getAttribute('#grid .tile.local', 'data-peer'), annId);
        assert.equal(await ann.page.evaluate(() => document.getElementById('host-tools').hidden), false, 'still a host');
        assert.equal(await ann.page.evaluate(() => document.getElementById('mark-locked').hidden), false, 'still locked');
        await waitForPlayingVideo(ann.page, 'Ben');
        await waitForPlayingVideo(ben.page, 'Ann');
        // Her hand reaches Ben through the sidecar she is on now.
        await ann.page.click('#btn-hand');
        await ben.page.waitForSelector('#grid .tile.hand:has(.name:text-is("Ann"))');
        // The others forget the stalled sidecar (its key expired, a reaper
        // ran): nothing of hers waits in a grace that could end her seat,
        // which Redis gives the sidecar she is on now.
        const redis = (...args) => execFileSync('redis-cli', ['-p', String(stack.redis.port), ...args]).toString().trim();
        const nodeOf = (sc) => sc.output.match(/as node (\S+)/)[1];
        for (const deadline = Date.now() + 30000; redis('SISMEMBER', 'huddle:nodes', nodeOf(stalled)) !== '0'; await sleep(200)) {
            assert.ok(Date.now() < deadline, 'the stalled sidecar was never reaped');
        }
        // (seats of earlier tests' pages, closed while in their grace on
        // the stalled sidecar, may wait there: not hers)
        assert.deepEqual(redis('ZRANGE', 'huddle:grace', '0', '-1').split('\n').filter((e) => e.includes(annId)), []);
        assert.equal(redis('HGET', `huddle:room:${room}:nodes`, annId), nodeOf(stack.sidecars[seats[1]]));
        assert.deepEqual(await ben.page.evaluate(() => window.__tilesGone), [], 'a tile left Ben\'s grid');
        const toasts = await ben.page.evaluate(() => window.__toasts.map((t) => t.text));
        assert.deepEqual(toasts.filter((t) => /Ann/.test(t) && !/raised/.test(t)), [], 'Ben was told of Ann');
        assert.equal(await ben.page.$$eval('#grid .tile', (els) => els.length), 2);
        for (const p of [ann, ben]) assert.deepEqual(realErrors(p.errors()), [], p.name);
    } finally {
        stalled.signal('SIGCONT');
    }
    // Back, the stalled sidecar finds its liveness key gone and re-asserts
    // what it still holds (nothing: Ann left it), and takes people again.
    await stalled.waitForOutput(/liveness key had expired/, 15000);
});

test('with two sidecars a sidecar killed mid-call leaves the call up and no duplicate tile', async () => {
    const url = `${stack.url}/two-nodes`;
    const people = [];
    for (const n of ['Alice', 'Bob', 'Chen']) {
        const p = await person(url, n);
        await p.join();
        people.push(p);
    }
    for (const p of people) {
        for (const q of people) if (p !== q) await waitForPlayingVideo(p.page, q.name);
    }
    const before = await Promise.all(people.map((p) => p.page.evaluate(() => Number(document.body.dataset.sessions))));
    const seats = [];
    for (const p of people) seats.push(await seatOf(p, 'two-nodes'));
    assert.equal(new Set(seats).size, 2, `everyone on one sidecar: ${seats}`);

    const victim = stack.sidecars[0];
    victim.signal('SIGKILL');
    await victim.exited;
    // Whoever was on it reconnects through nginx to the survivor: a new
    // session each; the others keep theirs.
    for (const [i, p] of people.entries()) {
        const moved = seats[i] === 0;
        await p.page.waitForFunction(([n, more]) => document.body.dataset.state === 'meeting'
            && Number(document.body.dataset.sessions) >= n + more, [before[i], moved ? 1 : 0], { timeout: 40000 });
    }
    for (const p of people) {
        const others = people.filter((q) => q !== p).map((q) => q.name).sort();
        await p.page.waitForFunction((k) => document.querySelectorAll('#grid .tile').length === k, 3, { timeout: 40000 });
        assert.deepEqual(await remoteNames(p.page), others);
        for (const q of others) await waitForPlayingVideo(p.page, q);
    }
    // Signalling works for everyone afterwards.
    await people[2].page.click('#btn-hand');
    await people[0].page.waitForSelector('#grid .tile.hand');
    await people[1].page.waitForSelector('#grid .tile.hand');
    for (const p of people) assert.deepEqual(realErrors(p.errors()), [], p.name);
});

test('Redis back without its data: a locked meeting stays locked, its host is told why, and a newcomer knocks', async () => {
    const room = 'redis-amnesia';
    const ann = await person(`${stack.url}/${room}`, 'Ann', { init: recordToasts });
    await ann.join();
    const ben = await person(`${stack.url}/${room}`, 'Ben');
    await ben.join();
    await ann.page.click('#btn-people');
    await ann.page.click('#host-lock');
    await ann.page.waitForSelector('#mark-locked:not([hidden])');
    // Redis restarts without its data (no persistence).
    const port = stack.redis.port;
    await stack.redis.stop();
    for (const x of stack.sidecars) await x.waitForOutput(/redis down/, 15000);
    redisAgain = await startRedis({ port });
    await ann.page.waitForFunction(() => window.__toasts.some((x) => x.text.startsWith("The meeting server lost this meeting's settings")), null, { timeout: 20000 });
    assert.equal(await ann.page.textContent('#host-lock .lbl'), 'Unlock meeting');
    assert.equal(await ann.page.isVisible('#mark-locked'), true);
    const cal = await person(`${stack.url}/${room}`, 'Cal');
    await cal.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await cal.page.fill('#name-input', 'Cal');
    await cal.page.click('#join-btn');
    await cal.page.waitForFunction(() => document.body.dataset.state === 'knocking');
    for (const p of [ann, ben, cal]) assert.deepEqual(realErrors(p.errors()), [], p.name);
});
