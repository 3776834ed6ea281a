// The quality governor: what each mesh link should send of one's video.
//
// In a mesh, a sender encodes one copy of its video per link. Each receiver
// says at what size it shows the sender's tile and whether it shows it at
// all; from that, the number of links, the measured uplink and why the
// browser limits quality (qualityLimitationReason), plan() gives each link
// its RTCRtpSender encoding: active, maxBitrate, scaleResolutionDownBy,
// maxFramerate. Rules, in order:
//
// - A hidden tile gets no video (active false); audio is another sender.
// - The bitrate follows the size shown (LADDER), never above the room-size
//   cap or the person's own quality cap; the resolution is scaled down to
//   about the size shown (never up).
// - A link whose receiver has the sender on its stage (as the active
//   speaker, pinned, presenting) and a screen share are served first; a
//   screen share keeps its full resolution and at least SCREEN_MIN_BPS.
// - When the uplink cannot carry everything, the other links shrink; a
//   link that would get less than MIN_VIDEO_BPS goes audio-only instead,
//   smallest tiles first, so audio never starves.
// - When the browser says the CPU limits it, links other than the stage
//   ones drop to CPU_FPS frames per second at half the resolution.
//
// Pure: no DOM, no RTCPeerConnection; mesh.js applies the plan.

/**
 * Bitrate (bps) and frame rate for a picture shown up to `pixels` (width x
 * height); above 960 x 540 only the room-size and quality caps limit it.
 */
export const LADDER = [
    { pixels: 320 * 180, bps: 150000, fps: 15 },
    { pixels: 640 * 360, bps: 500000, fps: 30 },
    { pixels: 960 * 540, bps: 900000, fps: 30 },
    { pixels: Infinity, bps: Infinity, fps: 30 },
];
export const MIN_VIDEO_BPS = 100000;
export const SCREEN_MIN_BPS = 1200000;
export const AUDIO_BPS = 40000;
export const UPLINK_SHARE = 0.85;
export const CPU_FPS = 15;
// Rank given to the links served first (stage links, a screen share's): above any tile size.
const FIRST = 1e12;

/** The ladder's step for a picture of w x h. */
function step(w, h) {
    return LADDER.find((s) => w * h <= s.pixels);
}

/**
 * How much to scale a capture of cap (width, height) down to show it at
 * want (width, height): at least 1, to one decimal, rounded down so the
 * picture is never smaller than what is shown.
 */
export function scaleFor(cap, want) {
    if (!cap || !cap.width || !cap.height || !want.width || !want.height) return 1;
    const s = Math.min(cap.width / want.width, cap.height / want.height);
    return Math.max(1, Math.floor(s * 10) / 10);
}

/**
 * One link's wish: what its receiver asked (want: { width, height, visible }
 * in device pixels, or null before it said anything: the full capture).
 */
function wish(link, o) {
    const want = link.want || { width: o.capture.width, height: o.capture.height, visible: true };
    const w = { id: link.id, stage: !!link.stage, active: !!want.visible, bps: 0, scale: 1, fps: null, rank: -1 };
    if (!w.active) return w;
    const s = step(want.width, want.height);
    w.bps = Math.min(s.bps, o.roomCap, o.userCap || Infinity);
    w.scale = scaleFor(o.capture, want);
    w.fps = s.fps;
    if (o.screen) {
        w.bps = Math.max(w.bps, SCREEN_MIN_BPS);
        w.scale = 1;
        w.fps = null;
    }
    // Stage links and a screen share come first; then bigger tiles.
    w.rank = (w.stage || o.screen ? FIRST : 0) + want.width * want.height;
    return w;
}

/**
 * The plan for every link: o = { capture: { width, height } of the camera
 * or screen, links: [{ id, want, stage }], screen (sharing a screen),
 * roomCap (bps, encoding.js bitrateFor), userCap (bps, the chosen quality; 0:
 * none), uplinkBps (the measured available outgoing bitrate; 0 or absent:
 * unknown), limit (qualityLimitationReason) }. Returns a Map id -> {
 * active, maxBitrate, scaleResolutionDownBy, maxFramerate (null: the
 * capture's) }.
 */
export function plan(o) {
    const wishes = o.links.map((l) => wish(l, o));
    fitUplink(wishes, o);
    if (o.limit === 'cpu' && !o.screen) {
        for (const w of wishes) {
            if (!w.active || w.stage) continue;
            w.fps = CPU_FPS;
            w.scale = Math.max(w.scale * 2, 2);
        }
    }
    const out = new Map();
    for (const w of wishes) {
        out.set(w.id, { active: w.active, maxBitrate: w.bps, scaleResolutionDownBy: w.scale, maxFramerate: w.fps });
    }
    return out;
}

/**
 * Shrinks the wishes to what the uplink carries after one audio stream per
 * link: links are kept in rank order while each can still have
 * MIN_VIDEO_BPS (the rest go audio-only); the first keeps what it asked if
 * it ranks FIRST, and the others share the remainder.
 */
function fitUplink(wishes, o) {
    if (!o.uplinkBps) return;
    let budget = o.uplinkBps * UPLINK_SHARE - AUDIO_BPS * o.links.length;
    const live = wishes.filter((w) => w.active).sort((a, b) => b.rank - a.rank);
    if (live.reduce((sum, w) => sum + w.bps, 0) <= budget) return;
    const kept = Math.max(0, Math.min(live.length, Math.floor(budget / MIN_VIDEO_BPS)));
    for (const w of live.slice(kept)) {
        w.active = false;
        w.bps = 0;
    }
    const keep = live.slice(0, kept);
    if (keep.length && keep[0].rank >= FIRST) {
        keep[0].bps = Math.min(keep[0].bps, budget - MIN_VIDEO_BPS * (keep.length - 1));
        budget -= keep[0].bps;
        keep.shift();
    }
    shareOut(keep, budget);
}

/**
 * Fits links into budget (at least MIN_VIDEO_BPS each, which the caller
 * made sure of): each gets the minimum, and what is left goes in
 * proportion to what each asked above it.
 */
function shareOut(links, budget) {
    if (links.reduce((sum, w) => sum + w.bps, 0) <= budget) return;
    const extra = budget - MIN_VIDEO_BPS * links.length;
    const above = links.reduce((sum, w) => sum + w.bps - MIN_VIDEO_BPS, 0);
    for (const w of links) w.bps = MIN_VIDEO_BPS + Math.floor(((w.bps - MIN_VIDEO_BPS) * extra) / above);
}
