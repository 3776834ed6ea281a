// The meeting's control bar at every screen size, in every language: three
// people; one page resized through phone, tablet and desktop sizes in
// English, German, French, Spanish and Arabic (switched in the call, from
// Settings), and a phone's page (no screen sharing, so React in the bar)
// through phone sizes in English and Arabic. At each size every button of the bar is whole inside the
// window, at least 44 x 44 px, the topmost thing at its centre (nothing
// covers it) and named by its label for a screen reader (Chromium's own
// accessibility tree) also where the label is not shown; the page does not
// scroll sideways; from 360 px up the bar is one row. "You are muted",
// which the fake microphone's beeps bring up while muted, covers no tile's
// name label and no button, and the reactions menu fits the window. At
// 1280 px the bar keeps its labels under the icons. With the side panel
// open (chat), at every size in English and Arabic, the bar's buttons are
// still uncovered, and so are the panel's tabs, close button and message box.
// Screenshots: toolbar-<lang>-<width>x<height>.png for a few sizes,
// toolbar-phone-en-320x568.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, peoplePerTest, waitForPlayingVideo, screenshot } from '../lib/browser.mjs';

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

// Phones upright and on their side, tablets, laptops, desktops.
const SIZES = [
    [320, 568], [360, 640], [375, 667], [404, 800], [414, 896], [667, 375], [740, 360], [700, 500],
    [768, 1024], [900, 600], [1000, 700], [1024, 768], [1280, 800], [1920, 1080],
];
// The picker's codes; German has the longest words, Arabic runs right to left.
const LANGS = ['en', 'de', 'fr', 'es', 'ar'];
const SHOTS = new Set(['en 320x568', 'en 768x1024', 'de 900x600', 'de 1024x768', 'ar 375x667', 'ar 667x375', 'fr 1280x800']);

/** Switches the page's language in the call, as a person does: Settings, the picker, close. */
async function setLanguage(page, code) {
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.click('#btn-settings');
    await page.selectOption('#set-lang', code);
    await page.waitForFunction((c) => document.documentElement.lang === c, code);
    await page.click('#panel-close');
    await page.waitForSelector('#panel', { state: 'hidden' });
}

/** Resizes page and waits until the layout has settled (the grid is laid out by script). */
async function resize(page, width, height) {
    await page.setViewportSize({ width, height });
    await page.evaluate(async () => {
        const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
        await frame();
        await frame();
        const finite = document.getAnimations().filter((an) => an.effect && an.effect.getComputedTiming().iterations !== Infinity);
        await Promise.all(finite.map((an) => an.finished.catch(() => {})));
        await frame();
    });
}

/** What the bar looks like now: each shown button's box, whether it is the topmost thing at its centre, its label. */
const measure = (page) => page.evaluate(() => {
    const rect = (e) => {
        const r = e.getBoundingClientRect();
        return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, width: r.width, height: r.height };
    };
    const buttons = [...document.querySelectorAll('nav.controls button')].filter((b) => b.getClientRects().length > 0).map((b) => {
        const r = rect(b);
        const x = (r.left + r.right) / 2;
        const y = (r.top + r.bottom) / 2;
        const hit = x >= 0 && x < innerWidth && y >= 0 && y < innerHeight ? document.elementFromPoint(x, y) : null;
        const lbl = b.querySelector('.lbl');
        return {
            id: b.id,
            ...r,
            onTop: !!hit && b.contains(hit),
            label: lbl ? lbl.textContent.trim() : '',
            labelShown: !!lbl && lbl.getBoundingClientRect().width > 4 && lbl.getBoundingClientRect().height > 4,
        };
    });
    const hint = document.getElementById('muted-hint');
    const shown = !hint.hidden && hint.getClientRects().length > 0;
    return {
        innerWidth,
        innerHeight,
        scrollWidth: document.documentElement.scrollWidth,
        buttons,
        hint: shown ? rect(hint) : null,
        labels: [...document.querySelectorAll('#grid .tile .label')].map((l) => ({ name: l.querySelector('.name').textContent, ...rect(l) })),
    };
});

/** Each control bar button's accessible name in Chromium's accessibility tree, by id (shown buttons only). */
async function accessibleNames(cdp) {
    const { root } = await cdp.send('DOM.getDocument', { depth: 0 });
    const { nodeIds } = await cdp.send('DOM.querySelectorAll', { nodeId: root.nodeId, selector: 'nav.controls button' });
    const names = {};
    for (const nodeId of nodeIds) {
        const { node } = await cdp.send('DOM.describeNode', { nodeId });
        const id = node.attributes[node.attributes.indexOf('id') + 1];
        const { nodes } = await cdp.send('Accessibility.getPartialAXTree', { nodeId, fetchRelatives: false });
        const ax = nodes[0];
        if (!ax.ignored) names[id] = ax.name ? ax.name.value : '';
    }
    return names;
}

