// Pre-join screen: camera preview, remembered name, microphone and camera
// switches, device pickers, the meeting password when one is asked for,
// and the messages that explain what is wrong (not a secure context,
// permission denied, no device, server unreachable, wrong password).
import { canCapture } from './media.js';
import { cleanName, initials, hue } from './names.js';
import { mirrorOn } from './settings.js';
import { t, timeText } from './i18n.js';
import { $, fixName } from './dom.js';

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

/**
 * The line under the name field that says why a name is refused (as the
 * Settings' rename field has), made here: the markup has none.
 */
function nameErrorLine(input) {
    const line = document.createElement('p');
    line.id = 'name-error';
    line.className = 'field-error';
    line.setAttribute('role', 'alert');
    line.hidden = true;
    input.after(line);
    input.setAttribute('aria-describedby', line.id);
    return line;
}

export class PreJoin {
    #media;
    #levels;
    #audio = true;
    #name;
    #nameError;
    #preview;
    #pickers;
    #closed = false;
    #words = null; // the function giving the line over Join, if it is one
    #joinWord = 'prejoin.join'; // the catalogue key of Join's label (prejoin.retryNow while a try waits...)

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
        this.#nameError = nameErrorLine(this.#name);
        this.#name.addEventListener('input', () => {
            this.#showAvatar();
            // The mark goes once the name is fixed (or emptied: then the field's own "required" speaks).
            if (!this.#name.value || cleanName(this.#name.value)) this.#invalidName('');
        });
        $('pre-mic').addEventListener('click', () => this.#toggle('audio'));
        $('pre-cam').addEventListener('click', () => this.#toggle('video'));
        pickers.bind('audio', $('mic-select'));
        pickers.bind('video', $('cam-select'));
        media.addEventListener('track', () => this.#onTrack());
        this.#showAvatar();
        // Not scrolled to: in one column (a small window) the preview above
        // it would start off screen; typing brings the field into view.
        this.#name.focus({ preventScroll: true });
    }

    /**
     * Starts the preview. audio, video: whether the microphone and the
     * camera start on (a page coming back into its meeting starts them as
     * they were; a camera off is not even opened).
     */
    async start({ audio = true, video = true } = {}) {
        if (!canCapture()) {
            this.message(() => t(window.isSecureContext ? 'prejoin.cantCapture' : 'prejoin.insecure'));
            this.#audio = false;
            this.#refresh();
            return;
        }
        await this.#media.start({ audio: true, video });
        // What is missing, not what is off: the camera may have been turned off meanwhile.
        const missing = (kind) => this.#media.missing(kind);
        if (this.#media.denied()) {
            this.message(() => t('prejoin.blocked'));
        } else if (missing('audio') && missing('video')) {
            this.message(() => t('prejoin.noDevices'));
        } else if (missing('video')) {
            this.message(() => t('prejoin.micOnly'));
        } else if (missing('audio')) {
            this.message(() => t('prejoin.camOnly'));
        }
        this.#audio = !!this.#media.audioTrack() && audio;
        this.#media.setMicEnabled(this.#audio);
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
            // The camera's on or off is media's (cameraWanted): a click while
            // it starts turns it off again, and the capture is dropped.
            const on = !this.#media.cameraWanted();
            if (on && (this.#media.denied() || !canCapture())) return;
            const started = this.#media.setCamera(on);
            this.#refresh();
            await started;
        }
        if (!this.#closed) this.#refresh();
    }

    /** A track came or went (a switch, a picked device): the preview and meter follow. */
    #onTrack() {
        if (this.#closed) return;
        // A microphone captured anew (picked after one was unplugged) is on
        // only if the switch says so.
        this.#media.setMicEnabled(this.#audio);
        this.#levels.watch('preview', this.#media.stream());
        this.#refresh();
    }

    #refresh() {
        const mic = $('pre-mic');
        const cam = $('pre-cam');
        const micOn = this.#audio && !!this.#media.audioTrack();
        // The switch shows the person's choice; the preview, the camera's picture once it runs.
        const camOn = this.#media.cameraWanted();
        const live = !!this.#media.camTrack();
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
        this.#preview.srcObject = live ? this.#media.stream() : null;
        $('preview-off').hidden = live;
        $('preview-off-text').textContent = t(cam.disabled ? 'prejoin.noCam' : camOn ? 'prejoin.camStarting' : 'prejoin.camOff');
        document.dispatchEvent(new CustomEvent('huddle-icons'));
    }

    /** The language changed: the words this screen set itself follow. */
    relabel() {
        if (!this.#closed) this.#refresh();
        if (this.#words) $('pre-msg-text').textContent = this.#words();
        if (this.#name.getAttribute('aria-invalid') === 'true') this.#invalidName(t('settings.nameInvisible'));
        $('join-btn').textContent = t(this.#joinWord);
    }

    #showAvatar() {
        const n = this.#name.value.trim();
        const a = $('preview-avatar');
        a.textContent = initials(n || '?');
        a.style.setProperty('--h', hue(n || '?'));
    }

    /**
     * What the person chose to join with: { audio } (device or not). The
     * camera's choice is media's (cameraWanted), and counts once it runs.
     */
    choices() {
        return { audio: this.#audio };
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

    /**
     * The line over Join ('' hides it): a text, or a function giving it,
     * asked again when the language changes. full: the room was full (Try
     * again and Start a new meeting are shown in Join's place: Try again
     * is what Join would do).
     */
    message(text, { full = false } = {}) {
        this.#words = typeof text === 'function' ? text : null;
        const shown = this.#words ? this.#words() : text;
        $('pre-msg').hidden = !shown;
        $('pre-msg-text').textContent = shown || '';
        $('pre-full').hidden = !full;
        $('join-btn').hidden = full;
    }

    /**
     * The meeting has a password: shows the field with why (wrong: the
     * last one was wrong), and puts the cursor in it. Not a required
     * field: a host may remove the password meanwhile, and only the
     * server knows whether one is still needed (it asks again if so).
     */
    askPassword(wrong) {
        const input = $('pw-input');
        $('pw-row').hidden = false;
        // Wrong again: the same words would look like no new try was made.
        const again = wrong && input.classList.contains('invalid') ? new Date() : null;
        this.message(() => (again
            ? `${t('prejoin.wrongPassword')} ${t('gate.triedAgain', { time: timeText(again, { seconds: true }) })}`
            : t(wrong ? 'prejoin.wrongPassword' : 'prejoin.needsPassword')));
        input.classList.toggle('invalid', !!wrong);
        input.setAttribute('aria-invalid', String(!!wrong));
        input.focus();
        input.select();
        // On a phone the field and the line over it push Join down: it
        // stays in view under the field.
        $('join-btn').scrollIntoView({ block: 'nearest' });
    }

    /** The password typed, or '' (none asked for). Never remembered. */
    password() {
        return $('pw-row').hidden ? '' : $('pw-input').value;
    }

    /**
     * An invitation names its holder: the field shows name and cannot be
     * changed; Join is where the focus goes.
     */
    invited(name) {
        fixName(this.#name, $('name-invited'), name);
        this.#showAvatar();
        if (document.activeElement === this.#name) $('join-btn').focus({ preventScroll: true });
    }

    /** The validated name (remembered unless an invitation's), or '' with a message. */
    takeName() {
        if (this.#name.readOnly) return this.#name.value; // an invitation's (invited)
        const n = cleanName(this.#name.value);
        if (!n) {
            this.#invalidName(t('settings.nameInvisible'));
            this.#name.focus();
            return '';
        }
        this.#invalidName('');
        rememberName(n);
        return n;
    }

    /** Marks the name field wrong, with why (text), or clears the mark (''). */
    #invalidName(text) {
        this.#name.classList.toggle('invalid', !!text);
        this.#name.setAttribute('aria-invalid', String(!!text));
        // The browser's own check says it too, on the next Join.
        this.#name.setCustomValidity(text);
        this.#nameError.textContent = text;
        this.#nameError.hidden = !text;
    }

    /**
     * Join while a try is under way (on: disabled), and its label: a key
     * of the catalogue, so that it follows a change of language.
     */
    busy(on, word = 'prejoin.join') {
        const b = $('join-btn');
        b.disabled = on;
        b.classList.toggle('busy', on);
        this.#joinWord = word;
        b.textContent = t(word);
    }
}
