// A host's tools for the whole meeting, at the top of the people panel:
// mute everyone, lock or unlock, set or remove the password, end the
// meeting for all; and the page's one question dialog (a confirmation or
// a line of text), which the page also uses before removing someone. It
// shows state and reports choices; what they send is the page's business.
// The server checks every host action: hiding these from guests is only
// for their comfort.

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
            const ok = await this.ask({ title: 'End the meeting for everyone?', text: 'Everyone will be disconnected, and the chat, lock and password are cleared.', ok: 'End meeting', danger: true });
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
        lock.setAttribute('aria-pressed', String(this.#access.locked));
        lock.dataset.icon = this.#access.locked ? 'unlock' : 'lock';
        lock.querySelector('.lbl').textContent = this.#access.locked ? 'Unlock meeting' : 'Lock meeting';
        $('host-password').querySelector('.lbl').textContent = this.#access.password ? 'Remove password' : 'Set password';
        document.dispatchEvent(new CustomEvent('huddle-icons'));
    }

    async #password() {
        if (this.#access.password) {
            const ok = await this.ask({ title: 'Remove the password?', text: 'Anyone with the link can then join (or knock, while the meeting is locked).', ok: 'Remove password' });
            if (ok !== null) this.#on.password('');
            return;
        }
        let note = 'Newcomers will need it to join. Share it with them yourself.';
        for (;;) {
            const text = await this.ask({ title: 'Set a password', text: note, ok: 'Set password', field: 'Password' });
            if (!text) return;
            if (new TextEncoder().encode(text).length <= MAX_PASSWORD_BYTES) {
                this.#on.password(text);
                return;
            }
            note = `That one is too long (at most ${MAX_PASSWORD_BYTES} bytes). Try a shorter one.`;
        }
    }

    /**
     * Asks a question in the page's dialog: { title, text, ok (the
     * button's word), danger, field (a label: asks for a line of text) }.
     * Resolves to the text typed ('' without a field), or null when the
     * person cancelled. A question already open is cancelled.
     */
    ask({ title, text = '', ok = 'OK', danger = false, field = null }) {
        this.#close(null);
        $('ask-title').textContent = title;
        $('ask-text').textContent = text;
        $('ask-ok').textContent = ok;
        $('ask-ok').classList.toggle('danger', danger);
        $('ask-field').hidden = !field;
        $('ask-input').required = !!field;
        $('ask-input').value = '';
        if (field) $('ask-field-label').textContent = field;
        const dialog = $('ask');
        dialog.showModal();
        (field ? $('ask-input') : $('ask-cancel')).focus();
        return new Promise((resolve) => { this.#answer = resolve; });
    }

    #close(value) {
        const resolve = this.#answer;
        this.#answer = null;
        if ($('ask').open) $('ask').close();
        if (resolve) resolve(value);
    }
}
