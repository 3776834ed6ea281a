// Translations in Chromium: a German browser (Playwright's locale sets
// navigator.language) gets the pre-join screen and the meeting in German
// with no English shown first; an Arabic one gets dir=rtl and a mirrored
// layout (side panel on the left, control bar and text right to left);
// the language picker switches to French, and the choice outlives a
// reload; at 360 px (a common Android phone) the longest language still
// fits, its panel tabs on one row; a long name in the other script is
// cut at its own end, never its start. Screenshots:
// i18n-de.png and i18n-ar.png (two people, the chat open).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, peoplePerTest, waitForPlayingVideo, screenshot, assertTabsOneRow } from '../lib/browser.mjs';

let stack;
let browser;

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

const person = peoplePerTest(() => browser);

/**
 * An init script: notes (window.__englishShown) whether a frame was
 * painted while the pre-join screen was visible in English.
 */
function watchFlash() {
    window.__englishShown = false;
    const look = () => {
        const pre = document.getElementById('prejoin');
        const title = document.getElementById('prejoin-title');
        if (pre && title && getComputedStyle(pre).visibility === 'visible' && title.textContent === 'Ready to join?') {
            window.__englishShown = true;
        }
        if (!document.body || document.body.dataset.state !== 'prejoin') requestAnimationFrame(look);
    };
    requestAnimationFrame(look);
}

const text = (page, sel) => page.textContent(sel).then((s) => s.trim());
const attr = (page, sel, name) => page.getAttribute(sel, name);
const box = (page, sel) => page.locator(sel).boundingBox();

/** A German person's page, with the flash watch. */
function german(url, name, opts = {}) {
    return person(url, name, { init: watchFlash, context: { locale: 'de-DE' }, ...opts });
}

