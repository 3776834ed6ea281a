// Local media: camera and microphone capture, device lists and switching,
// the browser's microphone processing, the speaker, screen capture and
// audio levels. It owns the local MediaStream and hands out its tracks
// (audioTrack(), camTrack(), screenTrack()); what the connections carry of
// them is the page's choice (app.js outgoing()).

export const canCapture = () => !!(window.isSecureContext && navigator.mediaDevices
    && navigator.mediaDevices.getUserMedia);
export const canShareScreen = () => !!(window.isSecureContext && navigator.mediaDevices
    && navigator.mediaDevices.getDisplayMedia);
/** Whether audio can be sent to a chosen speaker (HTMLMediaElement.setSinkId). */
export const canPickSpeaker = () => typeof HTMLMediaElement !== 'undefined'
    && 'setSinkId' in HTMLMediaElement.prototype;

// The video qualities a person may choose for their camera: what it captures
// and the most one link may carry (0: only the cap for the room's size,
// encoding.js bitrateFor). A screen share keeps its own, sharper cap.
export const QUALITIES = {
    auto: { width: 1280, height: 720, frameRate: 30, maxBitrate: 0 },
    standard: { width: 640, height: 360, frameRate: 24, maxBitrate: 500000 },
    low: { width: 320, height: 180, frameRate: 15, maxBitrate: 150000 },
};

/** The capture constraints of quality q (a QUALITIES key). */
function videoConstraints(q) {
    const { width, height, frameRate } = QUALITIES[q];
    return { width: { ideal: width }, height: { ideal: height }, frameRate: { ideal: frameRate } };
}
// The browser's own microphone processing, all on until the person says otherwise.
const PROCESSING = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

export class Media extends EventTarget {
    #stream = new MediaStream();
    #mic = null;
    #cam = null;
    #screen = null;
    #micId = '';
    #camId = '';
    #sinkId = '';
    #processing = { ...PROCESSING };
    #quality = 'auto';
    #monitor = null;
    #denied = false;
    #missing = { audio: false, video: false };
    // Captures answer late (a camera takes up to a second to start), and
    // the person may change their mind meanwhile. So each kind has what
    // the person wants now (#want: the microphone for the session, the
    // camera on or off) and a generation that every new capture request
    // and every change of mind bumps: a capture that answers is kept only
    // if it is still the latest request of a kind still wanted; otherwise
    // its tracks are stopped at once (the light goes off) and never handed
    // out. The screen has a generation too, bumped when the session ends.
    #want = { audio: false, video: false };
    #gen = { audio: 0, video: 0, screen: 0 };
    // Captures under way, per kind (a device lost meanwhile: see #lost),
    // and the session (stopAll ends one: what answers later is dropped).
    #asking = { audio: 0, video: 0 };
    #session = 0;
    #screenAsking = false;

