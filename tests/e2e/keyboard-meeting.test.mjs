// A meeting by keyboard and screen reader, where the focus could be lost or
// the words not said: the reactions row (one Tab stop, closed when the
// focus leaves it), the "only one here" card going while its button had
// the focus, a host made guest while in the host tools or a host
// question, Make host and Make guest taking each other's place, People
// opened onto someone waiting, a raised hand said once, a lock said to
// everyone, the chat read out (unread count, whose line, to whom), the
// lobby card read once, and Invite where the clipboard is refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { sleep, startStack } from '../lib/stack.mjs';
import { focused, installFocused, launch, newParticipant, press, recordToasts, screenshot, tabTo } from '../lib/browser.mjs';
import { connect } from '../lib/wsclient.mjs';

let stack;
let browser;
const open = [];

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

async function person(room, name, opts = {}) {
    const p = await newParticipant(browser, `${stack.url}/${room}`, name, opts);
    open.push(p);
    return p;
}

async function closeAll() {
    for (const p of open.splice(0)) {
        assert.deepEqual(p.errors(), [], p.name);
        await p.close();
    }
}

/** The row of name (not one's own) in the People list. */
const row = (name) => `#people li.person:has(.pname:text-is("${name}"))`;
const activeId = (p) => p.page.evaluate(() => document.activeElement.id);
const toasts = (p) => p.page.evaluate(() => window.__toasts.map((x) => x.text));

test('the reactions row is one Tab stop: the arrows, Home and End move in it, and Tab out of it closes it', async () => {
    const anna = await person('kb-react', 'Anna', { init: installFocused });
    await anna.join();
    await tabTo(anna.page, 'btn-react');
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector('#react-menu:not([hidden])');
    // [has the focus, tabIndex] of each emoji.
    const picks = () => anna.page.$$eval('#react-menu button', (bs) => bs.map((b) => [b === document.activeElement, b.tabIndex]));
    const at = async () => (await picks()).findIndex(([f]) => f);
    const n = (await picks()).length;
    assert.ok(n >= 3, `${n} emoji`);
    assert.equal(await at(), 0);
    await anna.page.keyboard.press('End');
    assert.equal(await at(), n - 1);
    await anna.page.keyboard.press('Home');
    assert.equal(await at(), 0);
    await anna.page.keyboard.press('ArrowRight');
    assert.equal(await at(), 1);
    assert.deepEqual((await picks()).map(([, tab]) => tab), Array.from({ length: n }, (_, i) => (i === 1 ? 0 : -1)));
    // Before, Tab went on through every emoji, and past them the row
    // stayed open, React still "expanded".
    const next = await press(anna.page, 'Tab');
    assert.equal(next.what, 'btn-chat');
    assert.equal(await anna.page.isHidden('#react-menu'), true);
    assert.equal(await anna.page.getAttribute('#btn-react', 'aria-expanded'), 'false');
    // Shift+Tab back onto React keeps it open; on past React, it closes.
    assert.equal((await press(anna.page, 'Shift+Tab')).what, 'btn-react');
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector('#react-menu:not([hidden])');
    assert.equal((await press(anna.page, 'Shift+Tab')).what, 'btn-react');
    assert.equal(await anna.page.isVisible('#react-menu'), true);
    assert.equal((await press(anna.page, 'Shift+Tab')).what, 'btn-hand');
    assert.equal(await anna.page.isHidden('#react-menu'), true);
    await closeAll();
});

test('Copy invite link of the "only one here" card had the focus when someone came: the focus stays on the page', async () => {
    const anna = await person('kb-alone', 'Anna', { init: installFocused });
    await anna.join();
    await tabTo(anna.page, 'alone-invite');
    const ben = await connect(stack.wsUrl); // a member without media will do
    await ben.join('kb-alone', 'Ben');
    await anna.page.waitForSelector('#alone', { state: 'hidden' });
    const f = await anna.page.evaluate(focused);
    assert.notEqual(f.what, 'body', 'the focus was lost with the card');
    assert.ok(f.shown, `${f.what} ${JSON.stringify(f.why)}`);
    ben.terminate();
    await closeAll();
});

