// Local media: camera and microphone capture, device lists, screen capture
// and audio levels. It owns the local MediaStream; the mesh only reads the
// current tracks through audioTrack() and videoTrack().

export const canCapture = () => !!(window.isSecureContext && navigator.mediaDevices
    && navigator.mediaDevices.getUserMedia);
export const canShareScreen = () => !!(window.isSecureContext && navigator.mediaDevices
    && navigator.mediaDevices.getDisplayMedia);

const VIDEO = { width: { ideal: 1280 }, height: { ideal: 720 }, frameRate: { ideal: 30 } };
const AUDIO = { echoCancellation: true, noiseSuppression: true, autoGainControl: true };

export class Media extends EventTarget {
    constructor() {
        super();
        this.stream = new MediaStream();
        this.mic = null;
        this.cam = null;
        this.screen = null;
        this.micId = '';
        this.camId = '';
        this.denied = false;
        this.missing = { audio: false, video: false };
    }

    audioTrack() { return this.mic; }
    videoTrack() { return this.screen || this.cam; }

    /**
     * Asks for the camera and the microphone. Resolves with what was
     * obtained; never rejects: a denial or a missing device is recorded in
     * this.denied / this.missing and the meeting goes on without it.
     */
    async start({ audio = true, video = true } = {}) {
        if (!canCapture()) return this;
        try {
            await this.acquire({ audio, video });
        } catch (err) {
            if (err.name === 'NotAllowedError' || err.name === 'SecurityError') {
                this.denied = true;
            } else {
                // One kind may be missing: try them one at a time.
                if (audio) await this.acquire({ audio: true }).catch(() => { this.missing.audio = true; });
                if (video) await this.acquire({ video: true }).catch(() => { this.missing.video = true; });
            }
        }
        return this;
    }

    async acquire({ audio = false, video = false }) {
        const s = await navigator.mediaDevices.getUserMedia({
            audio: audio ? { ...AUDIO, ...(this.micId ? { deviceId: { exact: this.micId } } : {}) } : false,
            video: video ? { ...VIDEO, ...(this.camId ? { deviceId: { exact: this.camId } } : {}) } : false,
        });
        for (const t of s.getTracks()) this.setTrack(t);
    }

    setTrack(track) {
        const slot = track.kind === 'audio' ? 'mic' : 'cam';
        const old = this[slot];
        if (old) {
            old.stop();
            this.stream.removeTrack(old);
        }
        this[slot] = track;
        this.stream.addTrack(track);
        this.dispatchEvent(new CustomEvent('track', { detail: { kind: track.kind, track } }));
    }

    dropTrack(kind) {
        const slot = kind === 'audio' ? 'mic' : 'cam';
        const old = this[slot];
        if (!old) return;
        old.stop();
        this.stream.removeTrack(old);
        this[slot] = null;
        this.dispatchEvent(new CustomEvent('track', { detail: { kind, track: null } }));
    }

    setMicEnabled(on) {
        if (this.mic) this.mic.enabled = on;
    }

    /** Camera on: capture again (the light goes on); off: release it. */
    async setCamera(on) {
        if (!on) {
            this.dropTrack('video');
            return true;
        }
        if (this.cam || !canCapture()) return !!this.cam;
        try {
            await this.acquire({ video: true });
            return true;
        } catch {
            return false;
        }
    }

    async useDevice(kind, deviceId) {
        if (kind === 'audio') this.micId = deviceId;
        else this.camId = deviceId;
        const live = kind === 'audio' ? this.mic : this.cam;
        if (!live) return;
        const enabled = live.enabled;
        await this.acquire({ audio: kind === 'audio', video: kind === 'video' });
        if (kind === 'audio') this.mic.enabled = enabled;
    }

    async devices() {
        if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return [];
        try {
            return await navigator.mediaDevices.enumerateDevices();
        } catch {
            return [];
        }
    }

    /** Starts a screen capture; resolves with the track or null if refused. */
    async startScreen() {
        if (!canShareScreen()) return null;
        let s;
        try {
            s = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: { ideal: 15 } }, audio: false });
        } catch {
            return null;
        }
        const track = s.getVideoTracks()[0];
        if ('contentHint' in track) track.contentHint = 'detail';
        this.screen = track;
        track.addEventListener('ended', () => {
            if (this.screen === track) this.stopScreen();
        });
        return track;
    }

    stopScreen() {
        const t = this.screen;
        if (!t) return;
        this.screen = null;
        t.stop();
        this.dispatchEvent(new CustomEvent('screen-ended'));
    }

    stopAll() {
        for (const t of this.stream.getTracks()) t.stop();
        if (this.screen) this.screen.stop();
        this.mic = this.cam = this.screen = null;
        this.stream = new MediaStream();
    }
}

/**
 * Audio levels of several streams, sampled together a few times a second.
 * level(key) is a smoothed 0..1 value; onTick runs after each sample.
 */
export class Levels {
    constructor(onTick) {
        this.onTick = onTick;
        this.ctx = null;
        this.nodes = new Map();
        this.timer = null;
    }

    ensureContext() {
        if (!this.ctx) {
            const AC = window.AudioContext || window.webkitAudioContext;
            if (!AC) return null;
            this.ctx = new AC();
        }
        if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
        return this.ctx;
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
        this.nodes.set(key, { src, an, buf: new Float32Array(an.fftSize), level: 0, track });
        if (!this.timer) this.timer = setInterval(() => this.sample(), 120);
    }

    unwatch(key) {
        const n = this.nodes.get(key);
        if (!n) return;
        n.src.disconnect();
        this.nodes.delete(key);
    }

    sample() {
        for (const n of this.nodes.values()) {
            n.an.getFloatTimeDomainData(n.buf);
            let sum = 0;
            for (const v of n.buf) sum += v * v;
            const rms = Math.sqrt(sum / n.buf.length);
            const live = n.track.enabled && n.track.readyState === 'live';
            const v = live ? Math.min(1, rms * 6) : 0;
            n.level = Math.max(v, n.level * 0.8);
        }
        if (this.onTick) this.onTick(this);
    }

    level(key) {
        const n = this.nodes.get(key);
        return n ? n.level : 0;
    }

    close() {
        clearInterval(this.timer);
        this.timer = null;
        for (const k of [...this.nodes.keys()]) this.unwatch(k);
        if (this.ctx) this.ctx.close().catch(() => {});
        this.ctx = null;
    }
}
