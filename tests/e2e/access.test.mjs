// Hosts, the lobby, passwords, removal, mute requests and ending a meeting,
// as people see them: real nginx + fcgi + sidecar and real Chromium with
// fake camera and microphone. The first person in a room is its host.
// Every room here is used by one test only: a removal bans the removed
// address from its room, and every browser here is 127.0.0.1.
//
// With HUDDLE_TEST_SIDECARS=N (set by cluster-access.test.mjs) the same
// tests run against N sidecars sharing a real redis-server behind the real
// nginx, with one nginx worker: its least_conn upstream then sends each new
// websocket to a sidecar holding the fewest, so people who are in the room
// at once sit on different sidecars. Each test proves where they sit from
// the sidecars' own words: the one whose log has "join room=R peer=ID" (the
// id on a person's own tile) seated that person, the one that logged the
// host's answer to a knock (its id in the host's lobby list) held the
// knock, and the one whose /metrics counted a "banned" refusal refused.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { httpGet, sleep, startStack } from '../lib/stack.mjs';
import { labelsNotInName, launch, linkBreaker, newParticipant, recordToasts, screenshot, until, waitForPlayingVideo, watchSockets, watchTracks } from '../lib/browser.mjs';
import { tagOf } from '../../public/names.js';

const SIDECARS = Number(process.env.HUDDLE_TEST_SIDECARS || 1);
let stack;
let browser;
const people = [];

before(async () => {
    assert.ok(SIDECARS === 1 || SIDECARS >= 3, 'three people at once want three sidecars');
    // nginx's least_conn counts per worker: one worker makes it exact.
    stack = await startStack({ sidecars: SIDECARS, nginxEnv: SIDECARS > 1 ? { NGINX_WORKERS: '1' } : {} });
    browser = await launch();
});

// Each test ends so, also one that failed: its people would otherwise
// stay in the next test's count of websockets.
afterEach(closeAll);

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

/**
 * Closes everyone opened so far (after each test: cameras and calls cost
 * CPU); with several sidecars, waits until none holds a websocket, so that
 * nginx counts none of them when the next test's people come.
 */
async function closeAll() {
    for (const p of people.splice(0)) await p.close();
    await settle(0);
}

