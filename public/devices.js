// Device pickers: every <select> that chooses a microphone, a camera or a
// speaker, on the pre-join screen and in the meeting's settings, is bound
// here. The lists come from the browser (media.devices()); a choice goes to
// Media (useDevice, setSpeaker), and every picker of that kind then shows
// it, so the two screens never disagree.

import { t } from './i18n.js';

// Each kind of picker: the browser's device kind, the catalogue's word for
// it and for none of it.
export const PICKERS = {
    audio: { kind: 'audioinput', word: 'device.mic', none: 'device.noMic' },
    video: { kind: 'videoinput', word: 'device.cam', none: 'device.noCam' },
    speaker: { kind: 'audiooutput', word: 'device.speaker', none: 'device.noSpeaker' },
};

/**
 * The options of a picker of kind ('audio', 'video', 'speaker') from the
 * browser's device list: [{ value, text }], devices without an id left
 * out, unnamed ones numbered ("Camera 2"). Pure: no DOM.
 */
export function pickerOptions(list, kind) {
    const { kind: want, word } = PICKERS[kind];
    return list.filter((d) => d.kind === want && d.deviceId)
        .map((d, i) => ({ value: d.deviceId, text: d.label || t('device.numbered', { device: t(word), n: i + 1 }) }));
}

/**
 * What an empty picker of kind says: with the devices blocked the browser
 * lists none, though they are there (and sound still plays on the default
 * speaker); else there is none.
 */
export function emptyWord(kind, denied) {
    if (!denied) return PICKERS[kind].none;
    return kind === 'speaker' ? 'device.defaultSpeaker' : 'device.blocked';
}

export class Pickers {
    #media;
    #onError;
    #selects = [];

    /** media: the Media; onError(text): a device could not be started. */
    constructor(media, onError) {
        this.#media = media;
        this.#onError = onError;
        // A headset plugged in or out: the lists follow.
        if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
            navigator.mediaDevices.addEventListener('devicechange', () => this.refresh());
        }
    }

    /** Makes sel the picker of kind: filled by refresh(), a change switches. */
    bind(kind, sel) {
        this.#selects.push({ kind, sel });
        sel.addEventListener('change', () => this.#pick(kind, sel.value));
    }

    /** Fills every bound picker from the browser's list, showing what is in use. */
    async refresh() {
        const list = await this.#media.devices();
        for (const { kind, sel } of this.#selects) this.#fill(sel, kind, pickerOptions(list, kind));
    }

    #fill(sel, kind, options) {
        sel.replaceChildren(...options.map(({ value, text }) => {
            const o = document.createElement('option');
            o.value = value;
            o.textContent = text;
            return o;
        }));
        if (!options.length) {
            const o = document.createElement('option');
            o.textContent = t(emptyWord(kind, this.#media.denied()));
            sel.append(o);
        }
        sel.disabled = options.length === 0;
        const current = this.#media.deviceId(kind);
        if (current && options.some((o) => o.value === current)) sel.value = current;
    }

    async #pick(kind, id) {
        try {
            if (kind === 'speaker') this.#media.setSpeaker(id);
            else await this.#media.useDevice(kind, id);
        } catch {
            this.#onError(t('device.failed'));
        }
        await this.refresh();
    }
}
