// The meeting page's small comforts: initials without punctuation, the chat
// counter and its limit, links in chat, a send while not connected, Escape
// on the side panel, single-key shortcuts and a held Space (off by a checkbox, not in the
// reactions' menu), the "only one here" hint, sizes and focus rings, and
// the room-full screen's Try again and Start a new meeting, and toasts
// that come together shown in turn.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, recordToasts, watchSockets } from '../lib/browser.mjs';

// A small chat limit, so the counter shows after a few characters.
const MAX_CHAT = 40;

let stack;
let full;
let browser;
let a;
let b;
const people = [];
const url = () => `${stack.url}/ux-room`;

const hasText = (page, t) => page.waitForFunction((s) => [...document.querySelectorAll('#chat-log .text')]
    .some((e) => e.textContent === s), t);

/** Takes the focus off whatever has it on a's page: it goes to the page itself. */
const blur = () => a.page.evaluate(() => document.activeElement && document.activeElement.blur());

async function person(u, name, opts) {
    const p = await newParticipant(browser, u, name, opts);
    people.push(p);
    return p;
}

before(async () => {
    stack = await startStack({ sidecars: 1, sidecarEnv: { HUDDLE_MAX_CHAT_CHARS: String(MAX_CHAT) } });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
    if (full) await full.stop();
});

test('the pre-join screen focuses the name field and rings a focused device picker', async () => {
    a = await person(url(), 'Anna (she/her)', { init: watchSockets });
    await a.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'name-input');
    await a.page.focus('#mic-select');
    const ring = await a.page.$eval('#mic-select', (s) => getComputedStyle(s.closest('.device')).outlineStyle);
    assert.equal(ring, 'solid');
});

test('alone in the meeting: a hint with the invite button, gone when someone joins', async () => {
    await a.join();
    await a.page.waitForSelector('#alone:not([hidden]) #alone-invite');
    assert.match(await a.page.textContent('#alone'), /only one here/);
    // The card sits below one's tile, not over the name on it.
    const below = await a.page.evaluate(() => document.getElementById('alone').getBoundingClientRect().top
        - document.querySelector('#grid .tile.local').getBoundingClientRect().bottom);
    assert.ok(below >= 0, `the card starts ${-below} px above the bottom of one's tile`);
    b = await person(url(), '🎉 Ben!');
    await b.join();
    await a.page.waitForSelector('#alone', { state: 'hidden' });
    assert.equal(await b.page.isVisible('#alone'), false);
});

test('initials skip punctuation and keep an emoji whole', async () => {
    assert.equal(await a.page.textContent('#grid .tile.local .avatar'), 'AS');
    await a.page.waitForSelector('#grid .tile:not(.local)');
    assert.equal(await a.page.textContent('#grid .tile:not(.local) .avatar'), '🎉B');
    assert.equal(await b.page.textContent('#grid .tile:not(.local) .avatar'), 'AS');
});

