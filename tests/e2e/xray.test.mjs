// The link X-ray end to end: three people in Chromium (real nginx, sidecar
// and coturn), Cleo forced to relay through coturn over TCP (as if UDP were
// blocked on her network: an init script adds iceTransportPolicy 'relay'
// and keeps only the TURN-over-TCP URL of what the page passes; test-only,
// the product has no such switch). Each page samples its links, sends one
// `links` message per sample within the sidecar's bucket, and draws the
// N x N Connections table from its own samples and the others' messages:
// every pair in every page, Cleo's links relayed over TCP with the sentence
// that says why (Cleo's network, whichever end ICE relays over TCP), the
// others direct; every remote tile graded. (On a loaded
// machine a link can drop for a moment: it is then down, with its route.) Ben reads
// German. Then the table at 375 px wide, and the screenshot of the panel.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, newParticipant } from '../lib/browser.mjs';
import { startCoturn } from '../lib/coturn.mjs';
import { ARTIFACTS, startStack } from '../lib/stack.mjs';

/** Init script: every connection relay-only, through TURN over TCP only. */
function relayOverTcp() {
    const Native = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Native {
        constructor(config = {}) {
            const iceServers = (config.iceServers || []).map((s) => ({
                ...s, urls: [].concat(s.urls).filter((u) => u.startsWith('turn:') && u.endsWith('?transport=tcp')),
            })).filter((s) => s.urls.length);
            super({ ...config, iceServers, iceTransportPolicy: 'relay' });
        }
    };
}

/** Records the signalling frames of page: the `links` sent, the messages received. */
function recordFrames(page) {
    const rec = { sent: [], got: [] };
    page.on('websocket', (ws) => {
        ws.on('framesent', (f) => {
            const m = parse(f.payload);
            if (m && m.type === 'links') rec.sent.push(m);
        });
        ws.on('framereceived', (f) => {
            const m = parse(f.payload);
            if (m) rec.got.push(m);
        });
    });
    return rec;
}

function parse(payload) {
    try {
        return JSON.parse(String(payload));
    } catch {
        return null;
    }
}

/** The Connections table of page: { ids of rows, cells: [{ from, to, grade, route, say, repair }] }. */
function readTable(page) {
    return page.evaluate(() => {
        const rows = [...document.querySelectorAll('#xray-table tbody tr')];
        return {
            heads: [...document.querySelectorAll('#xray-table thead th')].map((th) => th.scope),
            rowHeads: rows.map((r) => r.querySelector('th[scope="row"]')?.textContent),
            size: rows.map((r) => r.querySelectorAll('td').length),
            cells: [...document.querySelectorAll('#xray-table td[data-from]')].map((td) => ({
                from: td.dataset.from, to: td.dataset.to, grade: td.dataset.grade,
                route: td.dataset.route, say: td.querySelector('.xsay')?.textContent || '',
            })),
        };
    });
}

const secret = crypto.randomBytes(18).toString('base64url');
let coturn;
let browser;
let stack;
const people = {};
const frames = {};
const ids = {};
const NAMES = ['Ann', 'Ben', 'Cleo'];

before(async () => {
    coturn = await startCoturn(secret);
    stack = await startStack({ sidecarEnv: { HUDDLE_TURN_SECRET: secret, HUDDLE_TURN_URLS: coturn.urls } });
    browser = await launch();
    const url = `${stack.url}/xray-room`;
    const who = [['Ann', {}], ['Ben', { context: { locale: 'de-DE' } }], ['Cleo', { init: relayOverTcp }]];
    for (const [name, opts] of who) {
        const p = await newParticipant(browser, url, name, opts);
        frames[name] = recordFrames(p.page);
        people[name] = p;
        await p.join();
        ids[name] = await p.page.evaluate(() => document.querySelector('#grid .tile.local').dataset.peer);
    }
    for (const name of NAMES) await people[name].page.waitForFunction(() => document.querySelectorAll('#grid .tile:not(.local)').length === 2);
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
    if (coturn) await coturn.stop();
});

