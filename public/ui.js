// The meeting's view: video tiles in a grid that fills the stage (each
// remote tile can be pinned or shown full screen, and shows the grade of
// the link to that person), the people list (with a host's actions, a
// volume slider per person and the raised hands in order), the toast and
// the banner. The peers shown are the roster's copies, and each is shown
// by its label (roster.js: the name, tagged when another has the same).
// Names come from people: always textContent, never markup.
import { icon, setIcon } from './icons.js';
import { initials, hue } from './names.js';
import { rowActions, actionLabel, actionWord, controlName } from './access.js';
import { t as tr, listText } from './i18n.js';
import { $, el, focusIfLost, keepFocus, keyboardIn, nameSpan } from './dom.js';

/**
 * Fills node with one's own name in the language's "{name} (you)", the name
 * in a span of its own (.own): a long name is cut short, never the "(you)"
 * that tells one's own tile and row apart.
 */
function ownName(node, name) {
    const mark = '\uE000'; // where the template puts the name (no catalogue holds it)
    const [before, after = ''] = tr('common.nameYou', { name: mark }).split(mark);
    node.classList.add('own-name');
    // The words around the name in spans of their own too: in the flex
    // line a bare text's edge spaces would go ("Anna(you)").
    node.replaceChildren(el('span', 'around', before), nameSpan('own', name), el('span', 'around', after));
}

/** A round button over a tile (class cls, icon name) that calls onClick. */
function tileButton(cls, name, onClick) {
    const b = el('button', `tile-btn ${cls}`);
    b.type = 'button';
    b.append(icon(name));
    b.addEventListener('click', onClick);
    return b;
}

/**
 * A toggle button over a tile: its name stays (aria-pressed says whether it
 * is on, as for the control bar's buttons); the tooltip says what a click does.
 */
function labelButton(b, name, on, tip) {
    b.setAttribute('aria-pressed', String(on));
    b.setAttribute('aria-label', name.trim());
    b.title = tip.trim();
}

/**
 * What a screen reader hears of p's state beside their name, as the marks
 * show it: "microphone off, camera off, presenting, hand raised" ('' when
 * none applies). The marks themselves are icons, hidden from it.
 */
export function stateText(p) {
    const states = [];
    if (p.away) states.push(tr('status.away'));
    else if (p.link) states.push(tr(p.link === 'lost' ? 'status.noLink' : 'status.retrying'));
    if (p.audio === false) states.push(tr('status.micOff'));
    if (p.video === false) states.push(tr('status.camOff'));
    if (p.screen) states.push(tr('status.presenting'));
    if (p.hand) states.push(tr('status.hand'));
    return listText(states);
}

/**
 * Best layout for n tiles in a w x h box: tiles may take any shape between
 * minAr and maxAr (video is cropped to fill them); the column count that
 * gives the largest tiles wins. Returns { cols, width, height }.
 */
export function fit(n, w, h, minAr, maxAr, gap) {
    let best = { cols: 1, width: 0, height: 0 };
    for (let cols = 1; cols <= n; cols++) {
        const rows = Math.ceil(n / cols);
        let tw = (w - gap * (cols - 1)) / cols;
        let th = (h - gap * (rows - 1)) / rows;
        if (tw / th > maxAr) tw = th * maxAr;
        else if (tw / th < minAr) th = tw / minAr;
        if (tw * th > best.width * best.height) best = { cols, width: Math.floor(tw), height: Math.floor(th) };
    }
    return best;
}

// The smallest a tile beside the stage may be: its name and 44 px Pin
// (a finger's) fit in it, on one line.
const STRIP_MIN_W = 96;
const STRIP_MIN_H = 64;

/**
 * The strip of k tiles beside the stage in a w x h grid: one line of them
 * beside it (below it when narrow: a portrait screen), or more lines when
 * one would make them smaller than STRIP_MIN_W x STRIP_MIN_H (5 people
 * beside a screen on a phone), at most three (then the largest tiles).
 * Returns { lines, perLine, width, height }: lines of perLine tiles of
 * width x height.
 */