test('the chat log is a live region; the counter shows near the limit, past it Send is refused', async () => {
    await a.page.click('#btn-chat');
    await b.page.click('#btn-chat');
    // A list (its items are <li>) that is a polite live region.
    assert.equal(await a.page.$eval('#chat-log', (l) => l.tagName), 'OL');
    assert.equal(await a.page.getAttribute('#chat-log', 'role'), null);
    assert.equal(await a.page.getAttribute('#chat-log', 'aria-live'), 'polite');
    await a.page.fill('#chat-input', 'x'.repeat(MAX_CHAT - 5));
    assert.equal(await a.page.isVisible('#chat-count'), false);
    // Code points, as the sidecar counts: 20 emoji are 40 UTF-16 units but 20 characters.
    const atLimit = `${'x'.repeat(MAX_CHAT - 20)}${'😀'.repeat(20)}`;
    await a.page.fill('#chat-input', atLimit);
    assert.equal(await a.page.textContent('#chat-count'), `${MAX_CHAT} / ${MAX_CHAT}`);
    assert.equal(await a.page.isDisabled('#chat-send'), false);
    const over = `${atLimit}😀`;
    await a.page.fill('#chat-input', over);
    assert.equal(await a.page.textContent('#chat-count'), `${MAX_CHAT + 1} / ${MAX_CHAT}`);
    assert.equal(await a.page.isDisabled('#chat-send'), true);
    await a.page.press('#chat-input', 'Enter');
    assert.equal(await a.page.inputValue('#chat-input'), over);
    // Back at the limit it goes, and the server takes it.
    await a.page.press('#chat-input', 'Backspace');
    assert.equal(await a.page.isDisabled('#chat-send'), false);
    await a.page.press('#chat-input', 'Enter');
    await hasText(b.page, atLimit);
    assert.equal(await a.page.inputValue('#chat-input'), '');
    assert.equal(await a.page.isVisible('#chat-count'), false);
    assert.equal(await b.page.$$eval('#chat-log .text', (els) => els.some((e) => [...e.textContent].length > 40)), false);
});

test('an https address in chat is a link with noopener; javascript: stays text', async () => {
    const text = 'https://e.co/x?y=1. javascript:alert(1)';
    await a.page.fill('#chat-input', text);
    await a.page.press('#chat-input', 'Enter');
    await hasText(b.page, text);
    const links = await b.page.$$eval('#chat-log .text a', (els) => els.map((e) => ({
        href: e.getAttribute('href'), text: e.textContent, target: e.target, rel: e.rel,
    })));
    assert.deepEqual(links, [{ href: 'https://e.co/x?y=1', text: 'https://e.co/x?y=1', target: '_blank', rel: 'noopener noreferrer' }]);
    await a.page.fill('#chat-input', 'javascript:alert(document.domain)');
    await a.page.press('#chat-input', 'Enter');
    await hasText(b.page, 'javascript:alert(document.domain)');
    assert.equal(await b.page.$$eval('#chat-log a[href^="javascript"], #chat-log a[href^="data"]', (els) => els.length), 0);
    assert.equal(await b.page.$$eval('#chat-log .text a', (els) => els.length), 1);
});

test('sending while not connected says so and keeps the text', async () => {
    // The socket reads as not open (its readyState), as between reconnects.
    await a.page.evaluate(() => window.__ws.forEach((ws) => Object.defineProperty(ws, 'readyState', { get: () => 3, configurable: true })));
    await a.page.fill('#chat-input', 'are you there?');
    await a.page.press('#chat-input', 'Enter');
    await a.page.waitForSelector('#chat-status:not([hidden])');
    assert.equal(await a.page.textContent('#chat-status'), 'Not connected: your message was not sent');
    assert.equal(await a.page.inputValue('#chat-input'), 'are you there?');
    await a.page.evaluate(() => window.__ws.forEach((ws) => { delete ws.readyState; }));
    await a.page.press('#chat-input', 'Enter');
    await hasText(b.page, 'are you there?');
    assert.equal(await a.page.isVisible('#chat-status'), false);
    assert.equal(await a.page.inputValue('#chat-input'), '');
});

test('Escape closes the side panel and gives the focus back to its button', async () => {
    await a.page.click('#btn-people');
    await a.page.waitForSelector('#people-pane:not([hidden])');
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#panel', { state: 'hidden' });
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-people');
    await a.page.click('#btn-chat');
    await a.page.waitForSelector('#chat-pane:not([hidden])');
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#panel', { state: 'hidden' });
    assert.equal(await a.page.evaluate(() => document.activeElement.id), 'btn-chat');
});

