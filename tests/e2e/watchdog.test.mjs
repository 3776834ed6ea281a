// Signalling is at-most-once (docs/cluster.md): when an offer is lost the
// link does not connect within 15 s, its repair (mesh.js) restarts ICE,
// which offers again, and the call still comes up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack } from '../lib/stack.mjs';
import { advanceClocks, launch, newParticipant, waitForPlayingVideo, remoteNames } from '../lib/browser.mjs';

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

// Drops the first SDP offer this page sends, as a lossy relay would.
function loseFirstOffer() {
    const send = WebSocket.prototype.send;
    window.__dropped = 0;
    WebSocket.prototype.send = function (text) {
        try {
            const m = JSON.parse(text);
            if (!window.__dropped && m.type === 'signal' && m.data && m.data.description
                && m.data.description.type === 'offer') {
                window.__dropped = 1;
                return undefined;
            }
        } catch { /* not ours */ }
        return send.call(this, text);
    };
}

test('a lost offer is sent again by the repair\'s ICE restart and the call comes up', async () => {
    const url = `${stack.url}/lossy`;
    // Bob's clock jumps to the 15 s after which a link that did not
    // connect is broken; the ICE restart's offer and the call go in real time.
    const a = await newParticipant(browser, url, 'Alice');
    await a.join();
    const b = await newParticipant(browser, url, 'Bob', { init: loseFirstOffer, clock: true });
    const steps = [];
    b.page.on('console', (m) => {
        const r = /^huddle: repair \S+ (\S+)$/.exec(m.text());
        if (r) steps.push(r[1]);
    });
    await b.join();
    await b.page.waitForFunction(() => window.__dropped === 1);
    await advanceClocks([b], () => steps.length > 0, 30);
    await waitForPlayingVideo(a.page, 'Bob', 40000);
    await waitForPlayingVideo(b.page, 'Alice', 40000);
    assert.deepEqual(await remoteNames(a.page), ['Bob']);
    assert.deepEqual(await remoteNames(b.page), ['Alice']);
    assert.deepEqual(steps, ['ice-restart', 'repaired'], 'the first step of the repair was enough');
    assert.deepEqual(a.errors(), []);
    assert.deepEqual(b.errors(), []);
});
