// What the chat does with a line the server did not take, and with a
// private draft whose recipient left. A line refused (here by the
// sidecar's chat rate: 5 at once, then 2 a second) stays in the sender's
// log, marked as not sent with why and "Send again"; a private draft never
// turns public by itself: the chip follows the person's new name, says
// when they left, and nothing is sent until the sender picks again. With
// the chat closed, a line that comes is told in a toast.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, screenshot, until } from '../lib/browser.mjs';

let stack;
let browser;
let ana;
let ben;
let cleo;
const url = () => `${stack.url}/chat-safety`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The texts of page's chat log, with "(not sent)" after each refused one. */
const log = (page) => page.$$eval('#chat-log li', (els) => els.map((e) => e.querySelector('.text').textContent
    + (e.classList.contains('unsent') ? ' (not sent)' : '')));

/** Types each line in page's chat box and presses Enter, all in one go (faster than the sidecar's chat rate). */
const typeAll = (page, lines) => page.evaluate((all) => {
    const box = document.getElementById('chat-input');
    for (const line of all) {
        box.value = line;
        box.dispatchEvent(new Event('input'));
        box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
    }
}, lines);

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
    ana = await newParticipant(browser, url(), 'Ana');
    ben = await newParticipant(browser, url(), 'Ben');
    cleo = await newParticipant(browser, url(), 'Cleo');
    for (const p of [ana, ben, cleo]) await p.join();
    await until(cleo.page, () => document.querySelectorAll('#grid .tile').length === 3, null, 'three tiles');
    for (const p of [ana, cleo]) await p.page.click('#btn-chat');
});

after(async () => {
    for (const p of [ana, ben, cleo]) if (p) await p.close();
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('lines past the chat rate are kept, marked not sent, and go when sent again', async () => {
    const lines = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight'];
    await typeAll(cleo.page, lines);
    await until(cleo.page, () => document.querySelectorAll('#chat-log li').length === 8, null, 'eight lines in Cleo\'s log');
    assert.deepEqual(await log(cleo.page), ['one', 'two', 'three', 'four', 'five', 'six (not sent)', 'seven (not sent)', 'eight (not sent)']);
    assert.equal(await cleo.page.inputValue('#chat-input'), '');
    const why = await cleo.page.$$eval('#chat-log li.unsent', (els) => els.map((e) => [e.querySelector('.unsent-why').textContent, e.querySelector('button').textContent]));
    assert.deepEqual(why, Array(3).fill(['Not sent: too many messages at once. Wait a moment, then send it again.', 'Send again']));
    await screenshot(cleo.page, 'chat-unsent.png');
    await until(ana.page, () => document.querySelectorAll('#chat-log li').length === 5, null, 'five lines reach Ana');
    await sleep(1000);
    assert.deepEqual(await log(ana.page), ['one', 'two', 'three', 'four', 'five']);
    // A second later the bucket has room again: "six" goes, where it belongs.
    await cleo.page.focus('#chat-log li.unsent button');
    await cleo.page.keyboard.press('Enter');
    // The button went with its line: a keyboard user's focus is in the message box.
    assert.equal(await cleo.page.evaluate(() => document.activeElement.id), 'chat-input');
    await until(ana.page, () => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'six'), null, '"six" reaches Ana');
    await until(cleo.page, () => document.querySelectorAll('#chat-log li').length === 8, null, '"six" back in Cleo\'s log');
    assert.deepEqual(await log(cleo.page), ['one', 'two', 'three', 'four', 'five', 'seven (not sent)', 'eight (not sent)', 'six']);
});

test('the same line sent three times at once shows three times on every page; a line of nothing visible is not sent, a NUL is dropped', async () => {
    const before = (await log(cleo.page)).length;
    await typeAll(ana.page, ['ok', 'ok', 'ok']);
    for (const p of [ana, cleo]) {
        await until(p.page, (n) => [...document.querySelectorAll('#chat-log .text')].filter((e) => e.textContent === 'ok').length >= n, 3, `three "ok" in ${p.name}'s log`);
    }
    await sleep(500);
    assert.deepEqual((await log(cleo.page)).slice(before), ['ok', 'ok', 'ok']);
    assert.deepEqual((await log(ana.page)).filter((l) => l.startsWith('ok')), ['ok', 'ok', 'ok']);
    // A line of nothing visible is not sent (it stays in the box); a pasted NUL is dropped.
    await sleep(1000); // the chat rate's bucket has room again
    await typeAll(ana.page, ['\u200b\u2060 \u00ad']);
    assert.equal(await ana.page.inputValue('#chat-input'), '\u200b\u2060 \u00ad');
    await typeAll(ana.page, ['x\u0000y']);
    await until(cleo.page, () => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'xy'), null, '"xy" reaches Cleo');
    assert.deepEqual((await log(cleo.page)).slice(before), ['ok', 'ok', 'ok', 'xy']);
    assert.deepEqual((await log(ana.page)).slice(-1), ['xy']);
});