export function strip(k, w, h, gap, narrow) {
    let best = null;
    for (let lines = 1; lines <= 3; lines++) {
        const perLine = Math.ceil(k / lines);
        let width;
        let height;
        if (narrow) {
            // Under the stage: at most three tenths of the height, 4:3.
            width = Math.min((w - gap * (perLine + 1)) / perLine, (((h * 0.3) - gap * (lines - 1)) / lines) * (4 / 3));
            height = (width * 3) / 4;
        } else if (lines === 1) {
            // One column: a fifth of the width (160 to 260 px), 16:9 at most.
            width = Math.max(160, Math.min(260, w * 0.2));
            height = Math.min((width * 9) / 16, (h - gap * (perLine + 1)) / perLine);
        } else {
            // More share about a third of the width, 4:3 at most.
            width = Math.max(STRIP_MIN_W, Math.min(200, (w * 0.32 - gap * (lines - 1)) / lines));
            height = Math.min((width * 3) / 4, (h - gap * (perLine + 1)) / perLine);
        }
        const it = { lines, perLine, width: Math.floor(width), height: Math.floor(height) };
        if (it.width >= STRIP_MIN_W && it.height >= STRIP_MIN_H) return it;
        if (!best || it.width * it.height > best.width * best.height) best = it;
    }
    return best;
}

export class Grid {
    #root;
    #tiles;
    #ro;
    #mirror = true;
    #sink = '';
    #pinned = null;
    #speakerView = false;
    #lastSpeaker = null;

    #retry;

