#!/usr/bin/env node
// Page load: Chromium opens a room page with an empty cache over a slow
// link (the DevTools protocol's network emulation: RTT and bandwidth below)
// and we measure the time from navigation to the pre-join screen being
// ready (body[data-state=prejoin]: the scripts loaded, ran and translated
// the page). Prints every run, the median, and the requests and bytes the
// page took. Uses its own stack (HUDDLE_BUILD_DIR or build/).
//
//   node bench/page-load.mjs [runs=5] [rtt_ms=150] [kbit_s=1600]
import { startStack } from '../tests/lib/stack.mjs';
import { launch, newParticipant } from '../tests/lib/browser.mjs';
import { pct } from './lib.mjs';

const runs = Number(process.argv[2] || 5);
const rtt = Number(process.argv[3] || 150);
const kbit = Number(process.argv[4] || 1600);

async function once(stack, browser, i) {
    // A blank page first, so that the emulation holds before the room's
    // first byte; then the room page, timed by the browser itself.
    const p = await newParticipant(browser, 'about:blank', 'Bench');
    const cdp = await p.context.newCDPSession(p.page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: rtt, downloadThroughput: (kbit * 1000) / 8, uploadThroughput: (kbit * 1000) / 8,
    });
    let requests = 0;
    let bytes = 0;
    cdp.on('Network.loadingFinished', (e) => {
        requests++;
        bytes += e.encodedDataLength;
    });
    await p.page.goto(`${stack.url}/bench-load-${Date.now()}-${i}`);
    await p.page.waitForFunction(() => document.body.dataset.state === 'prejoin', null, { timeout: 60000 });
    const ms = await p.page.evaluate(() => performance.now());
    const errs = p.errors();
    await p.close();
    if (errs.length) throw new Error(`page errors: ${errs.join('; ')}`);
    return { ms, requests, bytes };
}

const stack = await startStack({ sidecars: 1 });
const browser = await launch();
try {
    console.log(`page load: ${rtt} ms round trip, ${kbit} kbit/s each way, empty cache`);
    const all = [];
    for (let i = 0; i < runs; i++) {
        const r = await once(stack, browser, i);
        all.push(r);
        console.log(`  run ${i + 1}: pre-join ready after ${r.ms.toFixed(0)} ms (${r.requests} requests, ${(r.bytes / 1024).toFixed(1)} KiB)`);
    }
    console.log(`median: ${pct(all.map((r) => r.ms), 50).toFixed(0)} ms to the pre-join screen`);
} finally {
    await browser.close();
    await stack.stop();
}
