// The lobby as a host sees it: who waits to be let in (the server's
// `lobby` list), each with Admit and Deny, at the top of the people
// panel. Names are what the knockers typed: textContent only.
import { initials, hue } from './names.js';
import { controlName, newArrivals } from './access.js';
import { t } from './i18n.js';
import { $, keepFocus, nameSpan } from './dom.js';

export class Lobby {
    #waiting = [];
    #on;

    /**
     * on: { admit(id), deny(id) }, called on the buttons, and labelOf(id,
     * name): the name to show for a knock (tagged when someone in the
     * meeting has a name that looks the same: roster.js).
     */
    constructor(on) {
        this.#on = on;
    }

    /** How many wait. */
    get size() {
        return this.#waiting.length;
    }

    /** Whether the knock id still waits. */
    has(id) {
        return this.#waiting.some((w) => w.id === id);
    }

    /**
     * Shows waiting (a cleaned `lobby` list) and returns the entries that
     * were not waiting before (to announce).
     */
    set(waiting) {
        const fresh = newArrivals(new Set(this.#waiting.map((w) => w.id)), waiting);
        this.#waiting = waiting.map((w) => ({ id: w.id, name: w.name }));
        this.#render();
        return fresh;
    }

    /** The language changed: the rows' words follow. */
    relabel() {
        this.#render();
    }

    /** Forgets the list (one is no longer a host). */
    clear() {
        this.set([]);
    }

    #render() {
        $('lobby').hidden = this.#waiting.length === 0;
        $('lobby-count').textContent = String(this.#waiting.length);
        // Admit or Deny takes the row away: the focus goes to the next one's
        // (a host lets several in from the keyboard), or to the People tab.
        keepFocus($('lobby-list'), 'li', 'knock', () => {
            $('lobby-list').replaceChildren(...this.#waiting.map((w) => this.#row(w)));
        }, $('tab-people'));
    }

    #row(w) {
        const li = document.createElement('li');
        li.className = 'person waiting-row';
        li.dataset.knock = w.id;
        const av = document.createElement('span');
        av.className = 'avatar sm';
        av.textContent = initials(w.name);
        av.setAttribute('aria-hidden', 'true'); // the name follows
        av.style.setProperty('--h', hue(w.name));
        const label = this.#on.labelOf(w.id, w.name);
        // Admit and Deny stay together: beside the name, or both under it.
        const acts = document.createElement('span');
        acts.className = 'waiting-acts';
        acts.append(
            this.#button(t('lobby.admit'), label, t('lobby.admitFull', { name: label }), 'admit', 'admit primary small', () => this.#on.admit(w.id)),
            this.#button(t('lobby.deny'), label, t('lobby.denyFull', { name: label }), 'deny', 'deny ghost small', () => this.#on.deny(w.id)));
        li.append(av, nameSpan('pname', label), acts);
        return li;
    }

    /**
     * A row's button: text on it; its name starts with that text and says
     * whom ("Admit: Dan", as the People rows' host tools do, so that a
     * voice command of what is on it finds it); title: the whole sentence.
     */
    #button(text, whom, title, action, cls, run) {
        const b = document.createElement('button');
        b.type = 'button';
        b.dataset.action = action;
        b.className = cls;
        b.textContent = text;
        b.title = title;
        b.setAttribute('aria-label', controlName(text, whom));
        b.addEventListener('click', run);
        return b;
    }
}
