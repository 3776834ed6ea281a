// The WebRTC mesh: one RTCPeerConnection per remote peer.
//
// - The newcomer offers (offer(id) for everyone in welcome.peers); existing
//   peers wait (expect(id)) and answer.
// - Any later negotiation (ICE restart, a repair re-offer) is "perfect
//   negotiation": polite = the side whose id sorts lower; signals from one
//   peer are handled strictly in order; ICE candidates are held until the
//   remote description is set. A connection closed while one of its
//   operations is pending never settles that promise (webrtc-pc abandons a
//   closed connection's operations), so the peer's signals wait for it only
//   until the mesh closes the connection or finds it closed (p.ended).
// - Self-repair, one ladder per link (only that link is touched):
//   - Broken: a new link not connected within CONNECT_MS; 'disconnected' for
//     DISCONNECTED_MS; 'failed'; its connection closed under us; or connected
//     but no inbound audio RTP for SILENT_MS while the peer says its
//     microphone is on (observe(): the page hands on the sampler's samples).
//     Muting keeps sending RTP (track.enabled = false sends silence), but a
//     muted peer says audio off, so the rule never looks at a muted link;
//     video is never used (camera off and hidden tiles send none).
//   - Steps, each given STEP_MS to connect again: 'ice-restart'
//     (restartIce()); 'relay' (a new RTCPeerConnection for that peer with
//     iceTransportPolicy 'relay'; skipped without a TURN server); 'reoffer'
//     (a new RTCPeerConnection as at the start); then 'gave-up' (the link is
//     closed, 'failed'). A new connection's stream is handed on by a
//     'stream' event again. A connection closed under us can only be
//     re-offered. Why not setConfiguration() and an ICE restart for the
//     relay: Chromium then keeps a direct pair that still answers ICE checks
//     (the case where media does not pass but checks do).
//   - Each step: a 'repair' event { id, step, attempt } and a console line
//     `huddle: repair <id> <step>`; 'repaired' when it connects again.
//   - A link given up while the person is still in the meeting is tried
//     again ('retry': a new connection, as at the start, given CONNECT_MS
//     and no ladder) after RETRY_MS[0], then [1], ..., then every last one,
//     and at once on retry(id) (Try again on their tile, the network back).
//     The polite side waits STEP_MS.retry longer; a retry's offer makes the
//     other side follow it as a step, as a repair's offers do, and its
//     renew number (the time) outranks whatever the other side still holds.
//     Each give-up is a 'failed' event { id }. Given-up links have no
//     connection to keep: a server loss (detachAll) forgets them, 'gone'.
//   - Who leads: the side that detects first. The polite side waits
//     LEAD_GRACE_MS longer before acting, so normally the impolite side
//     leads. The leader's offers say { repair: step }; the other side then
//     follows: it shows the same step, runs no ladder of its own, and takes
//     over only if the leader stays silent for a step plus the grace. The
//     leader says { repair: 'repaired' } when it connects again; a follower
//     connected again at the end of its step takes it for repaired (the
//     word may be lost with the signalling); one whose link is on its way
//     then ('disconnected' for a moment, or 'connecting') waits
//     DISCONNECTED_MS more before it takes over.
//   - A re-offer says { renew: n }: the n-th connection of this link. Every
//     signal of a renewed link carries its n; a signal of an older
//     connection is dropped, an offer with a higher n replaces ours.
// - A page that took back a seat kept for it (reloaded while alone in its
//   meeting, or back after its connection dropped: takeOverSeat()) starts
//   its new links at the clock's renew number: whoever came in meanwhile
//   offered to the seat, that offer was lost while no connection held it,
//   and their link with us waits for an answer that never comes. Our
//   offer outranks it and replaces it, whichever side is polite (an
//   impolite side would otherwise ignore ours as a collision until its
//   repair ladder began). A link of ours that broke while we had no
//   connection (its repair's offers were lost too) is re-offered at once.
//   On the other side, a link to someone whose seat waits for them (away)
//   is not given up for lost: the page keeps their tile (app.js).
// - Camera, screen and microphone changes are sender.replaceTrack(): no
//   renegotiation. What each video sender sends is encoding.js's decision:
//   the mesh says when it may have changed ('changed': a link connected or
//   closed, the video track changed) and gives the links (links()).
// - A {view} signal (what a receiver shows of our video) is handed on as a
//   'view' event; the mesh does not interpret it.
// - Rebind: when the signalling server lost us (it restarted) and we came
//   back under a new id, the connections are kept "detached"; a {rebind}
//   signal to each peer of the new room re-attaches the live connection under
//   the new id, so media never stops. Unclaimed ones are closed after 20 s.

