// Two people in a room, real nginx + fcgi + sidecar and real Chromium with
// fake camera and microphone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, remoteNames, screenshot } from '../lib/browser.mjs';

let stack;
let browser;
let alice;
let bob;
const room = 'e2e-two';

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('the pre-join screen shows a preview, the room id and a Join button', async () => {
    alice = await newParticipant(browser, `${stack.url}/${room}`, 'Alice Moreau');
    const { page } = alice;
    await page.waitForFunction(() => {
        const v = document.getElementById('preview-video');
        return v.srcObject && v.videoWidth > 0;
    });
    assert.equal(await page.textContent('#room-code'), room);
    assert.equal(await page.isVisible('#join-btn'), true);
    await page.fill('#name-input', 'Alice Moreau');
    await page.mouse.move(0, 0);
    await screenshot(page, 'prejoin.png');
});

test('two participants see each other\'s video playing with the right names', async () => {
    await alice.join();
    bob = await newParticipant(browser, `${stack.url}/${room}`, 'Bob Okafor');
    await bob.join();
    await waitForPlayingVideo(alice.page, 'Bob Okafor');
    await waitForPlayingVideo(bob.page, 'Alice Moreau');
    assert.deepEqual(await remoteNames(alice.page), ['Bob Okafor']);
    assert.deepEqual(await remoteNames(bob.page), ['Alice Moreau']);
    assert.equal(await alice.page.textContent('#grid .tile.local .name'), 'Alice Moreau (you)');
});

test('the one who speaks gets the speaker ring, a muted one loses it', async () => {
    // Both fake microphones beep alike, and Alice's own beep can be the
    // louder on her page (her tile rings then): Alice mutes, so only Bob
    // speaks. His tile lights up on her screen.
    await alice.page.click('#btn-mic');
    await alice.page.waitForSelector('#grid .tile:not(.local).speaking');
    await bob.page.click('#btn-mic');
    await alice.page.waitForSelector('#grid .tile:not(.local).muted');
    await alice.page.waitForFunction(() => !document.querySelector('#grid .tile:not(.local).speaking'));
    await bob.page.click('#btn-mic');
    await alice.page.waitForSelector('#grid .tile:not(.local):not(.muted)');
    await alice.page.click('#btn-mic');
    await bob.page.waitForSelector('#grid .tile:not(.local):not(.muted)');
});

test('the name is remembered for the next visit', async () => {
    const again = await alice.context.newPage();
    await again.goto(`${stack.url}/another-room`);
    assert.equal(await again.inputValue('#name-input'), 'Alice Moreau');
    await again.close();
});

test('the local tile is mirrored and muted', async () => {
    const local = await alice.page.$eval('#grid .tile.local video', (v) => ({
        muted: v.muted, mirrored: v.classList.contains('mirror'),
    }));
    assert.deepEqual(local, { muted: true, mirrored: true });
    const remote = await alice.page.$eval('#grid .tile:not(.local) video', (v) => v.muted);
    assert.equal(remote, false);
});

test('chat goes both ways with names', async () => {
    await alice.page.click('#btn-chat');
    await alice.page.fill('#chat-input', 'Hello Bob');
    await alice.page.press('#chat-input', 'Enter');
    await bob.page.waitForFunction(() => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'Hello Bob'));
    assert.equal(await bob.page.textContent('#unread'), '1');
    await bob.page.click('#btn-chat');
    assert.equal(await bob.page.isHidden('#unread'), true);
    await bob.page.fill('#chat-input', 'Hi Alice');
    await bob.page.press('#chat-input', 'Shift+Enter');
    await bob.page.type('#chat-input', 'second line');
    await bob.page.press('#chat-input', 'Enter');
    await alice.page.waitForFunction(() => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'Hi Alice\nsecond line'));
    const who = await alice.page.$$eval('#chat-log .who', (els) => els.map((e) => e.textContent));
    assert.deepEqual(who, ['You', 'Bob Okafor']);
});

test('a chat message with markup shows as text and opens no dialog', async () => {
    const evil = '<img src=x onerror=alert(1)>';
    let dialogs = 0;
    bob.page.on('dialog', () => { dialogs++; });
    alice.page.on('dialog', () => { dialogs++; });
    await alice.page.fill('#chat-input', evil);
    await alice.page.press('#chat-input', 'Enter');
    await bob.page.waitForFunction((t) => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === t), evil);
    assert.equal(await bob.page.$$eval('#chat-log img', (els) => els.length), 0);
    // Give a would-be onerror a chance to run: one more round trip through the server.
    await bob.page.fill('#chat-input', 'after');
    await bob.page.press('#chat-input', 'Enter');
    await alice.page.waitForFunction(() => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'after'));
    assert.equal(dialogs, 0);
});

test('mute and camera-off show on the other side', async () => {
    await bob.page.keyboard.press('Escape');
    await bob.page.click('#btn-mic');
    await alice.page.waitForSelector('#grid .tile:not(.local).muted .mark-mic svg');
    await bob.page.click('#btn-cam');
    await alice.page.waitForSelector('#grid .tile:not(.local).novideo .avatar');
    assert.equal(await alice.page.textContent('#grid .tile:not(.local) .avatar'), 'BO');
    await bob.page.click('#btn-mic');
    await bob.page.click('#btn-cam');
    await alice.page.waitForSelector('#grid .tile:not(.local):not(.muted):not(.novideo)');
    await waitForPlayingVideo(alice.page, 'Bob Okafor');
});

test('no CSP violation and no uncaught error in the console during a call', async () => {
    assert.deepEqual(alice.errors(), []);
    assert.deepEqual(bob.errors(), []);
});

test('leaving removes the tile on the other side', async () => {
    await bob.page.click('#btn-leave');
    await bob.page.waitForSelector('#left:not([hidden])');
    await alice.page.waitForFunction(() => document.querySelectorAll('#grid .tile:not(.local)').length === 0);
    assert.equal(await alice.page.$$eval('#grid .tile', (els) => els.length), 1);
    await bob.close();
    await alice.close();
});
