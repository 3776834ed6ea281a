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
import { afterEach } from 'node:test';
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
 * errs (a person's errors()) without the browser's own console line for a
 * websocket that could not connect: expected while a sidecar is down,
 * draining or restarting.
 */
export const realErrors = (errs) => errs.filter((e) => !/WebSocket connection to .* failed/.test(e));

/**
 * A person on the room page at url, in a fresh context. Options:
 * deny (camera and microphone refused), viewport ({width, height}),
 * init (a function, or a list of them, run in the page before its own
 * scripts; initArg: their argument), clock (the page's timers on
 * Playwright's clock, which the test can jump forward), context (more
 * playwright context options, e.g. { ignoreHTTPSErrors: true }).
 * Returns { page, context, name, join(), errors(), close() }.
 */
export async function newParticipant(browser, url, name, { deny = false, viewport = { width: 1280, height: 800 }, init, initArg, clock = false, context: contextOptions = {} } = {}) {
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
    for (const script of [].concat(init || [])) await page.addInitScript(script, initArg);
    // The page's timers on Playwright's clock: time flows, and the test
    // may jump it forward (page.clock.fastForward).
    if (clock) await page.clock.install();
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
 * For a test file whose tests each open their own people: returns
 * person(url, name, opts), newParticipant in the browser browserOf()
 * gives, and closes everyone it opened after each test, also after one
 * that failed (a page left open keeps its camera, its calls and its
 * reconnects going under every test after it).
 *   const person = peoplePerTest(() => browser);
 *   const ann = await person(`${stack.url}/room`, 'Ann');
 */
export function peoplePerTest(browserOf) {
    const open = [];
    afterEach(async () => {
        for (const p of open.splice(0)) await p.close();
    });
    return async (url, name, opts) => {
        const p = await newParticipant(browserOf(), url, name, opts);
        open.push(p);
        return p;
    };
}

/**
 * Test-only init script (newParticipant's init): window.__focused() says
 * what has the focus on the page: an id or a name for it, and whether it
 * shows: in the window, not transparent, and ringed (its own outline, or
 * the outline of a parent that rings what it holds). 'body' when the
 * focus is outside the page.
 */
export function installFocused() {
    window.__focused = () => {
        const e = document.activeElement;
        if (!e || e === document.body) return { what: 'body', shown: false };
        const ringed = (x) => {
            const s = getComputedStyle(x);
            return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
        };
        let opaque = true;
        for (let x = e; x; x = x.parentElement) if (getComputedStyle(x).opacity !== '1') opaque = false;
        const r = e.getBoundingClientRect();
        const inWindow = r.width > 0 && r.height > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
        const ring = ringed(e) || (!!e.parentElement && ringed(e.parentElement) && e.parentElement.matches(':focus-within'));
        const what = e.id || `${e.className}:${e.getAttribute('aria-label') || ''}`;
        return { what, shown: inWindow && opaque && ring, why: { inWindow, opaque, ring } };
    };
}

/** For page.evaluate: window.__focused() of installFocused. */
export const focused = () => window.__focused();

/** Presses key on page and waits until what has the focus shows (rings fade in); returns focused(). */
export async function press(page, key) {
    await page.keyboard.press(key);
    try {
        await page.waitForFunction(() => window.__focused().shown, null, { timeout: 5000 });
    } catch { /* reported by the caller */ }
    return page.evaluate(focused);
}

/** Tabs until the element with id has the focus (at most 40 stops); returns the stops passed. */
export async function tabTo(page, id) {
    const stops = [];
    for (let i = 0; i < 40; i++) {
        const f = await press(page, 'Tab');
        stops.push(f);
        if (f.what === id) return stops;
    }
    throw new Error(`${id} never got the focus: ${stops.map((s) => s.what).join(', ')}`);
}

/**
 * Test-only init script (newParticipant's init, or page.addInitScript):
 * window.__toasts gets each text the toast shows, with when it came and went.
 */
export function recordToasts() {
    window.__toasts = [];
    document.addEventListener('DOMContentLoaded', () => {
        const el = document.getElementById('toast');
        let cur = null;
        new MutationObserver(() => {
            const shown = !el.hidden && el.textContent;
            if (cur && (!shown || el.textContent !== cur.text)) cur.gone = performance.now();
            if (shown && (!cur || cur.gone !== undefined)) {
                cur = { text: el.textContent, at: performance.now() };
                window.__toasts.push(cur);
            }
        }).observe(el, { attributes: true, childList: true, characterData: true, subtree: true });
    });
}

/**
 * Jumps the clocks of people's pages (newParticipant's `clock`) forward a
 * second at a time (each second's timers fire, and the signalling in
 * between has real time to pass), until done() holds; throws after limitS
 * seconds of page time.
 */
export async function advanceClocks(people, done, limitS = 120) {
    for (let s = 0; !(await done()); s++) {
        if (s >= limitS) throw new Error(`not done after ${limitS} s of page time`);
        for (const p of people) await p.page.clock.fastForward(1000);
        await new Promise((r) => setTimeout(r, 40));
    }
}

/**
 * Test-only init script (newParticipant's `init`) that watches the page's
 * websockets: window.__ws lists every one it opened, window.__sent every
 * message sent on them; while window.__blockWs is true, a new one goes to
 * a path no sidecar serves (the server out of reach).
 */
export function watchSockets() {
    const Native = window.WebSocket;
    window.__ws = [];
    window.__sent = [];
    window.__blockWs = false;
    window.WebSocket = class extends Native {
        constructor(url, ...rest) {
            super(window.__blockWs ? String(url).replace(/\/ws$/, '/no-ws-here') : url, ...rest);
            window.__ws.push(this);
        }

        send(data) {
            window.__sent.push(String(data));
            super.send(data);
        }
    };
}

/**
 * Test-only init script (newParticipant's `init`): window.__tracks lists
 * every camera and microphone track the page was given, so a test can
 * tell which still capture ('live') and which were stopped ('ended').
 */
export function watchTracks() {
    const md = navigator.mediaDevices;
    const native = md.getUserMedia.bind(md);
    window.__tracks = [];
    md.getUserMedia = async (constraints) => {
        const s = await native(constraints);
        window.__tracks.push(...s.getTracks());
        return s;
    };
}

/**
 * Test-only init script (newParticipant's `init`): keeps every
 * RTCPeerConnection of the mesh in window.__pcs, to read its senders,
 * stats and certificates. Not the page's UDP check (sampler.js checkUdp),
 * known by its data channel 'udp-check', made right after it. initArg
 * { statsWhileConnecting: true }: each connection also asks for its stats
 * without a pause until it is connected, as a page that samples its links
 * at the wrong moment does.
 */
export function keepPeerConnections({ statsWhileConnecting = false } = {}) {
    const Orig = window.RTCPeerConnection;
    window.__pcs = [];
    window.RTCPeerConnection = class extends Orig {
        constructor(...args) {
            super(...args);
            window.__pcs.push(this);
            const poll = () => {
                if (!['connected', 'failed', 'closed'].includes(this.connectionState)) this.getStats().then(poll, () => {});
            };
            if (statsWhileConnecting) poll();
        }

        createDataChannel(label, ...rest) {
            if (label === 'udp-check') window.__pcs.splice(window.__pcs.indexOf(this), 1);
            return super.createDataChannel(label, ...rest);
        }
    };
}

/**
 * Test-only init script (newParticipant's init) that breaks a mesh link on
 * purpose. Keeps every RTCPeerConnection of the mesh in window.__pcs (as
 * keepPeerConnections does, without the UDP check's) and counts its signalingstatechange events
 * (pc.__signalingChanges). Two ways to break a link:
 * - initArg { blockFirst: true }: the page's first connection drops the
 *   remote ICE candidates of the first ICE credentials it is given (trickled
 *   or in the SDP; pc.__dropped counts them). With both ends doing so no
 *   connectivity check is ever sent, until an ICE restart changes the
 *   credentials.
 * - initArg { blockAll: true }: every connection of the page drops all its
 *   remote candidates while window.__linksDown is true (it starts so): no
 *   link of the page can connect until the test sets it false.
 * - window.__cut(i): closes connection i behind the page's back: its
 *   transport ends and the page gets no event.
 * - initArg { dropDirect: [lo, hi] }: the page's first connection, and each
 *   one made in the same task as the page closed such a connection (its
 *   replacement, as mesh.js makes it), send no media while
 *   their selected candidate pair is direct, as a firewall that
 *   passes ICE checks but not RTP would do: its senders' tracks are taken off
 *   (natively: the page does not see it) and put back once one end is a
 *   relay candidate or the remote port is in lo..hi (the TURN server's relay
 *   ports, for a remote relay learned as peer-reflexive).
 */
export function linkBreaker({ blockFirst = false, blockAll = false, dropDirect = null } = {}) {
    const Native = window.RTCPeerConnection;
    const ufragOf = (sdp) => (/a=ice-ufrag:(\S+)/.exec(sdp || '') || [])[1];
    window.__pcs = [];
    window.__linksDown = blockAll;
    window.RTCPeerConnection = class extends Native {
        constructor(...args) {
            super(...args);
            this.__signalingChanges = 0;
            this.__dropped = 0;
            // null: block the first remote ufrag (once seen); undefined: never block.
            this.__blocked = blockFirst && window.__pcs.length === 0 ? null : undefined;
            this.__all = blockAll; // blocked while window.__linksDown
            this.__dropDirect = !!dropDirect && (!window.__pcs.length || window.__replacing);
            window.__pcs.push(this);
            this.addEventListener('signalingstatechange', () => { this.__signalingChanges++; });
        }

        createDataChannel(label, ...rest) {
            if (label === 'udp-check') {
                // The page's UDP check, not a link: out of __pcs, and never broken.
                window.__pcs.splice(window.__pcs.indexOf(this), 1);
                this.__blocked = undefined;
                this.__all = false;
                this.__dropDirect = false;
            }
            return super.createDataChannel(label, ...rest);
        }

        /** Whether remote candidates of ICE credentials ufrag are dropped now. */
        __blocks(ufrag) {
            return (this.__all && window.__linksDown) || (!!this.__blocked && ufrag === this.__blocked);
        }

        setRemoteDescription(desc) {
            if (desc && desc.sdp) {
                const u = ufragOf(desc.sdp);
                if (this.__blocked === null) this.__blocked = u;
                if (this.__blocks(u)) {
                    const lines = desc.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:'));
                    desc = { type: desc.type, sdp: lines.join('\r\n') };
                }
            }
            return super.setRemoteDescription(desc);
        }

        close() {
            if (this.__dropDirect) {
                window.__replacing = true;
                queueMicrotask(() => { window.__replacing = false; });
            }
            return super.close();
        }

        addIceCandidate(c) {
            if (c && c.candidate) {
                const u = c.usernameFragment || ufragOf(this.remoteDescription && this.remoteDescription.sdp);
                if (this.__blocks(u)) {
                    this.__dropped++;
                    return Promise.resolve();
                }
            }
            return super.addIceCandidate(c);
        }
    };
    window.__cut = (i) => Native.prototype.close.call(window.__pcs[i]);
    if (dropDirect) {
        setInterval(() => {
            for (const pc of window.__pcs) if (pc.__dropDirect) dropWhileDirect(pc, dropDirect);
        }, 200);
    }

    async function dropWhileDirect(pc, [lo, hi]) {
        if (!pc || pc.connectionState === 'closed') return;
        const stats = [...(await pc.getStats()).values()];
        const byId = new Map(stats.map((s) => [s.id, s]));
        const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
        const pair = transport && byId.get(transport.selectedCandidatePairId);
        const local = pair && byId.get(pair.localCandidateId);
        const remote = pair && byId.get(pair.remoteCandidateId);
        const relayed = !!pair && (local.candidateType === 'relay' || remote.candidateType === 'relay'
            || (remote.candidateType === 'prflx' && remote.port >= lo && remote.port <= hi));
        pc.__held ??= new Map();
        for (const s of pc.getSenders()) {
            if (!relayed && s.track) {
                pc.__held.set(s, s.track);
                RTCRtpSender.prototype.replaceTrack.call(s, null);
            } else if (relayed && pc.__held.has(s)) {
                RTCRtpSender.prototype.replaceTrack.call(s, pc.__held.get(s));
                pc.__held.delete(s);
            }
        }
    }
}

/**
 * For each connection the page's init script recorded in window.__pcs
 * (linkBreaker, keepPeerConnections: the connection; relayOnly: { pc,
 * candidates }): its state, ICE gathering state, ICE transport policy,
 * TURN URLs, signalling changes, local SDP, candidates dropped, the types
 * of the candidates it gathered (relayOnly), the selected pair's local and
 * remote candidate types and ports (the two ends of one link show the
 * same two ports crosswise) and the video frames decoded.
 */
export function linkInfo(page) {
    return page.evaluate(async () => Promise.all(window.__pcs.map(async (entry, i) => {
        const pc = entry.pc || entry;
        const stats = [...(await pc.getStats().catch(() => new Map())).values()];
        const byId = new Map(stats.map((s) => [s.id, s]));
        const transport = stats.find((s) => s.type === 'transport' && s.selectedCandidatePairId);
        const pair = transport && byId.get(transport.selectedCandidatePairId);
        const local = pair && byId.get(pair.localCandidateId);
        const remote = pair && byId.get(pair.remoteCandidateId);
        const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
        const config = pc.connectionState === 'closed' ? null : pc.getConfiguration();
        return {
            i,
            state: pc.connectionState,
            gathering: pc.iceGatheringState,
            policy: config ? config.iceTransportPolicy : null,
            turnUrls: config ? config.iceServers.flatMap((s) => [].concat(s.urls)).filter((u) => u.startsWith('turn:')) : [],
            changes: pc.__signalingChanges,
            sdp: pc.localDescription ? pc.localDescription.sdp : null,
            dropped: pc.__dropped,
            candidates: entry.candidates,
            localType: local ? local.candidateType : null,
            localPort: local ? local.port : null,
            remoteType: remote ? remote.candidateType : null,
            remotePort: remote ? remote.port : null,
            framesDecoded: video ? video.framesDecoded : 0,
        };
    })));
}

/** Asserts that the side panel's four tabs share one row on page, once
 * its slide is over. */
export async function assertTabsOneRow(page, what = '') {
    const tops = await page.evaluate(async () => {
        await Promise.all(document.getElementById('panel').getAnimations().map((an) => an.finished.catch(() => {})));
        return [...document.querySelectorAll('#panel .tab')].map((e) => Math.round(e.getBoundingClientRect().top));
    });
    if (tops.length !== 4 || new Set(tops).size !== 1) throw new Error(`${what ? `${what} ` : ''}the panel's tabs are not on one row: tops ${tops}`);
}

/**
 * The controls shown on page whose accessible name does not start with the
 * words on them ("label in name": a voice command of what one sees, "click
 * Admit", finds the control), as '"seen" named "name"'; [] when all do.
 * Only aria-label can make them differ; words hidden for screen readers
 * alone (.sr) and icons are not "seen".
 */
export function labelsNotInName(page) {
    return page.evaluate(() => [...document.querySelectorAll('button, a[href], [role="tab"], [role="button"]')]
        .filter((b) => b.getClientRects().length > 0 && b.hasAttribute('aria-label'))
        .map((b) => {
            const copy = b.cloneNode(true);
            for (const x of copy.querySelectorAll('.sr, svg, [hidden]')) x.remove();
            return { seen: copy.textContent.replace(/\s+/g, ' ').trim(), name: b.getAttribute('aria-label') };
        })
        .filter(({ seen, name }) => seen && !name.toLocaleLowerCase().startsWith(seen.toLocaleLowerCase()))
        .map(({ seen, name }) => `"${seen}" named "${name}"`));
}

/** Names on the remote tiles of page (sorted). */
export async function remoteNames(page) {
    return page.$$eval('#grid .tile:not(.local) .name', (els) => els.map((e) => e.textContent).sort());
}

/**
 * Polls check (a page function given arg) until it returns true; fails
 * with what and its last answer after timeoutMs. For states no event tells.
 */
export async function until(page, check, arg, what, timeoutMs = 30000) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        last = await page.evaluate(check, arg);
        if (last === true) return;
        if (Date.now() > deadline) throw new Error(`${what}: ${JSON.stringify(last)}`);
        await new Promise((r) => setTimeout(r, 200));
    }
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
 * page uses relayed candidates only (TURN), and each of the mesh is
 * recorded with the types of the candidates it gathered, for linkInfo(). Test-only: the
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

        createDataChannel(label, ...rest) {
            // The page's UDP check (sampler.js), not a link: not recorded.
            if (label === 'udp-check') window.__pcs = window.__pcs.filter((r) => r.pc !== this);
            return super.createDataChannel(label, ...rest);
        }
    };
}

