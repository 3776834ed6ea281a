// Link X-ray, the measuring half (docs/protocol.md, "links"): from what
// RTCPeerConnection.getStats() reports for one peer connection, one entry
// of a `links` message (how the media goes and how well), and what to say
// about it. Pure: no DOM, no timers, no English; the page samples every
// connection every `limits.linksIntervalMs`, keeps each report for the
// next sample, and turns describe()'s keys into words.

// The ranges of docs/protocol.md: the sidecar refuses a message with any
// number outside them, so every number is clamped here first.
export const RANGES = {
    rtt: 60000, loss: 100, jitter: 60000, out: 10000000, in: 10000000, fps: 1000, w: 16384, h: 16384,
};
const STATES = new Set(['new', 'connecting', 'connected', 'disconnected', 'failed', 'closed']);
const PATHS = new Set(['host', 'srflx', 'prflx', 'relay']);
// qualityLimitationReason, the one that says most first.
const REASONS = ['bandwidth', 'cpu', 'other', 'none'];

// When a link is called poor or fair (grade, problem).
export const THRESHOLDS = {
    poorLoss: 5, fairLoss: 1, // % of packets received lost
    poorRtt: 400, fairRtt: 200, // ms
    poorJitter: 100, // ms
    // A new link's encoder starts small and steps its resolution up every
    // 4-5 s, which WebRTC reports as limited by bandwidth: measured on
    // loopback, for 17-29 s after connecting. Not said before this (ms).
    rampMs: 35000,
};

/** Whether report is map-like: an RTCStatsReport (which is no Map) or a Map. */
const mapLike = (report) => typeof report?.get === 'function' && typeof report.values === 'function';

/** Each stats object of report (map-like, as getStats() gives, or an object of id -> stats). */
function all(report) {
    return mapLike(report) ? [...report.values()] : Object.values(report || {});
}

function byId(report, id) {
    if (id == null || report == null) return undefined;
    return mapLike(report) ? report.get(id) : report[id];
}

/** v clamped into 0..max and rounded to whole units (tenths: to a tenth). */
function clamp(v, max, tenths = false) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return undefined;
    const c = Math.min(max, Math.max(0, v));
    return tenths ? Math.round(c * 10) / 10 : Math.round(c);
}

/**
 * The candidate pair the connection uses: the transport's selected one,
 * else one marked selected (Firefox), else a nominated pair that
 * succeeded; undefined before there is one.
 */
