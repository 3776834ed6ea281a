// Three people: a full mesh; the stage passes from one pinned tile to
// another whole, on a wide and on a portrait screen; one leaving removes
// exactly one tile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, remoteNames, screenshot, assertTabsOneRow } from '../lib/browser.mjs';

let stack;
let browser;
const people = [];
const names = ['Alice Moreau', 'Bob Okafor', 'Chen Wei'];

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('three participants make a full mesh with two remote videos each', async () => {
    for (const n of names) {
        const p = await newParticipant(browser, `${stack.url}/weekly-sync`, n);
        await p.join();
        people.push(p);
    }
    for (const p of people) {
        for (const q of people) if (p !== q) await waitForPlayingVideo(p.page, q.name);
        assert.deepEqual(await remoteNames(p.page), names.filter((n) => n !== p.name));
        assert.equal(await p.page.$$eval('#grid .tile', (els) => els.length), 3);
        // Joined straight after the page loaded: still with camera and microphone.
        assert.equal(await p.page.$$eval('#grid .tile.novideo, #grid .tile.muted', (els) => els.length), 0);
    }
    // A screenshot of what people see, with a bit of life in it.
    await people[1].page.click('#btn-hand');
    await people[2].page.click('#btn-mic');
    await people[0].page.waitForSelector('#grid .tile.hand');
    await people[0].page.waitForSelector('#grid .tile.muted');
    await people[0].page.click('#btn-chat');
    await people[1].page.click('#btn-chat');
    await people[1].page.fill('#chat-input', 'Morning! The build is green again.');
    await people[1].page.press('#chat-input', 'Enter');
    await people[0].page.fill('#chat-input', 'Great, thanks Bob. Let\'s go round quickly.');
    await people[0].page.press('#chat-input', 'Enter');
    await people[0].page.waitForFunction(() => document.querySelectorAll('#chat-log .msg').length === 2);
    await people[0].page.mouse.move(0, 0);
    await people[0].page.waitForSelector('#toast', { state: 'hidden' });
    // The side panel's four tabs fit one row beside its close button.
    await assertTabsOneRow(people[0].page);
    await screenshot(people[0].page, 'meeting-3.png');
    await people[0].page.click('#btn-chat');
    await people[0].page.mouse.move(0, 0);
    await screenshot(people[0].page, 'meeting-3-grid.png');
});

test('the stage moves from one pinned tile to another, whole: landscape and portrait', async () => {
    const [a, b, c] = people;
    const page = a.page;
    const pin = (name) => page.click(`#grid .tile:has(.name:text-is("${name}")) .pin-btn`);
    /** The stage tile's name, its share of the grid, and any place left in its style. */
    const stage = () => page.$eval('#grid', (g) => {
        const m = g.querySelector('.tile.main');
        const gr = g.getBoundingClientRect();
        const r = m.getBoundingClientRect();
        return { name: m.querySelector('.name').textContent, w: r.width / gr.width, h: r.height / gr.height, style: m.getAttribute('style') || '' };
    });
    for (const [width, height] of [[1280, 800], [390, 844]]) {
        await page.setViewportSize({ width, height });
        const seen = [];
        for (const name of [b.name, c.name, b.name]) {
            await pin(name);
            await page.waitForFunction((n) => document.querySelector('#grid .tile.main .name')?.textContent === n, name);
            await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
            seen.push(await stage());
        }
        for (const s of seen) {
            assert.doesNotMatch(s.style, /grid-(row|column)/, `${width}x${height}: ${s.name} keeps ${s.style}`);
            // Beside the strip it takes most of the width, above it most of the height.
            assert.ok(width > height ? s.w > 0.7 && s.h > 0.9 : s.w > 0.9 && s.h > 0.6, `${width}x${height}: ${JSON.stringify(s)}`);
        }
        await pin(b.name); // unpin
        await page.waitForSelector('#grid:not(.spotlight)');
    }
    await page.setViewportSize({ width: 1280, height: 800 });
});

test('one leaving removes exactly one tile on each of the others', async () => {
    const [a, b, c] = people;
    await c.page.click('#btn-leave');
    for (const p of [a, b]) {
        await p.page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 2);
        assert.deepEqual(await remoteNames(p.page), names.filter((n) => n !== p.name && n !== c.name));
    }
    await waitForPlayingVideo(a.page, b.name);
    assert.deepEqual(a.errors(), []);
    assert.deepEqual(b.errors(), []);
});
