// What each mesh link sends of one's video: the quality governor applied.
// Every connected video sender gets the RTCRtpSender encoding governor.js
// plan() gives its link (active, maxBitrate, scaleResolutionDownBy,
// maxFramerate), from:
// - the view its receiver reported (views.js: size shown in device pixels,
//   visible, on the stage), checked by readView (bad data is ignored);
// - the room-size cap (bitrateFor) and the person's chosen quality (a cap);
// - a screen share (kept sharp, at least governor.js SCREEN_MIN_BPS);
// - the samples (sampler.js): qualityLimitationReason, and, while the
//   encoder of a link past its ramp-up (fromSamples) says bandwidth limits
//   it, the uplink (the sum over links of the selected candidate pair's
//   availableOutgoingBitrate).
// It is applied on mesh 'view' and 'changed', a quality change, a screen
// share started or stopped, and each sample; a sender is written only when
// what it has differs from the plan.
//
// The governor can be turned off for a benchmark (localStorage
// 'huddle.governor' = 'off', read once): then every link gets the plan of
// a link whose receiver said nothing (the caps only, full resolution).

import { plan } from './governor.js';
import { readView } from './views.js';
import { selectedPair, THRESHOLDS } from './linkstats.js';

const GOVERNOR_PREF = 'huddle.governor';
// How long a bandwidth limit seen in a sample keeps the uplink in the plan.
export const STRAIN_HOLD_MS = 10000;

/** Video bitrate cap (bps) for a room of n people: everyone sends n-1 copies. */
export function bitrateFor(n) {
    if (n <= 2) return 2500000;
    if (n === 3) return 1200000;
    if (n === 4) return 900000;
    if (n <= 6) return 600000;
    return 450000;
}

/** Whether the governor is on (localStorage 'huddle.governor' is not 'off'). */
export function governorOn(storage) {
    try {
        return !storage || storage.getItem(GOVERNOR_PREF) !== 'off';
    } catch {
        return true;
    }
}

/**
 * What the samples say for the plan: limit ('cpu' when any link's encoder
 * says cpu, else 'bandwidth' when any link past its ramp-up says bandwidth,
 * else 'none') and uplinkBps (the sum of the links' availableOutgoingBitrate;
 * 0: unknown). links: the sampler's [{ id, entry, report }]; rampedUp(id):
 * whether that link has been connected for THRESHOLDS.rampMs. Before, its
 * encoder steps its resolution up, which WebRTC reports as bandwidth, while
 * the first bandwidth estimates are low: taken as an uplink, they capped
 * the video at that estimate, which then never grew (measured: 480 kbit/s
 * instead of 900 for 40 s, in 2 of 4 calls of two).
 */
export function fromSamples(links, rampedUp = () => true) {
    let uplinkBps = 0;
    const limits = new Set();
    for (const { id, entry, report } of links) {
        if (entry && entry.limit && (entry.limit !== 'bandwidth' || rampedUp(id))) limits.add(entry.limit);
        const pair = report ? selectedPair(report) : null;
        if (pair && typeof pair.availableOutgoingBitrate === 'number') uplinkBps += pair.availableOutgoingBitrate;
    }
    const limit = limits.has('cpu') ? 'cpu' : limits.has('bandwidth') ? 'bandwidth' : 'none';
    return { limit, uplinkBps };
}

/** Whether encoding e (of getParameters) already has what p (a plan entry) asks. */
function same(e, p) {
    return e.active === p.active && e.maxBitrate === p.maxBitrate
        && (e.scaleResolutionDownBy || 1) === p.scaleResolutionDownBy
        && (e.maxFramerate ?? null) === (p.maxFramerate ?? null);
}

export class Encoder {
    #mesh;
    #media;
    #on;
    #views = new Map(); // id -> readView() of what that receiver shows
    #limit = 'none';
    #strain = { until: 0, bps: 0 };
    #busy = new WeakMap(); // sender -> true while its setParameters runs (then again if asked)

    /**
     * mesh gives the links (mesh.js links()); media the track and chosen
     * quality; storage: where the benchmark switch is read (localStorage).
     */
    constructor(mesh, media, storage = null) {
        this.#mesh = mesh;
        this.#media = media;
        this.#on = governorOn(storage);
    }

    /** Peer id's view of our video arrived (mesh 'view'); bad data is ignored. */
    view(id, raw) {
        const v = readView(raw);
        if (!v) return;
        this.#views.set(id, v);
        this.apply();
    }

    /** A sampler 'sample' (detail.links): the CPU/bandwidth limit and the uplink. */
    sample(links) {
        const now = Date.now();
        const since = new Map(this.#mesh.links().map((p) => [p.id, p.connectedAt]));
        const { limit, uplinkBps } = fromSamples(links, (id) => since.get(id) > 0 && now - since.get(id) >= THRESHOLDS.rampMs);
        this.#limit = limit;
        if (limit === 'bandwidth' && uplinkBps) this.#strain = { until: now + STRAIN_HOLD_MS, bps: uplinkBps };
        else if (now >= this.#strain.until) this.#strain = { until: 0, bps: 0 };
        this.apply();
    }

    /** The plan for the connected links now: Map id -> encoding (governor.js plan()). */
    #plan(links) {
        const track = this.#media.videoTrack();
        const set = track ? track.getSettings() : {};
        const screen = this.#media.sharing();
        const want = (id) => {
            const v = this.#on && this.#views.get(id);
            return v ? { width: v.w, height: v.h, visible: v.visible } : null;
        };
        return plan({
            capture: { width: set.width || 0, height: set.height || 0 },
            links: links.map((p) => ({ id: p.id, want: want(p.id), stage: !!(this.#on && this.#views.get(p.id)?.stage) })),
            screen,
            roomCap: bitrateFor(links.length + 1),
            userCap: screen ? 0 : this.#media.maxBitrate(),
            uplinkBps: this.#on ? this.#strain.bps : 0,
            limit: this.#on ? this.#limit : 'none',
        });
    }

    /** Sets every connected link's video encoding to what the plan says now. */
    apply() {
        const all = this.#mesh.links();
        for (const id of this.#views.keys()) if (!all.some((p) => p.id === id)) this.#views.delete(id);
        const links = all.filter((p) => p.pc.connectionState === 'connected' && p.videoT && p.videoT.sender);
        const wanted = this.#plan(links);
        for (const p of links) this.#write(p.videoT.sender, wanted.get(p.id));
    }

    /** Writes encoding p on sender unless it has it; one write at a time per sender. */
    #write(sender, p) {
        if (!p) return;
        if (this.#busy.get(sender)) {
            this.#busy.set(sender, 'again');
            return;
        }
        const params = sender.getParameters();
        if (!params.encodings || !params.encodings.length) return;
        const e = params.encodings[0];
        if (same(e, p)) return;
        e.active = p.active;
        e.maxBitrate = p.maxBitrate;
        e.scaleResolutionDownBy = p.scaleResolutionDownBy;
        if (p.maxFramerate) e.maxFramerate = p.maxFramerate;
        else delete e.maxFramerate;
        this.#busy.set(sender, true);
        sender.setParameters(params).catch((err) => console.warn('huddle: encoding not applied:', err)).finally(() => {
            const again = this.#busy.get(sender) === 'again';
            this.#busy.delete(sender);
            if (again) this.apply();
        });
    }
}