export function selectedPair(report) {
    const stats = all(report);
    for (const t of stats) {
        if (t.type === 'transport' && t.selectedCandidatePairId) {
            const p = byId(report, t.selectedCandidatePairId);
            if (p) return p;
        }
    }
    return stats.find((s) => s.type === 'candidate-pair' && s.selected)
        || stats.find((s) => s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded');
}

/** path and proto from the local candidate of pair (a relay: its transport to the TURN server). */
function route(report, pair) {
    const local = byId(report, pair?.localCandidateId);
    if (!local || !PATHS.has(local.candidateType)) return {};
    const path = local.candidateType;
    // TURN over TLS runs over TCP: the protocol knows udp and tcp only.
    const raw = path === 'relay' && local.relayProtocol ? local.relayProtocol : local.protocol;
    const proto = raw === 'udp' ? 'udp' : raw === 'tcp' || raw === 'tls' ? 'tcp' : undefined;
    return proto ? { path, proto } : { path };
}

/**
 * What one candidate this side gathered (an RTCIceCandidate) says of UDP
 * getting out of its network: true for a server-reflexive candidate over
 * UDP or one relayed over UDP, false for one relayed over TCP or TLS,
 * undefined for the rest. (Chromium leaves relayProtocol null on a UDP
 * relay; the TURN URL it came from tells then.) sampler.js checkUdp asks
 * it of each candidate its own connection gathers.
 */
export function candidateUdp(c) {
    if (c?.type === 'srflx') return c.protocol === 'udp' ? true : undefined;
    if (c?.type !== 'relay') return undefined;
    const url = typeof c.url === 'string' ? c.url : '';
    const proto = c.relayProtocol
        || (url.startsWith('turns:') ? 'tls' : /[?&]transport=tcp/.test(url) ? 'tcp' : url.startsWith('turn:') ? 'udp' : null);
    return proto ? proto === 'udp' : undefined;
}

/** The sum over stats of type of what field grew since prev, per stream, and the ms between the samples. */
function growth(report, prev, type, field) {
    let sum = 0;
    let ms = 0;
    let any = false;
    for (const s of all(report)) {
        if (s.type !== type || typeof s[field] !== 'number') continue;
        const p = byId(prev, s.id);
        if (!p || typeof p[field] !== 'number' || !(s.timestamp > p.timestamp)) continue;
        const d = s[field] - p[field];
        if (d < 0) continue; // a stream that started again
        sum += d;
        ms = Math.max(ms, s.timestamp - p.timestamp);
        any = true;
    }
    return any ? { sum, ms } : null;
}

/** kbit/s sent or received as media (RTP payload bytes) since prev. */
function kbps(report, prev, type, field) {
    const g = growth(report, prev, type, field);
    return g && g.ms > 0 ? (g.sum * 8) / g.ms : undefined; // bits per ms = kbit/s
}

/** % of the packets expected since prev that were lost (audio and video together). */
function lossSince(report, prev) {
    const lost = growth(report, prev, 'inbound-rtp', 'packetsLost');
    const got = growth(report, prev, 'inbound-rtp', 'packetsReceived');
    if (!got) return undefined;
    const l = lost ? lost.sum : 0;
    return l + got.sum > 0 ? (100 * l) / (l + got.sum) : 0;
}

/** The bytes of audio RTP received so far, all inbound audio streams together (self-repair's silence check). */
export function audioBytesIn(report) {
    let n = 0;
    for (const s of all(report)) if (s.type === 'inbound-rtp' && s.kind === 'audio') n += s.bytesReceived || 0;
    return n;
}

/** The video received: the inbound video stream with the largest frames. */
function videoIn(report) {
    let best;
    for (const s of all(report)) {
        if (s.type !== 'inbound-rtp' || s.kind !== 'video' || !s.frameWidth) continue;
        if (!best || s.frameWidth * s.frameHeight > best.frameWidth * best.frameHeight) best = s;
    }
    return best;
}

/** What limits the video sent: bandwidth over cpu over other over none. */
function limitOut(report) {
    let found;
    for (const s of all(report)) {
        const r = REASONS.indexOf(s.qualityLimitationReason);
        if (s.type === 'outbound-rtp' && r >= 0 && (found === undefined || r < found)) found = r;
    }
    return found === undefined ? undefined : REASONS[found];
}

/** Round trip: the selected pair's, else what the remote end reported of our RTP. */
function rttMs(report, pair) {
    if (typeof pair?.currentRoundTripTime === 'number') return pair.currentRoundTripTime * 1000;
    const rtts = all(report).filter((s) => s.type === 'remote-inbound-rtp' && typeof s.roundTripTime === 'number');
    return rtts.length ? Math.max(...rtts.map((s) => s.roundTripTime)) * 1000 : undefined;
}

/** The largest jitter of the streams received, in ms. */
function jitterMs(report) {
    const js = all(report).filter((s) => s.type === 'inbound-rtp' && typeof s.jitter === 'number');
    return js.length ? Math.max(...js.map((s) => s.jitter)) * 1000 : undefined;
}

/**
 * One entry of a `links` message about peer (its id) for a connection in
 * state (its connectionState), from report (getStats() now) and prev (the
 * report of the last sample, or null: then no bitrates and no loss), and
 * udp (sampler.js checkUdp's answer: whether UDP gets out of this side's
 * network; undefined while not known). Members that cannot be known are
 * left out; numbers are clamped to the protocol's ranges and rounded as
 * the sidecar writes them.
 */
export function linkEntry(peer, state, report, prev = null, udp = undefined) {
    const e = { peer, state: STATES.has(state) ? state : 'new' };
    const pair = selectedPair(report);
    Object.assign(e, route(report, pair));
    if (typeof udp === 'boolean') e.udp = udp;
    const video = videoIn(report);
    const values = {
        rtt: rttMs(report, pair),
        loss: prev ? lossSince(report, prev) : undefined,
        jitter: jitterMs(report),
        out: prev ? kbps(report, prev, 'outbound-rtp', 'bytesSent') : undefined,
        in: prev ? kbps(report, prev, 'inbound-rtp', 'bytesReceived') : undefined,
        fps: video?.framesPerSecond,
        w: video?.frameWidth,
        h: video?.frameHeight,
    };
    for (const [k, v] of Object.entries(values)) {
        const c = clamp(v, RANGES[k], k === 'loss');
        if (c !== undefined) e[k] = c;
    }
    const limit = limitOut(report);
    if (limit) e.limit = limit;
    return e;
}

/**
 * How well entry's link works: 'down' (failed, disconnected or closed),
 * 'waiting' (new or connecting), 'poor', 'fair' or 'good' (THRESHOLDS on
 * loss, rtt and jitter).
 */
export function grade(entry) {
    if (['failed', 'disconnected', 'closed'].includes(entry.state)) return 'down';
    if (entry.state !== 'connected') return 'waiting';
    const t = THRESHOLDS;
    if (entry.loss >= t.poorLoss || entry.rtt >= t.poorRtt || entry.jitter >= t.poorJitter) return 'poor';
    if (entry.loss >= t.fairLoss || entry.rtt >= t.fairRtt) return 'fair';
    return 'good';
}

/**
 * What to say about a link, as a translation key and its variables (no
 * words here). entry is what names.a measured of its link to names.b;
 * back, when known, is what b measured of the same link. Keys:
 * - links.waiting, links.failed, links.interrupted, links.closed {a, b}
 * - links.relayed-udp-blocked {a, b, net}: relayed through the TURN
 *   server over TCP by net (a or b), whose UDP check found UDP does not
 *   get out of its network (udp false). A side that relays over TCP
 *   though UDP gets out (ICE settled on that pair first), or whose check
 *   has not answered, is not blamed.
 * - links.relayed {a, b}: relayed, no network known to block UDP
 * - links.direct-tcp {a, b}: direct, but over TCP
 * - links.direct-local {a, b}: direct, on the same network
 * - links.direct {a, b}: direct, across the internet
 * - links.unknown {a, b}: connected, the route not known yet
 */
export function describe(entry, names, back = null) {
    const vars = { a: names.a, b: names.b };
    const states = {
        new: 'links.waiting', connecting: 'links.waiting', failed: 'links.failed',
        disconnected: 'links.interrupted', closed: 'links.closed',
    };
    if (states[entry.state]) return { key: states[entry.state], vars };
    const udpBlocked = (e) => e?.path === 'relay' && e.proto === 'tcp' && e.udp === false;
    if (udpBlocked(entry)) return { key: 'links.relayed-udp-blocked', vars: { ...vars, net: names.a } };
    if (udpBlocked(back)) return { key: 'links.relayed-udp-blocked', vars: { ...vars, net: names.b } };
    if (entry.path === 'relay' || back?.path === 'relay') return { key: 'links.relayed', vars };
    if (entry.proto === 'tcp') return { key: 'links.direct-tcp', vars };
    if (entry.path === 'host' && (!back || back.path === 'host')) return { key: 'links.direct-local', vars };
    if (entry.path) return { key: 'links.direct', vars };
    return { key: 'links.unknown', vars };
}

/**
 * The worst thing about a working link, as a key and variables, or null:
 * links.lossy {loss}, links.slow {rtt}, links.jittery {jitter},
 * links.bandwidth-limited, links.cpu-limited (what limits the sender's video).
 * connectedMs: how long the link has been connected, as far as the caller
 * saw; a video held back by bandwidth is not said before THRESHOLDS.rampMs
 * (the encoder's own start), an ongoing limit is said once it is past.
 */
export function problem(entry, connectedMs = Infinity) {
    const t = THRESHOLDS;
    if (entry.state !== 'connected') return null;
    if (entry.loss >= t.fairLoss) return { key: 'links.lossy', vars: { loss: entry.loss } };
    if (entry.rtt >= t.fairRtt) return { key: 'links.slow', vars: { rtt: entry.rtt } };
    if (entry.jitter >= t.poorJitter) return { key: 'links.jittery', vars: { jitter: entry.jitter } };
    if (entry.limit === 'bandwidth' && connectedMs >= t.rampMs) return { key: 'links.bandwidth-limited', vars: {} };
    if (entry.limit === 'cpu') return { key: 'links.cpu-limited', vars: {} };
    return null;
}
