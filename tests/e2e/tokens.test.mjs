// Invitation links (join tokens, docs/tokens.md) as people meet them: real
// nginx + fcgi + a sidecar that requires tokens, and real Chromium. A good
// link lets its holder in under the token's name (shown from the start,
// and fixed) and role; a refused one
// gets a screen that says why in the page's language (the error's reason,
// never the server's English words), and "Try again" only where waiting
// can help.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, peoplePerTest, screenshot, watchSockets } from '../lib/browser.mjs';
import { claims, mint, now } from '../lib/tokens.mjs';
import { connect } from '../lib/wsclient.mjs';

const SECRET = 'an-e2e-secret-of-more-than-32-bytes-0123456789';
let stack;
let browser;

before(async () => {
    // Two people a room at most: a full room's screen is one test's.
    stack = await startStack({ sidecarEnv: { HUDDLE_JWT_SECRET: SECRET, HUDDLE_MAX_PEERS: '2' } });
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});

const opened = peoplePerTest(() => browser);

/** A person opening room's link, with token in it when given; p.warnings: the console's warnings. */
async function person(room, name, token, opts) {
    const url = `${stack.url}/${room}${token ? `?token=${token}` : ''}`;
    const p = await opened(url, name, opts);
    p.warnings = [];
    p.page.on('console', (m) => { if (m.type() === 'warning') p.warnings.push(m.text()); });
    return p;
}

/**
 * Types the name (unless the link's token gave one), clicks Join and waits
 * for the refusal's screen: { why, title, text, actions }.
 */
async function refusal(p) {
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    if (!await p.page.$eval('#name-input', (i) => i.readOnly)) await p.page.fill('#name-input', p.name);
    await p.page.click('#join-btn');
    await p.page.waitForSelector('#gate:not([hidden])');
    return p.page.evaluate(() => ({
        why: document.getElementById('gate').dataset.why,
        title: document.getElementById('gate-title').textContent,
        text: document.getElementById('gate-text').textContent,
        actions: [...document.querySelectorAll('#gate-actions a, #gate-actions button')].map((e) => e.textContent),
    }));
}

const token = (c) => mint(c, { secret: SECRET });

test('an invitation link names its holder: the name fields show the token\'s name, fixed, and everyone sees it', async () => {
    const room = 'tok-good';
    const host = await person(room, 'Typed Name', token(claims(room, { name: 'Dr. Ada', role: 'host' })), { init: watchSockets });
    assert.equal(new URL(host.page.url()).search, '', 'the token left the address bar');
    await host.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.deepEqual(await host.page.$eval('#name-input', (i) => [i.value, i.readOnly, document.activeElement.id]), ['Dr. Ada', true, 'join-btn']);
    assert.equal(await host.page.textContent('#name-invited:not([hidden])'), 'Your name comes from your invitation.');
    assert.match(await host.page.getAttribute('#name-input', 'aria-describedby'), /\bname-invited\b/);
    await host.page.click('#join-btn');
    await host.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    await host.page.click('#btn-people');
    assert.equal(await host.page.textContent('#people li.person:has(.own-name > .own:text-is("Dr. Ada")) .host-badge'), 'Host');
    await host.page.click('#btn-settings');
    assert.deepEqual(await host.page.$eval('#set-name', (i) => [i.value, i.readOnly]), ['Dr. Ada', true]);
    assert.equal(await host.page.isVisible('#set-name-save'), false);
    assert.equal(await host.page.isVisible('#set-name-invited'), true);
    await host.page.press('#set-name', 'Enter'); // submits the form: nothing may go out

    const guest = await person(room, 'Pat', token(claims(room, { name: 'Pat Guest' })));
    await guest.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    await guest.page.click('#join-btn');
    await guest.page.click('#btn-people');
    await guest.page.waitForSelector('#people li.person:has(.pname:text-is("Dr. Ada")) .host-badge');
    await guest.page.waitForSelector('#people li.person:has(.own-name > .own:text-is("Pat Guest"))');
    await host.page.click('#tab-people');
    await host.page.waitForSelector('#people li.person:has(.pname:text-is("Pat Guest"))');
    assert.equal(await host.page.isVisible('#people li.person:has(.pname:text-is("Pat Guest")) .host-badge'), false);
    // The connection drops and the page takes its seat back: it never asked
    // to be called anything else, then or before (the sidecar would refuse it).
    const sessions = await host.page.evaluate(() => document.body.dataset.sessions);
    await host.page.evaluate(() => window.__ws.at(-1).close(4000, 'a test drops it'));
    await host.page.waitForFunction((n) => document.body.dataset.sessions !== n && document.body.dataset.state === 'meeting', sessions);
    await host.page.waitForTimeout(300);
    const renames = await host.page.evaluate(() => window.__sent.map((m) => JSON.parse(m)).filter((m) => m.type === 'state' && 'name' in m));
    assert.deepEqual(renames, []);
    await screenshot(host.page, 'token-named.png');
    assert.deepEqual([...host.errors(), ...guest.errors()], []);
});