    /** The local stream: the microphone and camera tracks (not the screen). */
    stream() { return this.#stream; }
    /** The microphone track, or null. */
    audioTrack() { return this.#mic; }
    /** The camera track, or null. */
    camTrack() { return this.#cam; }
    /** Whether the person wants the camera on: it is on, or starting. */
    cameraWanted() { return this.#want.video; }
    /** The shared screen's track, or null. */
    screenTrack() { return this.#screen; }
    /** The video captured: the screen while shared, else the camera (or null). What is sent is the page's choice. */
    videoTrack() { return this.#screen || this.#cam; }
    sharing() { return !!this.#screen; }
    /** Whether the browser refused the devices (a person or a policy said no). */
    denied() { return this.#denied; }
    /** Whether start() found no device of kind ('audio' or 'video'). */
    missing(kind) { return !!this.#missing[kind]; }

    /**
     * The id of the device behind the live track of kind ('audio',
     * 'video'), or the chosen speaker ('speaker'); '' for none or the default.
     */
    deviceId(kind) {
        if (kind === 'speaker') return this.#sinkId;
        const t = kind === 'audio' ? this.#mic : this.#cam;
        return (t && t.getSettings().deviceId) || '';
    }

    /**
     * Asks for the camera and the microphone. Resolves with what was
     * obtained; never rejects: a denial or a missing device is recorded
     * (denied(), missing(kind)) and the meeting goes on without it.
     */
    async start({ audio = true, video = true } = {}) {
        if (!canCapture()) return this;
        this.#want = { audio, video };
        try {
            await this.#acquire({ audio, video });
        } catch (err) {
            if (err.name === 'NotAllowedError' || err.name === 'SecurityError') {
                this.#denied = true;
                this.#want = { audio: false, video: false };
            } else {
                // One kind may be missing: try them one at a time.
                if (audio) await this.#acquire({ audio: true }).catch(() => this.#lack('audio'));
                if (video) await this.#acquire({ video: true }).catch(() => this.#lack('video'));
            }
        }
        return this;
    }

    /** start() found no device of kind: it stays off. */
    #lack(kind) {
        this.#missing[kind] = true;
        this.#want[kind] = false;
    }

    /**
     * Captures the kinds asked for that are still wanted (see #want).
     * Resolves true when a track was kept; false when nothing was asked,
     * or when a later request or a change of mind overtook this one (its
     * tracks are then stopped). Rejects when the browser refused a request
     * that is still the latest.
     */
    async #acquire({ audio = false, video = false }) {
        const asked = {};
        if (audio && this.#want.audio) asked.audio = ++this.#gen.audio;
        if (video && this.#want.video) asked.video = ++this.#gen.video;
        const latest = (kind) => kind in asked && this.#want[kind] && this.#gen[kind] === asked[kind];
        if (!Object.keys(asked).length) return false;
        const quality = this.#quality;
        let s;
        for (const kind in asked) this.#asking[kind]++;
        try {
            s = await navigator.mediaDevices.getUserMedia({
                audio: asked.audio ? { ...this.#processing, ...(this.#micId ? { deviceId: { exact: this.#micId } } : {}) } : false,
                video: asked.video ? { ...videoConstraints(quality), ...(this.#camId ? { deviceId: { exact: this.#camId } } : {}) } : false,
            });
        } catch (err) {
            if (Object.keys(asked).some(latest)) throw err;
            return false;
        } finally {
            for (const kind in asked) this.#asking[kind]--;
        }
        let kept = false;
        for (const t of s.getTracks()) {
            if (latest(t.kind)) {
                this.#setTrack(t);
                kept = true;
                // A quality picked while the camera started applies now.
                if (t.kind === 'video' && quality !== this.#quality) {
                    t.applyConstraints(videoConstraints(this.#quality)).catch(() => {});
                }
            } else {
                t.stop();
            }
        }
        return kept;
    }

    #setTrack(track) {
        const audio = track.kind === 'audio';
        const old = audio ? this.#mic : this.#cam;
        if (old) {
            // A muted microphone stays muted on the new device: nothing leaks.
            track.enabled = old.enabled;
            old.stop();
            this.#stream.removeTrack(old);
        }
        if (audio) {
            this.#mic = track;
            this.#stopMonitor();
        } else {
            this.#cam = track;
        }
        this.#stream.addTrack(track);
        // The device went away (unplugged, or taken by the system): the
        // browser ends the track. Our own stop() never fires this; a track
        // whose device went while it was being captured is ended already.
        track.addEventListener('ended', () => this.#lost(track));
        this.dispatchEvent(new CustomEvent('track', { detail: { kind: track.kind, track } }));
        if (track.readyState === 'ended') this.#lost(track);
    }

    /**
     * The device of a live track went away. A microphone is replaced by
     * the default one when there is one (muted stays muted); else, as a
     * camera, the kind is off until the person turns it on again (then
     * from the default device). A 'lost' event tells the page: { kind,
     * track } with the track now in use, or null.
     */
    async #lost(track) {
        const kind = track.kind;
        const live = () => (kind === 'audio' ? this.#mic : this.#cam);
        // A capture under way (a device just picked) takes its place.
        if (track !== live() || this.#asking[kind] > 0) return;
        // The device chosen is gone: from now on the default one is used.
        const gone = track.getSettings().deviceId;
        if (kind === 'audio' && this.#micId === gone) this.#micId = '';
        if (kind === 'video' && this.#camId === gone) this.#camId = '';
        const session = this.#session;
        if (kind === 'audio') {
            await this.#acquire({ audio: true }).catch((err) => {
                // Taken away rather than unplugged: the pickers say blocked.
                if (err.name === 'NotAllowedError') this.#denied = true;
            });
        }
        if (session !== this.#session) return; // the meeting ended meanwhile
        if (live() === track) {
            this.#want[kind] = false;
            this.#gen[kind]++;
            this.#dropTrack(kind);
        }
        this.dispatchEvent(new CustomEvent('lost', { detail: { kind, track: live() } }));
    }

    #dropTrack(kind) {
        const old = kind === 'audio' ? this.#mic : this.#cam;
        if (!old) return;
        old.stop();
        this.#stream.removeTrack(old);
        if (kind === 'audio') {
            this.#mic = null;
            this.#stopMonitor();
        } else {
            this.#cam = null;
        }
        this.dispatchEvent(new CustomEvent('track', { detail: { kind, track: null } }));
    }

    setMicEnabled(on) {
        if (this.#mic) this.#mic.enabled = on;
    }

    /**
     * The person asks for a microphone where there is none (one was
     * unplugged, or none was found at the start): captured from the chosen
     * device or the default one, as #start says.
     */
    wantMic() {
        return this.#start('audio');
    }

    /**
     * Kind ('audio', 'video') is wanted now: captured unless its track is
     * there. Resolves false when it could not be started (the kind is then
     * off); true otherwise, also when a later call overtook this one
     * (#acquire resolves false: the later call decides). A 'track' event
     * tells when the track comes.
     */
    async #start(kind) {
        this.#want[kind] = true;
        if (kind === 'audio' ? this.#mic : this.#cam) return true;
        const started = canCapture() && await this.#acquire({ [kind]: true }).then(() => true, () => false);
        if (!started) this.#want[kind] = false;
        return started;
    }

    /**
     * The person turns the camera on (a capture: the light goes on) or off
     * (released at once; a capture still starting is dropped when it
     * answers). Resolves false when the camera could not be started (it is
     * then off); true otherwise: on, off, or overtaken by a later call
     * (cameraWanted() says which). A 'track' event tells when the track
     * comes or goes.
     */
    async setCamera(on) {
        if (on) return this.#start('video');
        this.#want.video = false;
        this.#gen.video++;
        this.#dropTrack('video');
        return true;
    }

    /**
     * Switches kind ('audio', 'video') to the device deviceId: a live track
     * is captured again from it (a 'track' event follows; a muted
     * microphone stays muted); otherwise it is used at the next capture.
     * Rejects when the device cannot be started (the old track and the
     * old choice stay).
     */
    async useDevice(kind, deviceId) {
        const audio = kind === 'audio';
        const before = audio ? this.#micId : this.#camId;
        if (audio) this.#micId = deviceId;
        else this.#camId = deviceId;
        // No camera on and none starting: the camera takes the device when
        // it comes on. No microphone: the one picked is captured (a person
        // whose microphone was unplugged picks another), off as the page
        // has it. One starting is asked again, from the device now chosen.
        if (!audio && !this.#cam && !this.#want.video) return;
        if (audio && !this.#mic) this.#want.audio = true;
        try {
            await this.#acquire({ audio, video: !audio });
        } catch (err) {
            if (audio) this.#micId = before;
            else this.#camId = before;
            // A capture that was starting is gone with it: the kind is off.
            const t = audio ? this.#mic : this.#cam;
            if (!t) this.#want[kind] = false;
            // Its device went while the new one was asked for (see #lost).
            else if (t.readyState === 'ended') this.#lost(t);
            throw err;
        }
    }

    /** The camera's quality (a QUALITIES key). */
    quality() {
        return this.#quality;
    }

    /** The most (bps) one link may carry of the camera, 0 for no limit of its own. */
    maxBitrate() {
        return QUALITIES[this.#quality].maxBitrate;
    }

    /**
     * Sets the camera's quality (an unknown name is ignored); a live camera
     * changes its capture at once (applyConstraints, same track, so the
     * senders need nothing new). Rejects when the camera refuses.
     */
    async setQuality(q) {
        if (!Object.hasOwn(QUALITIES, q)) return;
        this.#quality = q;
        if (this.#cam) await this.#cam.applyConstraints(videoConstraints(q));
    }

    /** The microphone processing asked for: { echoCancellation, noiseSuppression, autoGainControl }. */
    processing() {
        return { ...this.#processing };
    }

    /**
     * Turns the browser's microphone processing on or off (fields of
     * processing()). A live microphone is captured again from the same
     * device: Chromium accepts applyConstraints() for these but does not
     * change them, so a new capture is the one way that works everywhere.
     * Rejects (and captures again with the old setting) when it fails.
     */
    async setProcessing(fields) {
        const before = { ...this.#processing };
        Object.assign(this.#processing, fields);
        if (!this.#mic) return;
        if (!this.#micId) this.#micId = this.deviceId('audio');
        // While the device is open, Chromium hands out its old processing
        // again: release it first (the others hear a moment of silence).
        this.#mic.stop();
        this.#stopMonitor();
        try {
            await this.#acquire({ audio: true });
        } catch (err) {
            this.#processing = before;
            await this.#acquire({ audio: true }).catch(() => this.#dropTrack('audio'));
            throw err;
        }
    }

    /** Plays the others' audio on the speaker id ('' for the default); a 'sink' event tells. */
    setSpeaker(id) {
        this.#sinkId = id;
        this.dispatchEvent(new CustomEvent('sink', { detail: { id } }));
    }

    /**
     * A stream with an always-enabled copy of the microphone, for the level
     * meter only (it hears the person while muted; the copy is never sent).
     * Null without a microphone. The copy is replaced with the microphone.
     */
    monitor() {
        if (!this.#mic) return null;
        if (!this.#monitor) {
            const copy = this.#mic.clone();
            copy.enabled = true;
            this.#monitor = new MediaStream([copy]);
        }
        return this.#monitor;
    }

    #stopMonitor() {
        if (!this.#monitor) return;
        for (const t of this.#monitor.getTracks()) t.stop();
        this.#monitor = null;
    }

    async devices() {
        if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
        try {
            return await navigator.mediaDevices.enumerateDevices();
        } catch {
            return [];
        }
    }

    /**
     * Starts a screen capture; resolves with the track, or null when the
     * person cancelled the picker (or it was refused: NotAllowedError says
     * both), while the picker is already open, or when the session ended
     * before the person picked (that capture is stopped at once). Rejects
     * when the browser or the system could not share (the page says so).
     */
    async startScreen() {
        if (!canShareScreen() || this.#screen || this.#screenAsking) return null;
        const gen = this.#gen.screen;
        let s;
        this.#screenAsking = true;
        try {
            s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
        } catch (err) {
            if (err.name === 'NotAllowedError') return null;
            throw err;
        } finally {
            this.#screenAsking = false;
        }
        if (gen !== this.#gen.screen) {
            for (const t of s.getTracks()) t.stop();
            return null;
        }
        const track = s.getVideoTracks()[0];
        if ('contentHint' in track) track.contentHint = 'detail';
        this.#screen = track;
        track.addEventListener('ended', () => {
            if (this.#screen === track) this.stopScreen();
        });
        return track;
    }

    stopScreen() {
        const t = this.#screen;
        if (!t) return;
        this.#screen = null;
        t.stop();
        this.dispatchEvent(new CustomEvent('screen-ended'));
    }

    /** The session ended: every track stops, and so does any capture still starting. */
    stopAll() {
        this.#session++;
        this.#want = { audio: false, video: false };
        for (const kind in this.#gen) this.#gen[kind]++;
        this.#stopMonitor();
        for (const t of this.#stream.getTracks()) t.stop();
        if (this.#screen) this.#screen.stop();
        this.#mic = this.#cam = this.#screen = null;
        this.#stream = new MediaStream();
    }
}

/**
 * Audio levels of several streams, sampled together a few times a second.
 * level(key) is a smoothed 0..1 value; onTick runs after each sample.
 */
export class Levels {
    #onTick;
    #ctx = null;
    #nodes = new Map();
    #timer = null;

    constructor(onTick) {
        this.#onTick = onTick;
    }

    ensureContext() {
        if (!this.#ctx) {
            const AC = window.AudioContext || window.webkitAudioContext;
            if (!AC) return null;
            this.#ctx = new AC();
        }
        if (this.#ctx.state === 'suspended') this.#ctx.resume().catch(() => {});
        return this.#ctx;
    }

    /** Measures the audio track of stream under key (replacing any before). */
    watch(key, stream) {
        this.unwatch(key);
        const track = stream && stream.getAudioTracks()[0];
        const ctx = track && this.ensureContext();
        if (!ctx) return;
        const src = ctx.createMediaStreamSource(new MediaStream([track]));
        const an = ctx.createAnalyser();
        an.fftSize = 512;
        an.smoothingTimeConstant = 0.3;
        src.connect(an);
        this.#nodes.set(key, { src, an, buf: new Float32Array(an.fftSize), level: 0, track });
        if (!this.#timer) this.#timer = setInterval(() => this.#sample(), 120);
    }

    unwatch(key) {
        const n = this.#nodes.get(key);
        if (!n) return;
        n.src.disconnect();
        this.#nodes.delete(key);
    }

    #sample() {
        for (const n of this.#nodes.values()) {
            n.an.getFloatTimeDomainData(n.buf);
            let sum = 0;
            for (const v of n.buf) sum += v * v;
            const rms = Math.sqrt(sum / n.buf.length);
            const live = n.track.enabled && n.track.readyState === 'live';
            const v = live ? Math.min(1, rms * 6) : 0;
            n.level = Math.max(v, n.level * 0.8);
        }
        if (this.#onTick) this.#onTick(this);
    }

    level(key) {
        const n = this.#nodes.get(key);
        return n ? n.level : 0;
    }

    /** The key of the loudest stream above threshold (skipping skip), or null. */
    loudest(threshold, skip = null) {
        let best = null;
        let bestLevel = threshold;
        for (const [key, n] of this.#nodes) {
            if (key === skip) continue;
            if (n.level > bestLevel) {
                best = key;
                bestLevel = n.level;
            }
        }
        return best;
    }

    /** A short two-note chime (someone knocks), through the same context. */
    chime() {
        const ctx = this.ensureContext();
        if (!ctx) return;
        const t = ctx.currentTime;
        const gain = ctx.createGain();
        gain.gain.setValueAtTime(0.0001, t);
        gain.gain.exponentialRampToValueAtTime(0.2, t + 0.02);
        gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.5);
        gain.connect(ctx.destination);
        [660, 880].forEach((hz, i) => {
            const osc = ctx.createOscillator();
            osc.frequency.value = hz;
            osc.connect(gain);
            osc.start(t + i * 0.14);
            osc.stop(t + 0.5);
        });
    }

    close() {
        clearInterval(this.#timer);
        this.#timer = null;
        for (const k of [...this.#nodes.keys()]) this.unwatch(k);
        if (this.#ctx) this.#ctx.close().catch(() => {});
        this.#ctx = null;
    }
}

/**
 * The active speaker after a sample: id (the loudest, or null for silence)
 * takes the ring at once and holds it holdMs; silence takes it away only
 * once the hold is over. prev and the result are { id, until }.
 */
export function holdSpeaker(prev, id, now, holdMs = 900) {
    if (id) return { id, until: now + holdMs };
    if (now > prev.until) return { id: null, until: 0 };
    return prev;
}
