// Camera and microphone refused: the person still joins, receives and sees
// the others, and the others see a camera-off, muted tile; Settings says the
// devices are blocked (not that there are none) and its focus goes to the
// name.
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
    // Settings from the keyboard, the first time: the pickers have nothing
    // to pick (the browser lists no device it may not use), so the focus
    // goes to the name, not to a picker disabled under it.
    await dana.page.focus('#btn-settings');
    await dana.page.keyboard.press('Enter');
    await dana.page.waitForSelector('#settings-pane:not([hidden])');
    await dana.page.waitForFunction(() => document.getElementById('set-mic').disabled);
    await dana.page.waitForFunction(() => document.activeElement.id === 'set-name', null, { timeout: 5000 });
    const said = (sel) => dana.page.$eval(sel, (s) => [...s.options].map((o) => o.textContent).join());
    assert.equal(await said('#set-mic'), 'Blocked by the browser');
    assert.equal(await said('#set-cam'), 'Blocked by the browser');
    assert.equal(await said('#set-speaker'), 'Default speaker', 'sound still plays on the default output');
    assert.deepEqual(alice.errors(), []);
    assert.deepEqual(dana.errors(), []);
});