test('a new invitation opened in the same tab comes in under its own name and role, not as the seat the tab held', async () => {
    const room = 'tok-same-tab';
    const p = await person(room, 'Typed', token(claims(room, { name: 'Ann Host', role: 'host' })));
    await p.page.click('#join-btn');
    await p.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    // The same tab, moments later, opens a guest's link: before, leaving
    // kept the seat for a reload and the new join took it back, as Ann
    // and a host.
    await p.page.goto(`${stack.url}/${room}?token=${token(claims(room, { name: 'Bob Guest' }))}`);
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await p.page.inputValue('#name-input'), 'Bob Guest');
    await p.page.click('#join-btn');
    await p.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    await p.page.click('#btn-people');
    await p.page.waitForSelector('#people li.person:has(.own-name > .own:text-is("Bob Guest"))');
    assert.equal(await p.page.isVisible('#people li.person:has(.own-name > .own:text-is("Bob Guest")) .host-badge'), false);
    assert.equal(await p.page.isVisible('#host-tools'), false);
    // Left: Rejoin, but no new meeting (it would need an invitation too).
    await p.page.click('#btn-leave');
    await p.page.waitForFunction(() => document.body.dataset.state === 'left');
    assert.deepEqual(await p.page.$$eval('.left-actions a', (as) => as.filter((a) => a.getClientRects().length).map((a) => a.textContent)), ['Rejoin']);
});

test('a token whose name the page cannot read still fixes the name in Settings: the server\'s, never renamed', async () => {
    const room = 'tok-odd-bytes';
    // A stray Latin-1 byte in a claim the sidecar ignores ("iss"): it takes
    // the token; a strict UTF-8 reading of the payload did not.
    const payload = Buffer.concat([
        // Two spaces in the name, which the page's cleanName would make one:
        // a rename from Settings would then differ from the seat's name.
        Buffer.from(`{"room":"${room}","name":"Ann  Token","role":"guest","exp":${now() + 600},"iss":"Z`),
        Buffer.from([0xfc]), Buffer.from('rich"}'),
    ]);
    const p = await person(room, 'Typed', mint(payload, { secret: SECRET }), { init: watchSockets });
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await p.page.inputValue('#name-input'), 'Ann Token');
    await p.page.click('#join-btn');
    await p.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    await p.page.click('#btn-settings');
    assert.deepEqual(await p.page.$eval('#set-name', (i) => [i.value, i.readOnly]), ['Ann  Token', true], 'the server\'s name, as it is');
    await p.page.press('#set-name', 'Enter'); // submits the form: nothing may go out
    const renames = await p.page.evaluate(() => window.__sent.map((m) => JSON.parse(m)).filter((m) => m.type === 'state' && 'name' in m));
    assert.deepEqual(renames, []);
});

