// Samples every mesh link's getStats() every INTERVAL_MS and hands the
// samples on as one 'sample' event: the one place the page reads link
// statistics. The X-ray (what the room is told, the tiles, the Connections
// panel) and the quality governor (uplink, what limits the encoder) both
// listen to it.

import { linkEntry } from './linkstats.js';

export const INTERVAL_MS = 2000;

export class Sampler extends EventTarget {
    #mesh;
    #timer = null;
    #prev = new Map();
    #busy = false;

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
    }

    /**
     * Takes one sample of every link now and emits 'sample' with detail
     * { links: [{ id, entry (linkstats.js linkEntry), report }] }. A sample
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
                const entry = linkEntry(p.id, p.pc.connectionState, report, this.#prev.get(p.pc) || null);
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
