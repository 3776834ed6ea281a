// Pre-join screen: camera preview, remembered name, microphone and camera
// switches, device pickers, the meeting password when one is asked for,
// and the messages that explain what is wrong (not a secure context,
// permission denied, no device, server unreachable, wrong password).
import { canCapture } from './media.js';
import { cleanName, initials, hue } from './names.js';
import { mirrorOn } from './settings.js';
import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const NAME_KEY = 'huddle.name';

function remembered() {
    try {
        return localStorage.getItem(NAME_KEY) || '';
    } catch {
        return '';
    }
}

/** Keeps name for the next visit (the pre-join field's and a rename's). */
export function rememberName(name) {
    try {
        localStorage.setItem(NAME_KEY, name);
    } catch { /* private mode: fine */ }
}

export class PreJoin {
    #media;
    #levels;
    #audio = true;
    #video = true;
    #name;
    #preview;
    #pickers;
    #closed = false;

    /** pickers: the page's device pickers (devices.js); this screen binds its two. */
    constructor(media, levels, pickers) {
        this.#media = media;
        this.#levels = levels;
        this.#pickers = pickers;
        this.#name = $('name-input');
        this.#preview = $('preview-video');
        try {
            this.#preview.classList.toggle('mirror', mirrorOn(localStorage));
        } catch { /* storage off: mirrored, the default */ }
        this.#name.value = remembered();
        this.#name.addEventListener('input', () => this.#showAvatar());
        $('pre-mic').addEventListener('click', () => this.#toggle('audio'));
        $('pre-cam').addEventListener('click', () => this.#toggle('video'));
        pickers.bind('audio', $('mic-select'));
        pickers.bind('video', $('cam-select'));
        media.addEventListener('track', () => this.#onTrack());
        this.#showAvatar();
        this.#name.focus();
    }

    async start() {
        if (!canCapture()) {
            this.message(t(window.isSecureContext ? 'prejoin.cantCapture' : 'prejoin.insecure'));
            this.#audio = this.#video = false;
            this.#refresh();
            return;
        }
        await this.#media.start({ audio: true, video: true });
        if (this.#media.denied()) {
            this.message(t('prejoin.blocked'));
        } else if (!this.#media.audioTrack() && !this.#media.camTrack()) {
            this.message(t('prejoin.noDevices'));
        } else if (!this.#media.camTrack()) {
            this.message(t('prejoin.micOnly'));
        } else if (!this.#media.audioTrack()) {
            this.message(t('prejoin.camOnly'));
        }
        this.#audio = !!this.#media.audioTrack();
        this.#video = !!this.#media.camTrack();
        await this.#pickers.refresh();
        this.#refresh();
        this.#levels.watch('preview', this.#media.stream());
    }

    async #toggle(kind) {
        if (kind === 'audio') {
            if (!this.#media.audioTrack()) return;
            this.#audio = !this.#audio;
            this.#media.setMicEnabled(this.#audio);
        } else {
            if (!this.#video && !this.#media.camTrack() && (this.#media.denied() || !canCapture())) return;
            this.#video = !this.#video;
            const ok = await this.#media.setCamera(this.#video);
            if (!ok) this.#video = false;
        }
        this.#refresh();
    }

    /** A track came or went (a switch, a picked device): the preview and meter follow. */
    #onTrack() {
        if (this.#closed) return;
        this.#levels.watch('preview', this.#media.stream());
        this.#refresh();
    }

    #refresh() {
        const mic = $('pre-mic');
        const cam = $('pre-cam');
        const micOn = this.#audio && !!this.#media.audioTrack();
        const camOn = this.#video && !!this.#media.camTrack();
        mic.setAttribute('aria-pressed', String(micOn));
        cam.setAttribute('aria-pressed', String(camOn));
        mic.classList.toggle('off', !micOn);
        cam.classList.toggle('off', !camOn);
        mic.disabled = !this.#media.audioTrack();
        cam.disabled = !this.#media.camTrack() && (this.#media.denied() || !canCapture() || this.#media.missing('video'));
        mic.dataset.icon = micOn ? 'mic' : 'mic-off';
        cam.dataset.icon = camOn ? 'cam' : 'cam-off';
        mic.title = t(micOn ? 'prejoin.micOff' : 'prejoin.micOn');
        cam.title = t(camOn ? 'prejoin.camOffBtn' : 'prejoin.camOn');
        this.#preview.srcObject = camOn ? this.#media.stream() : null;
        $('preview-off').hidden = camOn;
        $('preview-off-text').textContent = t(this.#media.camTrack() || this.#video ? 'prejoin.camOff' : 'prejoin.noCam');
        document.dispatchEvent(new CustomEvent('huddle-icons'));
    }

    /** The language changed: the words this screen set itself follow. */
    relabel() {
        if (!this.#closed) this.#refresh();
        const b = $('join-btn');
        if (!b.disabled) b.textContent = t('prejoin.join');
    }

    #showAvatar() {
        const n = this.#name.value.trim();
        const a = $('preview-avatar');
        a.textContent = initials(n || '?');
        a.style.setProperty('--h', hue(n || '?'));
    }

    /** What the person chose to join with: { audio, video } (device or not). */
    choices() {
        return { audio: this.#audio, video: this.#video };
    }

    /** The meeting began: the preview lets go of the camera and the meter. */
    close() {
        this.#closed = true;
        this.#preview.srcObject = null;
        this.#levels.unwatch('preview');
    }

    meter(level) {
        $('pre-mic').style.setProperty('--level', String(this.#audio ? level : 0));
    }

    message(text, { full = false } = {}) {
        $('pre-msg').hidden = !text;
        $('pre-msg-text').textContent = text || '';
        $('pre-full').hidden = !full;
    }

    /**
     * The meeting has a password: shows the field (required from now on)
     * with why (wrong: the last one was wrong), and puts the cursor in it.
     */
    askPassword(wrong) {
        const input = $('pw-input');
        $('pw-row').hidden = false;
        input.required = true;
        this.message(t(wrong ? 'prejoin.wrongPassword' : 'prejoin.needsPassword'));
        input.classList.toggle('invalid', !!wrong);
        input.focus();
        input.select();
    }

    /** The password typed, or '' (none asked for). Never remembered. */
    password() {
        return $('pw-row').hidden ? '' : $('pw-input').value;
    }

    /** The validated name (remembered), or '' with a message. */
    takeName() {
        const n = cleanName(this.#name.value);
        if (!n) {
            this.#name.focus();
            this.#name.classList.add('invalid');
            return '';
        }
        this.#name.classList.remove('invalid');
        rememberName(n);
        return n;
    }

    busy(on, label) {
        const b = $('join-btn');
        b.disabled = on;
        b.classList.toggle('busy', on);
        b.textContent = label || t('prejoin.join');
    }
}