    /** root: the grid's element; retry(id): Try again on a tile whose link was given up. */
    constructor(root, { retry = () => {} } = {}) {
        this.#root = root;
        this.#retry = retry;
        this.#tiles = new Map();
        this.#ro = new ResizeObserver(() => this.layout());
        this.#ro.observe(root);
        document.addEventListener('fullscreenchange', () => {
            for (const t of this.#tiles.values()) this.#buttonLabels(t);
        });
    }

    /** The tile for peer.id, created once (never a duplicate). */
    add(peer, { local = false } = {}) {
        let t = this.#tiles.get(peer.id);
        if (t) {
            this.update(peer);
            return t;
        }
        const root = el('div', 'tile');
        root.dataset.peer = peer.id;
        // A group named after the person and their state (update()).
        root.setAttribute('role', 'group');
        if (local) root.classList.add('local');
        const video = el('video');
        video.autoplay = true;
        video.playsInline = true;
        video.setAttribute('playsinline', '');
        if (local) {
            video.muted = true;
        } else {
            this.#sinkOf(video);
            // Until the first frame plays, show the person's initials.
            root.classList.add('waiting');
            video.addEventListener('playing', () => root.classList.remove('waiting'));
            video.addEventListener('emptied', () => root.classList.add('waiting'));
        }
        const off = el('div', 'camoff');
        off.setAttribute('aria-hidden', 'true');
        const avatar = el('span', 'avatar');
        off.append(avatar);
        // Over the last frame while the person's seat waits for them
        // (their connection dropped): shown after a moment, so that a
        // quick reconnect shows nothing.
        const away = el('div', 'away-note');
        away.setAttribute('aria-hidden', 'true');
        const awayText = el('span', '', tr('tile.away'));
        awayText.dataset.i18n = 'tile.away';
        away.append(el('span', 'spinner'), awayText);
        const label = el('div', 'label');
        const mic = el('span', 'mark mark-mic');
        mic.append(icon('mic-off'));
        // One's own: "{name} (you)" (ownName); another's: the name alone.
        const name = local ? el('span', 'name') : nameSpan('name', '');
        label.append(mic, name);
        let link = null;
        if (!local) {
            // The link's grade (xray.js): signal bars, hidden until graded.
            link = el('span', 'link-mark');
            link.setAttribute('role', 'img');
            link.hidden = true;
            for (let i = 0; i < 4; i++) link.append(el('span'));
            label.prepend(link);
        }
        const hand = el('span', 'hand-mark');
        hand.append(icon('hand'));
        const screen = el('span', 'screen-mark');
        const presenting = el('span', '', tr('meeting.presenting'));
        presenting.dataset.i18n = 'meeting.presenting';
        screen.append(icon('screen'), presenting);
        root.append(video, off, away, label, hand, screen);
        t = { id: peer.id, root, video, avatar, name, local, link, peer: {}, pin: null, full: null };
        if (!local) {
            // Full screen sits left of the pin: first in the Tab order too.
            if (document.fullscreenEnabled) {
                t.full = tileButton('full-btn', 'expand', () => this.#toggleFull(t));
                root.append(t.full);
                video.addEventListener('dblclick', () => this.#toggleFull(t));
            }
            t.pin = tileButton('pin-btn', 'pin', () => this.pin(this.#pinned === t.id ? null : t.id));
            root.append(t.pin);
        }
        this.#tiles.set(peer.id, t);
        if (local) this.#root.prepend(root);
        else this.#root.append(root);
        this.update(peer);
        this.layout();
        return t;
    }

    update(peer) {
        const t = this.#tiles.get(peer.id);
        if (!t) return;
        Object.assign(t.peer, peer);
        const p = t.peer;
        if (t.local) ownName(t.name, p.label);
        else t.name.textContent = p.label;
        const states = stateText(p);
        t.root.setAttribute('aria-label', states ? tr('status.named', { name: t.name.textContent, states }) : t.name.textContent);
        t.avatar.textContent = initials(p.name);
        t.avatar.style.setProperty('--h', hue(p.name));
        t.root.classList.toggle('muted', p.audio === false);
        t.root.classList.toggle('novideo', p.video === false && !p.screen);
        t.root.classList.toggle('hand', !!p.hand);
        t.root.classList.toggle('away', !!p.away);
        const wasScreen = t.root.classList.contains('screen');
        t.root.classList.toggle('screen', !!p.screen);
        t.video.classList.toggle('mirror', t.local && !p.screen && this.#mirror);
        this.#buttonLabels(t);
        if (wasScreen !== !!p.screen) this.layout();
    }

    attach(id, stream) {
        const t = this.#tiles.get(id);
        if (!t || t.video.srcObject === stream) return;
        t.video.srcObject = stream;
        t.video.play().catch(() => {
            // Autoplay with sound refused: play muted, unmute on the next click.
            t.video.muted = true;
            t.video.play().catch(() => {});
            if (!t.local) {
                document.addEventListener('pointerdown', () => { t.video.muted = false; }, { once: true });
            }
        });
    }

    rekey(from, to) {
        const t = this.#tiles.get(from);
        if (!t || this.#tiles.has(to)) return;
        this.#tiles.delete(from);
        t.id = to;
        t.peer.id = to;
        t.root.dataset.peer = to;
        this.#tiles.set(to, t);
        if (this.#pinned === from) this.#pinned = to;
        if (this.#lastSpeaker === from) this.#lastSpeaker = to;
    }

    remove(id) {
        const t = this.#tiles.get(id);
        if (!t) return;
        t.video.srcObject = null;
        const keyboard = keyboardIn(t.root);
        t.root.remove();
        // Its Pin or Full screen had the focus: another tile's button, else People.
        if (keyboard) this.refocus();
        this.#tiles.delete(id);
        if (this.#pinned === id) this.#pinned = null;
        if (this.#lastSpeaker === id) this.#lastSpeaker = null;
        this.layout();
    }

    has(id) {
        return this.#tiles.has(id);
    }

    /**
     * The state of the link to id's person, over their tile: 'lost' (given
     * up: "Can't connect"), 'retrying' (tried again: "Trying again…" and a
     * spinner), each with Try again (a try under way starts anew), or null
     * (fine, or never given up: nothing). Their initials show under it,
     * not the last frame. Returns whether it changed.
     */
    setLost(id, state) {
        const t = this.#tiles.get(id);
        if (!t || t.local || (state || null) === (t.peer.link || null)) return false;
        if (!t.lost) {
            const note = el('div', 'lost-note');
            const what = el('span', 'lost-what');
            const text = el('span', 'lost-text');
            what.append(el('span', 'spinner'), text);
            const retry = el('button', 'lost-retry', tr('common.tryAgain'));
            retry.type = 'button';
            retry.dataset.i18n = 'common.tryAgain';
            retry.addEventListener('click', () => this.#retry(t.id));
            note.append(what, retry);
            // Before Full screen and Pin: first on the tile, first in the Tab order.
            t.root.insertBefore(note, t.full || t.pin);
            t.lost = { note, text, retry }; // named by #buttonLabels (update, below)
        }
        const key = state === 'lost' ? 'tile.noLink' : 'tile.retrying';
        t.lost.text.textContent = tr(key);
        t.lost.text.dataset.i18n = key;
        const hadFocus = keyboardIn(t.lost.note); // Try again, about to go with the note
        t.root.classList.toggle('lost', !!state);
        t.root.classList.toggle('retrying', state === 'retrying');
        if (hadFocus && !state) focusIfLost(t.full, t.pin);
        if (state) t.video.srcObject = null; // the initials, not a frozen frame
        this.update({ id, link: state });
        return true;
    }

    /**
     * The link badge of the tile id: grade ('good', 'fair', 'poor', 'down',
     * 'waiting') as signal bars, name its accessible name, tip its tooltip.
     */
    setLink(id, grade, name, tip) {
        const t = this.#tiles.get(id);
        if (!t || !t.link) return;
        t.link.hidden = false;
        t.link.dataset.grade = grade;
        t.link.setAttribute('aria-label', name);
        t.link.title = tip;
    }

    /** Shows or hides the "only one here" hint (with its invite button). */
    setAlone(alone) {
        const card = this.#root.querySelector('.alone');
        if (card.hidden === !alone) return;
        const keyboard = keyboardIn(card);
        card.hidden = !alone;
        if (keyboard) this.refocus(); // it was on Copy invite link
        this.layout();
    }

    /** The focus was lost (what had it in the grid went): a tile's button, else People. */
    refocus() {
        focusIfLost(...this.#root.querySelectorAll('.tile-btn'), $('btn-people'));
    }

    /** Plays track (or nothing) in the tile id; for one's own tile. */
    showTrack(id, track) {
        const t = this.#tiles.get(id);
        if (!t) return;
        t.video.srcObject = track ? new MediaStream([track]) : null;
        if (track) t.video.play().catch(() => {});
    }

    /** Pins the tile id on the stage (null: none); it wins over a presenter. */
    pin(id) {
        this.#pinned = id && this.#tiles.has(id) ? id : null;
        for (const t of this.#tiles.values()) this.#buttonLabels(t);
        this.layout();
    }

    /** Full screen on tile t, or back from it (the browser's Escape works too). */
    #toggleFull(t) {
        if (document.fullscreenElement === t.root) document.exitFullscreen().catch(() => {});
        else t.root.requestFullscreen().catch(() => {});
    }

    /** The pin and full-screen buttons of t say what they would do, with the person's name. */
    #buttonLabels(t) {
        const name = t.peer.label || '';
        if (t.pin) {
            const on = this.#pinned === t.id;
            labelButton(t.pin, tr('meeting.pin', { name }), on, tr(on ? 'meeting.unpin' : 'meeting.pin', { name }));
        }
        if (t.full) {
            const on = document.fullscreenElement === t.root;
            labelButton(t.full, tr('meeting.full', { name }), on, on ? tr('meeting.fullExit') : tr('meeting.full', { name }));
            setIcon(t.full, on ? 'shrink' : 'expand');
        }
        if (t.lost) t.lost.retry.setAttribute('aria-label', tr('tile.retryName', { name }));
    }

    /** Speaker view: the last person who spoke takes the stage (unless one is pinned or presents). */
    setSpeakerView(on) {
        this.#speakerView = on;
        this.layout();
    }

    /** Whether one's own tile is mirrored (never while presenting). */
    setMirror(on) {
        this.#mirror = on;
        for (const t of this.#tiles.values()) if (t.local) this.update(t.peer);
    }

    /** Plays the others on the speaker id ('' for the default), now and for later tiles. */
    setSink(id) {
        this.#sink = id;
        for (const t of this.#tiles.values()) if (!t.local) this.#sinkOf(t.video);
    }

    #sinkOf(video) {
        if (video.setSinkId && video.sinkId !== this.#sink) video.setSinkId(this.#sink).catch(() => {});
    }

    /** Sets how loud the tile id plays (0..1), on this page only. */
    setVolume(id, v) {
        const t = this.#tiles.get(id);
        if (t && !t.local) t.video.volume = Math.min(1, Math.max(0, v));
    }

    /** How loud the tile id plays (0..1; 1 when there is no such tile). */
    volume(id) {
        const t = this.#tiles.get(id);
        return t ? t.video.volume : 1;
    }

    /** Rings the tile id as the active speaker (none for null). */
    setSpeaker(id) {
        for (const t of this.#tiles.values()) t.root.classList.toggle('speaking', t.id === id);
        const t = id && this.#tiles.get(id);
        if (!t || t.local || id === this.#lastSpeaker) return;
        this.#lastSpeaker = id;
        if (this.#speakerView) this.layout();
    }

    clear() {
        for (const id of [...this.#tiles.keys()]) this.remove(id);
    }

    layout() {
        const n = this.#tiles.size || 1;
        // The "only one here" card has the bottom of the grid to itself
        // (its padding): one's tile, and the name on it, stay above it.
        const card = this.#root.querySelector('.alone');
        const reserve = card && !card.hidden ? card.offsetHeight + 24 : 0;
        this.#root.style.setProperty('--reserve', `${reserve}px`);
        const w = this.#root.clientWidth;
        const h = this.#root.clientHeight - reserve;
        if (!w || h <= 0) return;
        const gap = w < 600 ? 8 : 12;
        const minAr = w < h ? 3 / 4 : 4 / 3;
        const { cols, width, height } = fit(n, w, h, minAr, 16 / 9, gap);
        this.#root.style.setProperty('--cols', cols);
        this.#root.style.setProperty('--tile-w', `${width}px`);
        this.#root.style.setProperty('--tile-h', `${height}px`);
        this.#root.style.setProperty('--gap', `${gap}px`);
        this.#root.dataset.count = String(this.#tiles.size);
        this.#spotlight(w, h, gap);
    }

    /**
     * The tile on the stage, or undefined (a plain grid): the pinned one,
     * else someone else presenting, else in speaker view the last other
     * person who spoke (or the first other one).
     */
    #mainTile() {
        const tiles = [...this.#tiles.values()];
        const pinned = this.#tiles.get(this.#pinned);
        if (pinned) return pinned;
        const presenter = tiles.find((t) => !t.local && t.peer.screen);
        if (presenter || !this.#speakerView) return presenter;
        return this.#tiles.get(this.#lastSpeaker) || tiles.find((t) => !t.local);
    }

    /**
     * While a tile has the stage (#mainTile), the others line up beside it
     * (below it on a portrait screen).
     */
    #spotlight(w, h, gap) {
        const main = this.#mainTile();
        for (const t of this.#tiles.values()) t.root.classList.toggle('main', t === main);
        const on = !!main && this.#tiles.size > 1;
        this.#root.classList.toggle('spotlight', on);
        // Every tile's place from the last layout goes, the stage's too: a
        // tile that moves from the strip to the stage keeps none of it.
        for (const t of this.#tiles.values()) {
            t.root.style.removeProperty('grid-row');
            t.root.style.removeProperty('grid-column');
        }
        const others = [...this.#tiles.values()].filter((t) => t !== main);
        if (!on) return;
        const narrow = w < h;
        this.#root.classList.toggle('narrow', narrow);
        const { lines, perLine, width, height } = strip(others.length, w, h, gap, narrow);
        // Row by row from the first line; the spacer tracks around the
        // strip centre it (app.css, .grid.spotlight).
        others.forEach((t, i) => {
            const [line, at] = narrow ? [Math.floor(i / perLine), i % perLine] : [i % lines, Math.floor(i / lines)];
            t.root.style.setProperty('grid-row', String(narrow ? line + 2 : at + 2));
            t.root.style.setProperty('grid-column', String(narrow ? at + 2 : line + 2));
        });
        this.#root.style.setProperty('--lines', String(lines));
        this.#root.style.setProperty('--per-line', String(perLine));
        this.#root.style.setProperty('--small-w', `${width}px`);
        this.#root.style.setProperty('--small-h', `${height}px`);
    }
}

// The icon of each host action on a person's row (see rowActions).
const ACTION_ICONS = { 'make-host': 'shield', 'make-guest': 'shield', mute: 'mic-off', kick: 'user-x' };

/**
 * The people panel: one row per person with state marks, a "Host" badge,
 * a DM action and, when one is a host, the host actions of access.js's
 * rowActions (each a button, so Tab reaches it).
 */
export class People {
    #root;
    #onMessage;
    #onAction;
    #onVolume;
    #volumeOf;
    #codeOf;
    #lostOf;
    // The rows whose safety code is shown, and the codes last read (id -> code or null).
    #codesShown = new Set();
    #codes = new Map();
    // Per id, what reads its shown code line again (the latest line's).
    #codeReaders = new Map();

    /**
     * onMessage(p): DM p; onAction(action, p): a host action on p's row;
     * onVolume(id, v): p's volume slider moved (v 0..1); volumeOf(id): where
     * that slider stands; codeOf(id): a promise of the safety code of the
     * link with id (safety.js), null while there is none; lostOf(id): what
     * became of that link once given up (mesh.lostState).
     */
    constructor(root, onMessage, onAction = () => {}, { onVolume = () => {}, volumeOf = () => 1, codeOf = async () => null, lostOf = () => null } = {}) {
        this.#root = root;
        this.#onMessage = onMessage;
        this.#onAction = onAction;
        this.#onVolume = onVolume;
        this.#volumeOf = volumeOf;
        this.#codeOf = codeOf;
        this.#lostOf = lostOf;
    }

    /** The list: rows as roster.listed() gives them (oneself first); hands: the raised hands in order. */
    render(rows, hands = []) {
        const selfPeer = rows[0];
        // A re-render must not throw the keyboard user's focus away, also
        // when it takes the row away (Remove): then the next row has it.
        keepFocus(this.#root, '.person', 'peer', () => {
            this.#root.replaceChildren(...rows.map((p) => this.#row(p, p === selfPeer, selfPeer.role)));
        }, $('tab-people'));
        this.#hands(hands, selfPeer.id);
    }

    /** The "Raised hands" list above the people, first raised first. */
    #hands(hands, selfId) {
        $('hands').hidden = hands.length === 0;
        $('hands-count').textContent = String(hands.length);
        $('hands-list').replaceChildren(...hands.map((p) => {
            const li = el('li', 'hand-row', p.id === selfId ? tr('common.nameYou', { name: p.label }) : p.label);
            li.dataset.peer = p.id;
            // Their place in the order is kept while their seat waits for them.
            if (p.away) li.append(el('span', 'sr', ', '), el('span', 'paway', tr('tile.away')));
            return li;
        }));
    }

    #row(p, self, myRole) {
        const li = el('li', 'person');
        li.dataset.peer = p.id;
        li.dataset.role = p.role || 'guest';
        const av = el('span', 'avatar sm', initials(p.name));
        av.setAttribute('aria-hidden', 'true');
        av.style.setProperty('--h', hue(p.name));
        const name = self ? el('span', 'pname') : nameSpan('pname', p.label);
        if (self) ownName(name, p.label);
        const marks = el('span', 'pmarks');
        if (p.hand) marks.append(icon('hand'));
        if (p.screen) marks.append(icon('screen'));
        marks.append(icon(p.audio === false ? 'mic-off' : 'mic'), icon(p.video === false ? 'cam-off' : 'cam'));
        for (const s of marks.children) s.classList.add(s.classList.contains('icon-mic-off') || s.classList.contains('icon-cam-off') ? 'off' : 'on');
        const link = self ? null : this.#lostOf(p.id);
        const states = stateText({ ...p, link });
        if (states) marks.append(el('span', 'sr', states));
        li.append(av, name);
        if (p.role === 'host') li.append(el('span', 'host-badge', tr('people.host')));
        li.append(marks);
        if (self) return li;
        li.append(this.#button('icon-btn dm', 'message', tr('people.message', { name: p.label }), 'message', () => this.#onMessage(p)));
        li.append(this.#verifyButton(p));
        // A line of its own under the name: their seat waits for them, or
        // the link to them was given up (as their tile says).
        if (p.away) li.append(el('span', 'paway', tr('tile.away')));
        else if (link) li.append(el('span', 'paway', tr(link === 'lost' ? 'tile.noLink' : 'tile.retrying')));
        li.append(this.#volume(p));
        if (this.#codesShown.has(p.id)) li.append(this.#codeLine(p));
        const acts = rowActions(myRole, p.role);
        if (acts.length) {
            // A host's actions: a second line of the row, words beside icons.
            const line = el('span', 'pactions');
            for (const a of acts) {
                // Make host and Make guest take each other's place: one
                // data-action, so that the focus stays on it (keepFocus).
                const slot = a === 'make-host' || a === 'make-guest' ? 'role' : a;
                const b = this.#button(`act act-${a}`, ACTION_ICONS[a], actionLabel(a, p.label), slot, () => this.#onAction(a, p));
                b.append(el('span', '', actionWord(a)));
                // The accessible name starts with the visible words (the
                // title keeps the whole sentence).
                b.setAttribute('aria-label', controlName(actionWord(a), p.label));
                line.append(b);
            }
            li.append(line);
        }
        return li;
    }

    /** The button that shows or hides the safety code of the link with p. */
    #verifyButton(p) {
        const b = this.#button('icon-btn verify', 'shield', tr('people.verify', { name: p.label }), 'verify', () => {
            const row = b.closest('.person');
            if (this.#codesShown.delete(p.id)) {
                row.querySelector('.pcode')?.remove();
            } else {
                this.#codesShown.add(p.id);
                row.querySelector('.pvolume').after(this.#codeLine(p));
            }
            b.setAttribute('aria-expanded', String(this.#codesShown.has(p.id)));
        });
        b.setAttribute('aria-expanded', String(this.#codesShown.has(p.id)));
        return b;
    }

    /**
     * The link with id changed (connected, disconnected, replaced): its
     * code line, if shown, reads the code again. The digits shown are
     * always those of the link as it is, never of one replaced since.
     */
    linkChanged(id) {
        if (this.#codesShown.has(id)) this.#codeReaders.get(id)?.();
    }

    /**
     * The safety code line of p's row: the last code read at once, then
     * the one read now, and again on each linkChanged. The digits are
     * never translated: two people compare them whatever their languages.
     */
    #codeLine(p) {
        const line = el('p', 'pcode');
        line.id = `code-${p.id}`;
        const digits = el('span', 'pcode-digits');
        digits.dir = 'ltr';
        const hint = el('span', 'pcode-hint');
        line.append(digits, hint);
        const show = (code) => {
            digits.textContent = code || '';
            digits.hidden = !code;
            hint.textContent = code ? tr('people.codeHint', { name: p.label }) : tr(code === null ? 'people.codeNone' : 'people.codeWait');
        };
        show(this.#codes.has(p.id) ? this.#codes.get(p.id) : undefined);
        // Reads can end out of order: only the latest one's answer counts.
        let latest = 0;
        const read = () => {
            const n = ++latest;
            this.#codeOf(p.id).then((code) => {
                if (n !== latest) return;
                this.#codes.set(p.id, code);
                show(code);
            }, () => n === latest && show(null));
        };
        this.#codeReaders.set(p.id, read);
        read();
        return line;
    }

    /** p's volume slider (0-100 %): on this page only, never sent. */
    #volume(p) {
        const line = el('label', 'pvolume');
        line.append(icon('speaker'));
        const range = el('input');
        range.type = 'range';
        range.min = '0';
        range.max = '100';
        range.step = '5';
        range.value = String(Math.round(this.#volumeOf(p.id) * 100));
        range.dataset.action = 'volume';
        range.setAttribute('aria-label', tr('people.volume', { name: p.label }));
        range.setAttribute('aria-valuetext', tr('people.volumeValue', { value: range.value }));
        range.addEventListener('input', () => {
            range.setAttribute('aria-valuetext', tr('people.volumeValue', { value: range.value }));
            this.#onVolume(p.id, Number(range.value) / 100);
        });
        line.append(range);
        return line;
    }

    #button(cls, iconName, title, action, run) {
        const b = el('button', cls);
        b.type = 'button';
        b.title = title;
        b.dataset.action = action;
        b.setAttribute('aria-label', title);
        setIcon(b, iconName);
        b.addEventListener('click', run);
        return b;
    }
}

// Toasts take turns: news that comes together ("Ann left", "You are now a
// host", "Dan is waiting to join", a few milliseconds apart) is all seen,
// and read out one by one. Each shows for its time, or for TOAST_TURN_MS
// once another is waiting; at most TOAST_WAITING wait (the oldest waiting
// goes first when more come). A toast may hold only while something is
// true ("Dee is waiting to join"): once it is not (a host answered her),
// it is dropped from the queue or from the screen (recheckToasts).
const TOAST_TURN_MS = 1500;
const TOAST_WAITING = 3;
const toastQueue = [];
let toastShown = null; // { text, ms, holds, at } on screen, or null
let toastTimer = null;

/** Shows the next toast waiting, or hides the toast when none waits. */
function nextToast() {
    clearTimeout(toastTimer);
    const box = $('toast');
    do toastShown = toastQueue.shift() || null;
    while (toastShown && !toastShown.holds());
    if (!toastShown) {
        box.hidden = true;
        return;
    }
    box.textContent = toastShown.text;
    box.hidden = false;
    placeToast();
    // An open question (a modal dialog) makes the rest of the page inert:
    // the toast is seen, and said from inside the dialog (announce).
    if (document.querySelector('dialog[open]')) announce(toastShown.text);
    toastShown.at = Date.now();
    scheduleToast();
}

/**
 * Keeps the toast off the control a keyboard user has the focus on (WCAG
 * 2.4.11): where it would cover it, the toast goes to the other end of the
 * screen (under the top bar, or above the control bar) for as long as the
 * focus is there. Looked at again at each toast and each move of the focus.
 */
let placing = false;
function placeToast() {
    const box = $('toast');
    if (!placing) {
        placing = true;
        document.addEventListener('focusin', placeToast);
    }
    box.style.top = box.style.bottom = '';
    if (box.hidden || !keyboardIn(document.body)) return;
    const a = box.getBoundingClientRect();
    const f = document.activeElement.getBoundingClientRect();
    if (a.left >= f.right || f.left >= a.right || a.top >= f.bottom || f.top >= a.bottom) return;
    // Just under the top bar, or just above the control bar (one or two
    // rows of buttons, as the window's width makes it).
    const low = a.top + a.height / 2 > innerHeight / 2;
    const bar = document.querySelector(low ? '.topbar' : 'nav.controls').getBoundingClientRect();
    box.style.top = low ? `${Math.round(bar.bottom + 8)}px` : 'auto';
    box.style.bottom = low ? 'auto' : `${Math.round(innerHeight - bar.top + 12)}px`;
}

/** Ends the toast shown after its time, or after its turn when another waits. */
function scheduleToast() {
    clearTimeout(toastTimer);
    const ms = toastQueue.length ? Math.min(toastShown.ms, TOAST_TURN_MS) : toastShown.ms;
    toastTimer = setTimeout(nextToast, Math.max(0, toastShown.at + ms - Date.now()));
}

/**
 * A short message at the bottom of the screen, after those before it;
 * holds: whether it still says something true (see recheckToasts). Taps
 * go through it to what it covers (on a phone with the panel open, its
 * tabs). A toast of a
 * kind takes the place of one of the same kind still waiting (the newest
 * chat line is news, the one before it in the queue no longer is), so a
 * busy chat does not push other news out of the queue; and while one of
 * its kind is on screen, still true, the same words are not said again.
 */
export function toast(text, ms = 3000, holds = () => true, { kind = null } = {}) {
    if (kind !== null && toastShown && toastShown.kind === kind && toastShown.text === text && toastShown.holds()) return;
    const item = { text, ms, holds, kind };
    const same = kind === null ? -1 : toastQueue.findIndex((x) => x.kind === kind);
    if (same >= 0) toastQueue[same] = item;
    else toastQueue.push(item);
    if (toastQueue.length > TOAST_WAITING) toastQueue.shift();
    if (toastShown) scheduleToast();
    else nextToast();
}

/** Drops every toast, waiting or shown: the meeting they spoke of is over for this page. */
export function clearToasts() {
    toastQueue.length = 0;
    if (toastShown) nextToast();
}

/** Drops the toasts, waiting or shown, that no longer hold. */
export function recheckToasts() {
    for (let i = toastQueue.length - 1; i >= 0; i--) if (!toastQueue[i].holds()) toastQueue.splice(i, 1);
    if (toastShown && !toastShown.holds()) nextToast();
    else if (toastShown) scheduleToast();
}

/**
 * Has a screen reader say text, shown nowhere (what it is about is already
 * on the screen: a reaction floating over a tile). The region is emptied
 * and filled again a moment later, so the same text twice is said twice;
 * texts that come within that moment are said together. While a question
 * is open (a modal dialog: the rest of the page is inert, its live regions
 * unheard), the dialog's own region says it.
 */
let saying = [];
export function announce(text) {
    if (saying.length) {
        saying.push(text); // the one waiting takes it along
        return;
    }
    clearSaid();
    saying = [text];
    setTimeout(() => {
        if (!saying.length) return; // cleared meanwhile
        (document.querySelector('dialog[open] [data-said]') || $('said')).textContent = saying.join(' ');
        saying = [];
    }, 50);
}

/** Empties the regions announce() says things from, and drops what waits to be said. */
export function clearSaid() {
    saying = [];
    for (const e of document.querySelectorAll('#said, [data-said]')) e.textContent = '';
}

export function banner(text) {
    const b = $('banner');
    if (text) $('banner-text').textContent = text;
    b.hidden = !text;
}