test('a German browser gets the pre-join screen and the meeting in German', async () => {
    const url = `${stack.url}/deutsch-bitte`;
    const dora = await german(url, 'Dora');
    const p = dora.page;
    await p.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await p.evaluate(() => navigator.language), 'de-DE');
    assert.equal(await attr(p, 'html', 'lang'), 'de');
    assert.equal(await attr(p, 'html', 'dir'), 'ltr');
    assert.equal(await text(p, '#prejoin-title'), 'Bereit zum Beitreten?');
    assert.equal(await text(p, '#join-btn'), 'Jetzt beitreten');
    assert.equal(await text(p, 'label[for="name-input"]'), 'Ihr Name');
    assert.equal(await attr(p, '#name-input', 'placeholder'), 'So sehen die anderen Sie');
    assert.equal(await attr(p, '#mic-select', 'aria-label'), 'Mikrofon');
    assert.equal(await text(p, '#pre-copy'), 'Einladungslink kopieren');
    assert.match(await text(p, '.room-line'), /^Raum\s*deutsch-bitte$/);
    assert.equal(await p.inputValue('#pre-lang'), 'de');
    // The name field has the focus (it was visible when it was focused).
    assert.equal(await p.evaluate(() => document.activeElement.id), 'name-input');
    await dora.join();
    assert.equal(await p.evaluate(() => window.__englishShown), false, 'English was painted before German');

    const ben = await person(url, 'Ben');
    await ben.join();
    await waitForPlayingVideo(p, 'Ben');
    await p.waitForSelector('#toast:has-text("Ben ist beigetreten")');
    assert.equal(await attr(p, '#btn-mic', 'title'), 'Mikrofon ein oder aus (Strg+D oder M; stummgeschaltet Leertaste halten, um zu sprechen)');
    assert.equal(await text(p, '#btn-leave .lbl'), 'Verlassen');
    assert.equal(await attr(p, '#btn-leave', 'title'), 'Verlassen');
    assert.equal(await attr(p, 'nav.controls', 'aria-label'), 'Meeting-Steuerung');
    assert.equal(await attr(p, '#count-box', 'title'), '2 Personen im Meeting');
    assert.equal(await text(p, '#count-text'), '2 Personen im Meeting', 'what a screen reader reads for the count');
    assert.equal(await text(p, '#grid .tile.local .name'), 'Dora (Sie)');
    assert.equal(await attr(p, '#grid .tile:not(.local) .pin-btn', 'aria-label'), 'Ben anheften');
    // The other page stays in its own language.
    assert.equal(await text(ben.page, '#grid .tile.local .name'), 'Ben (you)');

    await ben.page.click('#btn-chat');
    await ben.page.fill('#chat-input', 'Hallo Dora, hello!');
    await ben.page.press('#chat-input', 'Enter');
    await p.waitForFunction(() => document.getElementById('unread').textContent === '1');
    await p.click('#btn-people');
    assert.equal(await text(p, '#tab-people'), 'Personen 2');
    // German's long words widen the panel rather than wrap its tabs.
    await assertTabsOneRow(p, 'German, 1280 px:');
    assert.equal(await text(p, '#people li.person[data-role="host"] .pname'), 'Dora (Sie)');
    assert.equal(await text(p, '#people li.person[data-role="host"] .host-badge'), 'Host');
    assert.equal(await attr(p, '#people li.person:not([data-role="host"]) button.dm', 'aria-label'), 'Private Nachricht an Ben');
    assert.equal(await attr(p, '#people li.person:not([data-role="host"]) input[data-action=volume]', 'aria-label'), 'Lautstärke von Ben');
    assert.equal(await attr(p, '#people li.person:not([data-role="host"]) button[data-action=kick]', 'aria-label'), 'Entfernen: Ben');
    assert.equal(await text(p, '#host-lock .lbl'), 'Meeting sperren');

    await p.click('#tab-chat');
    assert.equal(await attr(p, '#chat-input', 'placeholder'), 'Nachricht an alle');
    // Chat text is never translated.
    assert.equal(await text(p, '#chat-log .msg .text'), 'Hallo Dora, hello!');
    await p.fill('#chat-input', 'x'.repeat(1900));
    await p.waitForSelector('#chat-count:not([hidden])');
    assert.equal(await text(p, '#chat-count'), '1900 / 2000');
    assert.equal(await attr(p, '#chat-count', 'title'), '1900 von höchstens 2000 Zeichen');
    await p.fill('#chat-input', 'Hallo Ben!');
    await p.press('#chat-input', 'Enter');
    await p.waitForFunction(() => document.querySelectorAll('#chat-log .msg').length === 2);
    assert.equal(await text(p, '#chat-log .msg.mine .who'), 'Sie');
    await p.waitForSelector('#toast', { state: 'hidden' });
    await screenshot(p, 'i18n-de.png');
    for (const x of [dora, ben]) assert.deepEqual(x.errors(), [], x.name);
});