test('mic and camera keep their labels; aria-pressed says whether they are on', async () => {
    assert.equal(await a.page.textContent('#btn-mic .lbl'), 'Microphone');
    assert.equal(await a.page.getAttribute('#btn-mic', 'aria-pressed'), 'true');
    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#btn-mic.off[aria-pressed="false"]');
    assert.equal(await a.page.textContent('#btn-mic .lbl'), 'Microphone');
    await b.page.waitForSelector('#grid .tile:not(.local).muted');
    await a.page.click('#btn-mic');
    await a.page.waitForSelector('#btn-mic[aria-pressed="true"]');
    assert.equal(await a.page.textContent('#btn-cam .lbl'), 'Camera');
});

test('single keys work with the focus on a control button, not in the reactions\' menu, and the checkbox turns them off', async () => {
    // The focus on a button of the bar (where joining puts it): M mutes.
    await a.page.focus('#btn-leave');
    await a.page.keyboard.press('m');
    await a.page.waitForSelector('#btn-mic[aria-pressed="false"]');
    await a.page.keyboard.press('m');
    await a.page.waitForSelector('#btn-mic[aria-pressed="true"]');
    assert.equal(await a.page.isVisible('#meeting'), true, 'the focused Leave button took no key');
    // In the reactions' menu a key is the menu's: H raises no hand.
    await a.page.focus('#btn-react');
    await a.page.keyboard.press('Enter');
    await a.page.waitForSelector('#react-menu:not([hidden])');
    await a.page.keyboard.press('h');
    await a.page.keyboard.press('Escape');
    await a.page.waitForSelector('#react-menu', { state: 'hidden' });
    await blur();
    // In order: had the menu's "h" raised the hand, this one would lower it.
    await a.page.keyboard.press('h');
    await a.page.waitForSelector('#btn-hand[aria-pressed="true"]');

    await a.page.click('#btn-people');
    assert.equal(await a.page.isChecked('#pref-keys'), true);
    await a.page.uncheck('#pref-keys');
    assert.equal(await a.page.evaluate(() => localStorage.getItem('huddle.keys')), 'off');
    await a.page.keyboard.press('Escape');
    await blur();
    await a.page.keyboard.press('h');
    // Ctrl+D still works; the "h" before it did not lower the hand.
    await a.page.keyboard.press('Control+d');
    await a.page.waitForSelector('#btn-mic[aria-pressed="false"]');
    assert.equal(await a.page.getAttribute('#btn-hand', 'aria-pressed'), 'true');
    await a.page.keyboard.press('Control+d');
    await a.page.waitForSelector('#btn-mic[aria-pressed="true"]');
});

