// The WebRTC mesh: one RTCPeerConnection per remote peer.
//
// - The newcomer offers (offer(id) for everyone in welcome.peers); existing
//   peers wait (expect(id)) and answer.
// - Any later negotiation (ICE restart, a watchdog re-offer) is "perfect
//   negotiation": polite = the side whose id sorts lower; signals from one
//   peer are handled strictly in order; ICE candidates are held until the
//   remote description is set.
// - Watchdog: a peer not connected within 15 s gets an ICE restart (or a
//   fresh offer), up to 3 times; then it is given up ('failed').
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

import { fingerprintsFromStats, safetyCode } from './safety.js';

const WATCHDOG_MS = 15000;
const MAX_TRIES = 3;
const REBIND_WAIT_MS = 3000;
const DETACHED_TTL_MS = 20000;

export class Mesh extends EventTarget {
    #send;
    #media;
    #selfId = '';
    #pastIds = [];
    #iceServers = [];
    #peers = new Map();
    #detached = new Map();
    #waiting = new Map();
    #detachTimer = null;

    /** send(to, data) relays a signal; media gives the local tracks. */
    constructor({ send, media }) {
        super();
        this.#send = send;
        this.#media = media;
    }

    /** The ICE servers (welcome.iceServers) for connections made from now on. */
    setIceServers(list) {
        this.#iceServers = Array.isArray(list) ? list : [];
    }

    /** The remote stream of peer id, or null when there is no connection. */
    streamOf(id) {
        const p = this.#peers.get(id);
        return p ? p.stream : null;
    }

    /**
     * The safety code of the link with id (safety.js), from the DTLS
     * certificates its transport negotiated; null while not connected.
     */
    async safetyCode(id) {
        const p = this.#peers.get(id);
        if (!p || p.pc.connectionState !== 'connected') return null;
        const fp = fingerprintsFromStats(await p.pc.getStats());
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

    #polite(p) {
        return this.#selfId < p.id;
    }

