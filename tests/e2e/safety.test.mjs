// Safety codes in the People panel: each person's row has a button that
// shows the code of one's link with them, computed from the DTLS
// certificates the link negotiated (public/safety.js). The two ends of a
// link show the same digits; every link shows different ones; a German
// page shows the same digits as an English one. A code line shown follows
// its link: opened before the link is up, it shows the digits once it
// connects; when the connection is replaced (self-repair), the new one's.
// Someone who joins under a name already there cannot pass for its owner:
// while both are in, each is shown with their tag ("Anna #4821") on every
// page, their own included, in the tiles, the list, the code line and chat.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { createHash } from 'node:crypto';
import { launch, linkBreaker, newParticipant, remoteNames, waitForPlayingVideo, screenshot, keepPeerConnections } from '../lib/browser.mjs';
import { tagOf } from '../../public/names.js';

/**
 * Each connected link on page as its two certificates, { local, remote },
 * as "sha-256 AB:CD:..": local the fingerprint its own description gives,
 * remote the SHA-256 (computed here) of the certificate DTLS received
 * (RTCDtlsTransport.getRemoteCertificates()). Not from getStats(), whose
 * certificates Chromium may never report (public/safety.js).
 */
async function certificates(page) {
    const links = await page.evaluate(() => window.__pcs.filter((pc) => pc.connectionState === 'connected').map((pc) => {
        const transport = pc.getTransceivers().map((t) => t.sender.transport).find(Boolean);
        const der = new Uint8Array(transport.getRemoteCertificates()[0]);
        const [, alg, hex] = /a=fingerprint:(\S+) (\S+)/.exec(pc.currentLocalDescription.sdp);
        return { local: `${alg} ${hex.toUpperCase()}`, der: btoa(String.fromCharCode(...der)) };
    }));
    const sha256 = (b64) => createHash('sha256').update(Buffer.from(b64, 'base64')).digest('hex').toUpperCase().match(/../g).join(':');
    return links.map(({ local, der }) => ({ local, remote: `sha-256 ${sha256(der)}` }));
}

/** The code of a link with certificates { local, remote }, computed here with node's SHA-256 as docs/frontend.md gives it. */
function expectedCode({ local, remote }) {
    const pair = [local, remote].sort();
    const hash = createHash('sha256').update(`huddle safety code v1\n${pair[0]}\n${pair[1]}`).digest();
    return [0, 1, 2, 3, 4].map((i) => String(hash.readUInt32BE(4 * i) % 10000).padStart(4, '0')).join(' ');
}

let stack;
let browser;
const people = {};
const url = () => `${stack.url}/safety-room`;

