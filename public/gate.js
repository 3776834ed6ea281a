// The screen between the pre-join screen and the meeting, or after it:
// waiting in the lobby, not let in, banned, an invitation needed, removed
// by a host, the meeting ended. One card: a title, a line, an optional
// spinner and buttons or links. Texts come from access.js; a host's name
// in them is set with textContent like everything else.

import { $ } from './dom.js';

export class Gate {
    #shown = 0; // cards shown so far: the number of the one on screen

    /**
     * Shows the card for why (kept in #gate's data-why for the tests):
     * { why, title, text, note (a second line, or none), wait (a spinner),
     * actions: [{ label, run } or { label, href }], the first one primary }.
     * Returns the card's number, for showing().
     */
    show({ why, title, text, note = '', wait = false, actions = [] }) {
        const root = $('gate');
        root.dataset.why = why;
        $('gate-title').textContent = title;
        $('gate-text').textContent = text;
        this.note(note);
        $('gate-wait').hidden = !wait;
        $('gate-actions').replaceChildren(...actions.map((a, i) => {
            const b = document.createElement(a.href ? 'a' : 'button');
            b.className = `button ${i === 0 ? 'primary' : 'ghost'}`;
            b.textContent = a.label;
            // The card is read once, with the control that has the focus
            // (a live region around it read the buttons too, twice).
            b.setAttribute('aria-describedby', 'gate-title gate-text gate-note');
            if (a.href) {
                b.href = a.href;
            } else {
                b.type = 'button';
                b.addEventListener('click', a.run);
            }
            return b;
        }));
        root.hidden = false;
        // The first action has the focus, or with none (an invitation that
        // is not valid) the title, so that a screen reader reads the card
        // (their descriptions).
        ($('gate-actions').firstElementChild || $('gate-title')).focus();
        return ++this.#shown;
    }

    /** Sets the card's second line ('': none), the rest as it is. */
    note(note) {
        $('gate-note').textContent = note;
        $('gate-note').hidden = !note;
    }

    /** Whether the card numbered card is still the one on screen. */
    showing(card) {
        return card === this.#shown && !$('gate').hidden;
    }

    hide() {
        $('gate').hidden = true;
    }
}
