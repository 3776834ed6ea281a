#!/usr/bin/env node
// Join to first frame: two Chromium browsers on loopback; Alice is in the
// room; Bob clicks Join and we measure, inside Bob's page, the time from the
// click to the first video frame of Alice presented on Bob's screen
// (requestVideoFrameCallback). Prints every run and the median.
// Target: <= 1.5 s. Uses its own stack (HUDDLE_BUILD_DIR or build/).
//
//   node bench/join-to-frame.mjs [runs=5]
import { startStack } from '../tests/lib/stack.mjs';
import { launch, newParticipant } from '../tests/lib/browser.mjs';
import { pct } from './lib.mjs';

const runs = Number(process.argv[2] || 5);

// Notes in the page when the first peer connection reaches 'connected'.
function markConnected() {
    const Orig = window.RTCPeerConnection;
    window.RTCPeerConnection = class extends Orig {
        constructor(...args) {
            super(...args);
            this.addEventListener('connectionstatechange', () => {
                if (this.connectionState === 'connected' && !window.__connectedAt) window.__connectedAt = performance.now();
            });
        }
    };
}

async function once(stack, b1, b2, i) {
    const url = `${stack.url}/bench-join-${Date.now()}-${i}`;
    const alice = await newParticipant(b1, url, 'Alice');
    await alice.join();
    const bob = await newParticipant(b2, url, 'Bob', { init: markConnected });
    await bob.page.waitForFunction(() => {
        const v = document.getElementById('preview-video');
        return document.body.dataset.state === 'prejoin' && v.srcObject && v.videoWidth > 0;
    });
    await bob.page.fill('#name-input', 'Bob');
    const r = await bob.page.evaluate(() => new Promise((resolve, reject) => {
        const t0 = performance.now();
        let welcome = 0;
        new MutationObserver(() => {
            if (!welcome && document.body.dataset.state === 'meeting') welcome = performance.now() - t0;
        }).observe(document.body, { attributes: true });
        const timer = setTimeout(() => reject(new Error('no remote frame within 20 s')), 20000);
        const watch = () => {
            const v = document.querySelector('#grid .tile:not(.local) video');
            if (!v) return false;
            obs.disconnect();
            v.requestVideoFrameCallback(() => {
                clearTimeout(timer);
                resolve({ ms: performance.now() - t0, welcome, connected: window.__connectedAt - t0 });
            });
            return true;
        };
        const obs = new MutationObserver(watch);
        obs.observe(document.body, { childList: true, subtree: true });
        document.getElementById('join-btn').click();
    }));
    const errs = [...alice.errors(), ...bob.errors()];
    await bob.close();
    await alice.close();
    return { ...r, errs };
}

async function main() {
    const stack = await startStack({ sidecars: 1 });
    const b1 = await launch();
    const b2 = process.env.ONE_BROWSER ? b1 : await launch();
    const times = [];
    try {
        for (let i = 0; i < runs; i++) {
            const { ms, welcome, connected, errs } = await once(stack, b1, b2, i);
            times.push(ms);
            console.log(`run ${i + 1}: ${ms.toFixed(0)} ms from Join to the first remote frame`
                + ` (welcome at ${welcome.toFixed(0)} ms, connected at ${connected.toFixed(0)} ms)`
                + `${errs.length ? ` page errors: ${errs.join('; ')}` : ''}`);
        }
    } finally {
        await b1.close();
        if (b2 !== b1) await b2.close();
        await stack.stop();
    }
    const [median, min, max] = [pct(times, 50), Math.min(...times), Math.max(...times)];
    console.log(`join-to-first-frame: median ${median.toFixed(0)} ms, min ${min.toFixed(0)} ms, max ${max.toFixed(0)} ms over ${runs} runs; target <= 1500 ms`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
