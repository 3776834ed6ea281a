// The page's one question dialog: a confirmation, a line of text to type,
// or a line to copy. A <dialog> named by its title and described by its
// text, never window.confirm. The host tools ask with it, and so do Remove
// and Invite (where the browser refuses the clipboard).

import { t } from './i18n.js';
import { $ } from './dom.js';

export class Ask {
    #answer = null;
    #forHosts = false;
    #about = null; // the id of the person the open question is about
    #lost;

    /** lost(): gives the focus somewhere when the dialog's opener went. */
    constructor(lost) {
        this.#lost = lost;
        $('ask-form').addEventListener('submit', (e) => {
            e.preventDefault();
            this.#close($('ask-field').hidden || $('ask-input').readOnly ? '' : $('ask-input').value);
        });
        $('ask-cancel').addEventListener('click', () => this.#close(null));
        $('ask').addEventListener('cancel', (e) => {
            e.preventDefault();
            this.#close(null);
        });
        // A line to copy is selected whole whenever it takes the focus.
        $('ask-input').addEventListener('focus', () => {
            if ($('ask-input').readOnly) $('ask-input').select();
        });
    }

    /**
     * Asks: { title, text, ok (the button's word), danger, field (a label:
     * asks for a line of text), value (with field: a line to copy, shown
     * selected and read-only, and no Cancel), forHosts (a host's question,
     * which cancel({ hostsOnly }) closes), about (the id of the person it
     * is about, which cancel({ about }) closes) }. Resolves to the text typed
     * ('' without a field, or with a value), or null when the person
     * cancelled. A question already open is cancelled (the focus goes on
     * to this one, and back to where it was before that one).
     */
    ask({ title, text = '', ok = t('common.ok'), danger = false, field = null, value = null, forHosts = false, about = null }) {
        this.#close(null, false);
        this.#forHosts = forHosts;
        this.#about = about;
        const input = $('ask-input');
        $('ask-title').textContent = title;
        $('ask-text').textContent = text;
        $('ask-ok').textContent = ok;
        $('ask-ok').classList.toggle('danger', danger);
        $('ask-cancel').textContent = t('common.cancel');
        $('ask-cancel').hidden = value !== null;
        $('ask-field').hidden = !field;
        if (field) $('ask-field-label').textContent = field;
        input.required = !!field && value === null;
        input.readOnly = value !== null;
        input.value = value ?? '';
        $('ask').showModal();
        (field ? input : $('ask-cancel')).focus();
        return new Promise((resolve) => { this.#answer = resolve; });
    }

    /** Closes a question open, as if cancelled: it no longer applies
     * (hostsOnly: only a host's, one is no host any more; about: only one
     * about that person, who left). */
    cancel({ hostsOnly = false, about = null } = {}) {
        if (about !== null ? this.#about === about : !hostsOnly || this.#forHosts) this.#close(null);
    }

    #close(value, refocus = true) {
        const resolve = this.#answer;
        this.#answer = null;
        if ($('ask').open) {
            $('ask').close();
            $('ask').querySelector('[data-said]').textContent = ''; // said while it was open (ui.js announce)
            // Back on its opener, unless that went meanwhile (a host tool,
            // a row's Remove of someone no longer a host, the "only one
            // here" card).
            if (refocus) this.#lost();
        }
        if (resolve) resolve(value);
    }
}