test('the longest token the sidecar takes (4096 bytes) opens the room page and lets its holder in', async () => {
    const room = 'tok-long-room-name-of-some-length-0123456789';
    const sized = (pad) => token(claims(room, { name: 'Lou Long', pad: 'x'.repeat(pad) }));
    let pad = 0;
    while (sized(pad + 1).length <= 4096) pad++;
    const tok = sized(pad);
    assert.equal(tok.length, 4096);
    // Before, huddle-fcgi took request URIs of 4096 bytes at most: this
    // link was answered 400 "bad request".
    const res = await fetch(`${stack.url}/${room}?token=${tok}`);
    assert.equal(res.status, 200);
    const p = await person(room, 'Typed', tok);
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
    assert.equal(await p.page.inputValue('#name-input'), 'Lou Long');
    await p.page.click('#join-btn');
    await p.page.waitForFunction(() => document.body.dataset.state === 'meeting');
    assert.deepEqual(p.errors(), []);
});

test('a refused link says why in words, for each reason, and offers Try again only for a link not valid yet', async () => {
    const room = 'tok-refused';
    const cases = [
        [null, 'An invitation is needed', 'This meeting needs an invitation link from the organizer.', false],
        [token(claims(room, { exp: now() - 120 })), 'This invitation has expired', 'Ask the organizer for a new invitation link.', false],
        [token(claims('another-meeting')), 'This invitation is for another meeting', 'Ask the organizer for the link to this one.', false],
        [mint(claims(room), { secret: 'not-the-secret-of-this-server-but-long-enough' }), 'This invitation is not valid', 'Ask the organizer for a new invitation link.', false],
        [token(claims(room, { nbf: now() + 600 })), 'This invitation is not valid yet', 'Try again at the time of the meeting, or check the clock of this device.', true],
    ];
    for (const [tok, title, text, retry] of cases) {
        const p = await person(room, 'Sam', tok);
        const seen = await refusal(p);
        assert.deepEqual(seen, {
            why: 'bad-token', title, text,
            actions: retry ? ['Try again'] : [], // a new meeting would need an invitation too
        });
        if (retry) await screenshot(p.page, 'token-early.png');
        assert.equal(await p.page.evaluate(() => document.activeElement.id), retry ? '' : 'gate-title', 'the focus is on the card');
        // The server's English reason is for whoever debugs the link: in the console, not on the screen.
        assert.deepEqual(p.errors(), []);
        assert.ok(p.warnings.some((w) => /^huddle: token refused: [a-z-]+ (this room needs a token|the token)/.test(w)), p.warnings.join('\n'));
        await p.close();
    }
});

test('a refused link in German says why in German, with none of the server\'s English words', async () => {
    const room = 'tok-de';
    const p = await person(room, 'Jonas', token(claims(room, { exp: now() - 120 })), { context: { locale: 'de-DE' } });
    const seen = await refusal(p);
    assert.equal(seen.title, 'Diese Einladung ist abgelaufen');
    assert.equal(seen.text, 'Bitten Sie die Organisation um einen neuen Einladungslink.');
    assert.doesNotMatch(await p.page.textContent('#gate'), /token|expired/i);
});

test('with an invitation, a full room offers Try again but no new meeting, and a copied link says each person needs their own invitation', async () => {
    const room = 'tok-full';
    const bots = [];
    try {
        for (const name of ['Bot One', 'Bot Two']) {
            const c = await connect(stack.wsUrl, { origin: stack.url });
            bots.push(c);
            await c.join(room, name, { token: token(claims(room, { name })) });
        }
        const p = await person(room, 'Typed', token(claims(room, { name: 'Cleo Late' })));
        await p.context.grantPermissions(['camera', 'microphone', 'clipboard-read', 'clipboard-write'], { origin: stack.url });
        await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin');
        await p.page.click('#join-btn');
        await p.page.waitForSelector('#pre-full:not([hidden])');
        assert.deepEqual(await p.page.$$eval('#pre-full a, #pre-full button', (es) => es.filter((e) => e.getClientRects().length).map((e) => e.textContent)),
            ['Try again'], 'a new meeting would need an invitation too');
        // The link it copies holds no invitation (the token stays in this tab).
        await p.page.click('#pre-copy');
        await p.page.waitForFunction(() => document.getElementById('toast').textContent.includes('Link copied. To join, each person needs their own invitation from the organizer.'));
        assert.equal(await p.page.evaluate(() => navigator.clipboard.readText()), `${stack.url}/${room}`);
        assert.deepEqual(p.errors(), []);
    } finally {
        for (const c of bots) c.terminate();
    }
});
