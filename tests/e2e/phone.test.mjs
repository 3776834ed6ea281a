// A phone-sized screen (375 x 740): nothing overflows sideways, every
// control is on screen, video plays in line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, peoplePerTest, waitForPlayingVideo, screenshot, watchSockets } from '../lib/browser.mjs';
import { connect } from '../lib/wsclient.mjs';

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

/** Members called names of room without media (plain websocket clients, as any page would): their tiles show initials. */
async function bareMembers(room, names) {
    const out = [];
    for (const name of names) {
        const c = await connect(stack.wsUrl);
        await c.join(room, name);
        out.push(c);
    }
    return out;
}

/** Desktop participants called names join url, one by one; resolves them once phone plays each one's video. */
async function joinOthers(phone, url, names) {
    const others = [];
    for (const name of names) {
        const p = await person(url, name);
        await p.join();
        others.push(p);
    }
    for (const p of others) await waitForPlayingVideo(phone.page, p.name);
    return others;
}

const fits = (page) => page.evaluate(() => {
    const out = [...document.querySelectorAll('button, input, select, textarea')]
        .filter((e) => e.offsetParent !== null)
        .filter((e) => {
            const r = e.getBoundingClientRect();
            return r.left < 0 || r.right > innerWidth + 0.5;
        })
        .map((e) => e.id || e.className);
    return { overflow: document.documentElement.scrollWidth - innerWidth, out };
});

test('at 375 px the pre-join screen and the meeting fit the screen', async () => {
    const url = `${stack.url}/on-the-go`;
    const phone = await person(url, 'Maya', { viewport: { width: 375, height: 740 } });
    await phone.page.waitForFunction(() => document.getElementById('preview-video').videoWidth > 0);
    assert.deepEqual(await fits(phone.page), { overflow: 0, out: [] });
    await phone.join();
    const others = await joinOthers(phone, url, ['Omar', 'Priya Raman']);
    assert.equal(await phone.page.$eval('#grid .tile:not(.local) video', (v) => v.playsInline), true);
    await others[0].page.click('#btn-cam');
    await phone.page.waitForSelector('#grid .tile.novideo');
    assert.deepEqual(await fits(phone.page), { overflow: 0, out: [] });
    await phone.page.waitForSelector('#toast', { state: 'hidden' });
    await screenshot(phone.page, 'phone-meeting.png');
    assert.equal(await phone.page.$eval('#grid', (g) => g.inert), false);
    await phone.page.click('#btn-chat');
    assert.equal(await phone.page.isVisible('#chat-input'), true);
    // The panel covers the whole grid: its tiles are out of Tab's way and
    // of a screen reader's until it closes.
    assert.equal(await phone.page.$eval('#grid', (g) => g.inert), true);
    await phone.page.click('#panel-close');
    assert.equal(await phone.page.$eval('#grid', (g) => g.inert), false);
    for (const p of [phone, ...others]) assert.deepEqual(p.errors(), [], p.name);
});

/** Whether the boxes of selectors a and b on page overlap (false when either is not shown). */
const overlap = (page, a, b) => page.evaluate(([sa, sb]) => {
    const [ra, rb] = [sa, sb].map((s) => document.querySelector(s)?.getBoundingClientRect());
    if (!ra || !rb || !ra.width || !rb.width) return false;
    return ra.left < rb.right && rb.left < ra.right && ra.top < rb.bottom && rb.top < ra.bottom;
}, [a, b]);

