// Three people: a full mesh, and one leaving removes exactly one tile.
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
