// The whole meeting by keyboard alone: the pre-join screen (the name field
// focused, Enter joins), Tab through the meeting in the order one reads it
// with a visible focus ring on every stop and nothing hidden focused, the
// chat (open, type, send, Escape back to its button), a tile pinned and
// shown full screen, reactions, the settings, and leaving.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { focused, installFocused, launch, newParticipant, press, tabTo, waitForPlayingVideo } from '../lib/browser.mjs';

let stack;
let browser;
let a;
let b;
const url = () => `${stack.url}/keyboard-room`;

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
    b = await newParticipant(browser, url(), 'Ben');
    await b.join();
    a = await newParticipant(browser, url(), 'Anna', { init: installFocused });
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('the pre-join screen: the name field has the focus, Enter joins, and the focus goes to the microphone', async () => {
    await a.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'name-input');
    await a.page.keyboard.type('Anna');
    await a.page.keyboard.press('Enter');
    await a.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    // In: the focus is on the first control, not lost with the Join button.
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-mic');
    await waitForPlayingVideo(a.page, 'Ben');
    await waitForPlayingVideo(b.page, 'Anna');
});

test('Tab walks the meeting in reading order; every stop is visible and ringed', async () => {
    // From the start of the page: the body focused (for a moment focusable)
    // is where the next Tab starts from.
    await a.page.evaluate(() => {
        document.body.tabIndex = -1;
        document.body.focus();
        document.body.removeAttribute('tabindex');
    });
    const stops = [];
    for (let i = 0; i < 40; i++) {
        const f = await press(a.page, 'Tab');
        if (f.what === 'body') continue; // past the last stop: the browser's own
        if (stops.length && f.what === stops[0].what) break;
        stops.push(f);
    }
    const names = stops.map((s) => s.what);
    assert.deepEqual(stops.filter((s) => !s.shown).map((s) => `${s.what} ${JSON.stringify(s.why)}`), [], `stops not shown: ${names.join(', ')}`);
    // The tile's buttons (left to right), then the control bar left to right.
    const order = ['tile-btn full-btn:Full screen Ben', 'tile-btn pin-btn:Pin Ben',
        'btn-mic', 'btn-cam', 'btn-screen', 'btn-hand', 'btn-react', 'btn-chat', 'btn-people', 'btn-settings', 'btn-links', 'btn-invite', 'btn-leave'];
    assert.deepEqual(names.filter((n) => order.includes(n)), order, names.join(', '));
    assert.equal(new Set(names).size, names.length, 'no stop twice in one round');
});

test('with each side-panel tab open, every stop of a Tab round is visible and ringed; the tabs are one stop, the open one', async () => {
    const missed = {};
    const tabStops = {};
    for (const tab of ['chat', 'people', 'settings', 'links']) {
        await tabTo(a.page, `btn-${tab}`);
        await a.page.keyboard.press('Enter');
        await a.page.waitForSelector(`#${tab}-pane:not([hidden])`);
        const seen = [];
        for (let i = 0; i < 60; i++) {
            const f = await press(a.page, 'Tab');
            if (f.what === 'body') continue;
            if (seen.some((x) => x.what === f.what)) break;
            seen.push(f);
        }
        missed[tab] = seen.filter((x) => !x.shown).map((x) => `${x.what} ${JSON.stringify(x.why)}`);
        tabStops[tab] = seen.map((x) => x.what).filter((w) => w.startsWith('tab-'));
        await a.page.keyboard.press('Escape');
        await a.page.waitForSelector('#panel', { state: 'hidden' });
    }
    assert.deepEqual(missed, { chat: [], people: [], settings: [], links: [] });
    assert.deepEqual(tabStops, { chat: ['tab-chat'], people: ['tab-people'], settings: ['tab-settings'], links: ['tab-links'] });
});

test('the side-panel tabs: the arrows, Home and End move among them and open the one they reach; C from inside closes the panel and gives the focus back', async () => {
    await tabTo(a.page, 'btn-chat');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#chat-pane:not([hidden])');
    await a.page.focus('#tab-chat');
    const at = () => a.page.evaluate(() => ({
        focus: document.activeElement.id,
        selected: [...document.querySelectorAll('[role=tab][aria-selected=true]')].map((x) => x.id),
        shown: [...document.querySelectorAll('[role=tabpanel]')].filter((x) => !x.hidden).map((x) => x.id),
    }));
    const walk = [];
    for (const key of ['ArrowRight', 'End', 'ArrowRight', 'ArrowLeft', 'Home']) {
        await a.page.keyboard.press(key);
        walk.push(await at());
    }
    const on = (tab) => ({ focus: `tab-${tab}`, selected: [`tab-${tab}`], shown: [`${tab}-pane`] });
    assert.deepEqual(walk, [on('people'), on('links'), on('chat'), on('links'), on('chat')]);
    // Each panel is named by its tab.
    assert.equal(await a.page.getAttribute('#people-pane', 'aria-labelledby'), 'tab-people');
    assert.equal(await a.page.getAttribute('#tab-people', 'aria-controls'), 'people-pane');
    // C with the focus in the open chat panel closes it, as Escape does:
    // the focus goes back to the Chat button, not to the page.
    await a.page.keyboard.press('c');
    await a.page.waitForSelector('#panel', { state: 'hidden' });
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-chat');
});

