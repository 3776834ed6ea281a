// Self-repair of one mesh link (public/mesh.js) with three people: Alice,
// Bob and Carol, in Chromium with fake media, through nginx and a sidecar.
// The link between Alice and Bob is broken on purpose by a test-only init
// script (tests/lib/browser.mjs linkBreaker); the pages repair it without
// anyone doing anything:
// - its candidates are lost until the ICE credentials change: the ICE
//   restart step repairs it;
// - the same with the leader's "repaired" word lost (Alice and Bob only):
//   the follower takes its link for repaired at the end of its step;
// - Bob's connection is closed under the page: only a new connection (the
//   re-offer step) can repair it;
// - with a real coturn, media is dropped while the link takes a direct path
//   (a firewall that lets ICE checks through but not RTP): the ICE restart
//   finds a direct path again, the forced relay (a new relayed-only
//   connection) repairs it.
// - no link can connect at all (a network that drops every candidate): the
//   pages give up, keep the person's tile with "Can't connect" and Try
//   again, try again by themselves later and on Try again, and connect at
//   once when the browser says the network is back (the pages' clocks
//   jumped forward: the ladder takes 45 s).
// Each time: video plays again both ways (framesDecoded grows), the steps
// (the console lines `huddle: repair <id> <step>`) come in the ladder's
// order, and Carol's two links saw no repair and no renegotiation.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { advanceClocks, launch, linkBreaker, linkInfo, newParticipant, realErrors, recordToasts, screenshot, waitForPlayingVideo, watchSockets } from '../lib/browser.mjs';
import { startCoturn } from '../lib/coturn.mjs';
import { sleep, startSidecar, startStack, stopAll } from '../lib/stack.mjs';

const secret = crypto.randomBytes(18).toString('base64url');
let browser;
let coturn;

before(async () => {
    browser = await launch();
    coturn = await startCoturn(secret);
});

after(async () => {
    if (browser) await browser.close();
    if (coturn) await coturn.stop();
});

const LADDER = ['ice-restart', 'relay', 'reoffer', 'repaired'];

/**
 * Joins Alice, Bob and Carol (or names) to url, in that order; each
 * records its repair lines. inits: linkBreaker's argument by name; also:
 * more init scripts for every page; clock: the pages' timers on
 * Playwright's clock (advanceClocks()).
 */
async function threePeople(url, inits = {}, { names = ['Alice', 'Bob', 'Carol'], also = [], clock = false } = {}) {
    const people = [];
    for (const name of names) {
        const p = await newParticipant(browser, url, name, { init: [linkBreaker, ...also], initArg: inits[name] || {}, clock });
        p.repairs = [];
        p.page.on('console', (m) => {
            const r = /^huddle: repair (\S+) (\S+)$/.exec(m.text());
            if (r) p.repairs.push({ id: r[1], step: r[2] });
        });
        people.push(p);
        await p.join();
        // what the X-ray's tile badges say, each time it changes
        await p.page.evaluate(() => {
            window.__badges = [];
            new MutationObserver((muts) => {
                for (const m of muts) {
                    const tile = m.target.closest && m.target.closest('.tile');
                    if (m.target.classList.contains('link-mark') && tile) window.__badges.push({ peer: tile.dataset.peer, title: m.target.title });
                }
            }).observe(document.getElementById('grid'), { subtree: true, attributes: true, attributeFilter: ['title'] });
        });
    }
    return people;
}

/** Whether p's tile badge for peer id said text at some point since the join. */
async function badgeSaid(p, id, text) {
    const seen = await p.page.evaluate(() => window.__badges);
    return seen.some((b) => b.peer === id && b.title.includes(text));
}

/** The peer id page shows on the tile named name. */
function idOf(page, name) {
    return page.evaluate((n) => [...document.querySelectorAll('#grid .tile:not(.local)')]
        .find((t) => t.querySelector('.name').textContent === n).dataset.peer, name);
}

/** Everyone sees everyone's video. */
async function allPlaying(people) {
    for (const p of people) {
        for (const q of people) if (q !== p) await waitForPlayingVideo(p.page, q.name, 60000);
    }
}

/**
 * The live connection of the link between x and y on each side:
 * [x's info, y's info], matched by the selected pair's ports.
 */