const overlap = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
const px = (r) => `${Math.round(r.left)}..${Math.round(r.right)} x ${Math.round(r.top)}..${Math.round(r.bottom)}`;

/** Every problem of the bar and the muted hint at one size, as sentences (none: []). */
function problems(m, names, width, share) {
    const out = [];
    const ids = m.buttons.map((b) => b.id);
    // The meeting's own controls are always there (Share where the browser can share a screen).
    for (const id of ['btn-mic', 'btn-cam', ...(share ? ['btn-screen'] : []), 'btn-hand', 'btn-chat', 'btn-people', 'btn-leave']) {
        if (!ids.includes(id)) out.push(`${id} is not shown`);
    }
    if (m.scrollWidth > m.innerWidth) out.push(`the page scrolls sideways: ${m.scrollWidth} px wide`);
    for (const b of m.buttons) {
        if (b.left < -0.5 || b.right > m.innerWidth + 0.5 || b.top < -0.5 || b.bottom > m.innerHeight + 0.5) out.push(`${b.id} is cut off: ${px(b)}`);
        else if (!b.onTop) out.push(`${b.id} is covered at its centre`);
        if (b.width < 43.5 || b.height < 43.5) out.push(`${b.id} is ${Math.round(b.width)} x ${Math.round(b.height)} px`);
        if (names[b.id] !== b.label) out.push(`${b.id} is named ${JSON.stringify(names[b.id])}, not its label ${JSON.stringify(b.label)}`);
    }
    if (width >= 360) {
        const centres = new Set(m.buttons.map((b) => Math.round((b.top + b.bottom) / 2)));
        if (centres.size > 1) out.push(`the bar is not one row: centres at ${[...centres]}`);
    }
    if (m.hint) {
        if (m.hint.left < -0.5 || m.hint.right > m.innerWidth + 0.5 || m.hint.top < -0.5) out.push(`the muted hint is cut off: ${px(m.hint)}`);
        for (const l of m.labels) if (overlap(m.hint, l)) out.push(`the muted hint (${px(m.hint)}) covers the name label of ${l.name} (${px(l)})`);
        for (const b of m.buttons) if (overlap(m.hint, b)) out.push(`the muted hint covers ${b.id}`);
    }
    return out;
}

/** Opens the reactions menu (where the bar shows React), checks it fits, closes it. */
async function reactionsFit(page) {
    if (!(await page.isVisible('#btn-react'))) return [];
    await page.click('#btn-react');
    await page.waitForSelector('#react-menu:not([hidden])');
    const out = await page.evaluate(() => [...document.querySelectorAll('#react-menu button')].map((b) => {
        const r = b.getBoundingClientRect();
        const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
        return r.left < -0.5 || r.right > innerWidth + 0.5 || r.top < -0.5 || !hit || !b.contains(hit) ? `reaction ${b.textContent} is cut off or covered` : null;
    }).filter(Boolean));
    await page.click('#btn-react');
    await page.waitForSelector('#react-menu', { state: 'hidden' });
    return out;
}

/** An init script: a browser that cannot share a screen (a phone's): the bar hides Share and has room for React. */
function noScreenShare() {
    delete MediaDevices.prototype.getDisplayMedia;
}

/**
 * Resizes page through sizes in each of langs, muted (the hint up); returns
 * every problem found, and how many sizes showed the hint. share: the
 * browser can share a screen (Share is expected); reactions: the languages
 * in which to open the reactions menu too; shots: "<lang> <w>x<h>" to save
 * as <prefix>-<lang>-<w>x<h>.png.
 */
async function sweep(page, { langs, sizes, share, reactions = [], shots = new Set(), prefix = 'toolbar' }) {
    const cdp = await page.context().newCDPSession(page);
    const failures = [];
    let hints = 0;
    for (const lang of langs) {
        await setLanguage(page, lang);
        for (const [width, height] of sizes) {
            await resize(page, width, height);
            // The hint is held while the beeps come; wait for it if a gap between them just hid it.
            await page.waitForSelector('#muted-hint:not([hidden])', { timeout: 5000 }).catch(() => {});
            const m = await measure(page);
            const where = `${lang} ${width}x${height}`;
            const found = problems(m, await accessibleNames(cdp), width, share);
            if (width === 1280) {
                const bare = m.buttons.filter((b) => !b.labelShown).map((b) => b.id);
                if (bare.length) found.push(`labels not shown under ${bare}`);
            }
            if (reactions.includes(lang)) found.push(...await reactionsFit(page));
            if (m.hint) hints++;
            if (shots.has(where)) await screenshot(page, `${prefix}-${lang}-${width}x${height}.png`);
            for (const f of found) failures.push(`${where}: ${f}`);
        }
    }
    await cdp.detach();
    return { failures, hints, sizes: langs.length * sizes.length };
}