test('on a touch phone the alone card, the toasts and the tile buttons keep clear of the names and of the chat box', async () => {
    const url = `${stack.url}/on-the-bus`;
    const phone = await person(url, 'Maya Lindqvist', { viewport: { width: 390, height: 844 }, context: { isMobile: true, hasTouch: true } });
    await phone.join();
    // Alone: the card with the invite button spans the stage as it needs,
    // not the right half of it, and leaves one's own name readable.
    await phone.page.waitForSelector('#alone:not([hidden])');
    const card = await phone.page.$eval('#alone', (e) => e.getBoundingClientRect().width);
    assert.ok(card > 390 / 2 + 20, `the alone card is ${card} px wide`);
    assert.equal(await overlap(phone.page, '#alone', '#grid .tile.local .label'), false, 'the card covers one\'s own name');

    // A long name on a remote tile ends before the buttons a touch screen
    // always shows (no hover to reveal them).
    const chris = await person(url, 'Christopher Longname-Example');
    await chris.join();
    await waitForPlayingVideo(phone.page, 'Christopher Longname-Example');
    assert.equal(await phone.page.evaluate(() => matchMedia('(hover: none)').matches), true, 'a touch screen');
    assert.equal(await overlap(phone.page, '#grid .tile:not(.local) .label', '#grid .tile:not(.local) .full-btn'), false, 'the name runs under Full screen');
    assert.equal(await overlap(phone.page, '#grid .tile:not(.local) .label', '#grid .tile:not(.local) .pin-btn'), false, 'the name runs under Pin');

    // Typing in the chat while someone joins: the toast does not sit on the box.
    await phone.page.waitForSelector('#toast', { state: 'hidden' });
    await phone.page.click('#btn-chat');
    await phone.page.fill('#chat-input', 'on my way');
    const omar = await person(url, 'Omar');
    await omar.join();
    await phone.page.waitForFunction(() => /Omar/.test(document.getElementById('toast').textContent) && !document.getElementById('toast').hidden);
    assert.equal(await overlap(phone.page, '#toast', '#chat-input'), false, 'the toast covers the chat box');
    const toast = await phone.page.$eval('#toast', (e) => e.getBoundingClientRect().height);
    assert.ok(toast < 60, `"Omar joined" is one line (${toast} px high)`);
    for (const p of [phone, chris, omar]) assert.deepEqual(p.errors(), [], p.name);
});

/**
 * What of the People pane's sections cannot be reached: each must come
 * whole into the pane's view when the pane is scrolled to it (no section
 * squeezed to nothing, none below a pane that does not scroll).
 */
const unreachable = (page) => page.evaluate(() => {
    const pane = document.getElementById('people-pane');
    const out = [];
    // The sections (taller than a landscape phone's pane, some): none squeezed.
    for (const sel of ['#host-tools', '#lobby', '#lobby-list', '#hands', '#people']) {
        const e = document.querySelector(sel);
        if (!e || e.offsetParent === null) out.push(`${sel} is not shown`);
        else if (e.scrollHeight > e.clientHeight + 1) out.push(`${sel} is squeezed (${e.clientHeight} of ${e.scrollHeight} px)`);
    }
    // The last control of each, and the switch at the end: whole in view once scrolled to.
    for (const sel of ['#host-end', '#lobby-list .person:last-child button:last-of-type', '#hands-list li:last-child', '#people .person:last-child', '#pref-keys']) {
        const e = document.querySelector(sel);
        if (!e || e.offsetParent === null) {
            out.push(`${sel} is not shown`);
            continue;
        }
        e.scrollIntoView({ block: 'nearest' });
        const r = e.getBoundingClientRect();
        const v = pane.getBoundingClientRect();
        if (r.top < v.top - 0.5 || r.bottom > v.bottom + 0.5) out.push(`${sel} stays outside the pane (${Math.round(r.top)}..${Math.round(r.bottom)} in ${Math.round(v.top)}..${Math.round(v.bottom)})`);
        const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + Math.min(r.bottom, v.bottom)) / 2);
        if (!hit || !(e === hit || e.contains(hit) || hit.contains(e))) out.push(`${sel} is covered by ${hit && (hit.id || hit.className)}`);
    }
    pane.scrollTop = 0;
    return out;
});

