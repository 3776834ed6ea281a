// A host's tools for the whole meeting, at the top of the people panel:
// mute everyone, lock or unlock, set or remove the password, end the
// meeting for all, asking first where a choice needs it (ask.js). It
// shows state and reports choices; what they send is the page's business.
// The server checks every host action: hiding these from guests is only
// for their comfort.

import { $, focusIfLost, keyboardIn } from './dom.js';
import { t } from './i18n.js';

const MAX_PASSWORD_BYTES = 128; // the server's limit (docs/protocol.md)

export class HostTools {
    #on;
    #access = { locked: false, password: false };
    #ask;

    /**
     * on: { muteAll(), lock(locked), password(text) ('' removes it),
     * end() }, called once the host chose (and confirmed where asked);
     * ask: the page's question dialog (ask.js).
     */
    constructor(on, ask) {
        this.#on = on;
        this.#ask = ask;
        $('host-mute-all').addEventListener('click', () => on.muteAll());
        $('host-lock').addEventListener('click', () => on.lock(!this.#access.locked));
        $('host-password').addEventListener('click', () => this.#password());
        $('host-end').addEventListener('click', async () => {
            const ok = await this.#ask.ask({ title: t('host.endTitle'), text: t('host.endText'), ok: t('host.endOk'), danger: true, forHosts: true });
            if (ok !== null) on.end();
        });
    }

    /** Shows the tools only to a host. A keyboard user in them when they
     * go (one is no host any more) is put on the People tab. */
    setHost(on) {
        const keyboard = !on && keyboardIn($('host-tools'));
        $('host-tools').hidden = !on;
        if (keyboard) focusIfLost($('tab-people'));
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
            const ok = await this.#ask.ask({ title: t('host.removePwTitle'), text: t('host.removePwText'), ok: t('host.removePassword'), forHosts: true });
            if (ok !== null) this.#on.password('');
            return;
        }
        let note = t('host.setPwText');
        for (;;) {
            const text = await this.#ask.ask({ title: t('host.setPwTitle'), text: note, ok: t('host.setPassword'), field: t('common.password'), forHosts: true });
            if (!text) return;
            if (new TextEncoder().encode(text).length <= MAX_PASSWORD_BYTES) {
                this.#on.password(text);
                return;
            }
            note = t('host.pwTooLong', { max: MAX_PASSWORD_BYTES });
        }
    }
}
