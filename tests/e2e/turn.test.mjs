// TURN end to end: Debian's coturn configured by scripts/render-coturn.sh,
// a sidecar handing out REST-API credentials for it, and two Chromium
// participants allowed to use relayed candidates only. With the sidecar's
// secret equal to coturn's they see each other's video through the relay;
// with a wrong secret coturn refuses them and they never connect; with
// credentials that last 10 s, the pages renew theirs, and a newcomer after
// the first ones expired still gets relayed to everyone.
//
// Relay-only is forced from the test, not from the page: an init script
// wraps RTCPeerConnection to add iceTransportPolicy 'relay' to whatever
// configuration the page passes (its iceServers come from the sidecar's
// welcome), and keeps each connection and its candidates for getStats.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { after, before, test } from 'node:test';
import { launch, linkInfo, newParticipant, relayOnly, waitForPlayingVideo, watchSockets } from '../lib/browser.mjs';
import { startCoturn } from '../lib/coturn.mjs';
import { sleep, startStack } from '../lib/stack.mjs';

const secret = crypto.randomBytes(18).toString('base64url');
let coturn;
let browser;
before(async () => {
    coturn = await startCoturn(secret);
    browser = await launch();
});
after(async () => {
    if (browser) await browser.close();
    if (coturn) await coturn.stop();
});

test('two relay-only participants see each other through coturn with the sidecar\'s credentials', async () => {
    const stack = await startStack({ sidecarEnv: { HUDDLE_TURN_SECRET: secret, HUDDLE_TURN_URLS: coturn.urls } });
    const logFrom = coturn.output.length;
    const people = [];
    try {
        const url = `${stack.url}/turn-ok`;
        for (const name of ['Alice', 'Bob']) {
            const p = await newParticipant(browser, url, name, { init: relayOnly });
            people.push(p);
            await p.join();
        }
        const [alice, bob] = people;
        await waitForPlayingVideo(alice.page, 'Bob');
        await waitForPlayingVideo(bob.page, 'Alice');
        for (const p of people) {
            const all = await linkInfo(p.page);
            const live = all.filter((s) => s.state === 'connected');
            assert.equal(live.length, 1, `${p.name}: ${JSON.stringify(all)}`);
            const s = live[0];
            assert.equal(s.policy, 'relay');
            assert.equal(s.turnUrls.length, 2, 'the udp and tcp TURN URLs from welcome');
            assert.ok(s.candidates.length > 0 && s.candidates.every((t) => t === 'relay'), JSON.stringify(s));
            assert.equal(s.localType, 'relay', `${p.name}: ${JSON.stringify(s)}`);
            assert.equal(s.remoteType, 'relay', `${p.name}: ${JSON.stringify(s)}`);
            assert.ok(s.framesDecoded > 0, `${p.name}: no video frame decoded`);
            assert.deepEqual(p.errors(), []);
        }
        assert.doesNotMatch(coturn.output.slice(logFrom), /check_stun_auth/, 'coturn refused a credential');
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});

test('with a wrong secret in the sidecar, coturn refuses and relay-only participants never connect', async () => {
    const stack = await startStack({ sidecarEnv: { HUDDLE_TURN_SECRET: `${secret}-wrong`, HUDDLE_TURN_URLS: coturn.urls } });
    const logFrom = coturn.output.length;
    const people = [];
    try {
        const url = `${stack.url}/turn-wrong`;
        for (const name of ['Carol', 'Dave']) {
            const p = await newParticipant(browser, url, name, { init: relayOnly });
            people.push(p);
            await p.join();
        }
        // Both sides made their connection and finished gathering: coturn
        // refused every allocation, so no relayed candidate exists.
        const deadline = Date.now() + 15000;
        let seen = [];
        for (;;) {
            seen = await Promise.all(people.map((p) => linkInfo(p.page)));
            const gathered = seen.every((all) => all.length > 0 && all.every((s) => s.gathering === 'complete'));
            if (gathered || Date.now() > deadline) break;
            await sleep(250);
        }
        for (const [i, all] of seen.entries()) {
            assert.ok(all.length > 0, `${people[i].name} made no connection`);
            for (const s of all) {
                assert.equal(s.gathering, 'complete', JSON.stringify(s));
                assert.deepEqual(s.candidates, [], `${people[i].name} got candidates: ${JSON.stringify(s)}`);
                assert.notEqual(s.state, 'connected');
                assert.equal(s.framesDecoded, 0);
            }
        }
        assert.match(coturn.output.slice(logFrom), /check_stun_auth: Cannot find credentials of user <\d+:/,
            'coturn refused the credentials');
        for (const p of people) {
            const video = await p.page.evaluate(() => [...document.querySelectorAll('#grid .tile:not(.local) video')]
                .map((v) => v.videoWidth));
            assert.ok(video.every((w) => w === 0), `${p.name} decoded remote video`);
        }
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});

// Test-only init scripts: relay-only connections, and the socket's messages.
const relayAndSockets = [relayOnly, watchSockets];

test('credentials that expire in the meeting are renewed: a newcomer after they expired is relayed to everyone', async () => {
    const stack = await startStack({
        sidecarEnv: { HUDDLE_TURN_SECRET: secret, HUDDLE_TURN_URLS: coturn.urls, HUDDLE_TURN_TTL_S: '10' },
    });
    const logFrom = coturn.output.length;
    const people = [];
    const usernames = (p) => p.page.evaluate(() => window.__pcs.filter((r) => r.pc.connectionState !== 'closed')
        .map((r) => r.pc.getConfiguration().iceServers.find((s) => s.username).username));
    try {
        const url = `${stack.url}/turn-long`;
        for (const name of ['Erin', 'Frank']) {
            const p = await newParticipant(browser, url, name, { init: relayAndSockets });
            people.push(p);
            await p.join();
        }
        const [erin, frank] = people;
        await waitForPlayingVideo(erin.page, 'Frank');
        const [first] = await usernames(erin);
        // Halfway through (5 s) each page asks, and its link takes the new ones.
        for (const p of people) {
            await p.page.waitForFunction(() => window.__sent.some((m) => JSON.parse(m).type === 'ice'), null, { timeout: 15000 });
        }
        await erin.page.waitForFunction((old) => window.__pcs.some((r) => r.pc.connectionState !== 'closed'
            && r.pc.getConfiguration().iceServers.find((s) => s.username).username !== old), first);
        // Past the first credentials' lifetime, someone new: before, every
        // page still offered the ones of its welcome, and coturn refused them.
        const expiry = Number(first.split(':')[0]) * 1000;
        await sleep(Math.max(0, expiry + 1000 - Date.now()));
        const gina = await newParticipant(browser, url, 'Gina', { init: relayAndSockets });
        people.push(gina);
        await gina.join();
        for (const [p, other] of [[gina, 'Erin'], [gina, 'Frank'], [erin, 'Gina'], [frank, 'Gina']]) {
            await waitForPlayingVideo(p.page, other);
        }
        assert.doesNotMatch(coturn.output.slice(logFrom), /check_stun_auth/, 'coturn refused a credential');
        for (const p of people) assert.deepEqual(p.errors(), []);
    } finally {
        for (const p of people) await p.close();
        await stack.stop();
    }
});