test('a host on a phone reaches every part of People by scrolling: host tools, lobby, raised hands, the list, the shortcut switch', async () => {
    const url = `${stack.url}/busy-lobby`;
    const host = await person(url, 'Hana', { viewport: { width: 320, height: 568 }, context: { isMobile: true, hasTouch: true } });
    await host.join();
    const bo = await person(url, 'Bo');
    await bo.join();
    await host.page.waitForSelector('#grid .tile:not(.local)');
    await host.page.click('#btn-people');
    await host.page.click('#host-lock');
    await host.page.waitForSelector('#mark-locked:not([hidden])');
    // Three knock (plain websocket clients, as any page would), two hands go up.
    const knockers = [];
    for (const name of ['Kai', 'Lea', 'Mo']) {
        const k = await connect(stack.wsUrl);
        await k.send({ type: 'join', room: 'busy-lobby', name });
        await k.next('knocking');
        knockers.push(k);
    }
    await host.page.waitForFunction(() => document.querySelectorAll('#lobby-list .person').length === 3);
    await bo.page.click('#btn-hand');
    // "Bo raised a hand" comes over the panel's tabs: a tap there still reaches the tab.
    await host.page.waitForFunction(() => /Bo raised/.test(document.getElementById('toast').textContent) && !document.getElementById('toast').hidden);
    const under = await host.page.evaluate(() => {
        const box = document.getElementById('toast').getBoundingClientRect();
        return [...document.querySelectorAll('#panel .tab')].map((tab) => {
            const r = tab.getBoundingClientRect();
            const [x, y] = [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
            if (x < box.left || x > box.right || y < box.top || y > box.bottom) return null;
            const hit = document.elementFromPoint(x, y);
            return hit && hit.closest('.tab') === tab ? 'the tab' : (hit && (hit.id || hit.className));
        }).filter((h) => h !== null);
    });
    assert.ok(under.length > 0, 'the toast covers a tab (the case to check)');
    assert.deepEqual(under, under.map(() => 'the tab'));
    await host.page.click('#btn-hand');
    await host.page.waitForFunction(() => document.querySelectorAll('#hands-list li').length === 2);
    const problems = {}; // (a toast shown meanwhile takes no taps: it hides nothing from them)
    for (const [w, h] of [[320, 568], [640, 360], [740, 360]]) {
        await host.page.setViewportSize({ width: w, height: h });
        const p = await unreachable(host.page);
        if (p.length) problems[`${w}x${h}`] = p;
    }
    await screenshot(host.page, 'phone-people-lobby.png');
    assert.deepEqual(problems, {});
    // The lobby's buttons work from there: Kai is let in.
    await host.page.click('#lobby-list .person:first-child button:first-of-type');
    await knockers[0].next('welcome');
    for (const k of knockers) k.terminate();
    for (const p of [host, bo]) assert.deepEqual(p.errors(), [], p.name);
});

test('on a touch phone: Join in view on its side, 44 px for the host\'s small controls, a long knocker\'s name whole, taps through the reconnecting banner', async () => {
    const url = `${stack.url}/in-the-hand`;
    const phone = await person(url, 'Ana', { viewport: { width: 740, height: 360 }, context: { isMobile: true, hasTouch: true }, init: watchSockets });
    await phone.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    // On its side: the name field and Join are on the first screen (the
    // preview above them pushed Join 790 px down).
    const inView = (sel) => phone.page.$eval(sel, (e) => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; });
    assert.deepEqual([await inView('#name-input'), await inView('#join-btn')], [true, true]);
    const prejoinSmall = await phone.page.evaluate(() => ['#pre-copy', '#pre-lang']
        .map((sel) => [sel, Math.round(document.querySelector(sel).getBoundingClientRect().height)])
        .filter(([, h]) => h < 44));
    assert.deepEqual(prejoinSmall, [], 'pre-join controls under 44 px on a touch screen');
    await screenshot(phone.page, 'phone-prejoin-landscape.png');
    await phone.join();
    await phone.page.setViewportSize({ width: 360, height: 740 });
    await phone.page.click('#btn-people');
    await phone.page.click('#host-lock');
    await phone.page.waitForSelector('#mark-locked:not([hidden])');
    // The mark is an icon alone here, and a touch screen shows no title:
    // a tap says what it means.
    await phone.page.tap('#mark-locked');
    await phone.page.waitForFunction(() => document.getElementById('toast').textContent === 'Newcomers wait in the lobby until a host lets them in');
    const long = 'Maximilian Alexander von Hohenzollern-Sigmaringen';
    const k = await connect(stack.wsUrl);
    await k.send({ type: 'join', room: 'in-the-hand', name: long });
    await k.next('knocking');
    await phone.page.waitForSelector('#lobby-list .person');
    const row = await phone.page.$eval('#lobby-list .person', (li) => {
        const name = li.querySelector('.pname');
        const h = (sel) => Math.round(li.querySelector(sel).getBoundingClientRect().height);
        return { whole: name.scrollWidth <= name.clientWidth && name.scrollHeight <= name.clientHeight + 1, admit: h('button.admit'), deny: h('button.deny') };
    });
    assert.deepEqual(row, { whole: true, admit: 44, deny: 44 }, 'the knocker\'s row');
    const small = await phone.page.evaluate(() => ['#panel-close', '#host-lock', '#host-end', '#host-mute-all']
        .map((sel) => [sel, Math.round(document.querySelector(sel)?.getBoundingClientRect().height ?? -1)])
        .filter(([, h]) => h < 44));
    assert.deepEqual(small, [], 'controls under 44 px on a touch screen');
    k.terminate();
    // Connection lost with the panel open: the banner, one or two lines
    // across the top, lets taps through to the tabs under it.
    await phone.page.evaluate(() => {
        window.__blockWs = true;
        window.__ws.at(-1).close(4000, 'a test drops it');
    });
    await phone.page.waitForSelector('#banner:not([hidden])');
    const banner = await phone.page.$eval('#banner', (b) => b.getBoundingClientRect());
    assert.ok(banner.width > 300 && banner.height < 70, `the banner is ${Math.round(banner.width)} x ${Math.round(banner.height)} px`);
    await phone.page.click('#tab-settings');
    assert.equal(await phone.page.isVisible('#settings-pane'), true);
    await screenshot(phone.page, 'phone-banner.png');
    assert.deepEqual(phone.errors().filter((e) => !/\/no-ws-here' failed/.test(e)), []);
});

test('a phone on its side: the open panel stands beside the tiles, a tap on Chat brings no keyboard, and "You are muted" names no key', async () => {
    const url = `${stack.url}/sideways`;
    const phone = await person(url, 'Ana', { viewport: { width: 740, height: 360 }, context: { isMobile: true, hasTouch: true } });
    await phone.join();
    const more = await bareMembers('sideways', ['Bo', 'Cy', 'Di']);
    await phone.page.waitForFunction(() => document.querySelectorAll('#grid .tile').length === 4);
    await phone.page.tap('#btn-chat');
    await phone.page.waitForSelector('#chat-pane:not([hidden])');
    await phone.page.waitForTimeout(300); // the grid lays out again beside it
    const seen = await phone.page.evaluate(() => {
        const panel = document.getElementById('panel').getBoundingClientRect();
        const under = [...document.querySelectorAll('#grid .tile')].filter((t) => {
            const r = t.getBoundingClientRect();
            return r.left < panel.right && panel.left < r.right && r.top < panel.bottom && panel.top < r.bottom;
        }).length;
        return { under, inert: document.getElementById('grid').inert, focus: document.activeElement.id || document.activeElement.tagName };
    });
    // Before, the panel covered two of the four tiles, which Tab still
    // reached and whose video still came; and the keyboard came up.
    assert.deepEqual(seen, { under: 0, inert: false, focus: 'btn-chat' });
    await screenshot(phone.page, 'phone-sideways-chat.png');
    await phone.page.tap('#btn-mic');
    await phone.page.waitForSelector('#muted-hint:not([hidden])');
    assert.equal(await phone.page.textContent('#muted-hint'), 'You are muted. Tap the microphone to talk.');
    for (const c of more) c.terminate();
    assert.deepEqual(phone.errors(), []);
});

/**
 * For each remote tile of the strip (not the stage): its name's width and
 * what of the tile's buttons and "Presenting" mark shown overlap the
 * name or each other.
 */
const stripClashes = (page) => page.evaluate(() => {
    const out = [];
    const box = (e) => (e && e.offsetParent !== null && getComputedStyle(e).display !== 'none' ? e.getBoundingClientRect() : null);
    const meet = (a, b) => a && b && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    for (const tile of document.querySelectorAll('#grid .tile:not(.local):not(.main)')) {
        const who = tile.querySelector('.name').textContent;
        const parts = { name: box(tile.querySelector('.label')), full: box(tile.querySelector('.full-btn')), pin: box(tile.querySelector('.pin-btn')) };
        if (tile.classList.contains('screen')) parts.presenting = box(tile.querySelector('.screen-mark'));
        const nameEl = tile.querySelector('.name');
        const name = nameEl.getBoundingClientRect();
        if (name.width < 40 && nameEl.scrollWidth > nameEl.clientWidth + 1) out.push(`${who}: the name is cut to ${Math.round(name.width)} px`);
        const pin = tile.querySelector('.pin-btn').getBoundingClientRect();
        const t = tile.getBoundingClientRect();
        if (pin.top < t.top || pin.bottom > t.bottom) out.push(`${who}: Pin sticks out of its ${Math.round(t.height)} px tile`);
        const keys = Object.keys(parts);
        for (const [i, a] of keys.entries()) for (const b of keys.slice(i + 1)) if (meet(parts[a], parts[b])) out.push(`${who}: ${a} meets ${b}`);
        if (!parts.pin) out.push(`${who}: no Pin`);
    }
    return out;
});

test('a small window wider than tall (a laptop zoomed to 150 %, a phone on its side): the pre-join name field, which has the focus, and Join are on the first screen', async () => {
    const p = await person(`${stack.url}/zoomed-laptop`, 'Zoe', { viewport: { width: 853, height: 533 } });
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    const seen = () => p.page.evaluate(() => Object.fromEntries(['name-input', 'join-btn'].map((id) => {
        const r = document.getElementById(id).getBoundingClientRect();
        return [id, r.top >= 0 && r.bottom <= innerHeight && r.left >= 0 && r.right <= innerWidth];
    })));
    const sizes = {};
    for (const [w, h] of [[853, 533], [800, 600], [740, 360], [640, 480]]) {
        await p.page.setViewportSize({ width: w, height: h });
        await p.page.waitForTimeout(200);
        sizes[`${w}x${h}`] = await seen();
    }
    const all = { 'name-input': true, 'join-btn': true };
    assert.deepEqual(sizes, { '853x533': all, '800x600': all, '740x360': all, '640x480': all });
    assert.equal(await p.page.evaluate(() => document.activeElement.id), 'name-input');
    await p.page.setViewportSize({ width: 853, height: 533 });
    await screenshot(p.page, 'prejoin-853x533.png');
    assert.deepEqual(p.errors(), []);
});

test('on a touch phone the small tiles beside the stage keep their names, Pin and "Presenting" clear of each other', async () => {
    const url = `${stack.url}/strip-on-a-phone`;
    const phone = await person(url, 'Maya', { viewport: { width: 360, height: 640 }, context: { isMobile: true, hasTouch: true } });
    await phone.join();
    const others = await joinOthers(phone, url, ['Alexandra', 'Bartholomew']);
    // Bartholomew presents: he takes the stage. Then Maya pins Alexandra:
    // the presenter goes to the strip, his mark with him.
    await others[1].page.click('#btn-screen');
    await phone.page.waitForSelector('#grid.spotlight .tile.screen.main');
    const problems = {};
    const look = async (what) => {
        const p = await stripClashes(phone.page);
        if (p.length) problems[what] = p;
    };
    await look('360x640, presenter on the stage');
    await phone.page.click('#grid .tile:not(.local):not(.screen) .pin-btn');
    await phone.page.waitForSelector('#grid.spotlight .tile.main:not(.screen)');
    await look('360x640, pinned');
    await phone.page.setViewportSize({ width: 640, height: 360 });
    await phone.page.waitForTimeout(300);
    await look('640x360, pinned');
    await screenshot(phone.page, 'phone-strip.png');
    // Six in all (three more without media, as plain websocket clients):
    // one line of five beside the stage left tiles 31 px high, their names
    // cut to nothing; the strip takes two lines instead.
    const more = await bareMembers('strip-on-a-phone', ['Cleo', 'Dmitri', 'Esperanza']);
    await phone.page.waitForFunction(() => document.querySelectorAll('#grid .tile:not(.local)').length === 5);
    await phone.page.waitForTimeout(300);
    await look('640x360, six, pinned');
    await phone.page.setViewportSize({ width: 360, height: 640 });
    await phone.page.waitForTimeout(300);
    await look('360x640, six, pinned');
    await screenshot(phone.page, 'phone-strip-six.png');
    for (const c of more) c.terminate();
    assert.deepEqual(problems, {});
    for (const p of [phone, ...others]) assert.deepEqual(p.errors(), [], p.name);
});

test('an Arabic phone: "camera off" clear of the pre-join buttons; the room\'s Latin name left to right; the chat box reads right to left until a line of the other direction is typed; Send is 44 px and a tap on it keeps the focus (and the keyboard) in the box', async () => {
    const url = `${stack.url}/hand-ar`;
    const p = await person(url, 'عمر', { viewport: { width: 390, height: 844 }, context: { isMobile: true, hasTouch: true, locale: 'ar' } });
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await p.page.tap('#pre-cam');
    await p.page.waitForSelector('#preview-off', { state: 'visible' });
    const [words, buttons] = await p.page.evaluate(() => ['#preview-off-text', '.preview-controls']
        .map((sel) => { const r = document.querySelector(sel).getBoundingClientRect(); return { top: r.top, bottom: r.bottom }; }));
    assert.ok(words.bottom <= buttons.top, `"camera off" (${words.top}-${words.bottom}) under the buttons (${buttons.top})`);
    await p.page.tap('#pre-cam');
    await p.join();
    // The room's name (Latin) runs left to right in the Arabic top bar:
    // cut short, it loses its end, not its start.
    assert.equal(await p.page.$eval('#room-title', (h) => getComputedStyle(h).direction), 'ltr');
    await p.page.tap('#btn-chat');
    const box = async () => p.page.$eval('#chat-input', (i) => getComputedStyle(i).direction);
    assert.equal(await box(), 'rtl', 'the empty box, its prompt in Arabic');
    await p.page.fill('#chat-input', 'hello from a phone');
    assert.equal(await box(), 'ltr', 'a Latin line');
    assert.equal(Math.round(await p.page.$eval('#chat-send', (b) => b.getBoundingClientRect().height)), 44);
    await p.page.tap('#chat-send');
    await p.page.waitForSelector('#chat-log li.mine');
    assert.equal(await p.page.evaluate(() => document.activeElement.id), 'chat-input', 'the focus left the box');
    assert.equal(await box(), 'rtl', 'empty again');
    // A tap on Settings opens it without a focus ring on its first picker.
    await p.page.tap('#tab-settings');
    await p.page.waitForSelector('#settings-pane:not([hidden])');
    assert.notEqual(await p.page.evaluate(() => document.activeElement.id), 'set-mic');
    assert.deepEqual(p.errors(), []);
});