test('an Arabic browser gets the page right to left', async () => {
    const url = `${stack.url}/min-alyamin`;
    const layla = await person(url, 'ليلى', { context: { locale: 'ar' } });
    const p = layla.page;
    await p.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await attr(p, 'html', 'lang'), 'ar');
    assert.equal(await attr(p, 'html', 'dir'), 'rtl');
    assert.equal(await text(p, '#prejoin-title'), 'هل أنت مستعد للانضمام؟');
    assert.equal(await p.$eval('#prejoin-title', (e) => getComputedStyle(e).direction), 'rtl');
    await layla.join();
    const sam = await person(url, 'Sam');
    await sam.join();
    await waitForPlayingVideo(p, 'Sam');
    assert.equal(await text(p, '#btn-leave .lbl'), 'مغادرة');
    assert.equal(await attr(p, '#count-box', 'title'), 'شخصان في الاجتماع');
    assert.equal(await text(p, '#count-text'), 'شخصان في الاجتماع');

    // The control bar reads from the right: the microphone first, Leave last (leftmost).
    const mic = await box(p, '#btn-mic');
    const leave = await box(p, '#btn-leave');
    assert.ok(leave.x + leave.width <= mic.x, `Leave (${leave.x}) left of the microphone (${mic.x})`);
    // The top bar reads from the right too: the room's name, a line, the
    // clock (whose own direction is left to right, for its digits).
    const room = await box(p, '#room-title');
    const clock = await box(p, '#clock');
    assert.ok(clock.x + clock.width <= room.x, 'the clock left of the room name');
    assert.deepEqual(await p.$eval('#clock', (c) => [getComputedStyle(c).borderLeftWidth, getComputedStyle(c).borderRightWidth]), ['0px', '1px'],
        'the line between the clock and the room name');

    await sam.page.click('#btn-chat');
    await sam.page.fill('#chat-input', 'مرحبا Layla');
    await sam.page.press('#chat-input', 'Enter');
    await p.click('#btn-chat');
    await p.fill('#chat-input', 'أهلًا Sam!');
    await p.press('#chat-input', 'Enter');
    await p.waitForFunction(() => document.querySelectorAll('#chat-log .msg').length === 2);

    // The side panel sits on the left edge, the grid to its right.
    const panel = await box(p, '#panel');
    const grid = await box(p, '#grid');
    assert.ok(panel.x < 30, `panel at x=${panel.x}`);
    assert.ok(panel.x + panel.width <= grid.x, 'panel left of the grid');
    // Its close button is at its left end, the tabs start at its right.
    const close = await box(p, '#panel-close');
    const chatTab = await box(p, '#tab-chat');
    assert.ok(close.x < chatTab.x, 'close button left of the first tab');
    // One's own message on the left, the other's on the right; the text itself is right to left.
    const log = await box(p, '#chat-log');
    const mine = await box(p, '#chat-log .msg.mine .text');
    const theirs = await box(p, '#chat-log .msg:not(.mine) .text');
    assert.ok(mine.x - log.x < 30, 'own message at the left');
    assert.ok(log.x + log.width - (theirs.x + theirs.width) < 30, 'their message at the right');
    assert.equal(await p.$eval('#chat-log .msg.mine .text', (e) => getComputedStyle(e).direction), 'rtl');
    // A tile's name label is at the tile's right, the video is not mirrored by the direction.
    const tile = await box(p, '#grid .tile:not(.local)');
    const label = await box(p, '#grid .tile:not(.local) .label');
    assert.ok(tile.x + tile.width - (label.x + label.width) < 20, 'name label at the right of the tile');
    assert.equal(await p.$eval('#grid .tile:not(.local) video', (v) => getComputedStyle(v).transform), 'none');
    // The reactions menu reads from the right too, and its arrow keys go
    // the way they point: ArrowLeft to the next emoji, which is to the left.
    await p.focus('#btn-react');
    await p.keyboard.press('Enter');
    await p.waitForSelector('#react-menu:not([hidden])');
    const focusedPick = () => p.evaluate(() => {
        const f = document.activeElement;
        return { i: [...document.querySelectorAll('#react-menu .react-pick')].indexOf(f), x: f.getBoundingClientRect().x };
    });
    const first = await focusedPick();
    await p.keyboard.press('ArrowLeft');
    const second = await focusedPick();
    assert.equal(first.i, 0);
    assert.equal(second.i, 1);
    assert.ok(second.x < first.x, `ArrowLeft went to x=${second.x} from x=${first.x}`);
    await p.keyboard.press('ArrowRight');
    assert.equal((await focusedPick()).i, 0);
    await p.keyboard.press('Escape');
    await p.waitForSelector('#react-menu', { state: 'hidden' });
    // Names are shown as typed.
    assert.equal(await text(p, '#grid .tile:not(.local) .name'), 'Sam');
    await p.waitForSelector('#toast', { state: 'hidden' });
    await screenshot(p, 'i18n-ar.png');
    for (const x of [layla, sam]) assert.deepEqual(x.errors(), [], x.name);
});