test('a host made guest while in the host tools, or in a host question, is put on the People tab; Make host and Make guest keep the focus in their place', async () => {
    const ben = await person('kb-host', 'Ben');
    await ben.join(); // the first in: a host
    const anna = await person('kb-host', 'Anna', { init: installFocused });
    await anna.join();
    await ben.page.click('#btn-people');
    const promote = async () => {
        await ben.page.click(`${row('Anna')} .act-make-host`);
        await anna.page.waitForFunction(() => !document.getElementById('host-tools').hidden);
    };
    const demote = async () => {
        await ben.page.click(`${row('Anna')} .act-make-guest`);
        await anna.page.waitForFunction(() => document.getElementById('host-tools').hidden);
    };
    await promote();
    // People opened by keyboard: the focus on its tab, whence Tab goes into it.
    await tabTo(anna.page, 'btn-people');
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector('#people-pane:not([hidden])');
    assert.equal(await activeId(anna), 'tab-people');
    await tabTo(anna.page, 'host-lock');
    await demote();
    assert.equal(await activeId(anna), 'tab-people', 'in the host tools');
    // With "End the meeting for everyone?" open on Cancel.
    await promote();
    await tabTo(anna.page, 'host-end');
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector('#ask[open]');
    assert.equal(await activeId(anna), 'ask-cancel');
    await demote();
    await anna.page.waitForSelector('#ask', { state: 'hidden' });
    assert.equal(await activeId(anna), 'tab-people', 'in the host question');
    // Made guest with Invite's link open (the clipboard refused): the link
    // stays, only a host's question goes.
    await promote();
    await anna.page.evaluate(() => {
        navigator.clipboard.writeText = () => Promise.reject(new DOMException('refused in a test', 'NotAllowedError'));
    });
    await anna.page.click('#btn-invite');
    await anna.page.waitForSelector('#ask[open]');
    await ben.page.click(`${row('Anna')} .act-make-guest`);
    await anna.page.waitForFunction(() => document.getElementById('host-tools').hidden);
    assert.equal(await anna.page.isVisible('#ask'), true);
    await anna.page.keyboard.press('Escape');
    await anna.page.waitForSelector('#ask', { state: 'hidden' });
    // Make guest on Ben's row gives way to Make host: the focus is on it
    // (before: on "Message Ben privately", the row's first button).
    await promote();
    await anna.page.focus(`${row('Ben')} .act-make-guest`);
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector(`${row('Ben')} .act-make-host`);
    assert.equal(await anna.page.evaluate(() => document.activeElement.className), 'act act-make-host');
    await closeAll();
});

test('a shortcut says what it changed, on an Arabic keyboard too; a click does not (the focused button says it); news while a question is open is said from inside it', async () => {
    const anna = await person('kb-said', 'Anna', { init: recordToasts });
    await anna.join();
    const said = () => anna.page.evaluate(() => document.getElementById('said').textContent);
    const pressed = (id) => anna.page.getAttribute(`#${id}`, 'aria-pressed');
    // An Arabic layout: M is "ة" (M, V, H and C go by the key's place when
    // it prints no Latin letter).
    await anna.page.evaluate(() => document.body.dispatchEvent(new KeyboardEvent('keydown', { key: '\u0629', code: 'KeyM', bubbles: true, cancelable: true })));
    await anna.page.waitForFunction(() => document.getElementById('said').textContent === 'Microphone off');
    assert.equal(await pressed('btn-mic'), 'false');
    await anna.page.keyboard.press('Control+E');
    await anna.page.waitForFunction(() => document.getElementById('said').textContent === 'Camera off');
    await anna.page.keyboard.press('h');
    await anna.page.waitForFunction(() => document.getElementById('said').textContent === 'Hand raised');
    await anna.page.keyboard.press('h');
    await anna.page.waitForFunction(() => document.getElementById('said').textContent === 'Hand lowered');
    await anna.page.click('#btn-mic');
    await anna.page.waitForSelector('#btn-mic[aria-pressed="true"]');
    await sleep(500);
    assert.equal(await said(), 'Hand lowered', 'a click: nothing more is said');

    // "End the meeting for everyone?" open: the page behind it is inert,
    // its live regions unheard; Ben's hand is said from the dialog.
    const ben = await person('kb-said', 'Ben');
    await ben.join();
    await anna.page.click('#btn-people');
    await anna.page.click('#host-end');
    await anna.page.waitForSelector('#ask[open]');
    await ben.page.click('#btn-hand');
    await anna.page.waitForFunction(() => window.__toasts.some((x) => x.text === 'Ben raised a hand'));
    await anna.page.waitForFunction(() => document.querySelector('#ask [data-said]').textContent === 'Ben raised a hand');
    await anna.page.keyboard.press('Escape');
    await anna.page.waitForSelector('#ask', { state: 'hidden' });
    assert.equal(await anna.page.textContent('#ask [data-said]'), '', 'emptied with the question');
    await closeAll();
});

