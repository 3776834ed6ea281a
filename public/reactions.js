// Reactions (docs/protocol.md, "react"): a few emoji a member sends to the
// room; each floats over the sender's tile for a moment, on every page, the
// sender's too. The list comes from the server (welcome's limits), so the
// page offers exactly what the sidecar accepts.

import { t } from './i18n.js';
import { rowTarget } from './dom.js';

const SHOW_MS = 3000; // the float lasts 2.5 s (app.css); then it goes anyway
const PER_TILE = 8; // at most this many at once over one tile

export class Reactions {
    #button;
    #menu;
    #send;
    #tileOf;
    #nameOf;
    #isSelf;
    #say;

    /**
     * button: the control that opens menu, a container of one button per
     * emoji; send(emoji) sends a react; tileOf(id) -> the element of that
     * member's tile, or null; nameOf(id) -> how to call that member;
     * isSelf(id) -> whether that is oneself;
     * say(text) has a screen reader say who reacted (the float is silent).
     */
    constructor({ button, menu, send, tileOf, nameOf, isSelf = () => false, say }) {
        this.#button = button;
        this.#menu = menu;
        this.#send = send;
        this.#tileOf = tileOf;
        this.#nameOf = nameOf;
        this.#isSelf = isSelf;
        this.#say = say;
        button.addEventListener('click', () => (menu.hidden ? this.open() : this.close(true)));
        // The emoji are one stop of Tab: the arrows, Home and End move
        // among them (the one reached keeps tabindex 0).
        menu.addEventListener('keydown', (e) => {
            if (e.key === 'Escape') {
                e.stopPropagation(); // the side panel stays as it is
                this.close(true);
                return;
            }
            const all = [...menu.querySelectorAll('button')];
            const to = all[rowTarget(e, menu, all.indexOf(document.activeElement), all.length)];
            if (!to) return;
            e.preventDefault();
            this.#rove(to);
        });
        // Tab (or a click elsewhere that takes the focus) leaves the row
        // and its button: it closes, as it does on a click outside.
        const leave = (e) => {
            const to = e.relatedTarget;
            if (to && !menu.contains(to) && to !== button) this.close(false);
        };
        menu.addEventListener('focusout', leave);
        button.addEventListener('focusout', leave);
        document.addEventListener('pointerdown', (e) => {
            if (!menu.hidden && !menu.contains(e.target) && !button.contains(e.target)) this.close(false);
        });
    }

    /** Offers list (welcome's limits.reactions); an empty one hides the button. */
    offer(list) {
        const emoji = Array.isArray(list) ? list.filter((e) => typeof e === 'string') : [];
        // A row open is drawn anew closed (a reconnect's welcome), the
        // focus back on React if it was in the row.
        this.close(this.#menu.contains(document.activeElement));
        this.#menu.replaceChildren(...emoji.map((e) => this.#pick(e)));
        this.#button.hidden = emoji.length === 0;
    }

    /** The language changed: the emoji buttons' names follow. */
    relabel() {
        for (const b of this.#menu.querySelectorAll('button')) b.setAttribute('aria-label', t('react.with', { emoji: b.textContent }));
    }

    open() {
        this.#menu.hidden = false;
        this.#button.setAttribute('aria-expanded', 'true');
        const first = this.#menu.querySelector('button');
        if (first) this.#rove(first);
    }

    /** Closes the menu; refocus puts the focus back on its button. */
    close(refocus) {
        if (this.#menu.hidden) return;
        this.#menu.hidden = true;
        this.#button.setAttribute('aria-expanded', 'false');
        if (refocus) this.#button.focus();
    }

    /** from's emoji floats over its tile (nothing when it has none here). */
    show(from, emoji) {
        const tile = this.#tileOf(from);
        if (!tile || typeof emoji !== 'string') return;
        const shown = tile.querySelectorAll('.reaction');
        if (shown.length >= PER_TILE) shown[0].remove();
        const s = document.createElement('span');
        s.className = 'reaction';
        s.textContent = emoji;
        s.setAttribute('aria-hidden', 'true');
        // One's own: "You reacted", not "You" in the sentence for others.
        this.#say(this.#isSelf(from) ? t('react.byYou', { emoji }) : t('react.by', { name: this.#nameOf(from), emoji }));
        s.style.setProperty('--x', `${15 + Math.floor(Math.random() * 60)}%`);
        tile.append(s);
        const drop = () => s.remove();
        s.addEventListener('animationend', drop, { once: true });
        setTimeout(drop, SHOW_MS);
    }

    #pick(emoji) {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'react-pick';
        b.textContent = emoji;
        b.setAttribute('aria-label', t('react.with', { emoji }));
        b.tabIndex = -1; // open() and the arrows give one of them 0
        b.addEventListener('click', () => {
            this.#send(emoji);
            this.close(true);
        });
        return b;
    }

    /** b takes the focus and the row's one Tab stop. */
    #rove(b) {
        for (const x of this.#menu.querySelectorAll('button')) x.tabIndex = x === b ? 0 : -1;
        b.focus();
    }
}