test('the control bar fits every screen in every language; "You are muted" hides no name', async () => {
    const url = `${stack.url}/toolbar`;
    const anna = await person(url, 'Anna');
    const ben = await person(url, 'Ben', { viewport: { width: 640, height: 480 } });
    const cleo = await person(url, 'Cleo', { viewport: { width: 375, height: 667 }, init: noScreenShare });
    for (const p of [anna, ben, cleo]) await p.join();
    for (const p of [anna, cleo]) {
        await waitForPlayingVideo(p.page, 'Ben');
        await p.page.waitForSelector('#btn-react:not([hidden])');
        await p.page.waitForSelector('#toast', { state: 'hidden' });
        // Muted, the fake microphone's beeps keep "You are muted" up.
        await p.page.click('#btn-mic');
        await p.page.waitForSelector('#muted-hint:not([hidden])');
    }
    assert.equal(await cleo.page.isVisible('#btn-screen'), false);

    // Anna's browser can share a screen: every size in every language.
    const wide = await sweep(anna.page, { langs: LANGS, sizes: SIZES, share: true, reactions: ['en', 'ar'], shots: SHOTS });
    // Cleo's is a phone's: phone sizes, with React in the bar and its menu open, left to right and right to left.
    const phone = await sweep(cleo.page, { langs: ['en', 'ar'], sizes: SIZES.filter(([w]) => w <= 414), share: false, reactions: ['en', 'ar'], shots: new Set(['en 320x568']), prefix: 'toolbar-phone' });
    assert.deepEqual([...wide.failures, ...phone.failures.map((f) => `Cleo, ${f}`)], []);
    // The hint was there to be checked (it comes and goes with the beeps).
    for (const r of [wide, phone]) assert.ok(r.hints >= r.sizes * 0.8, `the muted hint was shown at ${r.hints} of ${r.sizes} sizes`);
    for (const p of [anna, ben, cleo]) assert.deepEqual(p.errors(), [], p.name);
});

/**
 * The side panel's close button, tabs, message box and Send: each whole
 * inside the window and the topmost thing at its centre; the tabs on one
 * row.
 */
const panelProblems = (page) => page.evaluate(() => {
    const out = [];
    const rows = new Set([...document.querySelectorAll('#panel .tab')].map((t) => Math.round(t.getBoundingClientRect().top)));
    if (rows.size > 1) out.push(`the panel's tabs take ${rows.size} rows`);
    for (const e of document.querySelectorAll('#panel-close, #panel .tab, #chat-input, #chat-send')) {
        const r = e.getBoundingClientRect();
        const x = (r.left + r.right) / 2;
        const y = (r.top + r.bottom) / 2;
        const inside = r.width > 0 && r.left > -0.5 && r.right < innerWidth + 0.5 && r.top > -0.5 && r.bottom < innerHeight + 0.5;
        const hit = inside ? document.elementFromPoint(x, y) : null;
        if (!inside) out.push(`#${e.id || e.className} of the panel is cut off`);
        else if (!hit || !e.contains(hit)) out.push(`#${e.id} of the panel is covered at its centre`);
    }
    return out;
});

test('with the side panel open the control bar stays in reach on every screen, left to right and right to left; its tabs keep to one row, German\'s too', async () => {
    const url = `${stack.url}/toolbar-panel`;
    const anna = await person(url, 'Anna');
    const ben = await person(url, 'Ben', { viewport: { width: 640, height: 480 } });
    for (const p of [anna, ben]) await p.join();
    await waitForPlayingVideo(anna.page, 'Ben');
    await anna.page.waitForSelector('#toast', { state: 'hidden' });
    const cdp = await anna.page.context().newCDPSession(anna.page);
    const failures = [];
    for (const lang of ['en', 'de', 'ar']) {
        await setLanguage(anna.page, lang);
        await anna.page.click('#btn-chat');
        await anna.page.waitForSelector('#panel:not([hidden])');
        for (const [width, height] of SIZES) {
            await resize(anna.page, width, height);
            const where = `${lang} ${width}x${height}, chat open`;
            const found = problems(await measure(anna.page), await accessibleNames(cdp), width, true);
            found.push(...await panelProblems(anna.page), ...await reactionsFit(anna.page));
            if (['en 768x1024', 'ar 375x667', 'en 740x360'].includes(`${lang} ${width}x${height}`)) await screenshot(anna.page, `toolbar-panel-${lang}-${width}x${height}.png`);
            for (const f of found) failures.push(`${where}: ${f}`);
        }
        await anna.page.click('#panel-close');
        await anna.page.waitForSelector('#panel', { state: 'hidden' });
    }
    await cdp.detach();
    assert.deepEqual(failures, []);
    // The bar works with the panel open: Mute answers at a tablet's size.
    await resize(anna.page, 768, 1024);
    await anna.page.click('#btn-chat');
    await anna.page.waitForSelector('#panel:not([hidden])');
    await anna.page.click('#btn-mic', { timeout: 5000 });
    await anna.page.waitForSelector('#btn-mic.off[aria-pressed="false"]');
    for (const p of [anna, ben]) assert.deepEqual(p.errors(), [], p.name);
});