test('in an Arabic page a long Latin name reads left to right and is cut at its end; an Arabic name in an English page reads right to left; so do chat lines and the chat box', async () => {
    const url = `${stack.url}/long-names`;
    const long = 'Maximilian Alexander von Habsburg-Lothringen';
    const arabic = 'عبد الرحمن الهاشمي القرشي'; // 46 bytes: names take up to 64
    const layla = await person(url, arabic, { context: { locale: 'ar' }, viewport: { width: 360, height: 640 } });
    await layla.join();
    const max = await person(url, long, { viewport: { width: 360, height: 640 } });
    await max.join();
    await waitForPlayingVideo(layla.page, long);
    await waitForPlayingVideo(max.page, arabic);
    await layla.page.click('#btn-people');
    await max.page.click('#btn-people');
    await layla.page.waitForSelector(`#people .pname:text-is("${long}")`);
    await max.page.waitForSelector(`#people .pname:text-is("${arabic}")`);
    // Where each name sits: its direction, whether it is cut, and whether
    // its first letter is inside the box that shows it.
    const seen = (page, sel) => page.$eval(sel, (e) => {
        const box = e.getBoundingClientRect();
        const range = document.createRange();
        range.setStart(e.firstChild, 0);
        range.setEnd(e.firstChild, 1);
        const first = range.getBoundingClientRect();
        return {
            direction: getComputedStyle(e).direction,
            cut: e.scrollWidth > e.clientWidth,
            firstShown: first.left >= box.left - 0.5 && first.right <= box.right + 0.5,
        };
    });
    // The long Latin name: on Layla's tile of Max, in her People list, and on Max's own tile.
    for (const [page, sel] of [[layla.page, '#grid .tile:not(.local) .name'], [layla.page, `#people .pname:text-is("${long}")`], [max.page, '#grid .tile.local .own']]) {
        assert.deepEqual(await seen(page, sel), { direction: 'ltr', cut: true, firstShown: true }, sel);
    }
    // The Arabic name: on Max's tile of Layla and in his People list, and on her own tile.
    for (const [page, sel] of [[max.page, '#grid .tile:not(.local) .name'], [max.page, `#people .pname:text-is("${arabic}")`], [layla.page, '#grid .tile.local .own']]) {
        assert.deepEqual({ ...await seen(page, sel), cut: undefined }, { direction: 'rtl', cut: undefined, firstShown: true }, sel);
    }
    await screenshot(layla.page, 'i18n-ar-long-name.png');
    // Chat lines, and the box while typing, read in their own direction:
    // "10:30!" ends the English line on the Arabic page, "!" the Arabic
    // line on the English one.
    const lines = [[max, 'Hello, see you at 10:30!', 'ltr'], [layla, 'مرحبا بالجميع!', 'rtl']];
    for (const [from, text, dir] of lines) {
        if (!await from.page.isVisible('#chat-input')) await from.page.click('#tab-chat');
        await from.page.fill('#chat-input', text);
        assert.equal(await from.page.$eval('#chat-input', (e) => getComputedStyle(e).direction), dir, `typing ${text}`);
        await from.page.press('#chat-input', 'Enter');
        const to = from === max ? layla : max;
        if (!await to.page.isVisible('#chat-input')) await to.page.click('#tab-chat');
        const sel = `#chat-log .text:text-is("${text}")`;
        await to.page.waitForSelector(sel);
        assert.equal(await to.page.$eval(sel, (e) => getComputedStyle(e).direction), dir, text);
    }
    for (const x of [layla, max]) assert.deepEqual(x.errors(), [], x.name);
});

