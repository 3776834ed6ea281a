// Accessibility scan with axe-core (tests/node_modules/axe-core) over the
// real pages: the pre-join screen, the meeting with two people, its side
// panel on each tab (chat, people, settings, connections), and huddle's error pages. Any
// moderate, serious or critical violation fails the test; minor ones are
// printed; so does a control whose accessible name does not start with
// the words on it. Also what a screen reader is told that axe cannot know: why a
// name is refused, and who is muted, has the camera off or a hand up.
//
// axe is injected with page.addScriptTag. The page's CSP (script-src
// 'self') refuses an injected inline script, so the people of this test
// only browse in contexts with Playwright's bypassCSP; the other e2e tests
// keep the CSP in force.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, startStack } from '../lib/stack.mjs';
import { labelsNotInName, launch, newParticipant } from '../lib/browser.mjs';

const AXE = fs.readFileSync(path.join(ROOT, 'tests', 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
const FAILING = new Set(['moderate', 'serious', 'critical']);

let stack;
let browser;
let a;
let b;
const url = () => `${stack.url}/a11y-room`;

/**
 * Runs axe on page (injecting it once per document) and returns its
 * violations as [{id, impact, help, targets}].
 */
async function scan(page) {
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ content: AXE });
    return page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((v) => ({
            id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')),
        }));
    });
}

/**
 * Scans page as `what` once its finite animations have ended (the side
 * panel fades in over 0.2 s: half-way, its text has half the contrast):
 * prints the minor violations, fails on the others.
 */
async function check(page, what) {
    await page.evaluate(() => Promise.all(document.getAnimations()
        .filter((x) => x.effect?.getComputedTiming().endTime !== Infinity)
        .map((x) => x.finished.catch(() => null))));
    const found = await scan(page);
    const line = (v) => `${v.impact} ${v.id}: ${v.help} (${v.targets.slice(0, 5).join(', ')})`;
    for (const v of found.filter((x) => !FAILING.has(x.impact))) console.log(`a11y ${what}: ${line(v)}`);
    const bad = found.filter((x) => FAILING.has(x.impact));
    assert.deepEqual(bad.map(line), [], `moderate, serious or critical violations on ${what}`);
    assert.deepEqual(await labelsNotInName(page), [], `controls on ${what} named other than what is on them`);
}

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
});

after(async () => {
    if (a) await a.close();
    if (b) await b.close();
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

test('the pre-join screen', async () => {
    a = await newParticipant(browser, url(), 'Ann', { context: { bypassCSP: true } });
    await a.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await check(a.page, 'pre-join');
});

test('a name with nothing visible is refused with why, aria-invalid, until it is fixed', async () => {
    const field = () => a.page.evaluate(() => {
        const input = document.getElementById('name-input');
        const why = document.getElementById(input.getAttribute('aria-describedby'));
        return {
            state: document.body.dataset.state,
            invalid: input.getAttribute('aria-invalid'),
            why: why && !why.hidden ? why.textContent : null,
            validation: input.validationMessage,
        };
    });
    const text = 'Enter a name with at least one visible character.';
    for (const name of ['   ', '\u200b\u200e']) {
        await a.page.fill('#name-input', name);
        await a.page.click('#join-btn');
        assert.deepEqual(await field(), { state: 'prejoin', invalid: 'true', why: text, validation: text }, JSON.stringify(name));
    }
    await check(a.page, 'pre-join with a refused name');
    await a.page.fill('#name-input', 'Ann');
    assert.deepEqual(await field(), { state: 'prejoin', invalid: 'false', why: null, validation: '' });
});

test('the meeting with two people', async () => {
    await a.join();
    b = await newParticipant(browser, url(), 'Ben', { context: { bypassCSP: true } });
    await b.join();
    await a.page.waitForSelector('#grid .tile:not(.local)');
    await check(a.page, 'meeting');
});

test('the side panel: chat, people, settings, connections', async () => {
    await a.page.click('#btn-chat');
    await a.page.waitForSelector('#chat-pane:not([hidden])');
    await a.page.fill('#chat-input', 'hello');
    await a.page.press('#chat-input', 'Enter');
    await a.page.waitForSelector('#chat-log li');
    await check(a.page, 'chat panel');
    await a.page.click('#tab-people');
    await a.page.waitForSelector('#people-pane:not([hidden])');
    await check(a.page, 'people panel');
    await a.page.click('#tab-settings');
    await a.page.waitForSelector('#settings-pane:not([hidden])');
    await check(a.page, 'settings panel');
    await a.page.click('#tab-links');
    await a.page.waitForSelector('#xray-table td[data-from]');
    await check(a.page, 'connections panel');
    assert.deepEqual(a.errors(), []);
    assert.deepEqual(b.errors(), []);
});

test('who is muted, has the camera off or a hand up is in the names a screen reader reads', async () => {
    const tileName = (name) => a.page.getByRole('group', { name, exact: true });
    const row = () => a.page.locator('#people li.person', { hasText: 'Ben' }).ariaSnapshot();
    await a.page.click('#tab-people');
    await b.page.click('#btn-mic');
    await b.page.click('#btn-cam');
    await tileName('Ben, microphone off, camera off').waitFor();
    assert.match(await row(), /microphone off, camera off/);
    await b.page.click('#btn-hand');
    await tileName('Ben, microphone off, camera off, hand raised').waitFor();
    assert.match(await row(), /microphone off, camera off, hand raised/);
    await check(a.page, 'people panel with Ben muted');
    // Back on: the names follow.
    for (const id of ['#btn-mic', '#btn-cam', '#btn-hand']) await b.page.click(id);
    await tileName('Ben').waitFor();
    assert.doesNotMatch(await row(), /microphone off|camera off|hand raised/);
    assert.equal(await tileName('Ann (you)').count(), 1);
    assert.deepEqual(a.errors(), []);
    assert.deepEqual(b.errors(), []);
});

test('the error pages', async () => {
    const page = await b.context.newPage();
    const r = await page.goto(`${stack.url}/no/such/page`);
    assert.equal(r.status(), 404);
    await check(page, '404 page');
    for (const f of ['400.html', '429.html', '50x.html']) {
        await page.goto(`${stack.url}/assets/errors/${f}`);
        await page.waitForSelector('a.primary[href="/"]');
        await check(page, f);
    }
    await page.close();
});
