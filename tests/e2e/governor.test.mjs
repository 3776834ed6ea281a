// The quality governor per link, with four people (Chromium, fake media,
// real nginx and sidecar): what Dan shows of each other person's video
// (views.js) sets what that person's link to Dan sends (encoding.js), read
// back on the sender with getParameters() for that one link and seen in
// Dan's getStats() for the same link. A link is found on both ends by its
// ICE ufrags: the sender's remote ufrag is the receiver's own.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, keepPeerConnections, until } from '../lib/browser.mjs';

let stack;
let browser;
const people = {};
const ids = {};
const url = () => `${stack.url}/governor`;

/** Each live connection's own ICE ufrag and the other end's, by index in window.__pcs. */
const ufrags = (page) => page.evaluate(() => window.__pcs.map((pc, i) => {
    const uf = (d) => (d && /a=ice-ufrag:(\S+)/.exec(d.sdp) || [])[1] || null;
    return { i, state: pc.connectionState, own: uf(pc.localDescription), other: uf(pc.remoteDescription) };
}).filter((x) => x.state === 'connected'));

/**
 * The link between sender and receiver: its index in each page's
 * window.__pcs, or null while it is not connected (a busy machine can
 * interrupt a link until the mesh's ICE restart brings it back).
 */
async function link(sender, receiver) {
    const s = await ufrags(sender.page);
    const r = await ufrags(receiver.page);
    for (const a of s) {
        const b = r.find((x) => x.own === a.other && x.other === a.own);
        if (b) return { s: a.i, r: b.i };
    }
    return null;
}

/** What sender's connection number i sends of its video (its first encoding). */
const sent = (sender, i) => sender.page.evaluate((k) => {
    const s = window.__pcs[k].getSenders().find((x) => x.track && x.track.kind === 'video');
    const e = s.getParameters().encodings[0] || {};
    return { active: e.active, maxBitrate: e.maxBitrate, scale: e.scaleResolutionDownBy || 1 };
}, i);

/** What receiver's connection number i receives of video: frame width, frames decoded, bytes. */
const received = (receiver, i) => receiver.page.evaluate(async (k) => {
    const v = [...(await window.__pcs[k].getStats()).values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
    return v ? { frameWidth: v.frameWidth || 0, framesDecoded: v.framesDecoded || 0, bytes: v.bytesReceived || 0 } : null;
}, i);

/** Waits until what sender's link to receiver sends satisfies ok({ active, maxBitrate, scale }). */
async function sendsUntil(sender, receiver, ok, what, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        const l = await link(sender, receiver);
        last = l ? await sent(sender, l.s) : 'not connected';
        if (l && ok(last)) return last;
        if (Date.now() > deadline) throw new Error(`${sender.name} to ${receiver.name}, ${what}: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 200));
    }
}

/** Waits until ok(what receiver gets from a, what it gets from b) holds. */
async function receivesUntil(receiver, a, b, ok, what, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        const la = await link(a, receiver);
        const lb = await link(b, receiver);
        last = la && lb ? [await received(receiver, la.r), await received(receiver, lb.r)] : [null, null];
        if (last[0] && last[1] && ok(last[0], last[1])) return last;
        if (Date.now() > deadline) throw new Error(`${receiver.name} from ${a.name} and ${b.name}, ${what}: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 300));
    }
}

/** Whether receiver's video from sender still decodes new frames over one second. */
async function decoding(sender, receiver) {
    const l = await link(sender, receiver);
    if (!l) return null;
    return receiver.page.evaluate(async (k) => {
        const frames = async () => [...(await window.__pcs[k].getStats()).values()]
            .find((s) => s.type === 'inbound-rtp' && s.kind === 'video').framesDecoded || 0;
        const first = await frames();
        await new Promise((r) => setTimeout(r, 1000));
        return (await frames()) > first;
    }, l.r);
}

/** Waits until receiver decodes video from sender (on) or stops decoding it (off). */
async function decodingUntil(sender, receiver, on, what, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        if ((await decoding(sender, receiver)) === on) return;
        await new Promise((r) => setTimeout(r, 200));
        if (Date.now() > deadline) throw new Error(`${receiver.name} from ${sender.name}: ${what}`);
    }
}

const tile = (id) => `.tile[data-peer="${id}"]`;

/**
 * Presses key on the element sel of participant p, by keyboard: on a busy
 * machine the pages draw too seldom for a pointer click's stability check.
 */
