// The meeting's settings, a pane of the side panel: the microphone, camera
// and speaker pickers (the same device pickers as the pre-join screen's,
// devices.js), a level meter of the microphone, the camera's quality, the
// browser's microphone processing, whether one's own video is mirrored,
// speaker view, data saver (video only from the speaker, views.js), and
// one's name. It shows and reports; the page
// (app.js) decides what a new name or the mirror does.
import { canPickSpeaker, QUALITIES } from './media.js';
import { cleanName } from './names.js';
import { t } from './i18n.js';
import { $, fixName, focusIfLost } from './dom.js';

const MIRROR_PREF = 'huddle.mirror';
const QUALITY_PREF = 'huddle.quality';
const SAVER_PREF = 'huddle.saver';

/**
 * Runs apply() with control held meanwhile (a change takes a moment and
 * must not be made twice): aria-disabled, its clicks and keys (but Tab)
 * held back. Not `disabled`: that drops the focus to the page, and a
 * screen reader falls silent until it is back (seconds on a busy machine).
 */
async function applying(control, apply) {
    const hold = (e) => {
        if (e.key !== 'Tab') e.preventDefault();
    };
    const kinds = ['click', 'mousedown', 'keydown'];
    control.setAttribute('aria-disabled', 'true');
    for (const kind of kinds) control.addEventListener(kind, hold, true);
    try {
        await apply();
    } finally {
        for (const kind of kinds) control.removeEventListener(kind, hold, true);
        control.removeAttribute('aria-disabled');
    }
}

// Each processing switch: its checkbox and the constraint it turns on or off.
const PROCESSING = [
    ['set-ns', 'noiseSuppression'],
    ['set-ec', 'echoCancellation'],
    ['set-agc', 'autoGainControl'],
];

/** Whether one's own video is mirrored, from storage (on unless turned off). */
export function mirrorOn(storage) {
    try {
        return !storage || storage.getItem(MIRROR_PREF) !== 'off';
    } catch {
        return true;
    }
}

/** The camera quality chosen earlier, from storage: a media.js QUALITIES key, 'auto' when none is known. */
export function savedQuality(storage = localStore()) {
    let q = null;
    try {
        q = storage && storage.getItem(QUALITY_PREF);
    } catch { /* storage refused: the default */ }
    return q && Object.hasOwn(QUALITIES, q) ? q : 'auto';
}

/** Whether data saver was turned on earlier, from storage (off unless turned on). */
export function saverOn(storage = localStore()) {
    try {
        return !!storage && storage.getItem(SAVER_PREF) === 'on';
    } catch {
        return false;
    }
}

function localStore() {
    try {
        return window.localStorage;
    } catch {
        return null;
    }
}

/** Stores a choice for the next visits (in private mode it lasts for this page). */
function remember(key, value) {
    try {
        localStore()?.setItem(key, value);
    } catch { /* private mode */ }
}

export class Settings {
    #media;
    #on;
    #errorKey = '';

    /**
     * media: the Media; pickers: the page's device pickers; on: { mirror(on),
     * view(speaker), saver(on), quality(), rename(name), error(text) }: the
     * mirror switch changed, speaker view was turned on or off, data saver
     * was turned on or off (remembered here), the camera quality changed
     * (media has it), a valid new name was given (already cleaned), a switch
     * could not be applied.
     */
    constructor(media, pickers, on) {
        this.#media = media;
        this.#on = on;
        pickers.bind('audio', $('set-mic'));
        pickers.bind('video', $('set-cam'));
        if (canPickSpeaker()) pickers.bind('speaker', $('set-speaker'));
        else $('set-speaker-row').hidden = true;
        const now = media.processing();
        for (const [id, field] of PROCESSING) {
            const box = $(id);
            box.checked = now[field];
            box.addEventListener('change', () => this.#process(box, field));
        }
        const mirror = $('set-mirror');
        mirror.checked = mirrorOn(localStore());
        mirror.addEventListener('change', () => {
            remember(MIRROR_PREF, mirror.checked ? 'on' : 'off');
            on.mirror(mirror.checked);
        });
        const quality = $('set-quality');
        quality.value = media.quality();
        quality.addEventListener('change', () => this.#quality(quality));
        const view = $('set-speaker-view');
        view.addEventListener('change', () => on.view(view.checked));
        const saver = $('set-saver');
        saver.checked = saverOn();
        saver.addEventListener('change', () => {
            remember(SAVER_PREF, saver.checked ? 'on' : 'off');
            on.saver(saver.checked);
        });
        $('rename-form').addEventListener('submit', (e) => {
            e.preventDefault();
            this.#rename();
        });
        $('set-name').addEventListener('input', () => this.#nameError(''));
    }

    /** The microphone's level (0..1) on the pane's meter (heard also while muted). */
    meter(level) {
        $('set-level').value = level;
    }

    /** Whether one's own video is mirrored. */
    mirror() {
        return $('set-mirror').checked;
    }

    /** An invitation's name: the name field shows it and cannot be changed. */
    invited() {
        fixName($('set-name'), $('set-name-invited'), $('set-name').value);
        $('set-name-save').hidden = true;
    }

    /**
     * The pane is shown: the name field shows name; with focus, the focus
     * goes to the first picker, or to the name when there is nothing to
     * pick (not after a tap on a touch screen: a ring on a picker nobody
     * pointed at). filled: the pickers' refresh, which may disable the
     * picker under the focus (no device, or none allowed): the focus then
     * moves on.
     */
    open(name, filled, focus = true) {
        $('set-name').value = name;
        this.#nameError('');
        if (!focus) return;
        if ($('set-mic').disabled) $('set-name').focus();
        else $('set-mic').focus();
        filled.then(() => focusIfLost($('set-mic'), $('set-name')));
    }

    async #process(box, field) {
        await applying(box, async () => {
            try {
                await this.#media.setProcessing({ [field]: box.checked });
            } catch {
                this.#on.error(t('settings.processingFailed'));
            }
            box.checked = this.#media.processing()[field];
        });
    }

    async #quality(select) {
        await applying(select, async () => {
            try {
                await this.#media.setQuality(select.value);
                remember(QUALITY_PREF, select.value);
            } catch {
                this.#on.error(t('settings.qualityFailed'));
            }
            select.value = this.#media.quality();
        });
        this.#on.quality();
    }

    #rename() {
        const input = $('set-name');
        // An invitation's name (invited): the sidecar refuses another, and
        // Enter in the read-only field still submits the form.
        if (input.readOnly) return;
        const name = cleanName(input.value);
        if (!name) {
            this.#nameError('settings.nameInvisible');
            input.focus();
            return;
        }
        input.value = name;
        this.#nameError('');
        this.#on.rename(name);
    }

    /** The page's language changed: what the pane says itself follows. */
    relabel() {
        this.#nameError(this.#errorKey);
    }

    /** Marks the name field wrong, saying the catalogue's key, or not (''). */
    #nameError(key) {
        this.#errorKey = key;
        const text = key ? t(key) : '';
        const input = $('set-name');
        input.classList.toggle('invalid', !!text);
        input.setAttribute('aria-invalid', String(!!text));
        $('set-name-error').textContent = text;
        $('set-name-error').hidden = !text;
    }
}
