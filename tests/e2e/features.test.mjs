// The meeting's features beyond seeing each other: private messages, chat
// history, keyboard shortcuts, screen sharing, the people panel and the
// room-size bitrate cap on each link. Ben and Cleo show Ana's tile at
// more than 960x540 device pixels (a large window at device pixel ratio
// 2), so the quality governor's size ladder does not bind and each of
// Ana's links carries exactly the room cap (tests/e2e/governor.test.mjs
// covers smaller tiles).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, screenshot, keepPeerConnections } from '../lib/browser.mjs';

let stack;
let browser;
let a;
let b;
let c;
const url = () => `${stack.url}/features`;
const LARGE = { viewport: { width: 1600, height: 900 }, context: { deviceScaleFactor: 2 } };

const caps = (page) => page.evaluate(() => window.__pcs
    .filter((pc) => pc.connectionState === 'connected')
    .map((pc) => pc.getSenders().filter((s) => s.track && s.track.kind === 'video')
        .map((s) => (s.getParameters().encodings[0] || {}).maxBitrate))
    .flat());

const hasText = (page, text) => page.waitForFunction((t) => [...document.querySelectorAll('#chat-log .text')]
    .some((e) => e.textContent === t), text);

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('each video sender is capped at 2.5 Mbps for two people', async () => {
    a = await newParticipant(browser, url(), 'Ana', { init: keepPeerConnections });
    await a.join();
    b = await newParticipant(browser, url(), 'Ben', LARGE);
    await b.join();
    await waitForPlayingVideo(a.page, 'Ben');
    // The governor may hold a link lower for a while at the start, while
    // the browser's bandwidth estimate ramps up; it must reach the cap.
    await a.page.waitForFunction(() => window.__pcs.some((pc) => pc.getSenders()
        .some((s) => s.track && s.track.kind === 'video' && (s.getParameters().encodings[0] || {}).maxBitrate === 2500000)),
    null, { timeout: 60000 }).catch(() => { /* said below */ });
    assert.deepEqual(await caps(a.page), [2500000]);
});

test('room chat before a person joins reaches them as history', async () => {
    await a.page.click('#btn-chat');
    await a.page.fill('#chat-input', 'notes from before you came');
    await a.page.press('#chat-input', 'Enter');
    await hasText(b.page, 'notes from before you came');
    c = await newParticipant(browser, url(), 'Cleo', { ...LARGE, init: keepPeerConnections });
    await c.join();
    await c.page.click('#btn-chat');
    await hasText(c.page, 'notes from before you came');
    assert.equal(await c.page.textContent('#chat-log .who'), 'Ana');
});

test('with three people the cap drops to 1.2 Mbps on every sender', async () => {
    await waitForPlayingVideo(a.page, 'Cleo');
    await a.page.waitForFunction(() => window.__pcs.filter((pc) => pc.connectionState === 'connected').length === 2);
    await a.page.waitForFunction(() => window.__pcs.filter((pc) => pc.connectionState === 'connected')
        .every((pc) => pc.getSenders().some((s) => s.track && s.track.kind === 'video'
            && (s.getParameters().encodings[0] || {}).maxBitrate === 1200000)));
    assert.deepEqual(await caps(a.page), [1200000, 1200000]);
});

test('the chat follows new messages only when the reader is at the bottom', async () => {
    const tall = (n) => Array.from({ length: 25 }, (_, i) => `${n} line ${i + 1}`).join('\n');
    await b.page.click('#btn-chat');
    for (const n of ['one', 'two']) {
        await b.page.fill('#chat-input', tall(n));
        await b.page.press('#chat-input', 'Enter');
        await hasText(a.page, tall(n));
    }
    const atBottom = () => a.page.$eval('#chat-log', (l) => l.scrollHeight - l.scrollTop - l.clientHeight < 2);
    assert.equal(await atBottom(), true);
    await a.page.$eval('#chat-log', (l) => { l.scrollTop = 0; });
    await b.page.fill('#chat-input', tall('three'));
    await b.page.press('#chat-input', 'Enter');
    await hasText(a.page, tall('three'));
    assert.equal(await a.page.$eval('#chat-log', (l) => l.scrollTop), 0, 'reading older messages: not moved');
    await a.page.$eval('#chat-log', (l) => { l.scrollTop = l.scrollHeight; });
    await b.page.fill('#chat-input', 'short');
    await b.page.press('#chat-input', 'Enter');
    await hasText(a.page, 'short');
    assert.equal(await atBottom(), true);
});