import { linkFingerprints, safetyCode } from './safety.js';
import { audioBytesIn } from './linkstats.js';

// Self-repair timings. From a link's start to giving up: CONNECT_MS + the
// three steps = 60 s, as the old watchdog's 4 x 15 s (45 s without TURN:
// one step fewer); a link that breaks later is given up 45 s after it was
// found broken (30 s without TURN).
const CONNECT_MS = 15000;      // a new link must connect within this
const DISCONNECTED_MS = 4000;  // 'disconnected' this long is broken ('failed' is at once)
const SILENT_MS = 6000;        // no inbound audio this long, the peer's microphone on
const LEAD_GRACE_MS = 4000;    // the polite side acts this much later
const STEP_MS = { 'ice-restart': 15000, relay: 15000, reoffer: 15000, retry: CONNECT_MS };
const STEPS = ['ice-restart', 'relay', 'reoffer'];
const RETRY_MS = [15000, 30000, 60000]; // from a give-up to the next try, then every last one
const REBIND_WAIT_MS = 3000;

/** The renew number a signal's data carries (0: the link's first connection). */
const renewOf = (data) => (Number.isInteger(data.renew) ? data.renew : 0);
const DETACHED_TTL_MS = 20000;

/**
 * When to ask for fresh ICE servers (ms from now), given welcome's list
 * and limits.turnTtlS, the lifetime of its TURN credentials: halfway
 * through it, so that a link made or repaired in a long meeting can
 * still be relayed; 0 for a list without credentials (nothing expires).
 */
export function iceRenewDelay(list, ttlS) {
    const minted = Array.isArray(list) && list.some((s) => s && typeof s.credential === 'string');
    if (!minted || !(ttlS > 0)) return 0;
    return Math.min(ttlS * 500, 2 ** 31 - 1); // setTimeout's longest
}

export class Mesh extends EventTarget {
    #send;
    #media;
    #outgoing;
    #selfId = '';
    #firstRenew = 0;
    #pastIds = [];
    #iceServers = [];
    #peers = new Map();
    #detached = new Map();
    #waiting = new Map();
    #gaveUp = new Map(); // id -> { tries, timer }: links given up, tried again
    #detachTimer = null;

    /**
     * send(to, data) relays a signal; media gives the local stream;
     * outgoing(kind) is the track a new sender of kind ('audio', 'video')
     * carries, or null (the page decides what is sent: setTrack).
     */
    constructor({ send, media, outgoing }) {
        super();
        this.#send = send;
        this.#media = media;
        this.#outgoing = outgoing;
    }