test('holding Space while muted talks for as long as it is held; Space on a focused button stays the button\'s; nothing with single keys off', async () => {
    const keys = async (on) => {
        await a.page.click('#btn-people');
        await a.page.setChecked('#pref-keys', on);
        await a.page.keyboard.press('Escape');
        await blur();
    };
    const mic = () => a.page.getAttribute('#btn-mic', 'aria-pressed');
    const remote = '#grid .tile:not(.local)';
    await keys(true); // the test before turned them off
    await a.page.click('#btn-mic');
    await b.page.waitForSelector(`${remote}.muted`);
    await blur();
    // Held: on, for the others too; let go: muted again.
    await a.page.keyboard.down('Space');
    assert.equal(await mic(), 'true');
    await b.page.waitForSelector(`${remote}:not(.muted)`);
    await a.page.keyboard.up('Space');
    assert.equal(await mic(), 'false');
    await b.page.waitForSelector(`${remote}.muted`);
    // Held while the window loses the keyboard (its key-up never comes): muted.
    await a.page.keyboard.down('Space');
    assert.equal(await mic(), 'true');
    await a.page.evaluate(() => window.dispatchEvent(new Event('blur')));
    assert.equal(await mic(), 'false');
    await a.page.keyboard.up('Space');
    // Muted by hand while held: letting go changes nothing more.
    await a.page.keyboard.down('Space');
    await a.page.keyboard.press('Control+d');
    assert.equal(await mic(), 'false');
    await a.page.keyboard.up('Space');
    assert.equal(await mic(), 'false');
    // Held, then the focus moves to a button: letting go ends talking and presses nothing.
    await a.page.keyboard.down('Space');
    assert.equal(await mic(), 'true');
    const handBefore = await a.page.getAttribute('#btn-hand', 'aria-pressed');
    await a.page.focus('#btn-hand');
    await a.page.keyboard.down('Space'); // the key's repeat, now at the button
    await a.page.keyboard.up('Space');
    assert.equal(await mic(), 'false');
    await a.page.waitForTimeout(200);
    assert.equal(await a.page.getAttribute('#btn-hand', 'aria-pressed'), handBefore, 'the button was not pressed');
    await blur();
    // On a focused button Space presses it, and does not talk.
    await a.page.focus('#btn-hand');
    const hand = await a.page.getAttribute('#btn-hand', 'aria-pressed');
    await a.page.keyboard.down('Space');
    assert.equal(await mic(), 'false');
    await a.page.keyboard.up('Space');
    await a.page.waitForFunction((h) => document.querySelector('#btn-hand').getAttribute('aria-pressed') !== h, hand);
    await a.page.keyboard.press('Space');
    await a.page.waitForFunction((h) => document.querySelector('#btn-hand').getAttribute('aria-pressed') === h, hand);
    // Single keys off: Space is nothing.
    await keys(false);
    await a.page.keyboard.down('Space');
    assert.equal(await mic(), 'false');
    await a.page.keyboard.up('Space');
    await keys(true);
    await a.page.keyboard.press('Control+d');
    await b.page.waitForSelector(`${remote}:not(.muted)`);
    assert.deepEqual(a.errors(), []);
});

test('control buttons are at least 44 by 44 CSS pixels, wide and on a phone', async () => {
    for (const size of [{ width: 1280, height: 800 }, { width: 375, height: 740 }]) {
        await a.page.setViewportSize(size);
        const boxes = await a.page.$$eval('.controls button', (els) => els.filter((e) => e.offsetParent)
            .map((e) => ({ id: e.id, w: e.getBoundingClientRect().width, h: e.getBoundingClientRect().height })));
        assert.ok(boxes.length >= 6, JSON.stringify(boxes));
        for (const box of boxes) assert.ok(box.w >= 44 && box.h >= 44, `${size.width}: ${JSON.stringify(box)}`);
    }
    await a.page.setViewportSize({ width: 1280, height: 800 });
});

test('the hint comes back when the other person leaves', async () => {
    await b.page.click('#btn-leave');
    await a.page.waitForSelector('#alone:not([hidden])');
});

test('a long own name is cut short on the tile and in People, and its "(you)" stays whole', async () => {
    const long = 'Maximiliana Theodora Wilhelmina von Hohenberg-Lichtenstein';
    const m = await person(`${stack.url}/ux-long-name`, long, { viewport: { width: 375, height: 667 } });
    await m.join();
    await m.page.click('#btn-people');
    for (const where of ['#grid .tile.local .label .name', '#people li.person .pname']) {
        const seen = await m.page.$eval(where, (name) => {
            const own = name.querySelector('.own');
            // "(you)" alone: the space before it is a gap between the two.
            const you = document.createRange();
            const after = own.nextSibling.firstChild;
            you.setStart(after, after.data.indexOf('('));
            you.setEnd(after, after.data.length);
            const box = name.getBoundingClientRect();
            const tail = you.getBoundingClientRect();
            return {
                text: name.textContent,
                cut: own.scrollWidth > own.clientWidth,
                inside: tail.right <= box.right + 0.5 && tail.left >= box.left - 0.5,
                tail: tail.width,
                gap: tail.left - own.getBoundingClientRect().right,
            };
        });
        assert.deepEqual({ ...seen, tail: 0, gap: 0 }, { text: `${long} (you)`, cut: true, inside: true, tail: 0, gap: 0 }, where);
        assert.ok(seen.tail > 20, `${where}: "(you)" is ${seen.tail} px wide`);
        assert.ok(seen.gap >= 2, `${where}: ${seen.gap} px between the name and "(you)"`);
    }
});

