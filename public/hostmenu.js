// A host's tools for the whole meeting, at the top of the people panel:
// mute everyone, lock or unlock, set or remove the password, end the
// meeting for all; and the page's one question dialog (a confirmation or
// a line of text), which the page also uses before removing someone. It
// shows state and reports choices; what they send is the page's business.
// The server checks every host action: hiding these from guests is only
// for their comfort.

import { t } from './i18n.js';

const $ = (id) => document.getElementById(id);
const MAX_PASSWORD_BYTES = 128; // the server's limit (docs/protocol.md)

export class HostTools {
    #on;
    #access = { locked: false, password: false };
    #answer = null;

    /**
     * on: { muteAll(), lock(locked), password(text) ('' removes it),
     * end() }, called once the host chose (and confirmed where asked).
     */
    constructor(on) {
        this.#on = on;
        $('host-mute-all').addEventListener('click', () => on.muteAll());
        $('host-lock').addEventListener('click', () => on.lock(!this.#access.locked));
        $('host-password').addEventListener('click', () => this.#password());
        $('host-end').addEventListener('click', async () => {
            const ok = await this.ask({ title: t('host.endTitle'), text: t('host.endText'), ok: t('host.endOk'), danger: true });
            if (ok !== null) on.end();
        });
        $('ask-form').addEventListener('submit', (e) => {
            e.preventDefault();
            this.#close($('ask-field').hidden ? '' : $('ask-input').value);
        });
        $('ask-cancel').addEventListener('click', () => this.#close(null));
        $('ask').addEventListener('cancel', (e) => {
            e.preventDefault();
            this.#close(null);
        });
    }

    /** Shows the tools only to a host. */
    setHost(on) {
        $('host-tools').hidden = !on;
    }

    /** The room's access ({ locked, password }): the buttons' words. */
    setAccess({ locked = false, password = false } = {}) {
        this.#access = { locked: !!locked, password: !!password };
        const lock = $('host-lock');
        // Its words say what it does ("Unlock meeting" while locked), so no
        // aria-pressed beside them: "Unlock meeting, pressed" says nothing.
        lock.classList.toggle('on', this.#access.locked);
        lock.dataset.icon = this.#access.locked ? 'unlock' : 'lock';
        lock.querySelector('.lbl').textContent = t(this.#access.locked ? 'host.unlock' : 'host.lock');
        $('host-password').querySelector('.lbl').textContent = t(this.#access.password ? 'host.removePassword' : 'host.setPassword');
        document.dispatchEvent(new CustomEvent('huddle-icons'));
    }

    /** The language changed: the buttons' words follow. */
    relabel() {
        this.setAccess(this.#access);
    }

    async #password() {
        if (this.#access.password) {
            const ok = await this.ask({ title: t('host.removePwTitle'), text: t('host.removePwText'), ok: t('host.removePassword') });
            if (ok !== null) this.#on.password('');
            return;
        }
        let note = t('host.setPwText');
        for (;;) {
            const text = await this.ask({ title: t('host.setPwTitle'), text: note, ok: t('host.setPassword'), field: t('common.password') });
            if (!text) return;
            if (new TextEncoder().encode(text).length <= MAX_PASSWORD_BYTES) {
                this.#on.password(text);
                return;
            }
            note = t('host.pwTooLong', { max: MAX_PASSWORD_BYTES });
        }
    }

    /**
     * Asks a question in the page's dialog: { title, text, ok (the
     * button's word), danger, field (a label: asks for a line of text) }.
     * Resolves to the text typed ('' without a field), or null when the
     * person cancelled. A question already open is cancelled.
     */
    ask({ title, text = '', ok = t('common.ok'), danger = false, field = null }) {
        this.#close(null);
        $('ask-title').textContent = title;
        $('ask-text').textContent = text;
        $('ask-ok').textContent = ok;
        $('ask-ok').classList.toggle('danger', danger);
        $('ask-cancel').textContent = t('common.cancel');
        $('ask-field').hidden = !field;
        $('ask-input').required = !!field;
        $('ask-input').value = '';
        if (field) $('ask-field-label').textContent = field;
        const dialog = $('ask');
        dialog.showModal();
        (field ? $('ask-input') : $('ask-cancel')).focus();
        return new Promise((resolve) => { this.#answer = resolve; });
    }

    /** Cancels the question open, if any (its action no longer applies). */
    cancel() {
        this.#close(null);
    }

    #close(value) {
        const resolve = this.#answer;
        this.#answer = null;
        if ($('ask').open) $('ask').close();
        if (resolve) resolve(value);
    }
}