// Everyone's ids: the first, and any new one a welcome gave after a
// reconnect the server did not resume (a loaded machine can cause one).
const nameOf = (id) => NAMES.find((n) => ids[n] === id
    || frames[n].got.some((m) => m.type === 'welcome' && m.id === id));

test('each page shows the whole 3 x 3 table: every pair measured, Cleo relayed over TCP, the others direct', async () => {
    for (const name of NAMES) {
        const { page } = people[name];
        // A loaded machine can take long to answer a pointer: a generous timeout.
        await page.click('#btn-links', { timeout: 120000 });
        await page.waitForSelector('#links-pane:not([hidden])');
        // Every pair reported by both ends, connected once (the others' reports come in their links messages).
        await page.waitForFunction(() => {
            const cells = [...document.querySelectorAll('#xray-table td[data-from]')];
            // A link a loaded machine has just interrupted is down, but keeps its route.
            // Cleo's UDP check (up to 10 s on a busy machine) names her network once it answered.
            return cells.length === 6 && cells.every((td) => ['good', 'fair', 'poor', 'down'].includes(td.dataset.grade)
                && td.dataset.route !== 'routeUnknown'
                && (td.dataset.route !== 'relayTcp' || td.dataset.grade === 'down' || td.dataset.how === 'relayed-udp-blocked'));
        }, null, { timeout: 60000 }).catch(async (err) => {
            const seen = (await readTable(page)).cells.map((c) => `${nameOf(c.from)}>${nameOf(c.to)} ${c.grade} ${c.route}: ${c.say}`);
            throw new Error(`${name}: the table never showed every link connected:\n${seen.join('\n')}\n${err.message}`);
        });
        const table = await readTable(page);
        assert.deepEqual(table.size, [3, 3, 3], name);
        assert.deepEqual(table.heads, ['col', 'col', 'col', 'col'], name);
        const pairs = table.cells.map((c) => `${nameOf(c.from)}>${nameOf(c.to)}`).sort();
        assert.deepEqual(pairs, ['Ann>Ben', 'Ann>Cleo', 'Ben>Ann', 'Ben>Cleo', 'Cleo>Ann', 'Cleo>Ben'], name);
        for (const c of table.cells) {
            const pair = `${name}: ${nameOf(c.from)} to ${nameOf(c.to)}`;
            const [a, b] = [nameOf(c.from), nameOf(c.to)];
            if (a === 'Cleo' || b === 'Cleo') {
                assert.equal(c.route, 'relayTcp', pair);
                const why = name === 'Ben'
                    ? `${a} und ${b} laufen über ein Relais: UDP ist im Netz von Cleo gesperrt`
                    : `${a} and ${b} are relayed: UDP is blocked on Cleo's network`;
                if (c.grade !== 'down') assert.ok(c.say.startsWith(why), `${pair}: ${c.say}`);
            } else {
                assert.equal(c.route, 'direct', pair);
                if (c.grade !== 'down') assert.match(c.say, name === 'Ben' ? /direkt verbunden/ : /connected directly/, pair);
            }
        }
    }
});

test('every remote tile has a graded badge with a name saying whose link it is', async () => {
    for (const name of NAMES) {
        await people[name].page.waitForFunction(() => {
            const marks = [...document.querySelectorAll('#grid .tile:not(.local) .link-mark')];
            return marks.length === 2 && marks.every((b) => ['good', 'fair', 'poor', 'down'].includes(b.dataset.grade));
        }, null, { timeout: 60000 }).catch(() => { /* said below */ });
        const badges = await people[name].page.$$eval('#grid .tile:not(.local)', (tiles) => tiles.map((t) => {
            const b = t.querySelector('.link-mark');
            return { who: t.querySelector('.name').textContent, hidden: b.hidden, grade: b.dataset.grade, role: b.getAttribute('role'), label: b.getAttribute('aria-label'), tip: b.title };
        }));
        assert.equal(badges.length, 2, name);
        for (const b of badges) {
            assert.equal(b.hidden, false, `${name}: ${JSON.stringify(b)}`);
            assert.ok(['good', 'fair', 'poor', 'down'].includes(b.grade), `${name}: ${JSON.stringify(b)}`);
            assert.equal(b.role, 'img');
            const grade = { good: ['Good', 'Gut'], fair: ['Fair', 'Mittel'], poor: ['Poor', 'Schlecht'], down: ['Down', 'Getrennt'] }[b.grade][name === 'Ben' ? 1 : 0];
            assert.equal(b.label, name === 'Ben' ? `Verbindung zu ${b.who}: ${grade}` : `Connection to ${b.who}: ${grade}`);
            assert.ok(b.tip.length > 0);
        }
    }
});

