// Camera and microphone refused: the person still joins, receives and sees
// the others, and the others see a camera-off, muted tile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, remoteNames, screenshot } from '../lib/browser.mjs';

let stack;
let browser;

before(async () => {
    stack = await startStack({ sidecars: 1 });
    // No auto-accept of prompts: each context's grants decide.
    browser = await launch({ fakeUi: false });
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('with camera and microphone denied a person joins, receives and sees the others', async () => {
    const url = `${stack.url}/no-devices`;
    const alice = await newParticipant(browser, url, 'Alice');
    await alice.join();
    const dana = await newParticipant(browser, url, 'Dana', { deny: true });
    await dana.page.waitForSelector('#pre-msg:not([hidden])');
    assert.match(await dana.page.textContent('#pre-msg-text'), /blocked/);
    await screenshot(dana.page, 'prejoin-denied.png');
    await dana.join();
    await waitForPlayingVideo(dana.page, 'Alice');
    assert.deepEqual(await remoteNames(dana.page), ['Alice']);
    await alice.page.waitForSelector('#grid .tile:not(.local).novideo.muted');
    assert.deepEqual(await remoteNames(alice.page), ['Dana']);
    // Alice's audio reaches Dana too.
    await dana.page.waitForFunction(() => {
        const v = document.querySelector('#grid .tile:not(.local) video');
        return v && v.srcObject && v.srcObject.getAudioTracks().some((t) => t.readyState === 'live');
    });
    assert.deepEqual(alice.errors(), []);
    assert.deepEqual(dana.errors(), []);
});
