// Browser harness for the end-to-end tests: Debian's Chromium driven by
// playwright-core, with fake camera and microphone. Each participant is its
// own browser context (own storage, own permissions) in one shared browser,
// and records console errors, uncaught page errors and CSP violations.
//
//   const browser = await launch();
//   const alice = await newParticipant(browser, `${stack.url}/room1`, 'Alice');
//   await alice.join();
//   ... alice.errors() ...
//   await browser.close();
import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS } from './stack.mjs';

export const CHROMIUM = process.env.HUDDLE_CHROMIUM || '/usr/bin/chromium';

const BASE_ARGS = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection',
    '--autoplay-policy=no-user-gesture-required',
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding',
    '--disable-backgrounding-occluded-windows',
    // Separate browser processes cannot resolve each other's mDNS host
    // candidates here (no multicast): show plain local addresses.
    '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/**
 * Starts Chromium. fakeUi: accept camera/microphone prompts automatically
 * (default true); without it, permissions follow each context's grants.
 */
export async function launch({ fakeUi = true, args = [] } = {}) {
    return chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: [...BASE_ARGS, ...(fakeUi ? ['--use-fake-ui-for-media-stream'] : []), ...args],
    });
}

/**
 * A person on the room page at url, in a fresh context. Options:
 * deny (camera and microphone refused), viewport ({width, height}),
 * init (a function run in the page before its own scripts), context (more
 * playwright context options, e.g. { ignoreHTTPSErrors: true }).
 * Returns { page, context, name, join(), errors(), close() }.
 */
export async function newParticipant(browser, url, name, { deny = false, viewport = { width: 1280, height: 800 }, init, context: contextOptions = {} } = {}) {
    const origin = new URL(url).origin;
    const context = await browser.newContext({ viewport, deviceScaleFactor: 1, ...contextOptions });
    try {
        await context.grantPermissions(deny ? [] : ['camera', 'microphone'], { origin });
    } catch {
        // Not a secure origin: there is nothing to grant there.
    }
    const page = await context.newPage();
    const problems = [];
    page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`uncaught: ${err.message}`));
    page.on('dialog', (d) => {
        problems.push(`dialog opened: ${d.type()} ${d.message()}`);
        d.dismiss().catch(() => {});
    });
    await page.exposeFunction('__huddleReportCsp', (v) => problems.push(`CSP violation: ${v}`));
    await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__huddleReportCsp(`${e.violatedDirective} blocked ${e.blockedURI || 'inline'} at ${e.sourceFile}:${e.lineNumber}`);
        });
    });
    if (init) await page.addInitScript(init);
    await page.goto(url);
    const p = {
        page, context, name,
        /** Fills the name and clicks Join; resolves when the meeting shows. */
        async join() {
            await page.waitForFunction(() => document.body.dataset.state === 'prejoin');
            await page.fill('#name-input', name);
            await page.click('#join-btn');
            await page.waitForSelector('#meeting:not([hidden])');
            await page.waitForFunction(() => document.body.dataset.state === 'meeting');
        },
        /** Console errors, uncaught errors, dialogs and CSP violations so far. */
        errors() {
            return problems.slice();
        },
        async close() {
            await context.close().catch(() => {});
        },
    };
    return p;
}

/**
 * Test-only init script (newParticipant's `init`): keeps every
 * RTCPeerConnection the page makes in window.__pcs, to read its senders,
 * stats and certificates.
 */
export function keepPeerConnections() {
    const Orig = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Orig {
        constructor(...args) {
            super(...args);
            window.__pcs.push(this);
        }
    };
}

/** Names on the remote tiles of page (sorted). */
export async function remoteNames(page) {
    return page.$$eval('#grid .tile:not(.local) .name', (els) => els.map((e) => e.textContent).sort());
}

/**
 * Resolves once the remote tile named `name` plays video: a decoded width
 * and new frames presented (two frame callbacks with a growing count).
 * (page.waitForFunction would take the promise of an async check as truthy,
 * so this polls page.evaluate, which awaits it.)
 */
export async function waitForPlayingVideo(page, name, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    let last = null;
    for (;;) {
        last = await page.evaluate(async (n) => {
            const tile = [...document.querySelectorAll('#grid .tile:not(.local)')]
                .find((t) => t.querySelector('.name').textContent === n);
            const v = tile && tile.querySelector('video');
            if (!v) return 'no tile';
            if (!v.videoWidth) return 'no decoded video';
            if (v.paused) return 'paused';
            const frame = () => new Promise((r) => {
                const t = setTimeout(() => r(null), 2000);
                v.requestVideoFrameCallback((_, meta) => { clearTimeout(t); r(meta.presentedFrames); });
            });
            const a = await frame();
            const b = await frame();
            return a !== null && b !== null && b > a ? 'playing' : 'frames stalled';
        }, name);
        if (last === 'playing') return;
        if (Date.now() > deadline) throw new Error(`video of ${name} is not playing: ${last}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

/** Saves a PNG of page to tests/artifacts/<file>. */
export async function screenshot(page, file) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const out = path.join(ARTIFACTS, file);
    await page.screenshot({ path: out });
    return out;
}

/**
 * An init script (newParticipant's init): every RTCPeerConnection of the
 * page uses relayed candidates only (TURN), and is recorded with the types
 * of the candidates it gathered, for connectionStats(). Test-only: the
 * product has no such switch.
 */
export function relayOnly() {
    const Native = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Native {
        constructor(config = {}) {
            super({ ...config, iceTransportPolicy: 'relay' });
            const rec = { pc: this, candidates: [] };
            window.__pcs.push(rec);
            this.addEventListener('icecandidate', (e) => {
                if (e.candidate) rec.candidates.push(e.candidate.type);
            });
        }
    };
}

/**
 * For each connection relayOnly() recorded: its state, ICE policy, TURN
 * URLs, gathered candidate types, the selected pair's local and remote
 * candidate types and the video frames decoded.
 */
export function connectionStats(page) {
    return page.evaluate(async () => Promise.all(window.__pcs.map(async ({ pc, candidates }) => {
        const stats = [...(await pc.getStats()).values()];
        const byId = new Map(stats.map((s) => [s.id, s]));
        const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
        const pair = transport && byId.get(transport.selectedCandidatePairId);
        const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
        return {
            state: pc.connectionState,
            gathering: pc.iceGatheringState,
            policy: pc.getConfiguration().iceTransportPolicy,
            turnUrls: pc.getConfiguration().iceServers.flatMap((s) => [].concat(s.urls)).filter((u) => u.startsWith('turn:')),
            candidates,
            local: pair ? byId.get(pair.localCandidateId)?.candidateType : null,
            remote: pair ? byId.get(pair.remoteCandidateId)?.candidateType : null,
            framesDecoded: video ? video.framesDecoded : 0,
        };
    })));
}
