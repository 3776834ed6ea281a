// The DOM helpers the modules share.

/** The element whose id is id, or null. */
export const $ = (id) => document.getElementById(id);

/** A new tag element with class cls (if any) and text (if given) as its text. */
export function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
}

/**
 * A span holding a person's name (class cls): its direction comes from the
 * name's own letters (dir="auto"), so a Latin name in an Arabic page, or an
 * Arabic one in an English page, reads in its own order and a long one is
 * cut at its end, never at its start.
 */
export function nameSpan(cls, name) {
    const e = el('span', cls, name);
    e.dir = 'auto';
    return e;
}

/**
 * The step through a row of controls (el holds them) that arrow key e
 * asks for, in the row's order: 1 (next), -1 (previous) or 0 (not a left
 * or right arrow). The arrow's way is on screen: in a right-to-left row
 * the next control is to the left.
 */
export function arrowStep(e, el) {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return 0;
    const rtl = getComputedStyle(el).direction === 'rtl';
    return (e.key === 'ArrowRight') !== rtl ? 1 : -1;
}

/**
 * Where key e moves in a row of n controls (el holds them) from the one
 * at index at: the next or previous for an arrow (arrowStep), the first
 * for Home, the last for End; -1 for any other key.
 */
export function rowTarget(e, el, at, n) {
    const step = arrowStep(e, el);
    if (step) return (at + step + n) % n;
    if (e.key === 'Home') return 0;
    if (e.key === 'End') return n - 1;
    return -1;
}

/**
 * Whether this is a touch screen (no hover: a phone, a tablet), as the
 * (hover: none) rules of app.css have it.
 */
export function touchScreen() {
    return matchMedia('(hover: none)').matches;
}

/**
 * Whether a keyboard user has the focus in el: it shows its ring
 * (:focus-visible). A click's focus does not count: moving it on would
 * open a phone's keyboard, or take Space (push to talk) from the page.
 */
export function keyboardIn(el) {
    const f = document.activeElement;
    return !!f && f !== document.body && el.contains(f) && f.matches(':focus-visible');
}

/** Whether e can take the focus now: shown, enabled, not inert. */
function focusable(e) {
    return !!e && e.isConnected && !e.disabled && e.getClientRects().length > 0 && !e.closest('[inert]');
}

/**
 * Gives the focus to the first of targets that can take it, when it was
 * lost: it is on the page itself, or on something since hidden, removed
 * or disabled (a screen reader would go quiet, and Tab would start over
 * from the top). Focus that moved on to something shown is left there.
 */
export function focusIfLost(...targets) {
    const f = document.activeElement;
    if (f && f !== document.body && focusable(f)) return;
    const to = targets.find(focusable);
    if (to) to.focus();
}

/**
 * Runs render(), which draws list's rows again, keeping a keyboard user's
 * place: if a control of a row (rowSel; each row's data-<key> names it)
 * had the focus, it goes to the same control (its data-action) of the same
 * row, else of the row now in its place (the next one moved up) or the
 * last one, else to that row's first button, else to fallback.
 */
export function keepFocus(list, rowSel, key, render, fallback = null) {
    const f = document.activeElement;
    const row = f && list.contains(f) ? f.closest(rowSel) : null;
    const was = row && { id: row.dataset[key], action: f.dataset.action, at: [...list.querySelectorAll(rowSel)].indexOf(row) };
    render();
    if (!was) return;
    const rows = [...list.querySelectorAll(rowSel)];
    const near = rows.find((r) => r.dataset[key] === was.id) || rows[Math.min(was.at, rows.length - 1)];
    const target = near && (near.querySelector(`[data-action="${was.action}"]`) || near.querySelector('button'));
    const to = target || fallback;
    if (to) to.focus();
}

/**
 * Shows name in a name field as one the person cannot change (an
 * invitation's): read-only, and described by hint, which shows.
 */
export function fixName(input, hint, name) {
    input.value = name;
    input.readOnly = true;
    input.required = false; // nothing to fill in: not announced as required
    hint.hidden = false;
    const described = (input.getAttribute('aria-describedby') || '').split(' ').filter(Boolean);
    if (!described.includes(hint.id)) input.setAttribute('aria-describedby', [...described, hint.id].join(' '));
}