async function press(p, sel, key = 'Enter') {
    await p.page.focus(sel);
    await p.page.keyboard.press(key);
}

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
    for (const name of ['Ada', 'Bo', 'Cy', 'Dan']) {
        // Everyone starts at "Standard" quality (640x360, 500 kbps, remembered
        // from an earlier visit): four pages encoding three copies each spare
        // the CPU, and the ladder's steps below it still tell a small tile
        // from a large one.
        const storageState = { cookies: [], origins: [{ origin: stack.url, localStorage: [{ name: 'huddle.quality', value: 'standard' }] }] };
        const p = await newParticipant(browser, url(), name, { init: keepPeerConnections, context: { storageState } });
        await p.join();
        people[name] = p;
        ids[name] = await p.page.getAttribute('#grid .tile.local', 'data-peer');
        assert.equal(await p.page.inputValue('#set-quality'), 'standard');
    }
    for (const name of ['Ada', 'Bo', 'Cy']) await waitForPlayingVideo(people.Dan.page, name, 90000);
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('a tile shown small gets less than a tile shown large, on the sender\'s link and in what the receiver gets', async () => {
    const { Bo, Cy, Dan } = people;
    // Dan pins Cy: Cy fills the stage, Bo is a small tile beside it.
    await press(Dan, `#grid ${tile(ids.Cy)} .pin-btn`);
    await Dan.page.waitForSelector(`#grid.spotlight ${tile(ids.Cy)}.main`);
    const small = await sendsUntil(Bo, Dan, (e) => e.active && e.maxBitrate <= 150000, 'a small tile: at most 150 kbps');
    const large = await sendsUntil(Cy, Dan, (e) => e.active && e.maxBitrate === 500000, 'the stage: the Standard cap, 500 kbps');
    assert.ok(small.scale > large.scale, `Bo is scaled down more (${small.scale}) than Cy (${large.scale})`);
    // Dan receives fewer pixels from Bo than from Cy, and fewer bytes.
    await receivesUntil(Dan, Bo, Cy, (b, c) => b.frameWidth < c.frameWidth, 'narrower frames from the small tile');
    const [b0, c0] = await receivesUntil(Dan, Bo, Cy, () => true, 'the bytes so far');
    await receivesUntil(Dan, Bo, Cy, (b, c) => c.bytes - c0.bytes > 100000 && b.bytes - b0.bytes < c.bytes - c0.bytes,
        'fewer bytes from the small tile over the next 100 kB from the large one');
});

test('enlarging a tile raises what its sender sends on that link', async () => {
    const { Bo, Cy, Dan } = people;
    const before = await sendsUntil(Bo, Dan, (e) => e.active && e.maxBitrate <= 150000, 'still small: at most 150 kbps');
    await press(Dan, `#grid ${tile(ids.Bo)} .pin-btn`);
    await Dan.page.waitForSelector(`#grid.spotlight ${tile(ids.Bo)}.main`);
    const after = await sendsUntil(Bo, Dan, (e) => e.active && e.maxBitrate === 500000, 'pinned: the Standard cap, 500 kbps');
    assert.ok(after.maxBitrate > before.maxBitrate && after.scale < before.scale, JSON.stringify({ before, after }));
    await sendsUntil(Cy, Dan, (e) => e.maxBitrate <= 150000, 'Cy, now small: at most 150 kbps');
    await receivesUntil(Dan, Bo, Cy, (b, c) => b.frameWidth > c.frameWidth, 'wider frames from the pinned tile');
    // The other links of Bo's did not move: Ada shows Bo in her grid as before.
    await sendsUntil(Bo, people.Ada, (e) => e.active === true, 'to Ada: active');
    await press(Dan, `#grid ${tile(ids.Bo)} .pin-btn`);
    await Dan.page.waitForSelector('#grid:not(.spotlight)');
});