test('a toast does not cover the control a keyboard user is on: on a phone with People open, a chat line\'s toast leaves the tabs', async () => {
    const anna = await person('kb-toast', 'Anna', { viewport: { width: 360, height: 740 }, init: installFocused });
    await anna.join();
    const ben = await person('kb-toast', 'Ben');
    await ben.join();
    await tabTo(anna.page, 'btn-people');
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector('#people-pane:not([hidden])');
    assert.equal(await activeId(anna), 'tab-people');
    await ben.page.click('#btn-chat');
    await ben.page.fill('#chat-input', 'hello Anna, a line long enough that its toast takes the width of a phone, over the tabs');
    await ben.page.press('#chat-input', 'Enter');
    await anna.page.waitForFunction(() => !document.getElementById('toast').hidden && document.getElementById('toast').textContent.startsWith('Ben: hello Anna'));
    await anna.page.waitForFunction(() => document.getAnimations().every((x) => x.playState !== 'running' || !document.getElementById('toast').contains(x.effect?.target)));
    const overlap = () => anna.page.evaluate(() => {
        const a = document.getElementById('toast').getBoundingClientRect();
        const f = document.activeElement.getBoundingClientRect();
        return a.left < f.right && f.left < a.right && a.top < f.bottom && f.top < a.bottom;
    });
    assert.equal(await overlap(), false, 'the toast over the focused People tab');
    // Moved, it sits clear of the bars at both ends.
    assert.deepEqual(await anna.page.evaluate(() => {
        const a = document.getElementById('toast').getBoundingClientRect();
        return ['.topbar', 'nav.controls'].filter((sel) => {
            const b = document.querySelector(sel).getBoundingClientRect();
            return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        });
    }), [], 'the toast over a bar');
    await screenshot(anna.page, 'toast-off-focus-phone.png');
    // Tab on into the list: wherever the focus goes, the toast stays off it.
    for (let i = 0; i < 3; i++) {
        await anna.page.keyboard.press('Tab');
        assert.equal(await overlap(), false, `after Tab ${i + 1}`);
    }
    await closeAll();
});

test('a hand raised and lowered again and again is said once', async () => {
    const anna = await person('kb-hand', 'Anna');
    await anna.join();
    // Each time the toast is given words (the same ones again too).
    await anna.page.evaluate(() => {
        window.__said = [];
        new MutationObserver((records) => {
            for (const r of records) for (const n of r.addedNodes) window.__said.push(n.textContent);
        }).observe(document.getElementById('toast'), { childList: true });
    });
    const ben = await person('kb-hand', 'Ben');
    await ben.join();
    await anna.page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 2);
    // Up, down, up, down, up: within the toast's time.
    for (const up of [true, false, true, false, true]) {
        await ben.page.click('#btn-hand');
        await ben.page.waitForSelector(`#btn-hand[aria-pressed="${up}"]`);
        await anna.page.waitForFunction((u) => document.getElementById('hands').hidden === !u, up);
    }
    await anna.page.waitForSelector('#toast', { state: 'hidden', timeout: 15000 });
    // Before, "Ben raised a hand" three times, the second one after he
    // had lowered it.
    assert.deepEqual((await anna.page.evaluate(() => window.__said)).filter((s) => /raised a hand/.test(s)), ['Ben raised a hand']);
    await closeAll();
});

test('a lock is said to everyone (to the host who locked it, by a screen reader\'s line); People opened onto someone waiting puts the focus on Admit; the lobby card is read once, with its button', async () => {
    const anna = await person('kb-lobby', 'Anna', { init: [installFocused, recordToasts] });
    await anna.join();
    const ben = await person('kb-lobby', 'Ben', { init: recordToasts });
    await ben.join();
    await tabTo(anna.page, 'btn-people');
    await anna.page.keyboard.press('Enter');
    await tabTo(anna.page, 'host-lock');
    await anna.page.keyboard.press('Enter');
    const locked = 'The meeting is locked: newcomers wait in the lobby until a host lets them in';
    await ben.page.waitForFunction((s) => window.__toasts.some((x) => x.text === s), locked);
    await anna.page.waitForFunction((s) => document.getElementById('said').textContent.includes(s), locked);
    assert.deepEqual((await toasts(anna)).filter((s) => s === locked), [], 'the host who locked: no toast over her tools');
    await anna.page.keyboard.press('Escape');
    assert.equal(await activeId(anna), 'btn-people');

    const cleo = await person('kb-lobby', 'Cleo');
    await cleo.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await cleo.page.fill('#name-input', 'Cleo');
    await cleo.page.click('#join-btn');
    await cleo.page.waitForFunction(() => document.body.dataset.state === 'knocking');
    // No live region around the card (it read the brand and the buttons
    // too, and the focused button twice): the button is described by it.
    assert.equal(await cleo.page.getAttribute('#gate', 'aria-live'), null);
    const described = await cleo.page.$eval('#gate-actions button', (b) => [document.activeElement === b, b.textContent,
        b.getAttribute('aria-describedby').split(' ').map((id) => document.getElementById(id).textContent).filter(Boolean)]);
    assert.deepEqual(described.slice(0, 2), [true, 'Cancel']);
    assert.equal(described[2][0], 'Waiting for the host to let you in');
    assert.equal(described[2].length, 2);

    await anna.page.waitForSelector('#waiting-badge:not([hidden])');
    // Opened with the mouse, the focus stays on People (on Admit, Space
    // held to talk would let Cleo in).
    await anna.page.click('#btn-people');
    await anna.page.waitForSelector('#lobby-list .admit');
    assert.equal(await activeId(anna), 'btn-people');
    await anna.page.keyboard.press('Escape');
    await anna.page.waitForSelector('#panel', { state: 'hidden' });
    await anna.page.keyboard.press('Enter'); // on People, by keyboard
    await anna.page.waitForFunction(() => document.activeElement.matches('#lobby-list .admit'));
    await anna.page.keyboard.press('Enter');
    await cleo.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    await anna.page.click('#host-lock');
    await ben.page.waitForFunction(() => window.__toasts.some((x) => x.text === 'The meeting is unlocked: newcomers come straight in'));
    await closeAll();
});