test('a full room offers Try again and Start a new meeting', async () => {
    full = await startStack({ sidecars: 1, sidecarEnv: { HUDDLE_MAX_PEERS: '1' } });
    const room = `${full.url}/ux-full`;
    const x = await person(room, 'Xena');
    await x.join();
    const y = await person(room, 'Yuri');
    await y.page.fill('#name-input', 'Yuri');
    await y.page.click('#join-btn');
    await y.page.waitForSelector('#pre-full:not([hidden])');
    assert.match(await y.page.textContent('#pre-msg-text'), /full/);
    // Join was disabled while it worked: the focus is on Try again, not on the page.
    assert.equal(await y.page.evaluate(() => document.activeElement.id), 'pre-retry');
    assert.equal(await y.page.getAttribute('#pre-new', 'href'), '/');
    assert.match(await y.page.textContent('#pre-new'), /Start a new meeting/);
    // Try again takes Join's place (both would do the same), each button on one line.
    assert.equal(await y.page.isHidden('#join-btn'), true);
    for (const sel of ['#pre-retry', '#pre-new']) {
        const lines = await y.page.$eval(sel, (e) => {
            const r = document.createRange();
            r.selectNodeContents(e);
            return r.getClientRects().length;
        });
        assert.equal(lines, 1, `${sel} spans ${lines} lines`);
    }
    // Still full: the same answer again.
    await y.page.click('#pre-retry');
    await y.page.waitForFunction(() => document.body.dataset.state === 'prejoin' && !document.getElementById('pre-full').hidden);
    await x.page.click('#btn-leave');
    // The server may see Yuri's try before Xena's leave: each try is answered.
    for (let i = 0; i < 5; i++) {
        await y.page.click('#pre-retry');
        const state = await y.page.waitForFunction(() => (document.body.dataset.state === 'meeting' ? 'in'
            : !document.getElementById('pre-full').hidden && 'full')).then((h) => h.jsonValue());
        if (state === 'in') break;
    }
    assert.equal(await y.page.evaluate(() => document.body.dataset.state), 'meeting');
    assert.equal(await y.page.isVisible('#alone'), true);
});

test('news that comes together is all shown, in turn: the host leaves, the next one is told both', async () => {
    const u = `${stack.url}/ux-toasts`;
    const host = await person(u, 'Hana');
    await host.join();
    const next = await person(u, 'Ivo', { init: recordToasts });
    await next.join();
    await next.page.waitForSelector('#grid .tile:not(.local)');
    await next.page.waitForSelector('#toast', { state: 'hidden', timeout: 10000 });
    await host.page.click('#btn-leave');
    // "Hana left" and "You are now a host" come a few milliseconds apart.
    await next.page.waitForFunction(() => window.__toasts.some((x) => x.text === 'You are now a host.' || /now a host/.test(x.text)), null, { timeout: 10000 });
    await next.page.waitForSelector('#toast', { state: 'hidden', timeout: 10000 });
    const seen = await next.page.evaluate(() => window.__toasts.map((x) => ({ text: x.text, ms: Math.round(x.gone - x.at) })));
    const left = seen.findIndex((x) => /Hana left/.test(x.text));
    const host2 = seen.findIndex((x) => /now a host/.test(x.text));
    assert.ok(left >= 0 && host2 > left, JSON.stringify(seen));
    for (const x of seen.slice(left, host2 + 1)) assert.ok(x.ms >= 1400, `${x.text} shown ${x.ms} ms: ${JSON.stringify(seen)}`);
});

test('no console error, uncaught error, dialog or CSP violation on any page', () => {
    for (const p of people) assert.deepEqual(p.errors(), [], p.name);
});