test('a tile hidden behind another one\'s full screen gets no video, and gets it again after', async () => {
    const { Ada, Bo, Cy, Dan } = people;
    await press(Dan, `#grid ${tile(ids.Ada)} .full-btn`);
    await Dan.page.waitForFunction((id) => document.fullscreenElement?.dataset.peer === id, ids.Ada);
    for (const p of [Bo, Cy]) await sendsUntil(p, Dan, (e) => e.active === false, 'hidden: not active');
    await sendsUntil(Ada, Dan, (e) => e.active === true, 'the full-screen tile: active');
    for (const p of [Bo, Cy]) await decodingUntil(p, Dan, false, 'frames stop');
    await decodingUntil(Ada, Dan, true, 'the full-screen tile keeps decoding');
    // Bo still sends to Ada and Cy, who show him.
    for (const p of [Ada, Cy]) await sendsUntil(Bo, p, (e) => e.active === true, `to ${p.name}: active`);

    await press(Dan, `#grid ${tile(ids.Ada)} .full-btn`);
    await Dan.page.waitForFunction(() => document.fullscreenElement === null);
    for (const p of [Bo, Cy]) await sendsUntil(p, Dan, (e) => e.active === true, 'shown again: active');
    for (const p of [Bo, Cy]) await decodingUntil(p, Dan, true, 'frames again');
});

test('data saver: only the speaker\'s video comes in, the others show why', async () => {
    const { Ada, Bo, Cy, Dan } = people;
    // Everyone but Ada mutes: she (the fake microphone's tone) is the one who speaks.
    for (const p of [Bo, Cy, Dan]) {
        await press(p, '#btn-mic');
        await p.page.waitForFunction(() => document.getElementById('btn-mic').getAttribute('aria-pressed') === 'false');
    }
    await Dan.page.waitForSelector(`#grid ${tile(ids.Ada)}.speaking`, { timeout: 30000 });
    await press(Dan, '#btn-settings');
    await Dan.page.waitForSelector('#settings-pane:not([hidden])');
    await press(Dan, '#set-saver', 'Space');
    await Dan.page.waitForFunction(() => document.getElementById('set-saver').checked);
    for (const p of [Bo, Cy]) await sendsUntil(p, Dan, (e) => e.active === false, 'data saver: not active');
    await sendsUntil(Ada, Dan, (e) => e.active === true, 'the speaker: active');
    for (const p of [Bo, Cy]) await decodingUntil(p, Dan, false, 'frames stop');
    await decodingUntil(Ada, Dan, true, 'the speaker keeps decoding');
    for (const id of [ids.Bo, ids.Cy]) {
        assert.equal(await Dan.page.textContent(`#grid ${tile(id)}.saver .saver-note`), 'Video paused to save data');
        assert.equal(await Dan.page.isVisible(`#grid ${tile(id)} .camoff .avatar`), true);
    }
    assert.equal(await Dan.page.$(`#grid ${tile(ids.Ada)}.saver`), null);
    // A camera turned off is not "paused to save data": that tile says nothing of it.
    await press(Cy, '#btn-cam');
    await Dan.page.waitForSelector(`#grid ${tile(ids.Cy)}.novideo`);
    assert.equal(await Dan.page.isVisible(`#grid ${tile(ids.Cy)} .saver-note`), false);
    assert.equal(await Dan.page.isVisible(`#grid ${tile(ids.Bo)} .saver-note`), true);
    await press(Cy, '#btn-cam');
    await Dan.page.waitForSelector(`#grid ${tile(ids.Cy)}:not(.novideo) .saver-note`);
    assert.equal(await Dan.page.evaluate(() => localStorage.getItem('huddle.saver')), 'on');
    // Speaker view: the others line up small beside Ada's stage; a small
    // tile shows the initials only, whole and clear of the name on it.
    await press(Dan, '#set-speaker-view', 'Space');
    await Dan.page.waitForSelector(`#grid.spotlight ${tile(ids.Ada)}.main`);
    const small = await Dan.page.$eval(`#grid ${tile(ids.Bo)}`, (t) => {
        const [a, l, b] = [t.querySelector('.avatar'), t.querySelector('.label'), t].map((e) => e.getBoundingClientRect());
        return { note: getComputedStyle(t.querySelector('.saver-note')).display, whole: a.top >= b.top && a.bottom <= b.bottom, clear: a.bottom <= l.top, small: b.height <= 170 };
    });
    assert.deepEqual(small, { note: 'none', whole: true, clear: true, small: true });
    await press(Dan, '#set-speaker-view', 'Space');
    await Dan.page.waitForSelector('#grid:not(.spotlight)');
    // Turned off, every tile's video comes back.
    await press(Dan, '#set-saver', 'Space');
    for (const p of [Bo, Cy]) await sendsUntil(p, Dan, (e) => e.active === true, 'data saver off: active');
    for (const p of Object.values(people)) assert.deepEqual(p.errors(), [], p.name);
});