async function linkBetween(x, y) {
    const [xs, ys] = [await linkInfo(x.page), await linkInfo(y.page)];
    for (const a of xs) {
        const b = ys.find((s) => a.localPort && s.localPort === a.remotePort && s.remotePort === a.localPort);
        if (b) return [a, b];
    }
    return null;
}

/** Waits for a live link between x and y; returns linkBetween(). */
async function waitForLink(x, y) {
    const deadline = Date.now() + 60000;
    for (;;) {
        const l = await linkBetween(x, y);
        if (l) return l;
        if (Date.now() > deadline) throw new Error(`no live link between ${x.name} and ${y.name}`);
        await sleep(250);
    }
}

/** Resolves once p logged step `step` for peer id. */
async function waitForStep(p, id, step) {
    const deadline = Date.now() + 90000;
    while (!p.repairs.some((r) => r.id === id && r.step === step)) {
        if (Date.now() > deadline) throw new Error(`${p.name} never logged ${step}: ${JSON.stringify(p.repairs)}`);
        await sleep(250);
    }
}

/** The steps p logged: all for peer id. */
function stepsOf(p, id) {
    assert.ok(p.repairs.every((r) => r.id === id), `${p.name} repaired another link: ${JSON.stringify(p.repairs)}`);
    return p.repairs.map((r) => r.step);
}

/** steps are in the ladder's order and end with 'repaired'. */
function assertLadder(name, steps) {
    const at = steps.map((s) => LADDER.indexOf(s));
    assert.ok(at.every((i, k) => i >= 0 && (k === 0 || i > at[k - 1])), `${name}: ${steps}`);
    assert.equal(steps.at(-1), 'repaired', `${name}: ${steps}`);
}

/** Video frames decoded on both ends of the link between x and y grow. */
async function framesGrow(x, y) {
    const [a0, b0] = await waitForLink(x, y);
    const deadline = Date.now() + 30000;
    for (;;) {
        const l = await linkBetween(x, y);
        if (l && l[0].framesDecoded > a0.framesDecoded && l[1].framesDecoded > b0.framesDecoded) return;
        if (Date.now() > deadline) throw new Error(`frames do not grow between ${x.name} and ${y.name}`);
        await sleep(250);
    }
}

/**
 * Carol's links with Alice and Bob: both ends' connections, as the indexes
 * of window.__pcs and their signalling changes and local SDP.
 */
async function carolsLinks(alice, bob, carol) {
    return [await waitForLink(alice, carol), await waitForLink(bob, carol)];
}

/** Carol's links are the same connections as before, with no renegotiation. */
async function assertUntouched(alice, bob, carol, before) {
    const now = { Alice: await linkInfo(alice.page), Bob: await linkInfo(bob.page), Carol: await linkInfo(carol.page) };
    const [[ac, ca], [bc, cb]] = before;
    for (const [who, s] of [['Alice', ac], ['Carol', ca], ['Bob', bc], ['Carol', cb]]) {
        const n = now[who][s.i];
        assert.equal(n.state, 'connected', `${who}: ${JSON.stringify(n)}`);
        assert.equal(n.changes, s.changes, `${who}'s connection ${s.i} was renegotiated`);
        assert.equal(n.sdp, s.sdp, `${who}'s connection ${s.i} has a new local description`);
    }
    assert.deepEqual(carol.repairs, [], 'Carol repaired a link');
}