test('the chat by keyboard: open, type, send with Enter; Escape closes it and gives the focus back', async () => {
    await tabTo(a.page, 'btn-chat');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#panel:not([hidden])');
    await a.page.waitForFunction(() => window.__focused().shown, null, { timeout: 10000 }).catch(() => {});
    const box = await a.page.evaluate(focused);
    assert.equal(box.what, 'chat-input', 'the message box has the focus');
    assert.ok(box.shown, `the message box shows its focus: ${JSON.stringify(box.why)}`);
    await a.page.keyboard.type('typed, not clicked');
    await a.page.keyboard.press('Enter');
    await b.page.waitForFunction(() => [...document.querySelectorAll('#chat-log li')].some((li) => li.textContent.includes('typed, not clicked')));
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#panel', { state: 'hidden' });
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-chat');
});

test('a tile pinned and shown full screen, a reaction sent, the settings reached, all by keyboard', async () => {
    await tabTo(a.page, 'tile-btn full-btn:Full screen Ben');
    await a.page.keyboard.press('Enter');
    await a.page.waitForFunction(() => !!document.fullscreenElement);
    await a.page.keyboard.press('Enter');
    await a.page.waitForFunction(() => document.fullscreenElement === null);
    await tabTo(a.page, 'tile-btn pin-btn:Pin Ben');
    await a.page.keyboard.press('Space');
    await a.page.waitForSelector('#grid.spotlight');
    await a.page.keyboard.press('Space');
    await a.page.waitForSelector('#grid:not(.spotlight)');

    await tabTo(a.page, 'btn-react');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#react-menu:not([hidden])');
    await a.page.waitForFunction(() => window.__focused().shown, null, { timeout: 10000 }).catch(() => {});
    const pick = await a.page.evaluate(focused);
    assert.ok(pick.shown, `the first emoji has a visible focus: ${pick.what} ${JSON.stringify(pick.why)}`);
    await a.page.keyboard.press('Enter');
    const aId = await a.page.evaluate(() => document.querySelector('#grid .tile.local').dataset.peer);
    await b.page.waitForSelector(`#grid .tile[data-peer="${aId}"] .reaction`);

    await tabTo(a.page, 'btn-settings');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#settings-pane:not([hidden])');
    await a.page.waitForFunction(() => window.__focused().shown, null, { timeout: 10000 }).catch(() => {});
    const first = await a.page.evaluate(focused);
    assert.equal(first.what, 'set-mic');
    assert.ok(first.shown, `the microphone picker is ringed: ${JSON.stringify(first.why)}`);
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#panel', { state: 'hidden' });
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-settings');
});

test('leaving by keyboard: the card has the focus; the other side, on the leaver\'s Pin, gets the focus on People', async () => {
    const aId = await a.page.getAttribute('#grid .tile.local', 'data-peer');
    await b.page.focus(`#grid .tile[data-peer="${aId}"] .pin-btn`);
    await b.page.keyboard.press('Shift'); // a key: the focus is a keyboard user's (ringed)
    assert.equal(await b.page.evaluate(() => document.activeElement.matches(':focus-visible')), true);
    await tabTo(a.page, 'btn-leave');
    await a.page.keyboard.press('Enter');
    await a.page.waitForFunction(() => document.body.dataset.state === 'left');
    // The Leave button went with the meeting: the card's title has the
    // focus (a screen reader reads it), and Tab goes on to Rejoin.
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'left-title');
    const next = await press(a.page, 'Tab');
    assert.equal(next.what, 'rejoin');
    await b.page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 1);
    assert.equal(await b.page.evaluate(() => document.activeElement.id), 'btn-people', 'the removed tile\'s button had it');
});

test('no console error, uncaught error, dialog or CSP violation', () => {
    assert.deepEqual(a.errors(), []);
    assert.deepEqual(b.errors(), []);
});
