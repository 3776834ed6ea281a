// The meeting as people use it for an hour: the settings panel (switching
// camera, microphone and speaker during the call with no renegotiation and
// nobody leaving, the browser's microphone processing, the mirror, a new
// name), "You are muted" when one talks while muted (and nothing is sent),
// a volume per person, the raised hands in the order they went up, and a
// pinned tile or speaker view, full screen on a tile, the camera's video
// quality, and reactions.
//
// Chromium's fake devices with device-count=3 give three cameras (the second,
// fake_device_1, delivers 16-bit grey frames that WebRTC cannot send, so
// the switch goes to fake_device_2), three microphones and three speakers.
// The fake microphones beep a few times a second.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, screenshot, until } from '../lib/browser.mjs';
import { LADDER } from '../../public/governor.js';

let stack;
let browser;
let a;
let b;
const url = () => `${stack.url}/incall-room`;

// Test-only init script: records the page's RTCPeerConnections and counts
// every description set on them (a renegotiation would add some).
function recordPcs() {
    const Native = window.RTCPeerConnection;
    window.__pcs = [];
    window.__descriptions = 0;
    window.RTCPeerConnection = class extends Native {
        constructor(...args) {
            super(...args);
            window.__pcs.push(this);
        }

        setLocalDescription(...args) {
            window.__descriptions++;
            return super.setLocalDescription(...args);
        }

        setRemoteDescription(...args) {
            window.__descriptions++;
            return super.setRemoteDescription(...args);
        }
    };
}

/** The one connection's senders on page: { audio, video } track facts. */
const senders = (page) => page.evaluate(() => {
    const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
    const out = {};
    for (const s of pc.getSenders()) {
        if (!s.track) continue;
        const st = s.track.getSettings();
        out[s.track.kind] = { id: s.track.id, deviceId: st.deviceId, enabled: s.track.enabled, label: s.track.label, noiseSuppression: st.noiseSuppression };
    }
    return out;
});

/**
 * The audio page has played out from its one connection (inbound-rtp):
 * total energy and seconds played (both counted at playout, so a window of
 * seconds holds exactly the energy played in it).
 */
const audioIn = (page) => page.evaluate(async () => {
    const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
    const s = [...(await pc.getStats()).values()].find((x) => x.type === 'inbound-rtp' && x.kind === 'audio');
    return { energy: s ? s.totalAudioEnergy || 0 : 0, seconds: s ? s.totalSamplesDuration || 0 : 0 };
});

