// The camera's on or off against clicks that come before it answers (a
// real camera takes up to a second to start; here getUserMedia answers
// 700 ms late, or at once with two clicks in one tick). Whatever the
// order, the Camera button, one's own tile, what the others are told and
// what the connections carry agree, and no camera stays captured that the
// page says is off: after leaving, nothing is captured at all.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { startStack } from '../lib/stack.mjs';
import { keepPeerConnections, launch, newParticipant, waitForPlayingVideo, until } from '../lib/browser.mjs';

let stack;
let browser;
const people = [];
const url = () => `${stack.url}/races`;

/**
 * Init script: getUserMedia answers `delay` ms late (a camera starting) and
 * every track it gave is kept in window.__tracks (keepPeerConnections
 * keeps the connections in window.__pcs).
 */
function slowCamera({ delay }) {
    window.__tracks = [];
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    navigator.mediaDevices.getUserMedia = async (c) => {
        const s = await real(c);
        window.__tracks.push(...s.getTracks());
        await new Promise((r) => setTimeout(r, delay));
        return s;
    };
}

async function person(name, delay) {
    const p = await newParticipant(browser, url(), name, { init: [keepPeerConnections, slowCamera], initArg: { delay } });
    people.push(p);
    return p;
}

/**
 * The camera as the page has it: the button, one's own tile, the live
 * camera tracks captured, and the connections' video senders carrying one.
 */
function camera(page) {
    return page.evaluate(() => ({
        state: document.body.dataset.state,
        pressed: document.getElementById('btn-cam').getAttribute('aria-pressed'),
        tileOff: document.querySelector('#grid .tile.local')?.classList.contains('novideo') ?? null,
        live: window.__tracks.filter((t) => t.kind === 'video' && t.readyState === 'live').length,
        sent: window.__pcs.filter((pc) => pc.connectionState !== 'closed').flatMap((pc) => pc.getSenders())
            .filter((s) => s.track && s.track.kind === 'video' && s.track.readyState === 'live').length,
    }));
}

/** What page shows of name's tile: camera off (initials) or not. */
const tileOff = (page, name) => page.evaluate((n) => [...document.querySelectorAll('#grid .tile:not(.local)')]
    .find((t) => t.querySelector('.name').textContent === n)?.classList.contains('novideo'), name);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Asserts that page's camera (camera()) becomes want within 10 s. After a
 * click it is looked at no sooner than 1.5 s, past the camera's start, so
 * a capture answering late shows too.
 */
async function cameraIs(page, want) {
    await sleep(1500);
    const deadline = Date.now() + 10000;
    let now = await camera(page);
    while (!isDeepStrictEqual(now, want) && Date.now() < deadline) {
        await sleep(200);
        now = await camera(page);
    }
    assert.deepEqual(now, want);
}

const ON = { state: 'meeting', pressed: 'true', tileOff: false, live: 1, sent: 1 };
const OFF = { state: 'meeting', pressed: 'false', tileOff: true, live: 0, sent: 0 };

/** Waits until p is on the pre-join screen with its preview running. */
const atPrejoin = (p) => p.page.waitForFunction(() => document.body.dataset.state === 'prejoin' && window.__tracks.length >= 2
    && !!document.getElementById('preview-video').srcObject);

/** p joined (Join clicked): its camera comes on, and Alice sees it; then p leaves the test. */
async function joinedCameraOn(p) {
    await p.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    await cameraIs(p.page, ON);
    await waitForPlayingVideo(alice.page, p.name);
    assert.equal(await tileOff(alice.page, p.name), false);
    assert.deepEqual(p.errors(), []);
    await p.close();
}

let alice;

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
    alice = await person('Alice', 0);
    await alice.join();
});

after(async () => {
    for (const p of people) await p.close();
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('pre-join: camera off, on, and Join 250 ms later, before it started: it comes on in the meeting, seen by the others', async () => {
    const dan = await person('Dan', 700);
    await atPrejoin(dan);
    await dan.page.fill('#name-input', 'Dan');
    await dan.page.click('#pre-cam');
    await sleep(500);
    await dan.page.click('#pre-cam');
    assert.equal(await dan.page.getAttribute('#pre-cam', 'aria-pressed'), 'true', 'the switch shows the choice at once');
    await sleep(250);
    await dan.page.click('#join-btn');
    await joinedCameraOn(dan);
});

test('pre-join: camera on and Join in one tick: the meeting shows it on, as it is', async () => {
    const eve = await person('Eve', 0);
    await atPrejoin(eve);
    await eve.page.fill('#name-input', 'Eve');
    await eve.page.click('#pre-cam');
    await eve.page.waitForFunction(() => window.__tracks.every((t) => t.kind !== 'video' || t.readyState === 'ended'));
    await eve.page.evaluate(() => {
        document.getElementById('pre-cam').click();
        document.getElementById('join-btn').click();
    });
    await joinedCameraOn(eve);
});

test('in the meeting: Camera clicked twice while off, before it started: off, nothing captured or sent', async () => {
    const fay = await person('Fay', 700);
    await fay.join();
    await waitForPlayingVideo(alice.page, 'Fay');
    await fay.page.click('#btn-cam');
    await until(alice.page, (n) => [...document.querySelectorAll('#grid .tile.novideo .name')].some((e) => e.textContent === n), 'Fay', 'Alice sees Fay\'s camera off');
    await fay.page.evaluate(() => {
        document.getElementById('btn-cam').click();
        document.getElementById('btn-cam').click();
    });
    await cameraIs(fay.page, OFF);
    assert.equal(await tileOff(alice.page, 'Fay'), true);
    // One click: on, once it started.
    await fay.page.click('#btn-cam');
    assert.equal(await fay.page.getAttribute('#btn-cam', 'aria-pressed'), 'true', 'the button shows the choice at once');
    await cameraIs(fay.page, ON);
    await waitForPlayingVideo(alice.page, 'Fay');
    assert.deepEqual(fay.errors(), []);
});

test('in the meeting: Camera on, then Leave before it started: nothing stays captured', async () => {
    const fay = people.find((p) => p.name === 'Fay');
    await fay.page.click('#btn-cam');
    await until(fay.page, () => document.getElementById('btn-cam').getAttribute('aria-pressed') === 'false'
        && window.__tracks.every((t) => t.kind !== 'video' || t.readyState === 'ended'), null, 'Fay\'s camera off');
    await fay.page.evaluate(() => {
        document.getElementById('btn-cam').click();
        document.getElementById('btn-leave').click();
    });
    await sleep(1500);
    const left = await fay.page.evaluate(() => ({
        state: document.body.dataset.state,
        live: window.__tracks.filter((t) => t.readyState === 'live').map((t) => t.kind),
    }));
    assert.deepEqual(left, { state: 'left', live: [] });
    assert.deepEqual(fay.errors(), []);
    assert.deepEqual(alice.errors(), []);
});