    #create(id) {
        const pc = new RTCPeerConnection({ iceServers: this.#iceServers, bundlePolicy: 'max-bundle' });
        const p = {
            id, pc, stream: new MediaStream(), makingOffer: false, ignoreOffer: false,
            pending: [], chain: Promise.resolve(), tries: 0, timer: null, audioT: null, videoT: null,
        };
        pc.onicecandidate = (e) => {
            if (e.candidate) this.#send(p.id, { candidate: e.candidate.toJSON() });
        };
        pc.onnegotiationneeded = () => this.#negotiate(p);
        pc.ontrack = (e) => {
            if (!p.stream.getTracks().includes(e.track)) p.stream.addTrack(e.track);
            this.#emit('stream', { id: p.id, stream: p.stream });
        };
        pc.onconnectionstatechange = () => this.#onState(p);
        this.#peers.set(id, p);
        this.#arm(p, WATCHDOG_MS);
        return p;
    }

    /** We make the offer to id (we are the newcomer, or the watchdog decided). */
    offer(id) {
        this.#stopWaiting(id);
        let p = this.#peers.get(id);
        if (p) return p;
        p = this.#create(id);
        const streams = [this.#media.stream()];
        p.audioT = p.pc.addTransceiver(this.#media.audioTrack() || 'audio', { direction: 'sendrecv', streams });
        p.videoT = p.pc.addTransceiver(this.#media.videoTrack() || 'video', { direction: 'sendrecv', streams });
        return p;
    }

    /**
     * id joined after us: it offers; offer ourselves if nothing comes. This
     * waits longer than the newcomer's own watchdog, so a lost offer is
     * normally re-sent by its maker first and no two offers cross.
     */
    expect(id) {
        if (this.#peers.has(id) || this.#waiting.has(id)) return;
        this.#waiting.set(id, setTimeout(() => {
            this.#waiting.delete(id);
            if (!this.#peers.has(id)) this.offer(id);
        }, WATCHDOG_MS + 5000));
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
            await p.pc.setLocalDescription();
            this.#send(p.id, { description: p.pc.localDescription.toJSON() });
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
        }
        p.chain = p.chain.then(() => this.#handle(p, data)).catch((err) => {
            console.warn('huddle: signal from', from, 'failed:', err);
        });
    }

    async #handle(p, { description, candidate }) {
        const pc = p.pc;
        if (pc.signalingState === 'closed') return;
        if (description) {
            const collision = description.type === 'offer'
                && (p.makingOffer || pc.signalingState !== 'stable');
            p.ignoreOffer = !this.#polite(p) && collision;
            if (p.ignoreOffer) return;
            await pc.setRemoteDescription(description);
            if (description.type === 'offer') {
                this.#attachLocal(p);
                await pc.setLocalDescription();
                this.#send(p.id, { description: pc.localDescription.toJSON() });
            }
            const held = p.pending.splice(0);
            for (const c of held) await pc.addIceCandidate(c).catch(() => {});
        } else if (candidate) {
            if (!pc.remoteDescription) {
                p.pending.push(candidate);
                return;
            }
            try {
                await pc.addIceCandidate(candidate);
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
            const track = kind === 'audio' ? this.#media.audioTrack() : this.#media.videoTrack();
            if (track) t.sender.replaceTrack(track).catch(() => {});
        }
    }

    #arm(p, ms) {
        clearTimeout(p.timer);
        p.timer = setTimeout(() => this.#stall(p), ms);
    }

    async #stall(p) {
        if (p.pc.connectionState === 'connected' || !this.#peers.has(p.id)) return;
        p.tries++;
        if (p.tries > MAX_TRIES) {
            this.#giveUp(p);
            return;
        }
        try {
            if (p.pc.signalingState === 'have-local-offer') await p.pc.setLocalDescription({ type: 'rollback' });
            p.pc.restartIce();
        } catch (err) {
            console.warn('huddle: ICE restart failed', err);
        }
        this.#arm(p, WATCHDOG_MS);
    }

    #onState(p) {
        const st = p.pc.connectionState;
        if (st === 'connected') {
            clearTimeout(p.timer);
            p.tries = 0;
            this.#emit('changed', { id: p.id });
        } else if (st === 'disconnected') {
            this.#arm(p, 5000);
        } else if (st === 'failed') {
            this.#stall(p);
        }
        this.#emit('state', { id: p.id, state: st });
    }

    #giveUp(p) {
        this.close(p.id);
        this.#emit('failed', { id: p.id });
    }

    close(id) {
        this.#stopWaiting(id);
        const p = this.#peers.get(id) || this.#detached.get(id);
        if (!p) return;
        clearTimeout(p.timer);
        p.pc.close();
        this.#peers.delete(id);
        this.#detached.delete(id);
        this.#emit('changed', { id });
    }

    closeAll() {
        for (const id of [...this.#peers.keys(), ...this.#detached.keys()]) this.close(id);
        for (const id of [...this.#waiting.keys()]) this.#stopWaiting(id);
        clearTimeout(this.#detachTimer);
    }

    /** The server forgot us: keep the connections aside for a rebind. */
    detachAll() {
        for (const [id, p] of this.#peers) {
            clearTimeout(p.timer);
            this.#detached.set(id, p);
        }
        this.#peers.clear();
        for (const id of [...this.#waiting.keys()]) this.#stopWaiting(id);
        clearTimeout(this.#detachTimer);
        this.#detachTimer = setTimeout(() => {
            for (const id of [...this.#detached.keys()]) {
                this.close(id);
                this.#emit('gone', { id });
            }
        }, DETACHED_TTL_MS);
    }

    #reattach(oldId, newId) {
        const p = this.#detached.get(oldId);
        if (!p || p.pc.connectionState === 'closed' || p.pc.connectionState === 'failed') return false;
        this.#detached.delete(oldId);
        this.#stopWaiting(newId);
        p.id = newId;
        this.#peers.set(newId, p);
        if (p.pc.connectionState !== 'connected') this.#arm(p, WATCHDOG_MS);
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