before(async () => {
    stack = await startStack({ sidecars: 1 });
    browser = await launch();
    people.anna = await newParticipant(browser, url(), 'Anna', { init: keepPeerConnections });
    await people.anna.join();
    people.ben = await newParticipant(browser, url(), 'Ben', { context: { locale: 'de-DE' }, init: keepPeerConnections });
    await people.ben.join();
    people.cleo = await newParticipant(browser, url(), 'Cleo', { init: keepPeerConnections });
    await people.cleo.join();
    for (const [who, p] of Object.entries(people)) {
        for (const other of ['Anna', 'Ben', 'Cleo']) {
            if (other.toLowerCase() !== who) await waitForPlayingVideo(p.page, other);
        }
    }
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

/** Opens participant who's People panel, shows the code of the link with `name`; returns its digits. */
async function codeOn(who, name) {
    const page = who.page;
    if (!(await page.isVisible('#people-pane'))) await page.click('#btn-people');
    await page.waitForSelector('#people-pane:not([hidden])');
    const row = page.locator('#people li.person', { has: page.locator('.pname', { hasText: new RegExp(`^${name}$`) }) });
    const button = row.locator('button.verify');
    if ((await button.getAttribute('aria-expanded')) !== 'true') await button.click();
    assert.equal(await button.getAttribute('aria-expanded'), 'true');
    const digits = row.locator('.pcode-digits');
    await digits.waitFor({ state: 'visible' });
    return digits.textContent();
}

test('both ends of a link show the same code; each link has its own', async () => {
    const annaBen = await codeOn(people.anna, 'Ben');
    const benAnna = await codeOn(people.ben, 'Anna');
    const annaCleo = await codeOn(people.anna, 'Cleo');
    const cleoAnna = await codeOn(people.cleo, 'Anna');
    const benCleo = await codeOn(people.ben, 'Cleo');
    const cleoBen = await codeOn(people.cleo, 'Ben');
    for (const c of [annaBen, annaCleo, benCleo]) assert.match(c, /^\d{4} \d{4} \d{4} \d{4} \d{4}$/);
    assert.equal(annaBen, benAnna, 'Anna and Ben (who reads German) see the same digits');
    assert.equal(annaCleo, cleoAnna);
    assert.equal(benCleo, cleoBen);
    assert.equal(new Set([annaBen, annaCleo, benCleo]).size, 3, 'three links, three codes');
    await people.anna.page.mouse.move(0, 0);
    await screenshot(people.anna.page, 'safety-code.png');
});

test('the code is the link\'s own: made from the certificates both ends negotiated', async () => {
    const shown = await codeOn(people.anna, 'Ben');
    // Anna's link to Ben is the one whose remote certificate is Ben's own.
    const anna = await certificates(people.anna.page);
    const ben = await certificates(people.ben.page);
    const link = anna.find((a) => ben.some((b) => b.local === a.remote && b.remote === a.local));
    assert.ok(link, 'Anna and Ben see each other\'s certificates: nobody in between');
    // The documented derivation, computed here with node's own SHA-256.
    assert.equal(shown, expectedCode(link));
    // The hint is in each page's language; the digits are the same.
    const benRow = people.ben.page.locator('#people li.person', { has: people.ben.page.locator('.pname', { hasText: /^Anna$/ }) });
    assert.equal(await benRow.locator('.pcode-digits').textContent(), shown);
    const annaRow = people.anna.page.locator('#people li.person', { has: people.anna.page.locator('.pname', { hasText: /^Ben$/ }) });
    assert.match(await annaRow.locator('.pcode-hint').textContent(), /same digits/);
    assert.match(await benRow.locator('.pcode-hint').textContent(), /Ziffern/);
});

test('the button hides the code again; a new roster keeps it shown', async () => {
    const page = people.anna.page;
    const row = page.locator('#people li.person', { has: page.locator('.pname', { hasText: /^Cleo$/ }) });
    assert.equal(await row.locator('.pcode').count(), 1);
    // Ben raises his hand: Anna's list is drawn again, Cleo's code stays.
    await people.ben.page.click('#btn-hand');
    await page.waitForSelector('#people li.person .pmarks .icon-hand');
    assert.equal(await row.locator('.pcode').count(), 1);
    await row.locator('button.verify').click();
    assert.equal(await row.locator('.pcode').count(), 0);
    assert.equal(await row.locator('button.verify').getAttribute('aria-expanded'), 'false');
});

test('a second "Anna" is told apart from Anna on every page while both are in', async () => {
    const page = (who) => people[who].page;
    const idOf = (p, name) => p.$eval(`#grid .tile:not(.local)[aria-label^="${name}"]`, (t) => t.dataset.peer);
    const annaId = await idOf(page('ben'), 'Anna');
    const twin = await newParticipant(browser, url(), 'anna', { init: keepPeerConnections });
    await twin.join();
    const twinId = await twin.page.evaluate(() => document.querySelector('#grid .tile.local').dataset.peer);
    const anna = `Anna #${tagOf(annaId)}`;
    const other = `anna #${tagOf(twinId)}`;
    await waitForPlayingVideo(page('ben'), other);
    assert.notEqual(tagOf(annaId), tagOf(twinId));
    // Ben's tiles, list and code lines.
    await page('ben').waitForFunction((n) => [...document.querySelectorAll('#grid .tile .name')].some((e) => e.textContent === n), other);
    assert.deepEqual(await remoteNames(page('ben')), [anna, other, 'Cleo'].sort());
    if (!(await page('ben').isVisible('#people-pane'))) await page('ben').click('#btn-people');
    const rows = () => page('ben').$$eval('#people li.person .pname', (els) => els.map((e) => e.textContent));
    const byName = (names) => [...names].sort((x, y) => x.localeCompare(y));
    assert.deepEqual((await rows()).slice(1), byName([anna, other, 'Cleo']), 'the list is sorted by what it shows');
    for (const name of [anna, other]) {
        const row = page('ben').locator('#people li.person', { has: page('ben').locator('.pname', { hasText: new RegExp(`^${name}$`) }) });
        assert.equal(await row.locator('button.verify').getAttribute('aria-label'), `Sicherheitscode mit ${name}`);
    }
    // Anna reads Ben her code: it matches one line only on his screen, the one tagged as hers.
    const annaBen = await codeOn(people.anna, 'Ben');
    const benAnna = await codeOn(people.ben, anna);
    assert.equal(benAnna, annaBen);
    assert.match(await page('ben').textContent(`#code-${annaId} .pcode-hint`), new RegExp(anna));
    await page('ben').mouse.move(0, 0);
    await page('ben').waitForSelector('#toast', { state: 'hidden', timeout: 15000 });
    await screenshot(page('ben'), 'same-names.png');
    // Each Anna sees herself with the tag the others see.
    await page('anna').click('#btn-people');
    await page('anna').waitForFunction((n) => document.querySelector('#people li.person .pname')?.textContent.includes(n), anna);
    assert.equal(await page('anna').textContent('#people li.person .pname'), `${anna} (you)`);
    assert.equal(await page('anna').textContent('#grid .tile.local .name'), `${anna} (you)`);
    assert.ok(await page('anna').$(`#grid .tile:not(.local)[aria-label^="${other}"]`), 'Anna sees the other one tagged too');
    assert.equal(await twin.page.textContent('#grid .tile.local .name'), `${other} (you)`);
    // Chat: a line from the other one is headed with their tag.
    await twin.page.click('#btn-chat');
    await twin.page.fill('#chat-input', 'it is me, Anna');
    await twin.page.press('#chat-input', 'Enter');
    await page('cleo').click('#btn-chat');
    await page('cleo').waitForFunction(() => [...document.querySelectorAll('#chat-log .text')].some((e) => e.textContent === 'it is me, Anna'));
    assert.equal(await page('cleo').textContent('#chat-log li:last-child .who'), other);
    // The other one leaves: Anna is just Anna again, everywhere.
    await twin.close();
    await page('ben').waitForFunction(() => [...document.querySelectorAll('#grid .tile .name')].some((e) => e.textContent === 'Anna'));
    assert.deepEqual(await remoteNames(page('ben')), ['Anna', 'Cleo']);
    assert.deepEqual((await rows()).slice(1), ['Anna', 'Cleo']);
    await page('anna').waitForFunction(() => document.querySelector('#grid .tile.local .name').textContent === 'Anna (you)');
    await page('cleo').click('#btn-chat');
    // The three are done with (the last test reads what they recorded): a
    // call of three would otherwise run under the tests that follow.
    for (const p of Object.values(people)) await p.close();
});

test('a code line shown follows its link: digits once it connects, the new connection\'s after a repair', async () => {
    // Dora's and Emil's first connection loses its candidates until the ICE
    // restart (about 15 s): their lines are open before the link is up.
    const room = `${stack.url}/safety-follows`;
    const dora = await newParticipant(browser, room, 'Dora', { init: linkBreaker, initArg: { blockFirst: true } });
    await dora.join();
    const emil = await newParticipant(browser, room, 'Emil', { init: linkBreaker, initArg: { blockFirst: true } });
    await emil.join();
    const line = (p, name) => {
        const row = p.page.locator('#people li.person', { has: p.page.locator('.pname', { hasText: new RegExp(`^${name}$`) }) });
        return { row, digits: row.locator('.pcode-digits'), hint: row.locator('.pcode-hint') };
    };
    const pairs = [[dora, 'Emil'], [emil, 'Dora']];
    for (const [p, other] of pairs) {
        await p.page.click('#btn-people');
        await line(p, other).row.locator('button.verify').click();
    }
    for (const [p, other] of pairs) {
        assert.equal(await line(p, other).hint.textContent(), 'Not connected yet.');
        assert.equal(await p.page.evaluate(() => window.__pcs.some((pc) => pc.connectionState === 'connected')), false);
    }
    // Connected: the digits come by themselves, the same on both screens.
    const digitsNow = (p, other, not) => p.page.waitForFunction(([n, old]) => {
        const row = [...document.querySelectorAll('#people li.person')].find((r) => r.querySelector('.pname')?.textContent === n);
        const d = row && row.querySelector('.pcode-digits');
        return d && !d.hidden && /^\d{4}( \d{4}){4}$/.test(d.textContent) && d.textContent !== old ? d.textContent : false;
    }, [other, not], { timeout: 60000 }).then((h) => h.jsonValue());
    const first = await Promise.all(pairs.map(([p, other]) => digitsNow(p, other, null)));
    assert.equal(first[0], first[1]);
    // Emil's connection is closed under his page: self-repair makes a new
    // one, with new certificates; both lines show its code, not the old one.
    // The cut comes at once, while the ICE restart that brought the link up
    // may still be adding candidates: operations pending on a closed
    // connection never settle, and must not hold up the peer's signals.
    await emil.page.evaluate(() => window.__cut(window.__pcs.findIndex((pc) => pc.connectionState === 'connected')));
    const second = await Promise.all(pairs.map(([p, other]) => digitsNow(p, other, first[0])));
    assert.equal(second[0], second[1]);
    assert.notEqual(second[0], first[0]);
    assert.equal(second[0], expectedCode((await certificates(dora.page))[0]));
    for (const p of [dora, emil]) assert.deepEqual(p.errors(), [], p.name);
    await Promise.all([dora.close(), emil.close()]);
});

test('links whose stats were read while they connected show their codes, the same on both ends', async () => {
    // Chromium then reports most of these connections without the remote
    // certificate for good; the codes must not come from the stats.
    const room = `${stack.url}/safety-stats`;
    const names = ['Fay', 'Gus', 'Hal'];
    const group = {};
    for (const name of names) {
        group[name] = await newParticipant(browser, room, name, { init: keepPeerConnections, initArg: { statsWhileConnecting: true } });
        await group[name].join();
    }
    for (const me of names) {
        for (const other of names) if (other !== me) await waitForPlayingVideo(group[me].page, other);
    }
    const codes = {};
    for (const me of names) {
        for (const other of names) if (other !== me) codes[`${me} ${other}`] = await codeOn(group[me], other);
    }
    for (const [a, b] of [['Fay', 'Gus'], ['Fay', 'Hal'], ['Gus', 'Hal']]) {
        assert.match(codes[`${a} ${b}`], /^\d{4} \d{4} \d{4} \d{4} \d{4}$/);
        assert.equal(codes[`${a} ${b}`], codes[`${b} ${a}`], `${a} and ${b}`);
    }
    assert.equal(new Set(Object.values(codes)).size, 3);
    for (const p of Object.values(group)) assert.deepEqual(p.errors(), [], p.name);
    await Promise.all(Object.values(group).map((p) => p.close()));
});

test('no console error, uncaught error, dialog or CSP violation', () => {
    for (const p of Object.values(people)) assert.deepEqual(p.errors(), []);
});
