// TURN end to end: Debian's coturn configured by scripts/render-coturn.sh,
// a sidecar handing out REST-API credentials for it, and two Chromium
// participants allowed to use relayed candidates only. With the sidecar's
// secret equal to coturn's they see each other's video through the relay;
// with a wrong secret coturn refuses them and they never connect.
//
// Relay-only is forced from the test, not from the page: an init script
// wraps RTCPeerConnection to add iceTransportPolicy 'relay' to whatever
// configuration the page passes (its iceServers come from the sidecar's
// welcome), and keeps each connection and its candidates for getStats.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import dgram from 'node:dgram';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { connectionStats, launch, newParticipant, relayOnly, waitForPlayingVideo } from '../lib/browser.mjs';
import { Proc, ROOT, freePort, sleep, startStack, tmpDir, waitForConnect } from '../lib/stack.mjs';

/** A free UDP port range of n ports (checked by binding each). */
async function freeUdpRange(n) {
    for (let tries = 0; tries < 20; tries++) {
        const base = 40000 + Math.floor(Math.random() * 8000);
        const socks = [];
        let ok = true;
        for (let p = base; p < base + n && ok; p++) {
            const s = dgram.createSocket('udp4');
            ok = await new Promise((resolve) => {
                s.once('error', () => resolve(false));
                s.bind(p, '127.0.0.1', () => resolve(true));
            });
            socks.push(s);
        }
        for (const s of socks) { try { s.close(); } catch { /* not bound */ } }
        if (ok) return base;
    }
    throw new Error('no free UDP port range');
}

/** coturn on 127.0.0.1 with secret; resolves once it accepts TCP. */
async function startCoturn(secret) {
    const dir = tmpDir('coturn');
    const port = await freePort();
    const min = await freeUdpRange(20);
    const conf = path.join(dir, 'turnserver.conf');
    const r = spawnSync(path.join(ROOT, 'scripts', 'render-coturn.sh'), [conf], {
        encoding: 'utf8',
        env: {
            ...process.env, TURN_SECRET: secret, TURN_LISTEN_IP: '127.0.0.1', TURN_RELAY_IP: '127.0.0.1',
            TURN_PORT: String(port), TURN_MIN_PORT: String(min), TURN_MAX_PORT: String(min + 19),
            TURN_ALLOW_LOOPBACK: '1', TURN_PIDFILE: path.join(dir, 'turnserver.pid'),
        },
    });
    assert.equal(r.status, 0, r.stderr);
    const proc = new Proc('coturn', 'turnserver', ['-c', conf]);
    await Promise.race([waitForConnect({ port }), proc.exited.then(() => {
        throw new Error(`turnserver exited at start:\n${proc.tail()}`);
    })]);
    proc.port = port;
    proc.urls = `turn:127.0.0.1:${port}?transport=udp,turn:127.0.0.1:${port}?transport=tcp`;
    return proc;
}

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
            const all = await connectionStats(p.page);
            const live = all.filter((s) => s.state === 'connected');
            assert.equal(live.length, 1, `${p.name}: ${JSON.stringify(all)}`);
            const s = live[0];
            assert.equal(s.policy, 'relay');
            assert.equal(s.turnUrls.length, 2, 'the udp and tcp TURN URLs from welcome');
            assert.ok(s.candidates.length > 0 && s.candidates.every((t) => t === 'relay'), JSON.stringify(s));
            assert.equal(s.local, 'relay', `${p.name}: ${JSON.stringify(s)}`);
            assert.equal(s.remote, 'relay', `${p.name}: ${JSON.stringify(s)}`);
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
            seen = await Promise.all(people.map((p) => connectionStats(p.page)));
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