test('the chat read out: the Chat button says how many lines are unread, a line under another says whose it is, one\'s own line is not read out as it comes, and the box says to whom a private line goes', async () => {
    const anna = await person('kb-chat', 'Anna');
    await anna.join();
    const ben = await person('kb-chat', 'Ben');
    await ben.join();
    // Nothing unread: the title describes it, with its shortcut.
    assert.equal(await anna.page.getAttribute('#btn-chat', 'aria-describedby'), null);
    assert.equal(await anna.page.getAttribute('#btn-chat', 'title'), 'Chat (C)');
    await ben.page.click('#btn-chat');
    for (const text of ['one', 'two']) {
        await ben.page.fill('#chat-input', text);
        await ben.page.press('#chat-input', 'Enter');
    }
    await anna.page.waitForFunction(() => document.getElementById('unread-text').textContent === '2 unread messages');
    assert.equal(await anna.page.getAttribute('#btn-chat', 'aria-describedby'), 'unread-text');
    await anna.page.click('#btn-chat');
    assert.equal(await anna.page.getAttribute('#btn-chat', 'aria-describedby'), null, 'read: nothing to count');
    const lines = () => anna.page.$$eval('#chat-log li', (ls) => ls.map((l) => [l.querySelector('.text')?.textContent, l.querySelector('.sr')?.textContent ?? null, l.getAttribute('aria-live')]));
    assert.deepEqual(await lines(), [['one', null, null], ['two', 'Ben:', null]]);
    // Private lines from Anna: the box is described with whom they go to.
    await anna.page.click('#btn-people');
    await anna.page.click(`${row('Ben')} .dm`);
    const box = await anna.page.$eval('#chat-input', (i) => i.getAttribute('aria-describedby').split(' ').map((id) => document.getElementById(id).textContent).filter(Boolean));
    assert.deepEqual(box, ['To Ben (private)']);
    for (const text of ['p1', 'p2']) {
        await anna.page.fill('#chat-input', text);
        await anna.page.press('#chat-input', 'Enter');
    }
    await anna.page.waitForFunction(() => document.querySelectorAll('#chat-log li').length === 4);
    assert.deepEqual((await lines()).slice(2), [['p1', null, 'off'], ['p2', 'You, privately to Ben:', 'off']]);
    await closeAll();
});

test('Invite where the browser refuses the clipboard: the link in a dialog, selected; Enter closes it and the focus is back on Invite', async () => {
    const anna = await person('kb-invite', 'Anna', { init: installFocused });
    await anna.join();
    await anna.page.evaluate(() => {
        navigator.clipboard.writeText = () => Promise.reject(new DOMException('refused in a test', 'NotAllowedError'));
    });
    await tabTo(anna.page, 'btn-invite');
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector('#ask[open]');
    await sleep(300); // the field's ring fades in
    const st = await anna.page.evaluate(() => {
        const i = document.activeElement;
        return { id: i.id, readOnly: i.readOnly, value: i.value, selected: [i.selectionStart, i.selectionEnd], cancel: document.getElementById('ask-cancel').hidden,
            title: document.getElementById('ask-title').textContent, glow: getComputedStyle(i).boxShadow !== 'none' };
    });
    const url = `${stack.url}/kb-invite`;
    assert.deepEqual(st, { id: 'ask-input', readOnly: true, value: url, selected: [0, url.length], cancel: true, title: 'Copy the invite link', glow: true });
    await anna.page.keyboard.press('Enter');
    await anna.page.waitForSelector('#ask', { state: 'hidden' });
    assert.equal(await activeId(anna), 'btn-invite');
    await closeAll();
});
