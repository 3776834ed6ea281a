// Two sidecars sharing rooms through Redis: people spread over both meet,
// and when one sidecar is killed (kill -9) its people resume on the other
// while the call's media keeps flowing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, remoteNames } from '../lib/browser.mjs';

let stack;
let browser;

before(async () => {
    stack = await startStack({ sidecars: 2 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

const real = (errs) => errs.filter((e) => !/WebSocket connection to .* failed/.test(e));

test('with two sidecars a sidecar killed mid-call leaves the call up and no duplicate tile', async () => {
    const url = `${stack.url}/two-nodes`;
    const people = [];
    for (const n of ['Alice', 'Bob', 'Chen']) {
        const p = await newParticipant(browser, url, n);
        await p.join();
        people.push(p);
    }
    for (const p of people) {
        for (const q of people) if (p !== q) await waitForPlayingVideo(p.page, q.name);
    }
    const before = await Promise.all(people.map((p) => p.page.evaluate(() => Number(document.body.dataset.sessions))));

    const victim = stack.sidecars[0];
    victim.signal('SIGKILL');
    await victim.exited;
    // Whoever was on it reconnects through nginx to the survivor.
    for (const [i, p] of people.entries()) {
        await p.page.waitForFunction((n) => document.body.dataset.state === 'meeting'
            && Number(document.body.dataset.sessions) >= n, before[i], { timeout: 40000 });
    }
    for (const p of people) {
        const others = people.filter((q) => q !== p).map((q) => q.name).sort();
        await p.page.waitForFunction((k) => document.querySelectorAll('#grid .tile').length === k, 3, { timeout: 40000 });
        assert.deepEqual(await remoteNames(p.page), others);
        for (const q of others) await waitForPlayingVideo(p.page, q);
    }
    // Signalling works for everyone afterwards.
    await people[2].page.click('#btn-hand');
    await people[0].page.waitForSelector('#grid .tile.hand');
    await people[1].page.waitForSelector('#grid .tile.hand');
    for (const p of people) assert.deepEqual(real(p.errors()), [], p.name);
});