/** Waits until page has played `seconds` more audio than `from`; returns the stats. */
async function moreAudio(page, from, seconds) {
    const deadline = Date.now() + 30000;
    for (;;) {
        const now = await audioIn(page);
        if (now.seconds >= from.seconds + seconds) return now;
        if (Date.now() > deadline) throw new Error(`audio stopped after ${now.seconds} s`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/**
 * How green (0..255) the remote tile `name` is just left of its frame's
 * centre: fake_device_0 draws a bright green disc there, fake_device_2 a
 * plain darker green; -1 before a frame.
 */
function discGreen({ name }) {
    const tile = [...document.querySelectorAll('#grid .tile:not(.local)')]
        .find((t) => t.querySelector('.name').textContent === name);
    const v = tile && tile.querySelector('video');
    if (!v || !v.videoWidth) return -1;
    const c = document.createElement('canvas');
    c.width = 100;
    c.height = 100;
    const g = c.getContext('2d');
    g.drawImage(v, 0, 0, 100, 100);
    const px = g.getImageData(40, 47, 4, 6).data;
    let sum = 0;
    for (let i = 1; i < px.length; i += 4) sum += px[i];
    return sum / (px.length / 4);
}

/** Waits until discGreen on page passes ok. */
async function waitGreen(page, name, ok, what) {
    const deadline = Date.now() + 30000;
    for (;;) {
        const value = await page.evaluate(discGreen, { name });
        if (value >= 0 && ok(value)) return;
        if (Date.now() > deadline) throw new Error(`${what}: green ${value}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Shows the settings pane on page (opening the panel when needed). */
async function openSettings(page) {
    if (!(await page.isVisible('#settings-pane'))) await page.click('#btn-settings');
    await page.waitForSelector('#settings-pane:not([hidden])');
}

/**
 * The video the page sends and receives on its one connection: the sent
 * track's id as the encoder sees it (media-source), frames encoded, frames
 * decoded.
 */
const videoStats = (page) => page.evaluate(async () => {
    const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
    const all = [...(await pc.getStats()).values()];
    const out = all.find((x) => x.type === 'outbound-rtp' && x.kind === 'video');
    const src = out && all.find((x) => x.id === out.mediaSourceId);
    const inb = all.find((x) => x.type === 'inbound-rtp' && x.kind === 'video');
    return { source: src ? src.trackIdentifier : null, encoded: out ? out.framesEncoded : 0, decoded: inb ? inb.framesDecoded : 0 };
});

/** Waits until videoStats(page) passes ok; returns them. */
async function waitVideo(page, ok, what) {
    const deadline = Date.now() + 30000;
    for (;;) {
        const st = await videoStats(page);
        if (ok(st)) return st;
        if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(st)}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch({ args: ['--use-fake-device-for-media-stream=device-count=3'] });
    a = await newParticipant(browser, url(), 'Anna', { init: recordPcs });
    b = await newParticipant(browser, url(), 'Ben', { init: recordPcs });
    await a.join();
    await b.join();
    await waitForPlayingVideo(a.page, 'Ben');
    await waitForPlayingVideo(b.page, 'Anna');
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('Settings opens from the keyboard with the device pickers; Escape closes it', async () => {
    await a.page.focus('#btn-settings');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#settings-pane:not([hidden])');
    assert.equal(await a.page.getAttribute('#btn-settings', 'aria-pressed'), 'true');
    assert.equal(await a.page.getAttribute('#tab-settings', 'aria-selected'), 'true');
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'set-mic');
    const ring = await a.page.$eval('#set-mic', (s) => getComputedStyle(s.closest('.device')).outlineStyle);
    assert.equal(ring, 'solid');
    const labels = (sel) => a.page.$$eval(`${sel} option`, (os) => os.map((o) => o.textContent));
    // Opening the pane refreshes the pickers (enumerateDevices, async):
    // until it answers they may still show the list from before.
    await a.page.waitForFunction(() => document.querySelectorAll('#set-cam option').length === 3).catch(() => {});
    assert.deepEqual(await labels('#set-cam'), ['fake_device_0', 'fake_device_1', 'fake_device_2']);
    assert.ok((await labels('#set-mic')).length >= 2);
    assert.ok((await labels('#set-speaker')).length >= 2);
    for (const id of ['set-mic', 'set-cam', 'set-speaker', 'set-ns', 'set-ec', 'set-agc', 'set-mirror', 'set-name']) {
        const named = await a.page.evaluate((i) => {
            const e = document.getElementById(i);
            return !!(e.labels && e.labels.length && e.labels[0].textContent.trim());
        }, id);
        assert.ok(named, `${id} has a label`);
    }
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#panel', { state: 'hidden' });
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-settings');
    // The tab in the panel reaches it too (on a phone the Settings button is hidden).
    await a.page.click('#btn-chat');
    await a.page.click('#tab-settings');
    await a.page.waitForSelector('#settings-pane:not([hidden])');
    assert.equal(await a.page.isVisible('#chat-pane'), false);
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#panel', { state: 'hidden' });
    assert.equal(await a.page.getAttribute('#btn-settings', 'aria-pressed'), 'false');
});

test('switching the camera in the call: the other side gets the new one, no renegotiation, nobody leaves', async () => {
    await waitGreen(b.page, 'Anna', (x) => x > 200, 'Ben sees the disc of fake_device_0');
    const before = await senders(a.page);
    const descA = await a.page.evaluate(() => window.__descriptions);
    const descB = await b.page.evaluate(() => window.__descriptions);
    const peerB = await b.page.getAttribute('#grid .tile:not(.local)', 'data-peer');
    assert.equal((await videoStats(a.page)).source, before.video.id);

    await openSettings(a.page);
    await a.page.selectOption('#set-cam', { label: 'fake_device_2' });
    await until(a.page, (old) => {
        const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
        const t = pc.getSenders().map((s) => s.track).find((x) => x && x.kind === 'video');
        return !!t && t.id !== old && t.readyState === 'live';
    }, before.video.id, 'a new camera track on the sender');
    const after = await senders(a.page);
    assert.notEqual(after.video.deviceId, before.video.deviceId);
    assert.equal(await a.page.$eval('#set-cam', (s) => s.selectedOptions[0].textContent), 'fake_device_2');
    // The local tile shows the new camera too.
    assert.equal(await a.page.$eval('#grid .tile.local video', (v) => v.srcObject.getVideoTracks()[0].getSettings().deviceId), after.video.deviceId);

    // Anna's encoder takes its frames from the new track, and Ben keeps decoding and playing them.
    const sent = await waitVideo(a.page, (st) => st.source === after.video.id, 'the encoder on the new track');
    await waitVideo(a.page, (st) => st.encoded >= sent.encoded + 30, 'frames from the new camera');
    const got = await videoStats(b.page);
    await waitVideo(b.page, (st) => st.decoded >= got.decoded + 30, 'Ben decodes new frames');
    await waitGreen(b.page, 'Anna', (x) => x < 170, 'Ben sees fake_device_2 (no disc)');
    await waitForPlayingVideo(b.page, 'Anna');
    assert.equal(await a.page.evaluate(() => window.__descriptions), descA, 'no new description on the switcher');
    assert.equal(await b.page.evaluate(() => window.__descriptions), descB, 'no new description on the other side');
    assert.equal(await b.page.getAttribute('#grid .tile:not(.local)', 'data-peer'), peerB);
    assert.equal(await b.page.evaluate(() => window.__pcs.filter((p) => p.connectionState === 'connected').length), 1);
    assert.equal(await b.page.$$eval('#grid .tile', (ts) => ts.length), 2);
    assert.notEqual(await b.page.textContent('#toast'), 'Anna left');
    await screenshot(a.page, 'incall-settings.png');
});

test('switching the microphone while muted: the new one goes on the sender and stays muted', async () => {
    await openSettings(a.page);
    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#btn-mic[aria-pressed="false"]');
    const before = await senders(a.page);
    assert.equal(before.audio.enabled, false);
    const other = await a.page.$$eval('#set-mic option', (os, cur) => os.find((o) => o.value !== cur && o.value !== 'default').textContent, before.audio.deviceId);
    await a.page.selectOption('#set-mic', { label: other });
    await until(a.page, (old) => {
        const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
        const t = pc.getSenders().map((s) => s.track).find((x) => x && x.kind === 'audio');
        return !!t && t.id !== old;
    }, before.audio.id, 'a new microphone track on the sender');
    const after = await senders(a.page);
    assert.equal(after.audio.label, other);
    assert.equal(after.audio.enabled, false, 'still muted on the new microphone');
    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#btn-mic[aria-pressed="true"]');
    assert.equal((await senders(a.page)).audio.enabled, true);
});

test('turning noise suppression off captures the microphone again without it; audio keeps flowing', async () => {
    await openSettings(a.page);
    assert.equal((await senders(a.page)).audio.noiseSuppression, true);
    const from = await audioIn(b.page);
    // By keyboard: the switch keeps the focus while the microphone is
    // captured again (disabled, it dropped it to the page for that time).
    await a.page.focus('#set-ns');
    await a.page.keyboard.press('Space');
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'set-ns');
    await until(a.page, () => {
        const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
        const t = pc.getSenders().map((s) => s.track).find((x) => x && x.kind === 'audio');
        const ok = t.getSettings().noiseSuppression === false && !document.getElementById('set-ns').hasAttribute('aria-disabled');
        return ok || { settings: t.getSettings(), state: t.readyState, box: document.getElementById('set-ns').checked, toast: document.getElementById('toast').textContent };
    }, null, 'noise suppression off on the sent track');
    assert.equal(await a.page.isChecked('#set-ns'), false);
    assert.equal(await a.page.isChecked('#set-ec'), true);
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'set-ns', 'the focus stayed on the switch');
    const to = await moreAudio(b.page, from, 1);
    assert.ok(to.energy > from.energy, 'Ben still hears Anna');
});

test('the speaker picker plays the others on the chosen output', async () => {
    await openSettings(a.page);
    const value = await a.page.$$eval('#set-speaker option', (os) => os.find((o) => o.value !== 'default').value);
    await a.page.selectOption('#set-speaker', value);
    await until(a.page, (v) => document.querySelector('#grid .tile:not(.local) video').sinkId === v, value, 'the remote tile on the chosen speaker');
    assert.equal(await a.page.$eval('#set-speaker', (s) => s.value), value);
});

test('the mirror switch: one\'s own tile unmirrored, remembered', async () => {
    await openSettings(a.page);
    assert.equal(await a.page.$eval('#grid .tile.local video', (v) => v.classList.contains('mirror')), true);
    await a.page.uncheck('#set-mirror');
    assert.equal(await a.page.$eval('#grid .tile.local video', (v) => v.classList.contains('mirror')), false);
    assert.equal(await a.page.evaluate(() => localStorage.getItem('huddle.mirror')), 'off');
    // The pre-join preview of a next visit follows the choice.
    const again = await newParticipant(browser, url(), 'Anna', { init: recordPcs, context: { storageState: await a.context.storageState() } });
    await again.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await again.page.$eval('#preview-video', (v) => v.classList.contains('mirror')), false);
    assert.deepEqual(again.errors(), []);
    await again.close();
    await a.page.check('#set-mirror');
    assert.equal(await a.page.$eval('#grid .tile.local video', (v) => v.classList.contains('mirror')), true);
});

test('talking while muted shows "You are muted" (with the held Space while single keys are on); nothing reaches the other side', async () => {
    // Unmuted, Ben hears the beeps: the measure below can tell.
    let from = await audioIn(b.page);
    let to = await moreAudio(b.page, from, 1);
    const heard = to.energy - from.energy;
    assert.ok(heard > 0, 'the beeps are heard while unmuted');
    assert.equal(await a.page.isVisible('#muted-hint'), false);

    await a.page.click('#btn-mic');
    await b.page.waitForSelector('#grid .tile:not(.local).muted');
    await a.page.waitForSelector('#muted-hint:not([hidden])');
    assert.equal(await a.page.textContent('#muted-hint'), 'You are muted. Press Microphone (Ctrl+D), or hold Space, to talk.');
    assert.equal(await a.page.getAttribute('#muted-hint', 'role'), 'status');
    assert.equal((await senders(a.page)).audio.enabled, false, 'the sent track stays disabled');
    // Let audio sent before the mute play out (a loaded machine buffers
    // more), then a second played: silence.
    from = await moreAudio(b.page, await audioIn(b.page), 2);
    to = await moreAudio(b.page, from, 1);
    assert.ok(to.energy - from.energy < heard / 100, `silence while muted: ${to.energy - from.energy} vs ${heard}`);
    assert.equal(await a.page.isVisible('#muted-hint'), true);
    // The Settings pane's meter hears the beeps too, muted as she is.
    await openSettings(a.page);
    await a.page.waitForFunction(() => document.getElementById('set-level').value > 0.12);

    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#muted-hint', { state: 'hidden' });

    // Single keys off, a held Space does not talk: the hint does not offer it.
    await a.page.click('#btn-people');
    await a.page.uncheck('#pref-keys');
    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#muted-hint:not([hidden])');
    assert.equal(await a.page.textContent('#muted-hint'), 'You are muted. Press Microphone (Ctrl+D) to talk.');
    await a.page.check('#pref-keys');
    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#muted-hint', { state: 'hidden' });
    await a.page.click('#panel-close');
});

/** page says text in the chat (the chat pane opened when needed). */
async function say(page, text) {
    if (!(await page.isVisible('#chat-pane'))) await page.click('#btn-chat');
    await page.fill('#chat-input', text);
    await page.press('#chat-input', 'Enter');
}

/** The heads of page's chat log, [who, first line under it]. */
const chatHeads = (page) => page.$$eval('#chat-log li.msg:not(.cont)', (els) => els.map((e) => [e.querySelector('.who').textContent, e.querySelector('.text').textContent]));

test('renaming in the call: checked like the pre-join field, then everyone sees the new name', async () => {
    await say(a.page, 'before the rename');
    await openSettings(a.page);
    await a.page.fill('#set-name', ' \u202e\u200b ');
    await a.page.click('#set-name-save');
    await a.page.waitForSelector('#set-name-error:not([hidden])');
    assert.equal(await a.page.getAttribute('#set-name', 'aria-invalid'), 'true');
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'set-name');
    await a.page.fill('#set-name', 'Anna\u0007 Maria');
    assert.equal(await a.page.isVisible('#set-name-error'), false);
    await a.page.press('#set-name', 'Enter');
    await b.page.waitForFunction(() => document.querySelector('#grid .tile:not(.local) .name').textContent === 'Anna Maria');
    assert.equal(await a.page.textContent('#grid .tile.local .name'), 'Anna Maria (you)');
    assert.equal(await a.page.inputValue('#set-name'), 'Anna Maria');
    assert.equal(await a.page.evaluate(() => localStorage.getItem('huddle.name')), 'Anna Maria');
    await b.page.click('#btn-people');
    await b.page.waitForFunction(() => [...document.querySelectorAll('#people .pname')].some((e) => e.textContent === 'Anna Maria'));
    // A line after the rename comes under a head of the new name (it went
    // on under "Anna"); one's own lines stay under "You".
    await say(a.page, 'after the rename');
    await b.page.click('#btn-chat');
    await b.page.waitForFunction(() => document.querySelector('#chat-log li:last-child .text')?.textContent === 'after the rename');
    assert.deepEqual((await chatHeads(b.page)).slice(-2), [['Anna', 'before the rename'], ['Anna Maria', 'after the rename']]);
    assert.deepEqual((await chatHeads(a.page)).slice(-1), [['You', 'before the rename']]);
    await b.page.click('#tab-people'); // as the next test finds it
});

test('a volume per person: a slider in the people list sets that tile\'s volume only here', async () => {
    const slider = '#people li.person:not(:first-child) input[type="range"]';
    assert.equal(await b.page.getAttribute(slider, 'aria-label'), 'Volume of Anna Maria');
    await b.page.focus(slider);
    await b.page.keyboard.press('Home');
    await b.page.waitForFunction(() => document.querySelector('#grid .tile:not(.local) video').volume === 0);
    assert.equal(await b.page.getAttribute(slider, 'aria-valuetext'), '0 %');
    for (let i = 0; i < 10; i++) await b.page.keyboard.press('ArrowRight');
    await b.page.waitForFunction(() => Math.abs(document.querySelector('#grid .tile:not(.local) video').volume - 0.5) < 1e-9);
    // A re-render of the list (a state change) keeps the slider where it is, and the focus on it.
    await a.page.click('#btn-cam');
    await b.page.waitForSelector('#grid .tile:not(.local).novideo');
    assert.equal(await b.page.inputValue(slider), '50');
    assert.equal(await b.page.evaluate(() => document.activeElement.dataset.action), 'volume');
    // Not Anna's own business: her page plays Ben as loud as ever.
    assert.equal(await a.page.$eval('#grid .tile:not(.local) video', (v) => v.volume), 1);
    await a.page.click('#btn-cam');
});

test('raised hands are listed in the order they went up', async () => {
    const order = (page) => page.$$eval('#hands-list li', (ls) => ls.map((l) => l.textContent));
    await a.page.click('#btn-people');
    await a.page.waitForSelector('#people-pane:not([hidden])');
    assert.equal(await a.page.isVisible('#hands'), false);
    await b.page.click('#btn-hand');
    await a.page.waitForSelector('#hands:not([hidden])');
    await a.page.click('#btn-hand');
    await a.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 2);
    assert.deepEqual(await order(a.page), ['Ben', 'Anna Maria (you)']);
    await b.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 2);
    assert.deepEqual(await order(b.page), ['Ben (you)', 'Anna Maria']);
    assert.equal(await a.page.textContent('#hands-count'), '2');
    // Ben lowers and raises again: now after Anna.
    await b.page.click('#btn-hand');
    await a.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 1);
    await b.page.click('#btn-hand');
    await a.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 2);
    assert.deepEqual(await order(a.page), ['Anna Maria (you)', 'Ben']);
    await screenshot(a.page, 'incall-hands.png');
    // Someone who joins now sees the same order (the server's times),
    // not the order the two joined in (Anna Maria first, then Ben: the
    // opposite of the hands'), here after Ben raises again.
    await b.page.click('#btn-hand');
    await a.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 1);
    await a.page.click('#btn-hand');
    await a.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 0);
    await b.page.click('#btn-hand');
    await b.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 1);
    await a.page.click('#btn-hand');
    await a.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 2);
    assert.deepEqual(await order(a.page), ['Ben', 'Anna Maria (you)']);
    // The button's tooltip says what a click does now.
    assert.equal(await a.page.getAttribute('#btn-hand', 'title'), 'Lower hand (H)');
    const late = await newParticipant(browser, url(), 'Cleo');
    try {
        await late.join();
        await late.page.click('#btn-people');
        await late.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 2);
        assert.deepEqual(await order(late.page), ['Ben', 'Anna Maria']);
    } finally {
        await late.close();
    }
    await a.page.click('#btn-hand');
    await b.page.click('#btn-hand');
    await a.page.waitForSelector('#hands', { state: 'hidden' });
    assert.equal(await a.page.getAttribute('#btn-hand', 'title'), 'Raise hand (H)');
});

test('pinning a tile by keyboard puts it on the stage; speaker view does it for the one talking', async () => {
    const pin = '#grid .tile:not(.local) .pin-btn';
    assert.equal(await a.page.getAttribute(pin, 'aria-label'), 'Pin Ben');
    assert.equal(await a.page.getAttribute(pin, 'aria-pressed'), 'false');
    assert.equal(await a.page.$$eval('#grid .tile.local .pin-btn', (els) => els.length), 0);
    await a.page.focus(pin);
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#grid.spotlight .tile:not(.local).main');
    assert.equal(await a.page.getAttribute(pin, 'aria-pressed'), 'true');
    assert.equal(await a.page.getAttribute(pin, 'aria-label'), 'Pin Ben', 'the name stays; aria-pressed says it is on');
    assert.equal(await a.page.getAttribute(pin, 'title'), 'Unpin Ben');
    assert.equal(await a.page.$eval(pin, (e) => e === document.activeElement && getComputedStyle(e).outlineStyle), 'solid');
    const width = (sel) => a.page.$eval(sel, (e) => e.getBoundingClientRect().width);
    assert.ok(await width('#grid .tile.main') > 2 * await width('#grid .tile.local'));
    // Ben's own page is not affected.
    assert.equal(await b.page.$$eval('#grid.spotlight', (els) => els.length), 0);
    await a.page.mouse.move(0, 0);
    await screenshot(a.page, 'incall-pinned.png');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#grid:not(.spotlight)');
    assert.equal(await a.page.getAttribute(pin, 'aria-pressed'), 'false');

    await openSettings(a.page);
    await a.page.check('#set-speaker-view');
    await a.page.waitForSelector('#grid.spotlight .tile:not(.local).main');
    await a.page.uncheck('#set-speaker-view');
    await a.page.waitForSelector('#grid:not(.spotlight)');
});

test('full screen on a tile by keyboard: the tile fills the screen, the same button brings it back; double-click too', async () => {
    const full = '#grid .tile:not(.local) .full-btn';
    assert.equal(await a.page.getAttribute(full, 'aria-label'), 'Full screen Ben');
    assert.equal(await a.page.getAttribute(full, 'aria-pressed'), 'false');
    assert.equal(await a.page.$$eval('#grid .tile.local .full-btn', (els) => els.length), 0);
    await a.page.focus(full);
    await a.page.keyboard.press('Enter');
    await a.page.waitForFunction(() => !!document.fullscreenElement && document.fullscreenElement.matches('#grid .tile:not(.local)'));
    await a.page.waitForSelector(`${full}[aria-pressed="true"]`);
    assert.equal(await a.page.getAttribute(full, 'title'), 'Exit full screen (Esc)');
    const fills = await a.page.$eval('#grid .tile:not(.local)', (t) => {
        const r = t.getBoundingClientRect();
        const v = t.querySelector('video');
        return { w: r.width, h: r.height, vw: innerWidth, vh: innerHeight, fit: getComputedStyle(v).objectFit, playing: !v.paused };
    });
    assert.deepEqual(fills, { w: fills.vw, h: fills.vh, vw: fills.vw, vh: fills.vh, fit: 'contain', playing: true });
    // Still focused, and shown over the picture (it fades in).
    await a.page.waitForFunction((sel) => {
        const e = document.querySelector(sel);
        return e === document.activeElement && getComputedStyle(e).opacity === '1';
    }, full);
    await a.page.keyboard.press('Enter');
    await a.page.waitForFunction(() => document.fullscreenElement === null);
    await a.page.waitForSelector(`${full}[aria-pressed="false"]`);
    await a.page.waitForFunction(() => getComputedStyle(document.querySelector('#grid .tile:not(.local) video')).objectFit === 'cover');

    await a.page.dblclick('#grid .tile:not(.local) video');
    await a.page.waitForFunction(() => !!document.fullscreenElement);
    await a.page.dblclick('#grid .tile:not(.local) video');
    await a.page.waitForFunction(() => document.fullscreenElement === null);
    // Ben's page never left its grid.
    assert.equal(await b.page.evaluate(() => document.fullscreenElement), null);
});

/**
 * The cap the quality governor gives Anna's one link with "Best": the room
 * cap for two (2.5 Mbps), or the ladder's step for the size (device pixels)
 * Ben shows her tile at, whichever is lower.
 */
async function bestCap() {
    const px = await b.page.$eval('#grid .tile:not(.local) video', (v) => {
        const r = v.getBoundingClientRect();
        return Math.round(r.width * devicePixelRatio) * Math.round(r.height * devicePixelRatio);
    });
    return Math.min(2500000, LADDER.find((s) => px <= s.pixels).bps);
}

/** Anna's camera as her one connection sends it: capture width, the link's cap. */
const camSent = (page) => page.evaluate(() => {
    const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
    const s = pc.getSenders().find((x) => x.track && x.track.kind === 'video');
    const enc = s.getParameters().encodings[0] || {};
    return { width: s.track.getSettings().width, maxBitrate: enc.maxBitrate };
});

test('video quality: "Low" captures 180p and caps the link, the other side receives it, no renegotiation; remembered; "Best" returns', async () => {
    await openSettings(a.page);
    assert.equal(await a.page.inputValue('#set-quality'), 'auto');
    const best = await bestCap();
    await until(a.page, (cap) => {
        const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
        const s = pc.getSenders().find((x) => x.track && x.track.kind === 'video');
        return s.getParameters().encodings[0].maxBitrate === cap;
    }, best, 'the governor\'s cap for the tile Ben shows');
    assert.deepEqual(await camSent(a.page), { width: 1280, maxBitrate: best });
    const descA = await a.page.evaluate(() => window.__descriptions);
    const descB = await b.page.evaluate(() => window.__descriptions);

    await a.page.selectOption('#set-quality', 'low');
    await until(a.page, () => {
        const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
        const s = pc.getSenders().find((x) => x.track && x.track.kind === 'video');
        return s.track.getSettings().width === 320 && s.getParameters().encodings[0].maxBitrate === 150000;
    }, null, 'a 320-wide capture capped at 150 kbps');
    const remoteWidth = (page) => page.$eval('#grid .tile:not(.local) video', (v) => v.videoWidth);
    await until(b.page, () => document.querySelector('#grid .tile:not(.local) video').videoWidth === 320, null, 'Ben receives 320-wide frames');
    assert.equal(await a.page.evaluate(() => localStorage.getItem('huddle.quality')), 'low');
    assert.equal(await a.page.evaluate(() => window.__descriptions), descA, 'no new description on Anna');
    assert.equal(await b.page.evaluate(() => window.__descriptions), descB, 'no new description on Ben');

    // A new page of Anna's starts with the quality she chose.
    const again = await a.page.context().newPage();
    await again.goto(url());
    await again.waitForSelector('#preview-video');
    await again.waitForFunction(() => {
        const v = document.getElementById('preview-video');
        return v.srcObject && v.srcObject.getVideoTracks()[0] && v.srcObject.getVideoTracks()[0].getSettings().width === 320;
    });
    await again.close();

    await a.page.selectOption('#set-quality', 'auto');
    await until(a.page, (cap) => {
        const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
        const s = pc.getSenders().find((x) => x.track && x.track.kind === 'video');
        return s.track.getSettings().width === 1280 && s.getParameters().encodings[0].maxBitrate === cap;
    }, best, 'back to 1280 wide at the governor\'s cap');
    await until(b.page, () => document.querySelector('#grid .tile:not(.local) video').videoWidth > 320, null, 'Ben receives larger frames again');
    assert.ok(await remoteWidth(b.page) > 320);
});

test('reactions: the React menu works by keyboard and the emoji floats over the sender\'s tile on every page', async () => {
    const aId = await a.page.getAttribute('#grid .tile.local', 'data-peer');
    await a.page.focus('#btn-react');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#react-menu:not([hidden])');
    assert.equal(await a.page.getAttribute('#btn-react', 'aria-expanded'), 'true');
    assert.equal(await a.page.evaluate(() => document.activeElement.className), 'react-pick');
    const offered = await a.page.$$eval('#react-menu .react-pick', (bs) => bs.map((x) => x.textContent));
    assert.deepEqual(offered, ['\u{1F44D}', '\u{1F44F}', '\u2764\uFE0F', '\u{1F602}', '\u{1F389}', '\u{1F62E}'], 'the list welcome gave');
    await a.page.keyboard.press('ArrowRight');
    await a.page.keyboard.press('Enter');
    // The clap floats over Ann's tile on Bob's page and on her own.
    await b.page.waitForSelector(`#grid .tile[data-peer="${aId}"] .reaction:has-text("\u{1F44F}")`);
    await a.page.waitForSelector('#grid .tile.local .reaction:has-text("\u{1F44F}")');
    await screenshot(b.page, 'reaction.png');
    // A screen reader hears who reacted, from a region of its own: the grid
    // is no live region (it would read names again on every change).
    await b.page.waitForFunction(() => /^(?!You )\S.* reacted \u{1F44F}$/u.test(document.getElementById('said').textContent));
    await a.page.waitForFunction(() => document.getElementById('said').textContent === 'You reacted \u{1F44F}');
    assert.equal(await b.page.getAttribute('#grid', 'aria-live'), null);
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-react', 'focus back on the button');
    assert.equal(await a.page.getAttribute('#react-menu', 'hidden'), '');
    // Escape closes the menu without sending; then it goes by itself.
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#react-menu:not([hidden])');
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#react-menu', { state: 'hidden' });
    await b.page.waitForSelector(`#grid .tile[data-peer="${aId}"] .reaction`, { state: 'detached', timeout: 10000 });
});

/**
 * Ends page's live track of kind as the browser does when its device is
 * unplugged (stop() alone fires nothing); nextFails: getUserMedia then
 * finds no device of that kind. Returns the ended track's id.
 */
const unplug = (page, kind, nextFails = false) => page.evaluate(({ kind, nextFails }) => {
    const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
    const t = pc.getSenders().map((s) => s.track).find((x) => x && x.kind === kind && x.readyState === 'live');
    if (nextFails) {
        const gum = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
        navigator.mediaDevices.getUserMedia = (c) => {
            navigator.mediaDevices.getUserMedia = gum; // once
            return Promise.reject(new DOMException('Requested device not found', 'NotFoundError'));
        };
    }
    t.stop();
    t.dispatchEvent(new Event('ended'));
    return t.id;
}, { kind, nextFails });

test('a device unplugged in the call: a microphone gives way to the default one, or mutes; a camera turns off; each is said', async () => {
    const toast = (page, re) => page.waitForFunction((src) => new RegExp(src).test(document.getElementById('toast').textContent), re.source);
    if ((await a.page.getAttribute('#btn-mic', 'aria-pressed')) !== 'true') await a.page.click('#btn-mic');
    // The microphone: the default one takes its place at once, unmuted as it was.
    let gone = await unplug(a.page, 'audio');
    await toast(a.page, /^Your microphone was disconnected\. Now using .+\.$/);
    await until(a.page, (old) => {
        const pc = window.__pcs.find((p) => p.connectionState !== 'closed');
        const t = pc.getSenders().map((s) => s.track).find((x) => x && x.kind === 'audio');
        return !!t && t.id !== old && t.readyState === 'live' && t.enabled;
    }, gone, 'a live microphone on the sender');
    assert.equal(await a.page.getAttribute('#btn-mic', 'aria-pressed'), 'true');
    await moreAudio(b.page, await audioIn(b.page), 1);
    // No microphone left: muted, and the others see it.
    gone = await unplug(a.page, 'audio', true);
    await toast(a.page, /^Your microphone was disconnected, and there is no other one\.$/);
    await a.page.waitForSelector('#btn-mic[aria-pressed="false"]');
    await b.page.waitForFunction(() => /microphone off/.test(document.querySelector('#grid .tile:not(.local)').getAttribute('aria-label')));
    // One plugged in again: the Microphone button takes it, on.
    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#btn-mic[aria-pressed="true"]');
    await b.page.waitForFunction(() => !/microphone off/.test(document.querySelector('#grid .tile:not(.local)').getAttribute('aria-label')));
    await moreAudio(b.page, await audioIn(b.page), 1);
    // The camera: off, for everyone to see; turning it on again starts the default one.
    await unplug(a.page, 'video');
    await toast(a.page, /^Your camera was disconnected\. Turn the camera on again to use another one\.$/);
    await a.page.waitForSelector('#btn-cam[aria-pressed="false"]');
    await b.page.waitForFunction(() => /camera off/.test(document.querySelector('#grid .tile:not(.local)').getAttribute('aria-label')));
    await a.page.click('#btn-cam');
    await a.page.waitForSelector('#btn-cam[aria-pressed="true"]');
    await waitForPlayingVideo(b.page, 'Anna Maria');
});

test('no console error, uncaught error, dialog or CSP violation', () => {
    assert.deepEqual(a.errors(), []);
    assert.deepEqual(b.errors(), []);
});
