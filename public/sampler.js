// Samples every mesh link's getStats() every INTERVAL_MS and hands the
// samples on as one 'sample' event: the one place the page reads link
// statistics. The X-ray (what the room is told, the tiles, the Connections
// panel) and the quality governor (uplink, what limits the encoder) both
// listen to it.

import { candidateUdp, linkEntry } from './linkstats.js';

export const INTERVAL_MS = 2000;
// How long the UDP check gathers at most before it goes by what it has.
const UDP_CHECK_MS = 10000;

export class Sampler extends EventTarget {
    #mesh;
    #timer = null;
    #prev = new Map();
    #busy = false;
    #udp = undefined;
    #udpRun = 0;

    /** mesh gives the links (mesh.js links()). */
    constructor(mesh) {
        super();
        this.#mesh = mesh;
    }

    /** Starts sampling (again); the first sample comes after INTERVAL_MS. */
    start() {
        this.stop();
        this.#timer = setInterval(() => this.sampleNow(), INTERVAL_MS);
    }

    stop() {
        clearInterval(this.#timer);
        this.#timer = null;
        this.#udpRun++;
    }

    /**
     * Finds out whether UDP gets out of our network, for every entry's
     * `udp` (the X-ray names the network that blocks UDP only with it). A
     * link cannot tell: the browser stops gathering candidates once a link
     * works, often before any STUN or TURN server answered. So a connection
     * of its own, never connected, gathers with iceServers: the first
     * candidate over UDP from a server settles it true; TURN answering over
     * TCP only, false; no server given or none answering, not known. The
     * connection is closed at once after (its TURN allocations with it).
     */
    async checkUdp(iceServers) {
        const run = ++this.#udpRun;
        this.#udp = undefined;
        if (!iceServers || !iceServers.length) return;
        let pc;
        try {
            pc = new RTCPeerConnection({ iceServers });
            pc.createDataChannel('udp-check'); // something to gather for
        } catch {
            return;
        }
        let overTcp = false;
        const gathered = new Promise((resolve) => {
            const timer = setTimeout(resolve, UDP_CHECK_MS);
            pc.onicecandidate = (e) => {
                const udp = e.candidate ? candidateUdp(e.candidate) : undefined;
                if (udp === false) overTcp = true;
                if (udp === true || !e.candidate) {
                    clearTimeout(timer);
                    resolve(udp);
                }
            };
        });
        const udp = await pc.setLocalDescription().then(() => gathered, () => undefined);
        pc.close();
        if (run === this.#udpRun) this.#udp = udp === true ? true : overTcp ? false : undefined;
    }

    /**
     * Takes one sample of every link now and emits 'sample' with detail
     * { links: [{ id, entry (linkstats.js linkEntry, with checkUdp's
     * answer), report }] }. A sample
     * still under way makes this call a no-op.
     */
    async sampleNow() {
        if (this.#busy) return;
        this.#busy = true;
        try {
            const links = this.#mesh.links();
            const reports = await Promise.all(links.map((p) => p.pc.getStats().catch(() => null)));
            const out = [];
            const seen = new Map();
            links.forEach((p, i) => {
                const report = reports[i];
                if (!report) return;
                const entry = linkEntry(p.id, p.pc.connectionState, report, this.#prev.get(p.pc) || null, this.#udp);
                seen.set(p.pc, report);
                out.push({ id: p.id, entry, report });
            });
            this.#prev = seen;
            this.dispatchEvent(new CustomEvent('sample', { detail: { links: out } }));
        } finally {
            this.#busy = false;
        }
    }
}