    /**
     * The ICE servers (welcome.iceServers, or an ice message's renewed
     * ones) for connections made from now on, and for the ICE restarts of
     * those there are (a repair gathers with them).
     */
    setIceServers(list) {
        this.#iceServers = Array.isArray(list) ? list : [];
        for (const p of [...this.#peers.values(), ...this.#detached.values()]) {
            if (p.pc.signalingState === 'closed') continue;
            try {
                p.pc.setConfiguration({ ...p.pc.getConfiguration(), iceServers: this.#iceServers });
            } catch (err) {
                // Its ICE restarts keep the old ones; a re-offer gets these.
                console.warn('huddle: ICE servers not taken by the link with', p.id, err.name);
            }
        }
    }

    /** The remote stream of peer id, or null when there is no connection. */
    streamOf(id) {
        const p = this.#peers.get(id);
        return p ? p.stream : null;
    }

    /**
     * The safety code of the link with id (safety.js), from the DTLS
     * certificates its connection negotiated; null while not connected.
     */
    async safetyCode(id) {
        const p = this.#peers.get(id);
        if (!p || p.pc.connectionState !== 'connected') return null;
        const fp = linkFingerprints(p.pc);
        return fp ? safetyCode(fp.local, fp.remote) : null;
    }

    /**
     * The live links: [{ id, pc, audioT, videoT }] (the transceivers are
     * null until negotiated). The objects are the mesh's own: read them only.
     */
    links() {
        return [...this.#peers.values()];
    }

    /** Whether connections kept after a server loss still wait for a rebind. */
    hasDetached() {
        return this.#detached.size > 0;
    }

    #emit(type, detail) {
        this.dispatchEvent(new CustomEvent(type, { detail }));
    }

    setSelf(id) {
        if (this.#selfId && this.#selfId !== id && !this.#pastIds.includes(this.#selfId)) this.#pastIds.push(this.#selfId);
        this.#selfId = id;
    }

    /**
     * This page took back its seat after a time without a connection (see
     * the top of this file). A link that broke meanwhile (not connected
     * now, or under repair) had its repair's offers lost with the seat's
     * connection: it is re-offered at once, at the new renew number, as a
     * repair the other side follows.
     */
    takeOverSeat() {
        this.#firstRenew = Date.now();
        for (const p of this.#peers.values()) {
            if (p.pc.connectionState === 'connected' && (!p.repair || !p.repair.lead)) {
                // A repair we followed worked; the leader's word of it was lost.
                if (p.repair) this.#repaired(p);
                continue;
            }
            p.repair = { cause: 'resume', step: null, attempt: 0, lead: true };
            p.renew = Math.max(p.renew, this.#firstRenew); // the re-offer counts one up
            this.#run(p, 'reoffer');
        }
    }

    #polite(p) {
        return this.#selfId < p.id;
    }

    #create(id) {
        // A link given up gets a new connection: no try of its own meanwhile.
        clearTimeout(this.#gaveUp.get(id)?.timer);
        const p = {
            id, pc: null, stream: null, makingOffer: false, ignoreOffer: false, pending: [],
            chain: Promise.resolve(), timer: null, audioT: null, videoT: null,
            renew: 0, repair: null, quiet: false, heard: 0, silentSince: 0, connectedAt: 0,
        };
        this.#connect(p);
        this.#peers.set(id, p);
        this.#arm(p, CONNECT_MS + this.#grace(p), () => this.#broken(p, 'connect'));
        if (this.#gaveUp.has(id)) this.#emit('state', { id, state: 'new' }); // lostState: 'retrying'
        return p;
    }

    /**
     * Gives p a new RTCPeerConnection (and stream), relayed only when policy
     * is 'relay'; the old one, if any, is closed.
     */
    #connect(p, policy = 'all') {
        const old = p.pc;
        if (old) {
            old.onicecandidate = old.onnegotiationneeded = old.ontrack = old.onconnectionstatechange = null;
            old.close();
            p.end();
        }
        const pc = new RTCPeerConnection({ iceServers: this.#iceServers, bundlePolicy: 'max-bundle', iceTransportPolicy: policy });
        let end;
        const ended = new Promise((resolve) => { end = resolve; }); // this connection is closed
        Object.assign(p, {
            pc, ended, end, stream: new MediaStream(), makingOffer: false, ignoreOffer: false, pending: [],
            audioT: null, videoT: null, heard: 0, silentSince: 0, connectedAt: 0,
        });
        pc.onicecandidate = (e) => {
            if (e.candidate) this.#send(p.id, this.#tag(p, { candidate: e.candidate.toJSON() }));
        };
        pc.onnegotiationneeded = () => this.#negotiate(p);
        pc.ontrack = (e) => {
            if (!p.stream.getTracks().includes(e.track)) p.stream.addTrack(e.track);
            this.#emit('stream', { id: p.id, stream: p.stream });
        };
        pc.onconnectionstatechange = () => this.#onState(p);
    }

    /** A signal's data for p: with the link's renew number once it was re-offered. */
    #tag(p, data) {
        return p.renew ? { ...data, renew: p.renew } : data;
    }

    /** Sends our tracks on new transceivers of p (we make the offer). */
    #addLocal(p) {
        const streams = [this.#media.stream()];
        p.audioT = p.pc.addTransceiver(this.#outgoing('audio') || 'audio', { direction: 'sendrecv', streams });
        p.videoT = p.pc.addTransceiver(this.#outgoing('video') || 'video', { direction: 'sendrecv', streams });
    }

    /** We make the offer to id (we are the newcomer, or the watchdog decided). */
    offer(id) {
        this.#stopWaiting(id);
        let p = this.#peers.get(id);
        if (p) return p;
        p = this.#create(id);
        p.renew = this.#firstRenew;
        this.#addLocal(p);
        return p;
    }

    /**
     * id joined after us: it offers; offer ourselves if nothing comes. This
     * waits longer than the newcomer's own repair of a link that does not
     * connect, so a lost offer is normally re-sent by its maker first and no
     * two offers cross.
     */
    expect(id) {
        if (this.#peers.has(id) || this.#waiting.has(id)) return;
        this.#waiting.set(id, setTimeout(() => {
            this.#waiting.delete(id);
            if (!this.#peers.has(id)) this.offer(id);
        }, CONNECT_MS + LEAD_GRACE_MS + 5000));
    }

    #stopWaiting(id) {
        clearTimeout(this.#waiting.get(id));
        this.#waiting.delete(id);
    }

    /** A newcomer after a server loss: try to re-attach, else offer. */
    greet(id) {
        if (!this.#detached.size) {
            this.offer(id);
            return;
        }
        this.#send(id, { rebind: [...this.#pastIds] });
        this.#waiting.set(id, setTimeout(() => {
            this.#waiting.delete(id);
            if (!this.#peers.has(id)) this.offer(id);
        }, REBIND_WAIT_MS));
    }

    async #negotiate(p) {
        try {
            p.makingOffer = true;
            const pc = p.pc;
            await pc.setLocalDescription();
            if (pc !== p.pc) return;
            const data = { description: pc.localDescription.toJSON() };
            if (p.repair && p.repair.lead) data.repair = p.repair.step;
            this.#send(p.id, this.#tag(p, data));
        } catch (err) {
            console.warn('huddle: offer failed', err);
        } finally {
            p.makingOffer = false;
        }
    }

    /** A signal from a peer: SDP, ICE candidate or rebind handshake. */
    signal(from, data) {
        if (!data || typeof data !== 'object') return;
        if (Array.isArray(data.rebind)) {
            this.#onRebind(from, data.rebind);
            return;
        }
        if (Array.isArray(data.rebound)) {
            this.#onRebound(from, data.rebound);
            return;
        }
        if (data.view && typeof data.view === 'object') {
            if (this.#peers.has(from)) this.#emit('view', { id: from, view: data.view });
            return;
        }
        let p = this.#peers.get(from);
        if (!p) {
            if (!data.description || data.description.type !== 'offer') return;
            this.#stopWaiting(from);
            p = this.#create(from);
            p.renew = renewOf(data);
        }
        p.chain = p.chain.then(() => this.#handle(p, data)).catch((err) => {
            console.warn('huddle: signal from', from, 'failed:', err);
        });
    }

    async #handle(p, data) {
        const { description, candidate, repair } = data;
        // The mesh sends offers and answers only. A provisional answer
        // would set the DTLS fingerprint the connection checks and leave
        // the one the safety code reads as it was (safety.js).
        if (description && description.type !== 'offer' && description.type !== 'answer') return;
        const n = renewOf(data);
        const offer = !!description && description.type === 'offer';
        if (n < p.renew || (n > p.renew && !offer)) return; // an older connection's
        const renewed = n > p.renew;
        if (renewed) {
            p.renew = n;
            this.#connect(p);
            if (repair || p.repair) this.#follow(p, repair === 'relay' || repair === 'retry' ? repair : 'reoffer');
            else this.#arm(p, CONNECT_MS + this.#grace(p), () => this.#broken(p, 'connect')); // takeOverSeat: a link anew
        } else if (repair === 'repaired' && !description && !candidate) {
            if (p.repair && !p.repair.lead) this.#repaired(p); // the leader sees media again
            return;
        } else if (p.pc.signalingState === 'closed') {
            if (offer) this.#broken(p, 'closed', true); // they repair; ours is gone: re-offer
            return;
        }
        const { pc, ended } = p;
        // Whether op on pc settled with pc still p's and open; false as soon as pc is closed.
        const live = async (op) => {
            await Promise.race([op, ended]);
            return pc === p.pc && pc.signalingState !== 'closed';
        };
        if (description) {
            const collision = offer && (p.makingOffer || pc.signalingState !== 'stable');
            p.ignoreOffer = !this.#polite(p) && collision;
            if (p.ignoreOffer) return;
            if (offer && !renewed && (repair === 'ice-restart' || repair === 'retry')) this.#follow(p, repair);
            if (!(await live(pc.setRemoteDescription(description)))) return;
            if (offer) {
                this.#attachLocal(p);
                if (!(await live(pc.setLocalDescription()))) return;
                this.#send(p.id, this.#tag(p, { description: pc.localDescription.toJSON() }));
            }
            const held = p.pending.splice(0);
            for (const c of held) if (!(await live(pc.addIceCandidate(c).catch(() => {})))) return;
        } else if (candidate) {
            if (!pc.remoteDescription) {
                p.pending.push(candidate);
                return;
            }
            try {
                await live(pc.addIceCandidate(candidate));
            } catch (err) {
                if (!p.ignoreOffer) throw err;
            }
        }
    }

    /** As the answerer: send our tracks on the transceivers the offer made. */
    #attachLocal(p) {
        if (p.audioT && p.videoT) return;
        for (const t of p.pc.getTransceivers()) {
            const kind = t.receiver.track.kind;
            if (kind === 'audio' && !p.audioT) p.audioT = t;
            else if (kind === 'video' && !p.videoT) p.videoT = t;
            else continue;
            t.direction = 'sendrecv';
            if (t.sender.setStreams) t.sender.setStreams(this.#media.stream()); // absent in Firefox
            const track = this.#outgoing(kind);
            if (track) t.sender.replaceTrack(track).catch(() => {});
        }
    }

    #arm(p, ms, fn) {
        clearTimeout(p.timer);
        p.timer = setTimeout(fn, ms);
    }

    /** How much later than the impolite side the polite side acts. */
    #grace(p) {
        return this.#polite(p) ? LEAD_GRACE_MS : 0;
    }