test('a link whose candidates were lost is repaired by an ICE restart; the other links never notice', async () => {
    const stack = await startStack();
    let people = [];
    try {
        people = await threePeople(`${stack.url}/repair-ice`, { Alice: { blockFirst: true }, Bob: { blockFirst: true } }, { clock: true });
        const [alice, bob, carol] = people;
        const before = await carolsLinks(alice, bob, carol);
        const [aliceId, bobId] = [await idOf(bob.page, 'Alice'), await idOf(alice.page, 'Bob')];
        // The pages' clocks jump to the 15 s after which a link that did
        // not connect is broken; the ICE restart connects in real time.
        await advanceClocks(people, () => countOf(alice, bobId, 'ice-restart') && countOf(bob, aliceId, 'ice-restart'));
        await waitForStep(alice, bobId, 'repaired');
        await waitForStep(bob, aliceId, 'repaired');
        await allPlaying(people);
        await framesGrow(alice, bob);
        const dropped = await Promise.all([alice, bob].map((p) => p.page.evaluate(() => window.__pcs[0].__dropped)));
        assert.ok(dropped.every((n) => n > 0), `the hook dropped no candidate: ${dropped}`);
        assert.deepEqual(stepsOf(alice, bobId), ['ice-restart', 'repaired']);
        assert.deepEqual(stepsOf(bob, aliceId), ['ice-restart', 'repaired']);
        // the X-ray showed the step under way on the tile (en: public/i18n/en.js
        // xray.repair-*); once repaired the badge goes back to the grade
        for (const [p, id] of [[alice, bobId], [bob, aliceId]]) {
            assert.ok(await badgeSaid(p, id, 'Repairing: restarting the connection'), `${p.name}: ${JSON.stringify(await p.page.evaluate(() => window.__badges))}`);
        }
        await assertUntouched(alice, bob, carol, before);
        for (const p of people) assert.deepEqual(p.errors(), [], p.name);
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});

/** Init script: the page's "repaired" words to the other side are lost, as with a signalling drop. */
function loseRepaired() {
    const send = WebSocket.prototype.send;
    WebSocket.prototype.send = function (data) {
        if (typeof data === 'string' && data.includes('"repair":"repaired"')) return;
        send.call(this, data);
    };
}

/**
 * In page: `after` ms after its console says step `step` of a repair, its
 * live connection says 'disconnected' for `ms`, then 'connected' again,
 * each with its connectionstatechange, as a moment's loss of ICE consent
 * does (the transport itself is not touched). The page's clock times the
 * flicker's end (window.__flickerEnd) and every repair line
 * (window.__repairLines: [text, ms]).
 */
function flickerAfter(page, step, after, ms) {
    return page.evaluate(({ step, after, ms }) => {
        window.__repairLines = [];
        const info = console.info.bind(console);
        console.info = (text, ...rest) => {
            if (typeof text === 'string' && text.startsWith('huddle: repair ')) {
                window.__repairLines.push([text, Date.now()]);
                if (text.endsWith(` ${step}`) && !window.__flickerEnd) {
                    window.__flickerEnd = Date.now() + after + ms;
                    setTimeout(() => {
                        const pc = window.__pcs.filter((c) => c.connectionState !== 'closed').at(-1);
                        const tell = () => pc.dispatchEvent(new Event('connectionstatechange'));
                        Object.defineProperty(pc, 'connectionState', { get: () => 'disconnected', configurable: true });
                        tell();
                        setTimeout(() => {
                            delete pc.connectionState;
                            tell();
                        }, ms);
                    }, after);
                }
            }
            info(text, ...rest);
        };
    }, { step, after, ms });
}

test('a follower whose leader\'s "repaired" is lost takes its link for repaired at the end of its step, even if it was disconnected for a moment then', async () => {
    const stack = await startStack();
    let people = [];
    try {
        people = await threePeople(`${stack.url}/repair-word`, { Alice: { blockFirst: true }, Bob: { blockFirst: true } },
            { names: ['Alice', 'Bob'], also: [loseRepaired], clock: true });
        const [alice, bob] = people;
        const [aliceId, bobId] = [await idOf(bob.page, 'Alice'), await idOf(alice.page, 'Bob')];
        // One side leads the ICE restart; it sees media again, says so, and
        // the word is lost. The follower (the polite side: the lower id)
        // is disconnected for 4 s around the end of its step (15 s + 4 s
        // from the leader's offer): it waits for its link instead of
        // taking over with a new connection. (The pages' clocks jump
        // through the waits; the ICE restart connects in real time.)
        const [follower, leader] = aliceId < bobId ? [alice, bob] : [bob, alice];
        const [followerId, leaderId] = follower === alice ? [aliceId, bobId] : [bobId, aliceId];
        await flickerAfter(follower.page, 'ice-restart', 17000, 4000);
        await advanceClocks(people, () => countOf(leader, followerId, 'ice-restart') && countOf(follower, leaderId, 'ice-restart'));
        await waitForStep(leader, followerId, 'repaired');
        await advanceClocks(people, () => countOf(follower, leaderId, 'repaired'));
        await allPlaying(people);
        assert.deepEqual(stepsOf(alice, bobId), ['ice-restart', 'repaired']);
        assert.deepEqual(stepsOf(bob, aliceId), ['ice-restart', 'repaired']);
        // The follower was repaired when the flicker ended, after its step
        // (19 s): by the wait for a link on its way, not at the step's end.
        const { end, lines } = await follower.page.evaluate(() => ({ end: window.__flickerEnd, lines: window.__repairLines }));
        const repaired = lines.find(([text]) => text.endsWith(' repaired'));
        assert.ok(end && repaired && repaired[1] >= end - 50, `flicker ended at ${end}, repair lines ${JSON.stringify(lines)}`);
        for (const p of people) assert.deepEqual(p.errors(), [], p.name);
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});

test('a link whose connection was closed under the page is re-offered; the other links never notice', async () => {
    const stack = await startStack();
    let people = [];
    try {
        people = await threePeople(`${stack.url}/repair-cut`);
        const [alice, bob, carol] = people;
        await allPlaying(people);
        const before = await carolsLinks(alice, bob, carol);
        const [, bobEnd] = await waitForLink(alice, bob);
        const [aliceId, bobId] = [await idOf(bob.page, 'Alice'), await idOf(alice.page, 'Bob')];
        await bob.page.evaluate((i) => window.__cut(i), bobEnd.i);
        await waitForStep(bob, aliceId, 'repaired');
        await waitForStep(alice, bobId, 'repaired');
        await allPlaying(people);
        await framesGrow(alice, bob);
        assert.deepEqual(stepsOf(bob, aliceId), ['reoffer', 'repaired'], 'only a new connection can help');
        const steps = stepsOf(alice, bobId);
        assertLadder('Alice', steps);
        assert.ok(steps.includes('reoffer'), `Alice: ${steps}`);
        await assertUntouched(alice, bob, carol, before);
        for (const p of people) assert.deepEqual(p.errors(), [], p.name);
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});

test('a link that carries no media on its direct path is repaired by the forced relay; the other links never notice', async () => {
    const stack = await startStack({ sidecarEnv: { HUDDLE_TURN_SECRET: secret, HUDDLE_TURN_URLS: coturn.urls } });
    let people = [];
    try {
        // Bob sends nothing to Alice while their pair is direct: Alice hears
        // nothing from Bob (his microphone on), so she leads the repair.
        people = await threePeople(`${stack.url}/repair-relay`, { Bob: { dropDirect: coturn.relayPorts } });
        const [alice, bob, carol] = people;
        const before = await carolsLinks(alice, bob, carol);
        const [aliceId, bobId] = [await idOf(bob.page, 'Alice'), await idOf(alice.page, 'Bob')];
        await waitForStep(alice, bobId, 'repaired');
        await waitForStep(bob, aliceId, 'repaired');
        await allPlaying(people);
        await framesGrow(alice, bob);
        assert.deepEqual(stepsOf(alice, bobId), ['ice-restart', 'relay', 'repaired'], 'the ICE restart did not help');
        assert.deepEqual(stepsOf(bob, aliceId), ['ice-restart', 'relay', 'repaired']);
        const [aliceEnd, bobEnd] = await waitForLink(alice, bob);
        assert.equal(aliceEnd.policy, 'relay', 'Alice leads: her new connection is relayed only');
        assert.equal(aliceEnd.localType, 'relay');
        assert.equal(bobEnd.policy, 'all');
        await assertUntouched(alice, bob, carol, before);
        for (const p of people) assert.deepEqual(p.errors(), [], p.name);
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});

/** The line under id's name in p's People list ("Can't connect", "Reconnecting…"), or null. */
function rowNote(p, id) {
    return p.page.evaluate((peer) => document.querySelector(`#people li.person[data-peer="${peer}"] .paway`)?.textContent ?? null, id);
}

/** Resolves once done() holds, within 3 s of real time (no page clock moved). */
async function soon(done, what) {
    const deadline = Date.now() + 3000;
    while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`not within 3 s: ${what}`);
        await sleep(50);
    }
}

/** How many times p logged step for peer id. */
const countOf = (p, id, step) => p.repairs.filter((r) => r.id === id && r.step === step).length;

/** What p's tile of name shows of its link: classes, words, Try again shown, accessible name. */
function lostTile(p, name) {
    return p.page.evaluate((n) => {
        const tile = [...document.querySelectorAll('#grid .tile:not(.local)')].find((t) => t.querySelector('.name').textContent === n);
        if (!tile) return null;
        const note = tile.querySelector('.lost-note');
        const button = tile.querySelector('.lost-retry');
        return {
            lost: tile.classList.contains('lost'),
            retrying: tile.classList.contains('retrying'),
            text: note && getComputedStyle(note).display !== 'none' ? tile.querySelector('.lost-text').textContent : '',
            button: !!button && button.checkVisibility(),
            label: tile.getAttribute('aria-label'),
            initials: getComputedStyle(tile.querySelector('.camoff')).display !== 'none',
        };
    }, name);
}

test('a link that cannot connect is given up with the tile kept, and tried again: by itself, on Try again, and at once when the network is back', async () => {
    const stack = await startStack();
    let people = [];
    try {
        people = await threePeople(`${stack.url}/repair-give-up`, { Alice: { blockAll: true }, Bob: { blockAll: true } },
            { names: ['Alice', 'Bob'], also: [recordToasts, watchSockets], clock: true });
        const [alice, bob] = people;
        const [aliceId, bobId] = [await idOf(bob.page, 'Alice'), await idOf(alice.page, 'Bob')];
        const toasts = async (p, text) => (await p.page.evaluate(() => window.__toasts.map((x) => x.text))).filter((x) => x === text).length;
        const lostSaid = (p, name) => toasts(p, `Lost the connection to ${name}`);

        // No TURN server: the ladder is an ICE restart and a re-offer,
        // then both sides give up. The tiles stay, with the initials.
        await advanceClocks(people, () => countOf(alice, bobId, 'gave-up') && countOf(bob, aliceId, 'gave-up'));
        for (const [p, other, id] of [[alice, 'Bob', bobId], [bob, 'Alice', aliceId]]) {
            assert.deepEqual(stepsOf(p, id), ['ice-restart', 'reoffer', 'gave-up'], p.name);
            assert.deepEqual(await lostTile(p, other), {
                lost: true, retrying: false, text: "Can't connect", button: true, label: `${other}, no connection`, initials: true,
            }, p.name);
            assert.equal(await lostSaid(p, other), 1, `${p.name}'s toast`);
            assert.equal(await rowNote(p, id), "Can't connect", `${p.name}'s People row`);
        }
        await screenshot(alice.page, 'repair-given-up.png');

        // Tried again by itself (a new connection, no ladder), while the
        // network still drops everything: "Trying again…", then given up
        // again, and not said again.
        await advanceClocks(people, () => countOf(alice, bobId, 'retry') && countOf(bob, aliceId, 'retry'));
        const during = await lostTile(alice, 'Bob');
        assert.deepEqual([during.retrying, during.text, during.button, during.label], [true, 'Trying again…', true, 'Bob, trying again'], JSON.stringify(during));
        await advanceClocks(people, () => countOf(alice, bobId, 'gave-up') === 2 && countOf(bob, aliceId, 'gave-up') === 2);
        assert.deepEqual(stepsOf(alice, bobId).slice(3), ['retry', 'gave-up']);
        assert.deepEqual(stepsOf(bob, aliceId).slice(3), ['retry', 'gave-up']);
        assert.equal((await lostTile(alice, 'Bob')).text, "Can't connect");
        for (const [p, other] of [[alice, 'Bob'], [bob, 'Alice']]) assert.equal(await lostSaid(p, other), 1, `${p.name}'s toast`);

        // Bob's signalling drops for a moment: back in his seat, his page
        // offers Alice a new connection, and her tile says it is trying.
        // Try again on her tile replaces that try at once (the next try
        // by itself is 30 s away), and Bob follows; still nothing passes:
        // given up a third time.
        await bob.page.evaluate(() => window.__ws.at(-1).close(4000, 'a moment without signalling'));
        await bob.page.waitForFunction(() => Number(document.body.dataset.sessions) === 2 && document.body.dataset.state === 'meeting');
        await soon(async () => (await lostTile(alice, 'Bob')).text === 'Trying again…', "Bob's new connection shows on Alice's tile");
        // (From the keyboard: the focus stays on the tile when the button goes.)
        await alice.page.getByRole('button', { name: 'Try again to connect to Bob' }).focus();
        await alice.page.keyboard.press('Enter');
        await soon(() => countOf(alice, bobId, 'retry') === 2 && countOf(bob, aliceId, 'retry') === 2, 'Try again tries at once');
        assert.equal((await lostTile(alice, 'Bob')).text, 'Trying again…');
        await advanceClocks(people, () => countOf(alice, bobId, 'gave-up') === 3 && countOf(bob, aliceId, 'gave-up') === 3);

        // The network is back, and Bob's browser says so (the online
        // event): his page tries at once, without waiting for the next try.
        for (const p of people) await p.page.evaluate(() => { window.__linksDown = false; });
        await bob.page.evaluate(() => window.dispatchEvent(new Event('online')));
        await soon(() => countOf(bob, aliceId, 'retry') === 3, 'the online event tries at once'); // the next try by itself: 60 s away
        await waitForStep(alice, bobId, 'repaired');
        await waitForStep(bob, aliceId, 'repaired');
        await allPlaying(people);
        await framesGrow(alice, bob);
        assert.deepEqual(stepsOf(alice, bobId).slice(5), ['retry', 'gave-up', 'retry', 'repaired']);
        assert.deepEqual(stepsOf(bob, aliceId).slice(5), ['retry', 'gave-up', 'retry', 'repaired']);
        assert.equal(await alice.page.evaluate(() => document.activeElement.closest('.tile:not(.local)') && document.activeElement.matches('.tile-btn')), true,
            'the focus went to a button of the tile, not the page');
        for (const [p, other] of [[alice, 'Bob'], [bob, 'Alice']]) {
            assert.deepEqual(await lostTile(p, other), { lost: false, retrying: false, text: '', button: false, label: other, initials: false }, p.name);
            assert.equal(await toasts(p, `Connected to ${other} again`), 1, `${p.name}'s toast`);
            assert.equal(await rowNote(p, other === 'Bob' ? bobId : aliceId), null, `${p.name}'s People row`);
        }
        for (const p of people) assert.deepEqual(realErrors(p.errors()), [], p.name);
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});

test('after a sidecar restart, a link given up leaves no tile under the old id: one tile per person, and the new link comes up', async () => {
    const stack = await startStack();
    let people = [];
    let replacement = null;
    try {
        people = await threePeople(`${stack.url}/repair-give-up-restart`, { Alice: { blockAll: true }, Bob: { blockAll: true } },
            { names: ['Alice', 'Bob'], clock: true });
        const [alice, bob] = people;
        const [aliceId, bobId] = [await idOf(bob.page, 'Alice'), await idOf(alice.page, 'Bob')];
        await advanceClocks(people, () => countOf(alice, bobId, 'gave-up') && countOf(bob, aliceId, 'gave-up'));
        // The sidecar restarts: both come back under new ids, and their
        // pages offer each other anew, through a network that lets it pass.
        const old = stack.sidecars[0];
        await old.stop();
        for (const p of people) await p.page.evaluate(() => { window.__linksDown = false; });
        replacement = await startSidecar({ port: old.port, env: { HUDDLE_NODE_ID: 'node1' } });
        await allPlaying(people);
        for (const [p, other] of [[alice, 'Bob'], [bob, 'Alice']]) {
            const tiles = await p.page.$$eval('#grid .tile:not(.local)', (ts) => ts.map((t) => [t.querySelector('.name').textContent, t.className]));
            assert.equal(tiles.length, 1, `${p.name}: ${JSON.stringify(tiles)}`);
            assert.equal(tiles[0][0], other);
            assert.doesNotMatch(tiles[0][1], /\blost\b/, p.name);
        }
        assert.notEqual(await idOf(alice.page, 'Bob'), bobId, 'Bob came back under a new id');
        for (const p of people) assert.deepEqual(realErrors(p.errors()), [], p.name);
    } finally {
        for (const p of people) await p.close();
        if (replacement) await stopAll([replacement]);
        await stack.stop();
    }
});