/** A sidecar's /metrics value of series (a name with its labels, if any). */
async function metric(sidecar, series) {
    const { body } = await httpGet(`http://${sidecar.addr}/metrics`);
    const line = body.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${sidecar.name} has no ${series}`);
    return Number(line.slice(series.length + 1));
}

/** Each sidecar's value of series, in the order of stack.sidecars. */
const metrics = (series) => Promise.all(stack.sidecars.map((s) => metric(s, series)));

/**
 * With several sidecars: waits until they hold n websockets in all (one
 * just closed may still count for a moment), so that nginx's least_conn
 * sends the next one to a sidecar holding none of the others.
 */
async function settle(n) {
    if (SIDECARS === 1) return;
    const open = async () => (await metrics('huddle_sidecar_connections')).reduce((a, b) => a + b);
    for (const deadline = Date.now() + 10000; await open() !== n;) {
        if (Date.now() > deadline) throw new Error(`the sidecars do not come to ${n} websockets`);
        await sleep(50);
    }
}

/** The index in stack.sidecars of the one sidecar whose log matches re (waits for it). */
async function loggedBy(re) {
    for (const deadline = Date.now() + 10000; ;) {
        const at = stack.sidecars.flatMap((s, i) => (re.test(s.output) ? [i] : []));
        assert.ok(at.length <= 1, `${re} is in the logs of sidecars ${at}`);
        if (at.length === 1) return at[0];
        if (Date.now() > deadline) throw new Error(`no sidecar logged ${re}`);
        await sleep(20);
    }
}

/** p's peer id, which its own tile carries. */
const ownId = (p) => p.page.getAttribute('#grid .tile.local', 'data-peer');

/** The sidecar that seated p (in the meeting) in room: it logged the join. */
const seatOf = async (p, room) => loggedBy(new RegExp(`\\bjoin room=${room} peer=${await ownId(p)} `));

/** The sidecar that held knock id: it logged the host's answer to it. */
const knockOf = (room, id, answer) => loggedBy(new RegExp(`\\bknock room=${room} knock=${id} ${answer}\\b`));

/** The knock id of name's row in host's lobby list. */
const knockId = (host, name) => host.page.getAttribute(`#lobby-list li:has-text("${name}")`, 'data-knock');

/**
 * With several sidecars: finds where each of places (label -> async finder
 * of a sidecar's index) is, reports it, and asserts that all are on
 * different sidecars. Resolves label -> index; null with one sidecar (then
 * nothing is looked up).
 */
async function apart(t, places) {
    if (SIDECARS === 1) return null;
    const at = {};
    for (const [label, find] of Object.entries(places)) at[label] = await find();
    t.diagnostic(Object.entries(at).map(([label, i]) => `${label}: node${i + 1}`).join(', '));
    assert.equal(new Set(Object.values(at)).size, Object.keys(at).length, `not on different sidecars: ${JSON.stringify(at)}`);
    return at;
}

/** A person on the page of room (not joined yet). */
async function person(room, name, opts) {
    const p = await newParticipant(browser, `${stack.url}/${room}`, name, opts);
    people.push(p);
    return p;
}

/** The host of room, in the meeting with People open, who locks it: newcomers knock. */
async function lockedBy(room, name, opts) {
    const host = await person(room, name, opts);
    await host.join();
    await openPeople(host);
    await host.page.click('#host-lock');
    await host.page.waitForSelector('#mark-locked:not([hidden])');
    return host;
}

/** Someone called name who comes to the locked room and knocks. */
async function knocker(room, name) {
    const p = await person(room, name);
    await clickJoin(p);
    await state(p, 'knocking');
    return p;
}

/** Types name and clicks Join, without waiting for the meeting. */
async function clickJoin(p) {
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await p.page.fill('#name-input', p.name);
    await p.page.click('#join-btn');
}

const state = (p, s) => p.page.waitForFunction((want) => document.body.dataset.state === want, s);
const toastSays = (p, re) => p.page.waitForFunction((src) => new RegExp(src).test(document.getElementById('toast').textContent), re.source);
// One's own row holds the name in a span of its own beside "(you)" (ui.js ownName).
const row = (p, name) => {
    const own = /^(.*) \(you\)$/.exec(name);
    return own ? `#people li.person:has(.own-name > .own:text-is("${own[1]}"))` : `#people li.person:has(.pname:text-is("${name}"))`;
};

/** Opens the people panel of p (if it is not open). */
async function openPeople(p) {
    if (!await p.page.isVisible('#people-pane')) await p.page.click('#btn-people');
    await p.page.waitForSelector('#people-pane:not([hidden])');
}

/** Answers the page's question dialog with OK (typing text first, if given). */
async function answer(p, text) {
    await p.page.waitForSelector('#ask[open]');
    if (text !== undefined) await p.page.fill('#ask-input', text);
    await p.page.click('#ask-ok');
    await p.page.waitForSelector('#ask:not([open])', { state: 'attached' });
}

/** errs without the browser's line for each try while a test held the page's websocket down (watchSockets). */
const heldDown = (errs) => errs.filter((e) => !/\/no-ws-here' failed/.test(e));

/** The number of websockets p's page opened so far (its init: watchSockets). */
const sockets = (p) => p.page.evaluate(() => window.__ws.length);

test('a locked meeting: the newcomer knocks, the host admits, both see each other', async (t) => {
    const host = await person('acc-lobby', 'Alma Host');
    await host.join();
    await openPeople(host);
    await host.page.waitForSelector('#host-tools:not([hidden])');
    assert.equal(await host.page.textContent(`${row(host, 'Alma Host (you)')} .host-badge`), 'Host');
    await host.page.click('#host-lock');
    await host.page.waitForSelector('#mark-locked:not([hidden])');
    assert.equal(await host.page.textContent('#host-lock .lbl'), 'Unlock meeting');
    // Its words say it all: no "pressed" beside them.
    assert.equal(await host.page.getAttribute('#host-lock', 'aria-pressed'), null);

    const guest = await person('acc-lobby', 'Gus Guest', { init: watchSockets });
    await clickJoin(guest);
    await state(guest, 'knocking');
    assert.equal(await guest.page.textContent('#gate-title'), 'Waiting for the host to let you in');
    assert.equal(await guest.page.isVisible('#gate-actions button:text-is("Cancel")'), true);

    await host.page.waitForSelector('#lobby-list li:has-text("Gus Guest")');
    assert.equal(await host.page.textContent('#waiting-badge'), '1');
    assert.equal(await host.page.textContent('#lobby-count'), '1');
    // Screen readers hear what each number counts (not "People 1" twice):
    // the visible words are the name, the description says the rest.
    const described = (sel) => host.page.$eval(sel, (b) => [b.textContent.trim(), document.getElementById(b.getAttribute('aria-describedby')).textContent]);
    assert.deepEqual(await described('#btn-people'), ['People1', '1 person is waiting to join']);
    assert.deepEqual(await described('#tab-people'), ['People 1', '1 person in the meeting']);
    await toastSays(host, /Gus Guest is waiting to join/);
    // The open panel fits beside one tile: the page never scrolls sideways
    // (a one-person grid once kept the page 1,553 px wide).
    await host.page.waitForFunction(() => document.documentElement.scrollWidth <= innerWidth, null, { timeout: 5000 });
    await screenshot(host.page, 'lobby-host.png');
    await screenshot(guest.page, 'lobby-knocking.png');
    const gusKnock = await knockId(host, 'Gus Guest');
    await host.page.click('#lobby-list li:has-text("Gus Guest") button.admit');

    await state(guest, 'meeting');
    // The focus was on Cancel, gone with the card: it is on the microphone.
    assert.equal(await guest.page.evaluate(() => document.activeElement.id), 'btn-mic');
    await host.page.waitForSelector('#lobby', { state: 'hidden' });
    assert.equal(await host.page.isHidden('#waiting-badge'), true);
    await waitForPlayingVideo(host.page, 'Gus Guest');
    await waitForPlayingVideo(guest.page, 'Alma Host');
    // He knocked and took his seat over one websocket.
    assert.equal(await sockets(guest), 1);

    // The guest sees the lock and the host's badge, and no host control.
    assert.equal(await guest.page.isVisible('#mark-locked'), true);
    await openPeople(guest);
    assert.equal(await guest.page.textContent(`${row(guest, 'Alma Host')} .host-badge`), 'Host');
    assert.equal(await guest.page.isHidden('#host-tools'), true);
    // (Message and Safety code are everyone's; nothing else.)
    assert.equal(await guest.page.$$eval('#people button[data-action]:not(.dm):not(.verify)', (b) => b.length), 0);
    // The host sees Make host, Mute and Remove on the guest's row, as buttons.
    const actions = await host.page.$$eval(`${row(host, 'Gus Guest')} button[data-action]`, (bs) => bs.map((b) => [b.tagName, b.dataset.action]));
    assert.deepEqual(actions, [['BUTTON', 'message'], ['BUTTON', 'verify'], ['BUTTON', 'role'], ['BUTTON', 'mute'], ['BUTTON', 'kick']]);

    // A knock under a name that looks like Gus's is shown with the tag it
    // would keep once in: the host can tell it from the Gus she let in.
    const twin = await person('acc-lobby', 'GUS GUEST');
    await clickJoin(twin);
    await state(twin, 'knocking');
    await host.page.waitForSelector('#lobby-list li:has-text("GUS GUEST")');
    const twinKnock = await knockId(host, 'GUS GUEST');
    const tagged = `GUS GUEST #${tagOf(twinKnock)}`;
    assert.equal(await host.page.textContent(`#lobby-list li[data-knock="${twinKnock}"] .pname`), tagged);
    await toastSays(host, new RegExp(`${tagged} is waiting to join`));
    await host.page.click(`#lobby-list li[data-knock="${twinKnock}"] button.deny`);
    await state(twin, 'refused');
    await host.page.waitForSelector('#lobby', { state: 'hidden' });
    await twin.close();
    people.splice(people.indexOf(twin), 1);
    await settle(2);

    // A knock that is cancelled leaves the lobby; one that is denied says so.
    const late = await person('acc-lobby', 'Lea Late', { init: watchTracks });
    await clickJoin(late);
    await state(late, 'knocking');
    await host.page.waitForSelector('#lobby-list li:has-text("Lea Late")');
    await late.page.click('#gate-actions button:text-is("Cancel")');
    await state(late, 'prejoin');
    await host.page.waitForSelector('#lobby', { state: 'hidden' });
    await settle(2);
    await late.page.click('#join-btn');
    await state(late, 'knocking');
    await host.page.waitForSelector('#lobby-list li:has-text("Lea Late")');
    const leaKnock = await knockId(host, 'Lea Late');
    await host.page.click('#lobby-list li:has-text("Lea Late") button.deny');
    await state(late, 'refused');
    assert.equal(await late.page.getAttribute('#gate', 'data-why'), 'denied');
    assert.deepEqual([await late.page.textContent('#gate-title'), await late.page.textContent('#gate-text')],
        ['You were not let in', 'A host did not let you into this meeting.'], 'a host said no, and the page says so');
    assert.equal(await late.page.isVisible('#gate-actions button:text-is("Try again")'), true);
    // No camera light over that card: the devices stop, and Try again
    // opens them again (a knock again, here).
    const capturing = () => late.page.evaluate(() => window.__tracks.filter((tr) => tr.readyState === 'live').map((tr) => tr.kind).sort());
    await late.page.waitForFunction(() => window.__tracks.length > 0 && window.__tracks.every((tr) => tr.readyState === 'ended'));
    await late.page.click('#gate-actions button:text-is("Try again")');
    await state(late, 'knocking');
    assert.deepEqual(await capturing(), ['audio', 'video']);
    await host.page.waitForSelector('#lobby-list li:has-text("Lea Late")');
    await host.page.click('#lobby-list li:has-text("Lea Late") button.deny');
    await state(late, 'refused');

    // The host, the one admitted and the one denied were on three sidecars.
    const at = await apart(t, {
        'Alma Host': () => seatOf(host, 'acc-lobby'),
        'Gus Guest knocked': () => knockOf('acc-lobby', gusKnock, 'admitted'),
        'Lea Late knocked': () => knockOf('acc-lobby', leaKnock, 'denied'),
    });
    if (at) assert.equal(await seatOf(guest, 'acc-lobby'), at['Gus Guest knocked'], 'Gus Guest sits where he knocked');

    for (const p of [host, guest, late]) assert.deepEqual(p.errors(), [], p.name);
});

test('a host who leaves while someone knocks: the knock\'s news does not play over the screen that follows; those knocking are told everyone left, and Try again starts the meeting anew (no join tokens here)', async () => {
    const host = await lockedBy('acc-leave-knock', 'Lea Host', { clock: true });
    const kai = await knocker('acc-leave-knock', 'Kai Knock');
    await toastSays(host, /Kai Knock is waiting to join/);
    // Kai's toast gives way 1.5 s after Kim's knock comes: the host's
    // timers stand still until she leaves, so that however slow the
    // machine, Kai's toast still shows and Kim's waits its turn.
    await host.page.clock.pauseAt(await host.page.evaluate(() => Date.now() + 1000));
    await knocker('acc-leave-knock', 'Kim Knock');
    await host.page.waitForSelector('#lobby-list li:has-text("Kim Knock")');
    assert.match(await host.page.textContent('#toast'), /Kai Knock is waiting to join/);
    await host.page.clock.resume();
    await host.page.click('#btn-leave');
    await state(host, 'left');
    // Before, Kai's toast stayed its 6 s on "You left the meeting", and
    // Kim's, waiting its turn, came after it.
    assert.equal(await host.page.isHidden('#toast'), true);
    await sleep(1500);
    assert.equal(await host.page.isHidden('#toast'), true);
    // Nobody waits on this page any more: the lobby and its badge are empty.
    assert.deepEqual(await host.page.evaluate(() => [document.getElementById('waiting-badge').hidden, document.querySelectorAll('#lobby-list li').length]), [true, 0]);
    // The last one left: Kai (and Kim) knocked at a meeting that is gone.
    await state(kai, 'refused');
    assert.deepEqual([await kai.page.getAttribute('#gate', 'data-why'), await kai.page.textContent('#gate-title'), await kai.page.textContent('#gate-text')],
        ['denied', 'Everyone left', 'Everyone left the meeting while you waited to be let in.']);
    await kai.page.click('#gate-actions button:text-is("Try again")');
    await state(kai, 'meeting');
    await openPeople(kai);
    await kai.page.waitForSelector(`${row(kai, 'Kai Knock (you)')} .host-badge`);
});

test('a host removes a member: the removed page says so and does not come back', async (t) => {
    const host = await person('acc-remove', 'Rita Host');
    await host.join();
    const guest = await person('acc-remove', 'Ron Removed', { init: watchSockets, clock: true });
    await guest.join();
    await waitForPlayingVideo(host.page, 'Ron Removed');
    assert.equal(await sockets(guest), 1);
    const ron = await ownId(guest);
    const at = await apart(t, {
        'Rita Host': () => seatOf(host, 'acc-remove'),
        'Ron Removed': () => seatOf(guest, 'acc-remove'),
    });

    await openPeople(host);
    await host.page.click(`${row(host, 'Ron Removed')} button.act-kick`);
    assert.match(await host.page.textContent('#ask-title'), /Remove Ron Removed\?/);
    // How long he stays out is the sidecar's (HUDDLE_KICK_BAN_S, 300 s here).
    assert.equal(await host.page.textContent('#ask-text'), 'Ron Removed leaves the meeting at once and cannot join again for 5 minutes.');
    await answer(host);

    await state(guest, 'ended');
    assert.equal(await guest.page.getAttribute('#gate', 'data-why'), 'removed');
    assert.equal(await guest.page.textContent('#gate-text'), 'You were removed from the meeting by Rita Host. You cannot join again for 5 minutes.');
    await host.page.waitForFunction(() => document.querySelectorAll('#grid .tile:not(.local)').length === 0);
    await toastSays(host, /Ron Removed was removed by you/);
    // The closed socket is not replaced. A retry would come within 0.5 s
    // (signal.js' first backoff); absence cannot be awaited, so give it 2 s.
    await guest.page.evaluate(() => new Promise((r) => setTimeout(r, 2000)));
    assert.equal(await sockets(guest), 1);
    assert.equal(await guest.page.evaluate(() => document.body.dataset.state), 'ended');
    assert.deepEqual(await guest.page.$$eval('#gate-actions > *', (as) => as.map((a) => a.textContent)), ['New meeting']);
    // Once the ban is over the card says so, and offers the way back.
    await guest.page.clock.fastForward(5 * 60 * 1000);
    await guest.page.waitForFunction(() => document.getElementById('gate-text').textContent
        === 'You were removed from the meeting by Rita Host. You can join again with the link.');
    assert.deepEqual(await guest.page.$$eval('#gate-actions > *', (as) => as.map((a) => [a.textContent, a.getAttribute('href') !== null])),
        [['Rejoin', true], ['New meeting', true]]);
    // His own sidecar put him out, at the word of the host's.
    if (at) assert.equal(await loggedBy(new RegExp(`\\bremoved room=acc-remove peer=${ron} `)), at['Ron Removed']);

    // The removed address cannot come straight back, on a sidecar other
    // than the host's too.
    await settle(1);
    const banned = 'huddle_sidecar_errors_total{code="banned"}';
    const bannedBefore = SIDECARS > 1 ? await metrics(banned) : [];
    const again = await person('acc-remove', 'Ron Removed');
    await clickJoin(again);
    await state(again, 'refused');
    assert.equal(await again.page.getAttribute('#gate', 'data-why'), 'banned');
    // The page does not say he was removed: behind one NAT it may be a
    // colleague. It says why, that it ends, and offers to try again.
    assert.match(await again.page.textContent('#gate'), /removed someone who joined from your network: you, or someone who shares your internet connection\. Joining from it is paused for a while\./);
    assert.equal(await again.page.isHidden('#gate-note'), true);
    if (at) {
        const grew = (await metrics(banned)).map((n, i) => n - bannedBefore[i]);
        const refusedOn = grew.indexOf(1);
        t.diagnostic(`Ron Removed refused: node${refusedOn + 1}`);
        assert.deepEqual(grew.filter((n) => n !== 0), [1], 'one sidecar refused him once');
        assert.notEqual(refusedOn, at['Rita Host']);
    }
    // Try again, met by the same answer, says so: the card alone would
    // look as if the button did nothing.
    await again.page.click('#gate button:has-text("Try again")');
    await again.page.waitForSelector('#gate-note:not([hidden])');
    assert.equal(await again.page.getAttribute('#gate', 'data-why'), 'banned');
    assert.match(await again.page.textContent('#gate-note'), /^You tried again at \d{1,2}:\d{2}:\d{2}( [AP]M)?, with the same result\.$/);
    for (const p of [host, guest, again]) assert.deepEqual(p.errors(), [], p.name);
});

test('a reload: the host of a locked meeting is back at once, a host again, muted as she was; a guest is back without knocking, and so after Leave and Rejoin', async () => {
    const host = await lockedBy('acc-reload', 'Hana Host');
    const guest = await knocker('acc-reload', 'Gil Guest');
    await host.page.click('#lobby-list li:has-text("Gil Guest") button.admit');
    await state(guest, 'meeting');
    await waitForPlayingVideo(guest.page, 'Hana Host');
    const hostId = await ownId(host);

    // Hana mutes and turns her camera off, then reloads the page, and
    // again on the pre-join screen. That screen starts with both off, as
    // she had them; Join, and she is in: no knock at her own locked door,
    // a host, the lock kept, still muted and without camera.
    await host.page.click('#btn-mic');
    await host.page.click('#btn-cam');
    await guest.page.waitForSelector('#grid .tile:not(.local).muted.novideo');
    await settle(2);
    await host.page.reload();
    await host.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await host.page.reload();
    await host.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await host.page.waitForSelector('#pre-mic[aria-pressed="false"]');
    assert.equal(await host.page.getAttribute('#pre-cam', 'aria-pressed'), 'false');
    assert.equal(await host.page.evaluate(() => !!document.getElementById('preview-video').srcObject), false, 'the camera is not even opened');
    await clickJoin(host);
    await state(host, 'meeting');
    assert.notEqual(await ownId(host), hostId, 'a new seat');
    await openPeople(host);
    assert.equal(await host.page.textContent(`${row(host, 'Hana Host (you)')} .host-badge`), 'Host');
    assert.equal(await host.page.isVisible('#host-tools'), true);
    assert.equal(await host.page.isVisible('#mark-locked'), true);
    assert.equal(await host.page.getAttribute('#btn-mic', 'aria-pressed'), 'false');
    await waitForPlayingVideo(host.page, 'Gil Guest');
    await guest.page.waitForSelector('#grid .tile:not(.local).muted.novideo');
    await openPeople(guest);
    await guest.page.waitForSelector(`${row(guest, 'Hana Host')} .host-badge`);

    // The guest reloads: back without knocking, no host is asked.
    await settle(2);
    await guest.page.reload();
    await clickJoin(guest);
    await state(guest, 'meeting');
    assert.equal(await host.page.isHidden('#lobby'), true, 'nobody knocked');
    await waitForPlayingVideo(host.page, 'Gil Guest');
    assert.equal(await guest.page.isVisible('#mark-locked'), true);
    // Each sees one other tile: the old seats ended with the reload.
    for (const p of [host, guest]) assert.equal(await p.page.$$eval('#grid .tile:not(.local)', (ts) => ts.length), 1);
    // The way back was taken when the page loaded: a copy of the tab made
    // now (which copies its sessionStorage) finds none, and is a newcomer.
    assert.equal(await guest.page.evaluate(() => sessionStorage.getItem('huddle.back.acc-reload')), null);

    // Leave by mistake, then Rejoin: back in, as after a reload.
    await settle(2);
    await guest.page.click('#btn-leave');
    await state(guest, 'left');
    await guest.page.click('#rejoin');
    await clickJoin(guest);
    await state(guest, 'meeting');
    assert.equal(await host.page.isHidden('#lobby'), true, 'nobody knocked');

    // Alone, Hana reloads: her leave would end the meeting and its lock.
    // It does not: Stan, who comes meanwhile, knocks and waits, and Hana,
    // back, finds him in her lobby.
    await guest.close();
    await host.page.waitForFunction(() => !document.querySelector('#grid .tile:not(.local)'));
    await host.page.click('#btn-hand');
    await settle(1);
    await host.page.reload();
    await host.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    const stan = await person('acc-reload', 'Stan Stranger');
    await clickJoin(stan);
    await state(stan, 'knocking');
    await clickJoin(host);
    await state(host, 'meeting');
    await openPeople(host);
    await host.page.waitForSelector('#lobby-list li:has-text("Stan Stranger")');
    assert.equal(await host.page.isVisible('#mark-locked'), true);
    assert.equal(await stan.page.evaluate(() => document.body.dataset.state), 'knocking');
    // Her seat was kept with her hand up; her page came back with it down,
    // and that is what Stan, let in, sees.
    const stanKnock = await knockId(host, 'Stan Stranger');
    await host.page.click('#lobby-list li:has-text("Stan Stranger") button.admit');
    await state(stan, 'meeting');
    assert.equal(await ownId(stan), stanKnock, 'the seat has the id the host saw in the lobby');
    await stan.page.waitForSelector('#grid .tile:not(.local).muted.novideo');
    assert.equal(await stan.page.$$eval('#grid .tile:not(.local).hand', (ts) => ts.length), 0, 'no hand left up');
    for (const p of [host, guest, stan]) assert.deepEqual(p.errors(), [], p.name);
});

test('away while alone (a reload, or a dropped connection): who comes in meanwhile is shown her seat without the screen she shared or her hand, and sees and hears her as soon as she is back, with no repair', async () => {
    // While her page reloads or her connection is down, her seat is kept
    // and listed: Ben, who comes in then, offers to it, and that offer is
    // lost. Her page, back on the seat, offers to him; his link with her is
    // replaced by hers whichever of them perfect negotiation makes the
    // polite one. Rooms are tried until, for each way of being away, Ben
    // was once the impolite side (his id sorts after hers), who used to
    // ignore her offer until his repair ladder began, 15 s later.
    const impolite = { reload: 0, drop: 0 };
    for (let k = 0; k < 24 && !(impolite.reload && impolite.drop); k++) {
        const how = k % 2 === 0 ? 'reload' : 'drop';
        if (impolite[how]) continue;
        const room = `acc-alone-${k}`;
        const lines = [];
        const listen = (p) => p.page.on('console', (m) => { if (/huddle: repair/.test(m.text())) lines.push(`${p.name}: ${m.text()}`); });
        const ada = await person(room, 'Ada Alone', { init: watchSockets });
        listen(ada);
        await ada.join();
        const adaId = await ownId(ada);
        if (k === 0) {
            // Sharing her screen, her hand up: neither outlives the page.
            await ada.page.click('#btn-hand');
            await ada.page.click('#btn-screen');
            await ada.page.waitForSelector('#grid .tile.local.screen.hand');
        }
        if (how === 'reload') {
            await ada.page.reload();
            await state(ada, 'prejoin');
        } else {
            // Her connection drops, and stays down until Ben is in.
            await ada.page.evaluate(() => {
                window.__blockWs = true;
                window.__ws.at(-1).close(4000, 'a test drops it');
            });
            await state(ada, 'reconnecting');
        }
        const ben = await person(room, 'Ben Between', { init: watchSockets });
        listen(ben);
        await ben.join();
        await ben.page.waitForFunction(() => window.__sent.some((s) => /"type":"offer"/.test(s)));
        // Her kept seat, as Ben is shown it: no empty "Presenting" stage.
        assert.deepEqual(await ben.page.$eval('#grid', (g) => ({
            spotlight: g.classList.contains('spotlight'),
            marks: [...g.querySelectorAll('.tile:not(.local)')].map((t) => ['screen', 'hand'].filter((c) => t.classList.contains(c))),
        })), { spotlight: false, marks: [[]] });
        if (how === 'reload') {
            await clickJoin(ada);
        } else {
            await ada.page.evaluate(() => { window.__blockWs = false; });
            await ada.page.waitForFunction(() => document.body.dataset.sessions === '2', null, { timeout: 15000 });
        }
        await state(ada, 'meeting');
        assert.equal(await ownId(ada), adaId, 'her kept seat');
        await waitForPlayingVideo(ben.page, 'Ada Alone');
        await waitForPlayingVideo(ada.page, 'Ben Between');
        assert.deepEqual(lines, [], `${how}: the link came up without a repair`);
        if (await ownId(ben) > adaId) impolite[how]++;
        for (const p of [ada, ben]) assert.deepEqual(heldDown(p.errors()), [], p.name);
        await closeAll();
    }
    assert.deepEqual(impolite, { reload: 1, drop: 1 }, 'Ben was the impolite side once for each, in 12 rooms each');
});

test('Admit and Deny from the keyboard: the focus goes to the next one waiting, then to the People tab', async () => {
    const host = await lockedBy('acc-keys', 'Kai Host');
    const waiting = [];
    for (const name of ['Lea One', 'Max Two']) {
        const g = await person('acc-keys', name);
        await clickJoin(g);
        await state(g, 'knocking');
        waiting.push(g);
    }
    await host.page.waitForFunction(() => document.querySelectorAll('#lobby-list li').length === 2);
    // Each button's name starts with what is on it ("Admit: Lea One").
    assert.deepEqual(await labelsNotInName(host.page), []);
    // Every toast shown from now on, in order.
    await host.page.evaluate(() => {
        window.__toasts = [];
        const box = document.getElementById('toast');
        new MutationObserver(() => { if (!box.hidden) window.__toasts.push(box.textContent); })
            .observe(box, { childList: true, characterData: true, subtree: true, attributes: true });
    });
    const first = (await host.page.textContent('#lobby-list li:first-child .pname')).trim();
    await host.page.focus('#lobby-list li:first-child button.admit');
    await host.page.keyboard.press('Enter');
    await host.page.waitForFunction(() => document.querySelectorAll('#lobby-list li').length === 1);
    // The next one's Admit has the focus: Enter again would let them in.
    const focused = () => host.page.evaluate(() => {
        const f = document.activeElement;
        return f.id || `${f.closest('li')?.querySelector('.pname')?.textContent} ${f.dataset.action}`;
    });
    const second = waiting.find((g) => g.name !== first);
    assert.equal(await focused(), `${second.name} admit`);
    await host.page.keyboard.press('Tab');
    assert.equal(await focused(), `${second.name} deny`);
    await host.page.keyboard.press('Enter');
    await host.page.waitForSelector('#lobby', { state: 'hidden' });
    assert.equal(await focused(), 'tab-people', 'with no one left, the People tab');
    // Both answered within a few seconds of knocking: no "is waiting to
    // join" toast still in the queue comes up after that.
    const answered = await host.page.evaluate(() => window.__toasts.length);
    await host.page.waitForSelector('#toast', { state: 'hidden', timeout: 15000 });
    const late = (await host.page.evaluate(() => window.__toasts)).slice(answered).filter((s) => /waiting to join/.test(s));
    assert.deepEqual(late, [], 'a toast about a knock already answered');
    await state(waiting.find((g) => g.name === first), 'meeting');
    await state(second, 'refused');
    assert.equal(await second.page.getAttribute('#gate', 'data-why'), 'denied');
    for (const p of [host]) assert.deepEqual(p.errors(), [], p.name);
});

test('a password: the newcomer is asked, a wrong one is refused, the right one lets in', async (t) => {
    const host = await person('acc-password', 'Pia Host');
    await host.join();
    await openPeople(host);
    await host.page.click('#host-password');
    await answer(host, 'blue-falcon');
    await host.page.waitForSelector('#mark-password:not([hidden])');
    assert.equal(await host.page.textContent('#host-password .lbl'), 'Remove password');

    const guest = await person('acc-password', 'Pat Guest');
    await clickJoin(guest);
    await guest.page.waitForSelector('#pw-row:not([hidden])');
    await state(guest, 'prejoin');
    assert.match(await guest.page.textContent('#pre-msg-text'), /has a password/);
    await guest.page.fill('#pw-input', 'red-falcon');
    await guest.page.click('#join-btn');
    await guest.page.waitForFunction(() => document.getElementById('pre-msg-text').textContent.startsWith('Wrong password'));
    await state(guest, 'prejoin');
    // The line over Join follows a change of language, as the rest does.
    await guest.page.selectOption('#pre-lang', 'de');
    await guest.page.waitForFunction(() => document.getElementById('pre-msg-text').textContent.startsWith('Falsches Passwort'));
    await guest.page.selectOption('#pre-lang', 'en');
    await guest.page.waitForFunction(() => document.getElementById('pre-msg-text').textContent.startsWith('Wrong password'));
    // Wrong again: the line says a new try was made, and the cursor is
    // back in the field for the next one.
    await guest.page.fill('#pw-input', 'green-falcon');
    await guest.page.click('#join-btn');
    await guest.page.waitForFunction(() => /^Wrong password\. Try again\. You tried again at .+, with the same result\.$/.test(document.getElementById('pre-msg-text').textContent));
    assert.equal(await guest.page.evaluate(() => document.activeElement.id), 'pw-input');
    await guest.page.fill('#pw-input', 'blue-falcon');
    await guest.page.click('#join-btn');
    await state(guest, 'meeting');
    await waitForPlayingVideo(host.page, 'Pat Guest');
    assert.equal(await guest.page.isVisible('#mark-password'), true);
    await apart(t, {
        'Pia Host': () => seatOf(host, 'acc-password'),
        'Pat Guest': () => seatOf(guest, 'acc-password'),
    });

    // Asked for the password, Quin waits; the host removes it meanwhile:
    // Join with the field left empty lets him in (the page does not insist
    // on a password only the server knows is gone).
    const late = await person('acc-password', 'Quin Late');
    await clickJoin(late);
    await late.page.waitForSelector('#pw-row:not([hidden])');
    await host.page.click('#host-password');
    await answer(host);
    await host.page.waitForSelector('#mark-password', { state: 'hidden' });
    await late.page.click('#join-btn');
    await state(late, 'meeting');
    for (const p of [host, guest, late]) assert.deepEqual(p.errors(), [], p.name);
});

test('a host whose connection is down is told that her requests were not sent; the chat box\'s "not connected" goes once she is back', async () => {
    const host = await person('acc-offline', 'Olga Host', { init: watchSockets });
    await host.join();
    const guest = await person('acc-offline', 'Gabe Guest');
    await guest.join();
    await waitForPlayingVideo(host.page, 'Gabe Guest');
    await openPeople(host);
    // The People tab of the open panel again: the panel stays.
    await host.page.click('#tab-people');
    assert.equal(await host.page.isVisible('#people-pane'), true);

    await host.page.evaluate(() => {
        window.__blockWs = true;
        window.__ws.at(-1).close(4000, 'a test drops it');
    });
    await state(host, 'reconnecting');
    await host.page.click('#host-mute-all');
    await toastSays(host, /^Not connected: that was not sent\./);
    await host.page.click('#host-lock');
    await host.page.click('#btn-chat');
    await host.page.fill('#chat-input', 'can you hear me?');
    await host.page.press('#chat-input', 'Enter');
    assert.equal(await host.page.textContent('#chat-status'), 'Not connected: your message was not sent');
    await host.page.evaluate(() => { window.__blockWs = false; });
    await state(host, 'meeting');
    await host.page.waitForSelector('#chat-status', { state: 'hidden' });
    assert.equal(await host.page.inputValue('#chat-input'), 'can you hear me?', 'the draft is kept');
    // Nothing was done behind her back: Gabe's microphone is on, the room open.
    assert.equal(await guest.page.getAttribute('#btn-mic', 'aria-pressed'), 'true');
    assert.equal(await host.page.isHidden('#mark-locked'), true);
    assert.deepEqual(heldDown(host.errors()), []);
    assert.deepEqual(guest.errors(), []);
});

test('a member whose connection drops is shown reconnecting to the others until she is back; meanwhile a private message or a mute request to her is not sent, and said so; a seat not taken back in time goes, its connection lost', async (t) => {
    const ben = await person('acc-away', 'Ben Stays');
    await ben.join();
    const ana = await person('acc-away', 'Ana Away', { init: watchSockets });
    await ana.join();
    await waitForPlayingVideo(ben.page, 'Ana Away');
    // With several sidecars, Ben hears of her through Redis.
    await apart(t, {
        'Ana Away': () => seatOf(ana, 'acc-away'),
        'Ben Stays': () => seatOf(ben, 'acc-away'),
    });
    await openPeople(ben);
    const tile = '#grid .tile:not(.local)';
    const drop = () => ana.page.evaluate(() => {
        window.__blockWs = true;
        window.__ws.at(-1).close(4000, 'a test drops it');
    });
    const seen = () => ben.page.evaluate((sel) => {
        const t = document.querySelector(sel);
        const note = t && t.querySelector('.away-note');
        return t && {
            away: t.classList.contains('away'),
            shown: !!note && getComputedStyle(note).display !== 'none' && getComputedStyle(note).opacity === '1',
            note: note && note.textContent,
            label: t.getAttribute('aria-label'),
            row: document.querySelector(`#people li.person[data-peer="${t.dataset.peer}"] .paway`)?.textContent ?? null,
            hand: document.querySelector(`#hands-list li[data-peer="${t.dataset.peer}"]`)?.textContent ?? null,
        };
    }, tile);
    // Shown, past its 1.5 s delay (a hidden element's opacity is 1 too).
    const noteShown = () => until(ben.page, (sel) => {
        const note = document.querySelector(`${sel} .away-note`);
        return getComputedStyle(note).display !== 'none' && getComputedStyle(note).opacity === '1';
    }, tile, 'the note shown');

    // Her hand is up: the Raised hands list keeps her place and says she is away.
    await ana.page.click('#btn-hand');
    await ben.page.waitForSelector('#hands-list li');
    await drop();
    await state(ana, 'reconnecting');
    await ben.page.waitForSelector(`${tile}.away`);
    // Not at once: a quick reconnect would only flash it.
    assert.equal(await ben.page.$eval(`${tile} .away-note`, (n) => getComputedStyle(n).animationDelay), '1.5s');
    await noteShown();
    assert.deepEqual(await seen(), {
        away: true, shown: true, note: 'Reconnecting…', label: 'Ana Away, reconnecting, hand raised', row: 'Reconnecting…', hand: 'Ana Away, Reconnecting…',
    });
    await screenshot(ben.page, 'reconnecting.png');
    // Her last report of her links is old news while she is away.
    const anaId = await ownId(ana);
    await ben.page.click('#tab-links');
    await ben.page.waitForSelector(`.xcell[data-from="${anaId}"]`);
    assert.equal(await ben.page.textContent(`.xcell[data-from="${anaId}"]`), 'Ana Away is reconnecting: no report until they are back');
    await ben.page.click('#tab-people');
    // The sidecar would drop both: the page says so instead of "sent".
    await ben.page.click(`${row(ben, 'Ana Away')} button.act-mute`);
    await toastSays(ben, /^Ana Away is reconnecting: that was not sent\.$/);
    await ben.page.click(`${row(ben, 'Ana Away')} button.dm`);
    await ben.page.fill('#chat-input', 'are you there?');
    await ben.page.press('#chat-input', 'Enter');
    assert.match(await ben.page.textContent('#chat-status'), /^Ana Away is reconnecting, so nothing was sent/);
    assert.equal(await ben.page.inputValue('#chat-input'), 'are you there?', 'the draft is kept');
    await ana.page.evaluate(() => { window.__blockWs = false; });
    await state(ana, 'meeting');
    await ben.page.waitForSelector(`${tile}:not(.away)`);
    assert.deepEqual(await seen(), { away: false, shown: false, note: 'Reconnecting…', label: 'Ana Away, hand raised', row: null, hand: 'Ana Away' });
    await ana.page.click('#btn-hand');
    await ben.page.waitForSelector('#hands-list li', { state: 'detached' });
    await waitForPlayingVideo(ben.page, 'Ana Away');
    // She is back: the same message goes.
    await ben.page.press('#chat-input', 'Enter');
    await ana.page.waitForSelector('#chat-log li:has-text("are you there?")', { state: 'attached' });

    // Down for good, her camera off (her page is closed while her
    // connection is down): her initials stay clear of the note; the seat
    // goes once its grace ends, and Ben is told the connection was lost.
    await ana.page.click('#btn-cam');
    await ben.page.waitForSelector(`${tile}.novideo`);
    await drop();
    await ben.page.waitForSelector(`${tile}.away`);
    await noteShown();
    const boxes = await ben.page.evaluate((sel) => [`${sel} .avatar`, `${sel} .away-note > span:last-child`].map((q) => {
        const r = document.querySelector(q).getBoundingClientRect();
        return { top: r.top, bottom: r.bottom, height: r.height };
    }), tile);
    const [initials, note] = boxes;
    assert.ok(note.height > 0 && initials.height > 0, JSON.stringify(boxes));
    assert.ok(note.bottom <= initials.top || note.top >= initials.bottom, `the note covers the initials: ${JSON.stringify(boxes)}`);
    await screenshot(ben.page, 'reconnecting-camera-off.png');
    await ana.close();
    people.splice(people.indexOf(ana), 1);
    await toastSays(ben, /Lost the connection to Ana Away/);
    await ben.page.waitForSelector(tile, { state: 'detached' });
    assert.equal(await ben.page.locator('#people li.person').count(), 1);
    assert.deepEqual(ben.errors(), []);
});

test('media and signalling lost together: once back, her links are offered anew at once, and nobody is told a connection was lost', async (t) => {
    const ben = await person('acc-cut', 'Ben Stays', { init: recordToasts });
    await ben.join();
    const ana = await person('acc-cut', 'Ana Cut', { init: watchSockets });
    await ana.page.addInitScript(linkBreaker, {});
    await ana.page.addInitScript(recordToasts);
    await ana.page.reload();
    await ana.join();
    await waitForPlayingVideo(ben.page, 'Ana Cut');
    await waitForPlayingVideo(ana.page, 'Ben Stays');
    // Her network goes: the websocket and every media connection.
    await ana.page.evaluate(() => {
        window.__blockWs = true;
        window.__ws.at(-1).close(4000, 'a test drops it');
        for (let i = 0; i < window.__pcs.length; i++) window.__cut(i);
    });
    await ben.page.waitForSelector('#grid .tile:not(.local).away');
    // Long enough that her page found the links broken and re-offered
    // them into the void (a closed connection goes straight to re-offer).
    await ana.page.waitForFunction(() => window.__pcs.length > 1, null, { timeout: 10000 });
    await sleep(2000);
    const back = Date.now();
    await ana.page.evaluate(() => { window.__blockWs = false; });
    await state(ana, 'meeting');
    await waitForPlayingVideo(ben.page, 'Ana Cut', 15000);
    await waitForPlayingVideo(ana.page, 'Ben Stays', 15000);
    t.diagnostic(`video both ways ${Date.now() - back} ms after her network came back`);
    // Past the time her old repair would have given up the links.
    await sleep(12000);
    for (const p of [ana, ben]) {
        const toasts = await p.page.evaluate(() => window.__toasts.map((x) => x.text));
        assert.deepEqual(toasts.filter((x) => /Lost the connection/.test(x)), [], p.name);
        assert.equal(await p.page.locator('#grid .tile').count(), 2, p.name);
    }
    await waitForPlayingVideo(ben.page, 'Ana Cut');
    assert.deepEqual(ben.errors(), []);
    assert.deepEqual(heldDown(ana.errors()), []);
});

test('a host asks a member to mute, then ends the meeting for everyone', async (t) => {
    const host = await person('acc-mute', 'Mo Host');
    await host.join();
    const guest = await person('acc-mute', 'Max Guest');
    await guest.join();
    await waitForPlayingVideo(host.page, 'Max Guest');
    assert.equal(await guest.page.getAttribute('#btn-mic', 'aria-pressed'), 'true');

    await openPeople(host);
    await host.page.click(`${row(host, 'Max Guest')} button.act-mute`);
    await guest.page.waitForSelector('#btn-mic.off[aria-pressed="false"]');
    await toastSays(guest, /Mo Host muted you/);
    // Muted through the mute button's own path: the others see it too.
    await host.page.waitForSelector('#grid .tile:not(.local).muted');
    assert.equal(await guest.page.evaluate(() => document.querySelector('#grid .tile.local').classList.contains('muted')), true);

    // A third whose `ended` message gets lost on the way: the close
    // (1000 "meeting ended") alone must end her page and stop reconnects.
    const lost = await person('acc-mute', 'Nia Nomsg');
    let lostSockets = 0;
    await lost.page.routeWebSocket(/\/ws$/, (ws) => {
        lostSockets++;
        const server = ws.connectToServer();
        server.onMessage((m) => {
            if (!/"type":"ended"/.test(m)) ws.send(m);
        });
    });
    await lost.join();
    await host.page.waitForSelector(row(host, 'Nia Nomsg'));
    await apart(t, {
        'Mo Host': () => seatOf(host, 'acc-mute'),
        'Max Guest': () => seatOf(guest, 'acc-mute'),
        'Nia Nomsg': () => seatOf(lost, 'acc-mute'),
    });

    // Max is made a host and has a question open when the meeting ends:
    // it goes with the meeting, and nothing covers what his page says then.
    await host.page.click(`${row(host, 'Max Guest')} button.act-make-host`);
    await toastSays(guest, /You are now a host/);
    await openPeople(guest);
    await guest.page.click(`${row(guest, 'Nia Nomsg')} button.act-kick`);
    await guest.page.waitForSelector('#ask[open]');

    await host.page.click('#host-end');
    // A screen reader hears the question and what it will do.
    await host.page.waitForSelector('#ask[open]');
    const cdp = await host.page.context().newCDPSession(host.page);
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeId } = await cdp.send('DOM.querySelector', { nodeId: root.nodeId, selector: '#ask' });
    const [ax] = (await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false })).nodes;
    await cdp.detach();
    assert.deepEqual([ax.name.value, ax.description && ax.description.value],
        ['End the meeting for everyone?', 'Everyone will be disconnected, and the chat, lock and password are cleared.']);
    await answer(host);
    await state(guest, 'ended');
    assert.equal(await guest.page.textContent('#gate-text'), 'Mo Host ended the meeting.');
    assert.equal(await guest.page.$eval('#ask', (d) => d.open), false);
    assert.equal(await guest.page.$eval('#gate-actions a[href="/"]', (a) => {
        const r = a.getBoundingClientRect();
        return a.contains(document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2));
    }), true, 'New meeting is not covered');
    await state(host, 'ended');
    assert.equal(await host.page.textContent('#gate-text'), 'You ended the meeting.');
    await state(lost, 'ended');
    assert.equal(await lost.page.textContent('#gate-text'), 'A host ended the meeting.');
    // As for the removed page: a retry would come within 0.5 s; give it 2 s.
    await lost.page.evaluate(() => new Promise((r) => setTimeout(r, 2000)));
    assert.equal(lostSockets, 1);
    // Nia's socket goes through Playwright's route (routeWebSocket), which
    // stands between her page and the server's socket: once in a full run
    // a message her page sent as the server closed (the page sends only
    // while its socket says open) made Chromium log that a socket was
    // closing. Not the page's doing, and not seen without the route.
    const routed = /^console\.error: WebSocket is already in CLOSING or CLOSED state\.$/;
    for (const p of [host, guest, lost]) assert.deepEqual(p.errors().filter((e) => p !== lost || !routed.test(e)), [], p.name);
});

test('a join token in the link is sent with join, and neither shown nor copied', async () => {
    const p = await person('acc-token?token=not-a-real-token', 'Tia Token', { init: watchSockets });
    assert.equal(new URL(p.page.url()).search, '', 'the address bar lost the token');
    await p.context.grantPermissions(['camera', 'microphone', 'clipboard-read', 'clipboard-write'], { origin: stack.url });
    await p.page.click('#pre-copy');
    // (the link holds no invitation: each person needs their own)
    await toastSays(p, /Link copied\. To join, each person needs their own invitation/);
    assert.equal(await p.page.evaluate(() => navigator.clipboard.readText()), `${stack.url}/acc-token`);
    await clickJoin(p);
    await p.page.waitForFunction(() => window.__sent.length > 0);
    const join = JSON.parse(await p.page.evaluate(() => window.__sent[0]));
    assert.equal(join.type, 'join');
    assert.equal(join.token, 'not-a-real-token');
    assert.equal(await p.page.evaluate(() => document.body.innerHTML.includes('not-a-real-token')), false);
});
