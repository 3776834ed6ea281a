// A sidecar drained mid-call (SIGTERM, as a deploy does): the people on it
// are told 1012, come back within a moment through nginx to the other
// sidecar with their resume token, keep their ids, and nobody's page ever
// removes a tile or shows a second one; the browser-to-browser media never
// stops. Two sidecars, Redis, nginx, three Chromium participants.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { launch, newParticipant, realErrors, waitForPlayingVideo, remoteNames } from '../lib/browser.mjs';

let stack;
let browser;

before(async () => {
    stack = await startStack({ sidecars: 2 });
    for (const s of stack.sidecars) await s.waitForOutput(/redis up as node/);
    browser = await launch();
});

after(async () => {
    if (browser) await browser.close();
    if (stack) await stack.stop();
});


// Records, in the page, every tile that leaves the grid and the most tiles
// one peer id ever had at once.
function watchTiles() {
    window.__tiles = { removed: [], dup: 0 };
    const start = () => {
        const grid = document.getElementById('grid');
        if (!grid) return setTimeout(start, 50);
        new MutationObserver((records) => {
            for (const r of records) {
                for (const n of r.removedNodes) {
                    if (n.classList && n.classList.contains('tile')) window.__tiles.removed.push(n.dataset.peer || '?');
                }
            }
            const seen = new Map();
            for (const t of grid.querySelectorAll('.tile')) {
                const k = t.dataset.peer || 'local';
                seen.set(k, (seen.get(k) || 0) + 1);
            }
            for (const v of seen.values()) window.__tiles.dup = Math.max(window.__tiles.dup, v);
        }).observe(grid, { childList: true, subtree: true });
        return undefined;
    };
    start();
}

/** Ids of the peers whose seat is held by sidecar s (from its log). */
function seatsOn(s) {
    return new Set([...s.output.matchAll(/ (?:join|resume) room=\S+ peer=(\S+)/g)].map((m) => m[1]));
}

test('a sidecar drained mid-call: its people resume on the other one, no tile removed or doubled, video keeps playing', async () => {
    const url = `${stack.url}/drain-me`;
    const people = [];
    for (const n of ['Alice', 'Bob', 'Chen']) {
        const p = await newParticipant(browser, url, n, { init: watchTiles });
        await p.join();
        people.push(p);
    }
    for (const p of people) {
        for (const q of people) if (p !== q) await waitForPlayingVideo(p.page, q.name);
    }
    for (const p of people) {
        await p.page.$$eval('#grid .tile:not(.local) video', (vs) => vs.forEach((v) => { v.dataset.before = 'yes'; }));
    }
    const ids = await Promise.all(people.map((p) => p.page.evaluate(() => document.querySelector('#grid .tile.local')?.dataset.peer
        ?? null)));
    const sessions = await Promise.all(people.map((p) => p.page.evaluate(() => Number(document.body.dataset.sessions))));
    const frames = await Promise.all(people.map((p) => p.page.$$eval('#grid .tile:not(.local) video',
        (vs) => vs.map((v) => v.getVideoPlaybackQuality().totalVideoFrames))));

    // Drain the sidecar that holds the most of them (at least one).
    const counts = stack.sidecars.map((s) => seatsOn(s).size);
    const victim = stack.sidecars[counts[0] >= counts[1] ? 0 : 1];
    assert.ok(ids.every((id) => typeof id === 'string' && id.length > 0));
    const onVictim = people.filter((p, i) => seatsOn(victim).has(ids[i]));
    assert.ok(onVictim.length >= 1);
    victim.signal('SIGTERM');
    assert.equal((await victim.exited).code, 0);

    // Each of them came back (one more session), with the same id.
    for (const [i, p] of people.entries()) {
        if (!onVictim.includes(p)) continue;
        await p.page.waitForFunction((n) => document.body.dataset.state === 'meeting'
            && Number(document.body.dataset.sessions) > n, sessions[i], { timeout: 20000 });
    }
    const after = await Promise.all(people.map((p) => p.page.evaluate(() => document.querySelector('#grid .tile.local')?.dataset.peer
        ?? null)));
    assert.deepEqual(after, ids);
    const survivor = stack.sidecars.find((s) => s !== victim);
    for (const [i, p] of people.entries()) {
        if (onVictim.includes(p)) assert.ok(seatsOn(survivor).has(ids[i]), `${p.name} resumed on the survivor`);
    }

    for (const [i, p] of people.entries()) {
        const others = people.filter((q) => q !== p).map((q) => q.name).sort();
        assert.deepEqual(await remoteNames(p.page), others);
        for (const q of others) await waitForPlayingVideo(p.page, q);
        const same = await p.page.$$eval('#grid .tile:not(.local) video', (vs) => vs.every((v) => v.dataset.before === 'yes'));
        assert.equal(same, true, `${p.name}: the same video elements`);
        const now = await p.page.$$eval('#grid .tile:not(.local) video',
            (vs) => vs.map((v) => v.getVideoPlaybackQuality().totalVideoFrames));
        now.forEach((n, k) => assert.ok(n > frames[i][k], `${p.name}: frames advance`));
        const tiles = await p.page.evaluate(() => window.__tiles);
        assert.deepEqual(tiles.removed, [], `${p.name}: no tile removed`);
        assert.equal(tiles.dup, 1, `${p.name}: never two tiles for one peer`);
        assert.equal(await p.page.$$eval('#grid .tile', (ts) => ts.length), 3);
    }
    // Signalling still works for everyone.
    await people[0].page.click('#btn-hand');
    await people[1].page.waitForSelector('#grid .tile.hand');
    await people[2].page.waitForSelector('#grid .tile.hand');
    for (const p of people) assert.deepEqual(realErrors(p.errors()), [], p.name);
});