test('with the chat closed, a line that comes is told in a toast: who, and how it starts; a private one only who; opening the chat ends it', async () => {
    const toastIs = (page, text) => until(page, (x) => { const e = document.getElementById('toast'); return !e.hidden && e.textContent === x; }, text, `the toast "${text}"`);
    await sleep(1000); // the chat rate's bucket has room again
    await typeAll(ana.page, ['Lorem ipsum dolor sit amet,\nconsectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.']);
    await toastIs(ben.page, 'Ana: Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\u2026');
    assert.equal(await ben.page.isVisible('#unread'), true, 'the badge counts it too');
    await ana.page.click('#tab-people');
    await ana.page.click('#people li:has-text("Ben") button.dm');
    await ana.page.fill('#chat-input', 'psst');
    await ana.page.press('#chat-input', 'Enter');
    // A private line's words stay in the chat (a shared screen shows toasts).
    await toastIs(ben.page, 'Ana sent you a private message');
    await ana.page.click('#chat-to-clear');
    // Opened, the chat shows it all: the toast of a line goes at once.
    await ben.page.click('#btn-chat');
    await until(ben.page, () => document.getElementById('toast').hidden, null, 'the toast gone');
    assert.equal(await ben.page.isVisible('#unread'), false);
    await ben.page.click('#btn-chat');
    assert.deepEqual(ben.errors(), []);
});

test('a private draft follows its person\'s rename; once they left it stays private: the chip says so, Enter sends nothing', async () => {
    await cleo.page.click('#tab-people');
    await cleo.page.click('#people li:has-text("Ben") button.dm');
    await cleo.page.fill('#chat-input', 'for Ben only');
    // Ben renames himself: the chip and the box follow.
    await ben.page.click('#btn-settings');
    await ben.page.fill('#set-name', 'Benjamin');
    await ben.page.press('#set-name', 'Enter');
    await until(cleo.page, () => document.getElementById('chat-to-name').textContent === 'To Benjamin (private)', null, 'the chip renamed');
    assert.equal(await cleo.page.getAttribute('#chat-input', 'placeholder'), 'Message Benjamin privately');
    await ben.page.click('#btn-leave');
    await until(cleo.page, () => ![...document.querySelectorAll('#people .pname')].some((e) => e.textContent === 'Benjamin'), null, 'Ben gone from Cleo\'s page');
    assert.equal(await cleo.page.isVisible('#chat-to'), true, 'the chip stays');
    assert.equal(await cleo.page.textContent('#chat-to-name'), 'To Benjamin (private): has left the meeting');
    await cleo.page.press('#chat-input', 'Enter');
    assert.equal(await cleo.page.inputValue('#chat-input'), 'for Ben only', 'the draft stays');
    assert.equal(await cleo.page.textContent('#chat-status'), 'Benjamin has left the meeting, so nothing was sent. Message someone else from People, or press “Send to everyone”.');
    await sleep(1000);
    assert.equal((await log(ana.page)).includes('for Ben only'), false);
    // Only the sender's own choice makes it public.
    await cleo.page.click('#chat-to-clear');
    assert.equal(await cleo.page.isVisible('#chat-to'), false);
    assert.equal(await cleo.page.getAttribute('#chat-input', 'placeholder'), 'Message everyone');
    await cleo.page.press('#chat-input', 'Enter');
    await until(ana.page, () => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'for Ben only'), null, 'sent to everyone');
    assert.deepEqual(ana.errors(), []);
    assert.deepEqual(cleo.errors(), []);
});

test('reading further up, lines that come leave the log where it is: a button says how many came and goes to them', async () => {
    const below = (page) => page.evaluate(() => { const b = document.getElementById('chat-below'); return b.hidden ? null : b.textContent; });
    const atEnd = (page) => page.$eval('#chat-log', (l) => l.scrollHeight - l.scrollTop - l.clientHeight < 40);
    await ana.page.click('#tab-chat');
    await sleep(1000); // Cleo's chat rate has room again
    const tall = Array.from({ length: 20 }, (_, i) => `line ${i + 1}`).join('\n');
    await typeAll(cleo.page, [tall, tall]);
    await until(ana.page, () => { const l = document.getElementById('chat-log'); return l.scrollHeight > 2 * l.clientHeight; }, null, 'Ana\'s log taller than two screens');
    assert.equal(await atEnd(ana.page), true, 'at its end, the log follows what comes');
    assert.equal(await below(ana.page), null);
    await ana.page.$eval('#chat-log', (l) => { l.scrollTop = 0; });
    await sleep(1000);
    await typeAll(cleo.page, ['first below', 'second below']);
    await until(ana.page, () => document.getElementById('chat-below').textContent === '2 new messages', null, 'the button says 2');
    assert.equal(await ana.page.$eval('#chat-log', (l) => l.scrollTop), 0, 'Ana is left where she reads');
    await screenshot(ana.page, 'chat-below.png');
    await ana.page.focus('#chat-below');
    await ana.page.keyboard.press('Enter');
    assert.equal(await atEnd(ana.page), true);
    assert.equal(await below(ana.page), null);
    // The button went: a keyboard user's focus is in the message box.
    assert.equal(await ana.page.evaluate(() => document.activeElement.id), 'chat-input');
    // Scrolled to the end by hand, the button goes too.
    await ana.page.$eval('#chat-log', (l) => { l.scrollTop = 0; });
    await typeAll(cleo.page, ['third below']);
    await until(ana.page, () => document.getElementById('chat-below').textContent === '1 new message', null, 'the button says 1');
    await ana.page.$eval('#chat-log', (l) => { l.scrollTop = l.scrollHeight; });
    await until(ana.page, () => document.getElementById('chat-below').hidden, null, 'the button gone');
    // Cleo, at the end of her log, followed every line and never had it.
    assert.equal(await atEnd(cleo.page), true);
    assert.equal(await below(cleo.page), null);
    assert.deepEqual(ana.errors(), []);
    assert.deepEqual(cleo.errors(), []);
});
