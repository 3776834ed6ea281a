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
