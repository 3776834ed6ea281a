// What each mesh link sends of one's video: the RTCRtpSender encoding of
// every connected video sender, applied whenever the mesh says something
// changed (a link connected or closed, the video track changed) or the
// person chose another camera quality.
//
// Today every link gets the same cap: the room-size cap (everyone sends
// n - 1 copies), or lower for the chosen quality (media.js QUALITIES); a
// screen share gets at least SCREEN_BPS.

const SCREEN_BPS = 1200000;

/** Video bitrate cap (bps) for a room of n people: everyone sends n-1 copies. */
export function bitrateFor(n) {
    if (n <= 2) return 2500000;
    if (n === 3) return 1200000;
    if (n === 4) return 900000;
    if (n <= 6) return 600000;
    return 450000;
}

export class Encoder {
    #mesh;
    #media;

    /** mesh gives the links (mesh.js links()); media the track and chosen quality. */
    constructor(mesh, media) {
        this.#mesh = mesh;
        this.#media = media;
    }

    /** Sets every connected link's video encoding to what it should be now. */
    apply() {
        const links = this.#mesh.links();
        const own = this.#media.maxBitrate();
        let cap = bitrateFor(links.length + 1);
        if (this.#media.sharing()) cap = Math.max(cap, SCREEN_BPS);
        else if (own) cap = Math.min(cap, own);
        for (const p of links) {
            const sender = p.videoT && p.videoT.sender;
            if (!sender || p.pc.connectionState !== 'connected') continue;
            const params = sender.getParameters();
            if (!params.encodings || !params.encodings.length) continue;
            if (params.encodings[0].maxBitrate === cap) continue;
            params.encodings[0].maxBitrate = cap;
            sender.setParameters(params).catch(() => {});
        }
    }
}