test('links go to the sidecar within its bucket: no rate-limited error, and each page hears from both others', async () => {
    // a page sends every other sample (about every 4 s): the last to join
    // may have sent one so far
    const deadline = Date.now() + 30000;
    while (NAMES.some((n) => frames[n].sent.length < 2) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
    }
    for (const name of NAMES) {
        const f = frames[name];
        const welcome = f.got.find((m) => m.type === 'welcome');
        assert.equal(welcome.limits.linksIntervalMs, 2000);
        assert.ok(f.sent.length >= 2, `${name} sent ${f.sent.length} links messages`);
        for (const m of f.sent) {
            assert.ok(m.links.length <= welcome.limits.maxLinks && JSON.stringify(m).length <= welcome.limits.maxLinksBytes);
            assert.ok(m.links.every((e) => nameOf(e.peer) !== name), 'never about oneself');
        }
        const errors = f.got.filter((m) => m.type === 'error');
        assert.deepEqual(errors, [], `${name} got errors`);
        const from = new Set(f.got.filter((m) => m.type === 'links').map((m) => nameOf(m.from)));
        assert.deepEqual([...from].sort(), NAMES.filter((n) => n !== name), name);
        // What each side's UDP check found, as the others got it: Cleo
        // reached coturn over TCP only, Ann and Ben over UDP too (so a link
        // they relay over TCP, as ICE may settle on, blames Cleo alone).
        const last = f.got.filter((m) => m.type === 'links').at(-1);
        const udp = last.links.map((e) => e.udp);
        assert.deepEqual(udp, udp.map(() => nameOf(last.from) !== 'Cleo'), `${name} heard from ${nameOf(last.from)}: udp ${udp}`);
        assert.deepEqual(people[name].errors(), []);
    }
});

test('the table stays usable on a 375 px wide phone screen, and someone who leaves drops out of it', async () => {
    const { page } = people.Ann;
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    // The panel with all three people in it (a loaded machine can take long to paint).
    await page.screenshot({ path: path.join(ARTIFACTS, 'connections.png'), timeout: 120000 });
    await page.setViewportSize({ width: 375, height: 740 });
    // Polled on a timer: a starved page may paint no animation frame for long.
    const inWindow = (explain) => {
        const box = (e) => e.getBoundingClientRect();
        const r = box(document.querySelector('#xray-table'));
        const th = box(document.querySelector('#xray-table tbody th'));
        const ok = innerWidth === 375 && r.left >= 0 && r.right <= innerWidth && th.left >= 0 && th.right <= innerWidth && th.width > 0;
        return ok || (explain ? JSON.stringify({ width: innerWidth, table: [r.left, r.right], rowName: [th.left, th.right] }) : false);
    };
    await page.waitForFunction(inWindow, false, { polling: 500, timeout: 60000 })
        .catch(async () => assert.fail(`the table or its row names leave the window: ${await page.evaluate(inWindow, true)}`));
    await people.Cleo.close();
    await page.waitForFunction(() => document.querySelectorAll('#xray-table td[data-from]').length === 2, null, { polling: 500, timeout: 60000 });
    const table = await readTable(page);
    assert.deepEqual(table.cells.map((c) => `${nameOf(c.from)}>${nameOf(c.to)}`).sort(), ['Ann>Ben', 'Ben>Ann']);
    await page.setViewportSize({ width: 1280, height: 800 });
});
