// What this page shows of each other person's video, told to that person:
// the quality governor's request (governor.js; the sender applies it in
// encoding.js). For every remote tile (#grid .tile[data-peer]) it measures
// the video element in device pixels (CSS size x devicePixelRatio), whether
// the video is seen at all, and whether it is on the stage, and sends
// { view: { w, h, visible, stage } } to that peer as a signal.
//
// - Not visible: the page is hidden, the tile is off screen or not laid
//   out, that person's camera is off, another tile is full screen, or data
//   saver is on and the tile is neither the speaker's nor a screen share.
// - Stage: the tile is the main one of the spotlight (pinned, presenting,
//   speaker view) or full screen; in the view sent, the tile with the
//   speaking ring counts too (the sender serves stage links first).
// - Measured DEBOUNCE_MS after the first change seen (ResizeObserver,
//   IntersectionObserver, tile classes, full screen, visibilitychange), and
//   sent only when it changed meaningfully (changedMeaningfully), and once
//   each time a link connects.
// - Data saver: the page asks for video only from the speaker (speakerOf)
//   and screen shares; the other tiles show the person's initials and say
//   why (class `saver`, the line `tile.saver`).
import { LADDER } from './governor.js';
import { t } from './i18n.js';

export const DEBOUNCE_MS = 300;
// The largest side a view may report (device pixels); larger is refused.
export const MAX_SIDE = 16384;

/**
 * A received view checked: { w, h, visible, stage } with w, h whole
 * numbers in 0..MAX_SIDE and booleans, or null for anything else (bad
 * data is ignored).
 */
export function readView(v) {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return null;
    const side = (n) => Number.isInteger(n) && n >= 0 && n <= MAX_SIDE;
    if (!side(v.w) || !side(v.h)) return null;
    if (typeof v.visible !== 'boolean' || typeof v.stage !== 'boolean') return null;
    return { w: v.w, h: v.h, visible: v.visible, stage: v.stage };
}

/** The LADDER step (its index) of a picture w x h. */
export function ladderStep(w, h) {
    return LADDER.findIndex((s) => w * h <= s.pixels);
}

/**
 * Whether next differs enough from prev (what was last sent; null: nothing
 * yet) to be sent: visibility or stage changed, or, while visible, the size
 * moved to another LADDER step.
 */
export function changedMeaningfully(prev, next) {
    if (!prev) return true;
    if (prev.visible !== next.visible || prev.stage !== next.stage) return true;
    return next.visible && ladderStep(prev.w, prev.h) !== ladderStep(next.w, next.h);
}

/**
 * Who data saver shows: the tile on the stage when there is one (pinned,
 * presenting, speaker view), else the last other person who spoke, else
 * the first other tile. tiles: [{ id, stage }] in grid order; spoke: the id
 * of the last other person who spoke, or null.
 */
export function speakerOf(tiles, spoke) {
    const stage = tiles.find((t) => t.stage);
    if (stage) return stage.id;
    if (spoke && tiles.some((t) => t.id === spoke)) return spoke;
    return tiles.length ? tiles[0].id : null;
}

export class Views {
    #grid;
    #send;
    #isConnected;
    #sent = new Map(); // id -> the view last sent
    #shown = new WeakMap(); // video element -> on screen or not (IntersectionObserver)
    #watched = new WeakSet(); // video elements observed
    #timer = null;
    #saver = false;
    #spoke = null;
    #ro;
    #io;

    /**
     * grid: the #grid element; send(id, view) sends a signal; isConnected(id):
     * whether the link with id is connected (views go to connected links).
     */
    constructor(grid, send, isConnected) {
        this.#grid = grid;
        this.#send = send;
        this.#isConnected = isConnected;
        this.#ro = new ResizeObserver(() => this.#soon());
        this.#io = new IntersectionObserver((entries) => {
            for (const e of entries) this.#shown.set(e.target, e.isIntersecting);
            this.#soon();
        });
        new MutationObserver(() => {
            this.#speaking();
            this.#soon();
        }).observe(grid, {
            childList: true, subtree: true, attributes: true, attributeFilter: ['class', 'data-peer'],
        });
        document.addEventListener('visibilitychange', () => this.#soon());
        document.addEventListener('fullscreenchange', () => this.#soon());
        this.#soon();
    }

    /** Data saver on or off (settings.js). */
    setSaver(on) {
        this.#saver = !!on;
        this.#soon();
    }

    /** The last other person who spoke: the tile the grid rings (ui.js class `speaking`). */
    #speaking() {
        const id = this.#grid.querySelector('.tile.speaking:not(.local)')?.dataset.peer;
        if (id) this.#spoke = id;
    }

    /** The link with id connected (again) or closed: a connected one is told the view now. */
    linkChanged(id) {
        if (!id) return;
        this.#sent.delete(id);
        this.#measure();
    }

    /** Measures once DEBOUNCE_MS after the first change since the last measure. */
    #soon() {
        if (this.#timer) return;
        this.#timer = setTimeout(() => {
            this.#timer = null;
            this.#measure();
        }, DEBOUNCE_MS);
    }

    /** Every remote tile measured; each changed view sent to its peer. */
    #measure() {
        const tiles = [...this.#grid.querySelectorAll('.tile[data-peer]:not(.local)')];
        const stageOf = (el) => document.fullscreenElement === el
            || (el.classList.contains('main') && this.#grid.classList.contains('spotlight'));
        const list = tiles.map((el) => ({ id: el.dataset.peer, el, stage: stageOf(el) }));
        const speaker = this.#saver ? speakerOf(list, this.#spoke) : null;
        for (const { id, el, stage } of list) {
            const video = el.querySelector('video');
            if (video && !this.#watched.has(video)) {
                this.#watched.add(video);
                this.#ro.observe(video);
                this.#io.observe(video);
            }
            const saved = this.#saver && id !== speaker && !el.classList.contains('screen');
            this.#mark(el, saved);
            // Not measured until the IntersectionObserver has said whether it is on screen.
            if (!video || !this.#shown.has(video)) continue;
            // The sender serves stage links first under strain: the person
            // speaking (the grid's ring) counts as on the stage too.
            const view = this.#viewOf(el, video, stage || el.classList.contains('speaking'), saved);
            if (!this.#isConnected(id) || !changedMeaningfully(this.#sent.get(id) || null, view)) continue;
            this.#sent.set(id, view);
            this.#send(id, view);
        }
        for (const id of this.#sent.keys()) if (!list.some((t) => t.id === id)) this.#sent.delete(id);
    }

    /** The view of one tile (el, its video element, on the stage or not; saved: data saver hides it). */
    #viewOf(el, video, stage, saved) {
        const r = video.getBoundingClientRect();
        const dpr = window.devicePixelRatio || 1;
        const w = Math.min(MAX_SIDE, Math.round(r.width * dpr));
        const h = Math.min(MAX_SIDE, Math.round(r.height * dpr));
        const full = document.fullscreenElement;
        const visible = !document.hidden && !saved && w > 0 && h > 0
            && this.#shown.get(video)
            && !el.classList.contains('novideo')
            && (!full || full === el);
        return { w, h, visible, stage };
    }

    /** Data saver's mark on a tile: initials and the reason, no picture. */
    #mark(el, saved) {
        el.classList.toggle('saver', saved);
        if (saved && !el.querySelector('.saver-note')) {
            const note = document.createElement('span');
            note.className = 'saver-note';
            note.dataset.i18n = 'tile.saver';
            note.textContent = t('tile.saver');
            el.querySelector('.camoff')?.append(note);
        }
    }
}