test('the language picker switches to French, on the page and after a reload', async () => {
    const url = `${stack.url}/en-francais`;
    const zoe = await person(url, 'Zoé');
    const p = zoe.page;
    await p.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await text(p, '#prejoin-title'), 'Ready to join?');
    assert.equal(await p.$eval('#pre-lang option[value="fr"]', (o) => [o.textContent, o.lang].join()), 'Français,fr');
    await p.selectOption('#pre-lang', 'fr');
    await p.waitForFunction(() => document.documentElement.lang === 'fr');
    assert.equal(await text(p, '#prejoin-title'), 'Prêt à participer\u202f?');
    assert.equal(await text(p, '#join-btn'), 'Participer');
    await p.reload();
    await p.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await attr(p, 'html', 'lang'), 'fr');
    assert.equal(await text(p, '#prejoin-title'), 'Prêt à participer\u202f?');
    assert.equal(await p.inputValue('#pre-lang'), 'fr');
    await zoe.join();
    assert.equal(await text(p, '#btn-leave .lbl'), 'Quitter');
    await p.click('#btn-settings');
    await assertTabsOneRow(p, 'French:');
    assert.equal(await p.inputValue('#set-lang'), 'fr');
    assert.equal(await text(p, 'label[for="set-lang"]'), 'Langue');
    // A name refused just before: its error is said again in the new language.
    await p.fill('#set-name', '   ');
    await p.click('#set-name-save');
    assert.equal(await text(p, '#set-name-error'), 'Saisissez un nom avec au moins un caractère visible.');
    // In the call: the words change in place, the call goes on.
    await p.selectOption('#set-lang', 'es');
    await p.waitForFunction(() => document.documentElement.lang === 'es');
    assert.equal(await text(p, '#set-name-error'), 'Escribe un nombre con al menos un carácter visible.');
    assert.equal(await p.getAttribute('#set-name', 'aria-invalid'), 'true');
    assert.equal(await text(p, '#tab-settings'), 'Ajustes');
    await assertTabsOneRow(p, 'Spanish, after French:');
    assert.equal(await text(p, '#btn-leave .lbl'), 'Salir');
    assert.equal(await text(p, '#grid .tile.local .name'), 'Zoé (tú)');
    assert.equal(await p.evaluate(() => document.body.dataset.state), 'meeting');
    assert.equal(await p.evaluate(() => localStorage.getItem('huddle.lang')), 'es');
    assert.deepEqual(zoe.errors(), []);
});

// Measured once the panel's slide (and every other finite animation) is over.
const fits = (page) => page.evaluate(async () => {
    const finite = document.getAnimations().filter((an) => an.effect && an.effect.getComputedTiming().iterations !== Infinity);
    await Promise.all(finite.map((an) => an.finished.catch(() => {})));
    const out = [...document.querySelectorAll('button, input, select, textarea, .muted-hint, .toast')]
        .filter((e) => e.offsetParent !== null)
        .filter((e) => {
            const r = e.getBoundingClientRect();
            return r.left < 0 || r.right > innerWidth + 0.5;
        })
        .map((e) => e.id || e.className);
    return { overflow: document.documentElement.scrollWidth - innerWidth, out };
});

// German has the longest words, Arabic the other direction.
for (const locale of ['de-DE', 'ar']) {
    test(`at 360 px the page fits in ${locale}`, async () => {
        const url = `${stack.url}/phone-${locale.toLowerCase()}`;
        const a = await person(url, 'Maximilian', { viewport: { width: 360, height: 740 }, context: { locale } });
        await a.page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
        assert.deepEqual(await fits(a.page), { overflow: 0, out: [] });
        await a.join();
        assert.deepEqual(await fits(a.page), { overflow: 0, out: [] });
        // People from the control bar, then the panel's own tabs (Settings has no bar button here).
        for (const tab of ['people', 'chat', 'settings']) {
            await a.page.click(tab === 'people' ? '#btn-people' : `#tab-${tab}`);
            await a.page.waitForSelector(`#${tab}-pane:not([hidden])`);
            assert.deepEqual(await fits(a.page), { overflow: 0, out: [] }, tab);
            await assertTabsOneRow(a.page, `${locale}, 360 px:`);
            if (tab === 'people') await screenshot(a.page, `i18n-phone-${locale}.png`);
        }
        assert.deepEqual(a.errors(), []);
        await a.close();
    });
}