test('a private message from the people panel reaches only its target, and Reply answers privately', async () => {
    await a.page.click('#tab-people');
    await a.page.click('#people li:has-text("Ben") button.dm');
    assert.equal(await a.page.isVisible('#chat-to'), true);
    await a.page.fill('#chat-input', 'just between us');
    await a.page.press('#chat-input', 'Enter');
    await hasText(b.page, 'just between us');
    assert.match(await b.page.textContent('#chat-log li.private .pv'), /privately to you/);
    await hasText(a.page, 'just between us');
    // Ben answers with the line's Reply: privately to Ana, not to all.
    const reply = '#chat-log li.private button.reply';
    assert.match(await b.page.getAttribute(reply, 'aria-label'), /^Reply privately to Ana/);
    await b.page.click(reply);
    assert.match(await b.page.textContent('#chat-to-name'), /^To Ana.* \(private\)$/);
    assert.equal(await b.page.evaluate(() => document.activeElement.id), 'chat-input');
    await b.page.fill('#chat-input', 'agreed, between us');
    await b.page.press('#chat-input', 'Enter');
    await hasText(a.page, 'agreed, between us');
    await b.page.click('#chat-to-clear');
    // Cleo gets the next room message but never the private one.
    await a.page.click('#chat-to-clear');
    await a.page.fill('#chat-input', 'back to everyone');
    await a.page.press('#chat-input', 'Enter');
    await hasText(c.page, 'back to everyone');
    const cleoSees = await c.page.$$eval('#chat-log .text', (els) => els.map((e) => e.textContent));
    assert.equal(cleoSees.includes('just between us') || cleoSees.includes('agreed, between us'), false);
});

test('copy invite link puts the room\'s address on the clipboard', async () => {
    await a.context.grantPermissions(['camera', 'microphone', 'clipboard-read', 'clipboard-write'], { origin: stack.url });
    await a.page.click('#tab-people');
    await a.page.click('#people-invite');
    await a.page.waitForFunction(() => /Invite link copied/.test(document.getElementById('toast').textContent));
    assert.equal(await a.page.evaluate(() => navigator.clipboard.readText()), url());
    await a.page.click('#tab-chat');
});

test('keyboard shortcuts mute and stop the camera, not while typing', async () => {
    await b.page.click('#grid');
    await b.page.keyboard.press('Control+d');
    await a.page.waitForSelector('#grid .tile[data-peer].muted');
    await b.page.keyboard.press('v');
    await a.page.waitForSelector('#grid .tile.muted.novideo');
    await b.page.keyboard.press('m');
    await b.page.keyboard.press('Control+e');
    await a.page.waitForFunction(() => !document.querySelector('#grid .tile.muted, #grid .tile.novideo'));
    // Typing an "m" in the chat box is just a letter.
    if (!await b.page.isVisible('#chat-input')) await b.page.click('#btn-chat');
    await b.page.click('#chat-input');
    await b.page.keyboard.type('mv');
    assert.equal(await b.page.inputValue('#chat-input'), 'mv');
    assert.equal(await b.page.getAttribute('#btn-mic', 'aria-pressed'), 'true');
});

test('raising a hand shows on the others\' tiles and in the people list', async () => {
    await c.page.click('#btn-hand');
    await a.page.waitForSelector('#grid .tile.hand');
    await b.page.waitForSelector('#grid .tile.hand');
    await a.page.waitForSelector('#people li:has-text("Cleo") .icon-hand', { state: 'attached' });
    await c.page.click('#btn-hand');
    await a.page.waitForSelector('#grid .tile.hand', { state: 'detached' });
});

