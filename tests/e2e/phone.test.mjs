// A phone-sized screen (375 x 740): nothing overflows sideways, every
// control is on screen, video plays in line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, screenshot } from '../lib/browser.mjs';

let stack;
let browser;

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

const fits = (page) => page.evaluate(() => {
    const out = [...document.querySelectorAll('button, input, select, textarea')]
        .filter((e) => e.offsetParent !== null)
        .filter((e) => {
            const r = e.getBoundingClientRect();
            return r.left < 0 || r.right > innerWidth + 0.5;
        })
        .map((e) => e.id || e.className);
    return { overflow: document.documentElement.scrollWidth - innerWidth, out };
});

test('at 375 px the pre-join screen and the meeting fit the screen', async () => {
    const url = `${stack.url}/on-the-go`;
    const phone = await newParticipant(browser, url, 'Maya', { viewport: { width: 375, height: 740 } });
    await phone.page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
    assert.deepEqual(await fits(phone.page), { overflow: 0, out: [] });
    await phone.join();
    const others = [];
    for (const n of ['Omar', 'Priya Raman']) {
        const p = await newParticipant(browser, url, n);
        await p.join();
        others.push(p);
    }
    for (const p of others) await waitForPlayingVideo(phone.page, p.name);
    assert.equal(await phone.page.$eval('#grid .tile:not(.local) video', (v) => v.playsInline), true);
    await others[0].page.click('#btn-cam');
    await phone.page.waitForSelector('#grid .tile.novideo');
    assert.deepEqual(await fits(phone.page), { overflow: 0, out: [] });
    await phone.page.waitForSelector('#toast', { state: 'hidden' });
    await screenshot(phone.page, 'phone-meeting.png');
    await phone.page.click('#btn-chat');
    assert.equal(await phone.page.isVisible('#chat-input'), true);
    for (const p of [phone, ...others]) assert.deepEqual(p.errors(), [], p.name);
});

/** Whether the boxes of selectors a and b on page overlap (false when either is not shown). */
const overlap = (page, a, b) => page.evaluate(([sa, sb]) => {
    const [ra, rb] = [sa, sb].map((s) => document.querySelector(s)?.getBoundingClientRect());
    if (!ra || !rb || !ra.width || !rb.width) return false;
    return ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom;
}, [a, b]);

test('on a touch phone the alone card, the toasts and the tile buttons keep clear of the names and of the chat box', async () => {
    const url = `${stack.url}/on-the-bus`;
    const phone = await newParticipant(browser, url, 'Maya Lindqvist', { viewport: { width: 390, height: 844 }, context: { isMobile: true, hasTouch: true } });
    await phone.join();
    // Alone: the card with the invite button spans the stage as it needs,
    // not the right half of it, and leaves one's own name readable.
    await phone.page.waitForSelector('#alone:not([hidden])');
    const card = await phone.page.$eval('#alone', (e) => e.getBoundingClientRect().width);
    assert.ok(card > 390 / 2 + 20, `the alone card is ${card} px wide`);
    assert.equal(await overlap(phone.page, '#alone', '#grid .tile.local .label'), false, 'the card covers one\'s own name');

    // A long name on a remote tile ends before the buttons a touch screen
    // always shows (no hover to reveal them).
    const chris = await newParticipant(browser, url, 'Christopher Longname-Example');
    await chris.join();
    await waitForPlayingVideo(phone.page, 'Christopher Longname-Example');
    assert.equal(await phone.page.evaluate(() => matchMedia('(hover: none)').matches), true, 'a touch screen');
    assert.equal(await overlap(phone.page, '#grid .tile:not(.local) .label', '#grid .tile:not(.local) .full-btn'), false, 'the name runs under Full screen');
    assert.equal(await overlap(phone.page, '#grid .tile:not(.local) .label', '#grid .tile:not(.local) .pin-btn'), false, 'the name runs under Pin');

    // Typing in the chat while someone joins: the toast does not sit on the box.
    await phone.page.waitForSelector('#toast', { state: 'hidden' });
    await phone.page.click('#btn-chat');
    await phone.page.fill('#chat-input', 'on my way');
    const omar = await newParticipant(browser, url, 'Omar');
    await omar.join();
    await phone.page.waitForFunction(() => /Omar/.test(document.getElementById('toast').textContent) && !document.getElementById('toast').hidden);
    assert.equal(await overlap(phone.page, '#toast', '#chat-input'), false, 'the toast covers the chat box');
    const toast = await phone.page.$eval('#toast', (e) => e.getBoundingClientRect().height);
    assert.ok(toast < 60, `"Omar joined" is one line (${toast} px high)`);
    for (const p of [phone, chris, omar]) assert.deepEqual(p.errors(), [], p.name);
    await Promise.all([phone, chris, omar].map((p) => p.close()));
});