    #onState(p) {
        const st = p.pc.connectionState;
        if (st === 'connected') {
            p.connectedAt = Date.now();
            this.#forgive(p.id);
            if (!p.repair) clearTimeout(p.timer); // a wait for the connection: it came
            // A repair goes on: a follower's until the leader's word or the
            // end of its step (the fault may be on the way to the leader,
            // and the word may be lost with the signalling); a silent
            // link's until audio comes again (observe), given as long as
            // the first silence was from the moment it connected.
            else if (p.repair.lead && p.repair.cause !== 'silent') this.#repaired(p);
            else if (p.repair.lead) this.#arm(p, SILENT_MS + this.#grace(p), () => this.#next(p));
            else if (p.repair.late) this.#repaired(p); // a follower past its step (#followed)
            this.#emit('changed', { id: p.id });
        } else if (st === 'disconnected' && !p.repair) {
            this.#arm(p, DISCONNECTED_MS + this.#grace(p), () => this.#broken(p, 'disconnected'));
        } else if (st === 'failed' && !p.repair) {
            this.#arm(p, this.#grace(p), () => this.#broken(p, 'failed'));
        }
        this.#emit('state', { id: p.id, state: st });
    }

    /**
     * The current repair step of the link with id: 'gave-up' while it waits
     * for its next try; null when it is fine.
     */
    repairStep(id) {
        const p = this.#peers.get(id);
        if (p) return p.repair ? p.repair.step : null;
        return this.lostState(id) ? 'gave-up' : null;
    }

    /**
     * What became of the link with id once given up: 'lost' (no connection:
     * its next try is to come), 'retrying' (a new connection tries), or
     * null (never given up, or connected since).
     */
    lostState(id) {
        if (!this.#gaveUp.has(id)) return null;
        return this.#peers.has(id) ? 'retrying' : 'lost';
    }

    /**
     * The sampler's samples (sampler.js 'sample' detail.links); hears(id)
     * says whether peer id's microphone is on. Finds links closed under us
     * and links where the peer's audio stopped (SILENT_MS), and sees a
     * repair of a silent link done once audio comes again.
     */
    observe(samples, hears) {
        const now = Date.now();
        for (const p of this.#peers.values()) {
            if (p.pc.signalingState !== 'closed') continue;
            p.end(); // its pending operations never settle: the peer's signals go on
            this.#broken(p, 'closed');
        }
        for (const { id, report } of samples) {
            const p = this.#peers.get(id);
            if (!p || p.pc.signalingState === 'closed') continue;
            const heard = audioBytesIn(report);
            const grew = heard !== p.heard; // a new connection starts at 0
            p.heard = heard;
            if (grew || p.pc.connectionState !== 'connected' || !hears(id)) {
                p.silentSince = 0;
                if (grew) p.quiet = false;
                const r = p.repair;
                // Audio again, or the peer's microphone off: the silence is over.
                if ((grew || !hears(id)) && r && r.lead && r.cause === 'silent' && p.pc.connectionState === 'connected') this.#repaired(p);
                continue;
            }
            if (p.quiet) continue;
            if (!p.silentSince) p.silentSince = now;
            if (now - Math.max(p.silentSince, p.connectedAt) >= SILENT_MS + this.#grace(p)) this.#broken(p, 'silent');
        }
    }

    /** Link p is broken (cause: connect, disconnected, failed, closed, silent; resume: takeOverSeat): start the ladder. */
    #broken(p, cause, lead = false) {
        if (this.#peers.get(p.id) !== p) return;
        if (p.repair) {
            if (lead && !p.repair.lead) this.#next(p);
            return;
        }
        if (cause !== 'closed' && cause !== 'silent' && p.pc.connectionState === 'connected') return;
        p.repair = { cause, step: null, attempt: 0, lead: true };
        this.#next(p);
    }

    /** The next step of p's ladder after p.repair.step, or giving up. */
    #next(p) {
        const r = p.repair;
        if (!r || this.#peers.get(p.id) !== p) return;
        const closed = p.pc.signalingState === 'closed';
        const turn = this.#iceServers.some((s) => [].concat(s.urls).some((u) => /^turns?:/.test(u)));
        let i = r.step === null ? 0 : STEPS.indexOf(r.step) + 1;
        if (r.step === 'retry') i = STEPS.length; // a retry has no ladder: the next one comes later
        else if (closed) i = Math.max(i, STEPS.indexOf('reoffer'));
        if (STEPS[i] === 'relay' && !turn) i++;
        if (i >= STEPS.length) {
            this.#step(p, 'gave-up');
            p.quiet = r.cause === 'silent'; // still connected: do not try again until audio comes
            p.repair = null;
            if (p.pc.connectionState !== 'connected') this.#giveUp(p);
            return;
        }
        this.#run(p, STEPS[i]);
    }

    /** Leads step of p's repair: shown, done, and the next one armed. */
    #run(p, step) {
        p.repair.lead = true;
        this.#step(p, step);
        this.#arm(p, STEP_MS[step], () => this.#next(p));
        this.#act(p, step).catch((err) => console.warn('huddle: repair', p.id, step, 'failed:', err));
    }

    /** Does step on p's connection (its offer goes out on negotiationneeded). */
    async #act(p, step) {
        if (step === 'retry') {
            this.#addLocal(p); // retry(): a new link's own connection
            return;
        }
        if (step !== 'ice-restart') {
            p.renew++;
            this.#connect(p, step === 'relay' ? 'relay' : 'all');
            this.#addLocal(p);
            return;
        }
        const pc = p.pc;
        if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
        pc.restartIce();
    }

    /** The peer leads a repair of p at step: show it, wait, take over if it stays broken. */
    #follow(p, step) {
        if (!p.repair) p.repair = { cause: 'peer', step: null, attempt: 0, lead: false };
        p.repair.lead = false;
        p.repair.late = false;
        this.#step(p, step);
        this.#arm(p, STEP_MS[step] + LEAD_GRACE_MS, () => this.#followed(p));
    }

    /**
     * A follower's step is over. Connected: repaired (the leader's word was
     * lost). A link that is on its way ('disconnected' for a moment, or
     * 'connecting') gets DISCONNECTED_MS more, and is repaired the moment it
     * connects (#onState): the leader may be connecting it, and taking over
     * would rebuild a link about to recover. Otherwise, or still not
     * connected then, the follower takes over.
     */
    #followed(p) {
        const st = p.pc.connectionState;
        if (st === 'connected') this.#repaired(p);
        else if (!p.repair.late && (st === 'disconnected' || st === 'connecting')) {
            p.repair.late = true;
            this.#arm(p, DISCONNECTED_MS, () => this.#followed(p));
        } else this.#next(p);
    }

    /** p connects again; a leader tells the other side, which may not have seen it. */
    #repaired(p) {
        clearTimeout(p.timer);
        if (p.repair.lead) this.#send(p.id, this.#tag(p, { repair: 'repaired' }));
        this.#step(p, 'repaired');
        p.repair = null;
        p.silentSince = 0;
    }

    /** Records and tells step of p's repair: the 'repair' event and a console line. */
    #step(p, step) {
        const r = p.repair;
        if (step !== 'repaired' && step !== 'gave-up') {
            r.step = step;
            r.attempt++;
        }
        console.info(`huddle: repair ${p.id} ${step}`);
        this.#emit('repair', { id: p.id, step, attempt: r.attempt });
    }

    /**
     * p did not connect: closed, and tried again later (the top of this
     * file). The polite side waits a retry's whole step longer: it may
     * have given up first (it led the ladder), and the other side's retry
     * should still come first.
     */
    #giveUp(p) {
        const tries = (this.#gaveUp.get(p.id)?.tries || 0) + 1;
        this.close(p.id);
        const wait = RETRY_MS[Math.min(tries, RETRY_MS.length) - 1] + (this.#polite(p) ? STEP_MS.retry : 0);
        this.#gaveUp.set(p.id, { tries, timer: setTimeout(() => this.retry(p.id), wait) });
        this.#emit('failed', { id: p.id });
    }

    /**
     * Tries the given-up link with id again now: a new connection, which
     * the other side follows as a repair step ('retry'); it replaces a try
     * still under way.
     */
    retry(id) {
        const g = this.#gaveUp.get(id);
        const old = this.#peers.get(id);
        if (!g || (old && old.pc.connectionState === 'connected')) return;
        if (old) { // a try under way (maybe the other side's): this one replaces it
            this.close(id);
            this.#gaveUp.set(id, g);
        }
        const p = this.#create(id);
        p.renew = Math.max(Date.now(), old ? old.renew + 1 : 0); // above theirs, whatever the clocks say
        p.repair = { cause: 'retry', step: null, attempt: 0, lead: true };
        this.#run(p, 'retry');
    }

    /** Tries every given-up link again now (the network came back). */
    retryAll() {
        for (const id of [...this.#gaveUp.keys()]) this.retry(id);
    }

    /** The link with id connected, or is no more: nothing to try again. */
    #forgive(id) {
        clearTimeout(this.#gaveUp.get(id)?.timer);
        this.#gaveUp.delete(id);
    }

    close(id) {
        this.#stopWaiting(id);
        this.#forgive(id);
        const kept = this.#detached.has(id);
        this.#dropDetached(id);
        const p = this.#peers.get(id);
        if (p) {
            clearTimeout(p.timer);
            p.repair = null;
            p.pc.close();
            p.end();
            this.#peers.delete(id);
        }
        if (p || kept) this.#emit('changed', { id });
    }

    closeAll() {
        for (const id of [...this.#peers.keys(), ...this.#detached.keys(), ...this.#gaveUp.keys()]) this.close(id);
        for (const id of [...this.#waiting.keys()]) this.#stopWaiting(id);
        clearTimeout(this.#detachTimer);
    }

    /** The server forgot us: keep the connections aside for a rebind. */
    detachAll() {
        for (const [id, p] of this.#peers) {
            clearTimeout(p.timer);
            p.repair = null;
            this.#detached.set(id, p);
        }
        this.#peers.clear();
        for (const id of [...this.#waiting.keys()]) this.#stopWaiting(id);
        for (const id of [...this.#gaveUp.keys()]) { // no connection to re-attach
            this.#forgive(id);
            this.#emit('gone', { id });
        }
        clearTimeout(this.#detachTimer);
        this.#detachTimer = setTimeout(() => {
            for (const id of [...this.#detached.keys()]) {
                this.#dropDetached(id);
                // One who kept their id may have a new live link by now
                // (offered after no re-attach): that one stays.
                if (this.#peers.has(id)) continue;
                this.close(id);
                this.#emit('gone', { id });
            }
        }, DETACHED_TTL_MS);
    }

    /** Ends the connection kept aside under id; a live one of that id stays. */
    #dropDetached(id) {
        const p = this.#detached.get(id);
        if (!p) return;
        this.#detached.delete(id);
        p.pc.close();
        p.end();
    }

    #reattach(oldId, newId) {
        const p = this.#detached.get(oldId);
        if (p && (p.pc.connectionState === 'closed' || p.pc.connectionState === 'failed')) this.#dropDetached(oldId);
        if (!this.#detached.has(oldId)) return false;
        this.#detached.delete(oldId);
        this.#stopWaiting(newId);
        p.id = newId;
        this.#peers.set(newId, p);
        if (p.pc.connectionState !== 'connected') this.#arm(p, CONNECT_MS, () => this.#broken(p, 'connect'));
        this.#emit('rekey', { from: oldId, to: newId });
        return true;
    }

    #onRebind(from, theirPast) {
        const old = theirPast.find((id) => this.#detached.has(id));
        const ok = old !== undefined && !this.#peers.has(from) && this.#reattach(old, from);
        this.#send(from, { rebound: ok ? [...this.#pastIds] : [] });
    }

    #onRebound(from, ourPeerPast) {
        if (this.#peers.has(from)) return;
        const old = ourPeerPast.find((id) => this.#detached.has(id));
        if (old === undefined || !this.#reattach(old, from)) this.offer(from);
    }

    /** Puts track (or nothing) on every connection's sender of that kind. */
    setTrack(kind, track) {
        for (const p of [...this.#peers.values(), ...this.#detached.values()]) {
            const t = kind === 'audio' ? p.audioT : p.videoT;
            if (t) t.sender.replaceTrack(track).catch(() => {});
        }
        if (kind === 'video') this.#emit('changed', { id: null });
    }
}