test('screen sharing replaces the camera for the others and stops from the browser', async () => {
    assert.equal(await c.page.isVisible('#btn-screen'), true, 'desktop Chromium can share a screen');
    await c.page.click('#btn-screen');
    await a.page.waitForSelector('#grid .tile.screen');
    await waitForPlayingVideo(a.page, 'Cleo');
    // The presenter takes the stage on the others' screens.
    await a.page.waitForSelector('#grid.spotlight .tile.screen.main');
    const sizes = await a.page.$$eval('#grid .tile', (els) => els.map((e) => ({
        main: e.classList.contains('main'), area: e.clientWidth * e.clientHeight,
    })));
    const big = sizes.find((t) => t.main).area;
    assert.ok(sizes.filter((t) => !t.main).every((t) => t.area * 4 < big), JSON.stringify(sizes));
    await screenshot(a.page, 'presenting.png');
    const shared = await c.page.$eval('#grid .tile.local video', (v) => v.srcObject.getVideoTracks()[0].label);
    // The browser's own "Stop sharing" ends the track.
    await c.page.$eval('#grid .tile.local video', (v) => v.srcObject.getVideoTracks()[0].dispatchEvent(new Event('ended')));
    await a.page.waitForSelector('#grid .tile.screen', { state: 'detached' });
    assert.equal(await a.page.$$eval('#grid.spotlight, #grid .tile.main', (els) => els.length), 0);
    await waitForPlayingVideo(a.page, 'Cleo');
    const camera = await c.page.$eval('#grid .tile.local video', (v) => v.srcObject.getVideoTracks()[0].label);
    assert.notEqual(shared, camera);
    assert.equal(await c.page.getAttribute('#btn-screen', 'aria-pressed'), 'false');
});

/** The label of the video track each of page's connections sends (null: none). */
const videoSent = (page) => page.evaluate(() => window.__pcs.filter((pc) => pc.connectionState === 'connected')
    .flatMap((pc) => pc.getTransceivers().filter((t) => t.receiver.track.kind === 'video'))
    .map((t) => (t.sender.track && t.sender.track.readyState === 'live' ? t.sender.track.label : null)));

/** Waits until every connection of page sends what ok(label) accepts. */
async function sendsOnly(page, ok, what) {
    let last;
    for (const deadline = Date.now() + 10000; Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
        last = await videoSent(page);
        if (last.length === 2 && last.every(ok)) return;
    }
    assert.fail(`${what}: the connections send ${JSON.stringify(last)}`);
}

test('the camera off and on while presenting: the screen stays on the links, and stopping sends the camera only if on', async () => {
    await c.page.click('#btn-screen');
    await a.page.waitForSelector('#grid .tile.screen');
    const screen = await c.page.$eval('#grid .tile.local video', (v) => v.srcObject.getVideoTracks()[0].label);
    await sendsOnly(c.page, (l) => l === screen, 'presenting');
    await c.page.click('#btn-cam');
    await c.page.waitForSelector('#btn-cam[aria-pressed="false"]');
    await sendsOnly(c.page, (l) => l === screen, 'presenting, camera off');
    await waitForPlayingVideo(a.page, 'Cleo');
    // Stopped with the button while the camera is off: nothing is sent.
    await c.page.click('#btn-screen');
    await a.page.waitForSelector('#grid .tile.screen', { state: 'detached' });
    await sendsOnly(c.page, (l) => l === null, 'stopped, camera off');
    await a.page.waitForSelector('#grid .tile.novideo');
    await c.page.click('#btn-cam');
    await c.page.waitForSelector('#btn-cam[aria-pressed="true"]');
    await sendsOnly(c.page, (l) => l !== null && l !== screen, 'camera on again');
    await waitForPlayingVideo(a.page, 'Cleo');
    assert.equal(await a.page.$$eval('#grid .tile.novideo', (els) => els.length), 0);
});

test('a screen the browser or the system cannot share: the page says so, and nothing is shared', async () => {
    await c.page.evaluate(() => {
        window.__gdm = navigator.mediaDevices.getDisplayMedia;
        navigator.mediaDevices.getDisplayMedia = () => Promise.reject(new DOMException('no capture here', 'NotReadableError'));
    });
    try {
        await c.page.click('#btn-screen');
        await c.page.waitForFunction(() => document.getElementById('toast').textContent.startsWith('Your screen could not be shared'));
        assert.equal(await c.page.getAttribute('#btn-screen', 'aria-pressed'), 'false');
        assert.equal(await a.page.locator('#grid .tile.screen').count(), 0);
    } finally {
        await c.page.evaluate(() => { navigator.mediaDevices.getDisplayMedia = window.__gdm; });
    }
});

test('when one leaves, the cap goes back up and nothing went wrong', async () => {
    await c.page.click('#btn-leave');
    await a.page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 2);
    await a.page.waitForFunction(() => window.__pcs.filter((pc) => pc.connectionState === 'connected')
        .every((pc) => pc.getSenders().some((s) => s.track && s.track.kind === 'video'
            && (s.getParameters().encodings[0] || {}).maxBitrate === 2500000)));
    for (const p of [a, b, c]) assert.deepEqual(p.errors(), [], p.name);
});
