// Chat panel: history and live messages, private messages, unread count.
// Everything a person typed is set with textContent.

import { t, num, timeText } from './i18n.js';
import { $, el, nameSpan, focusIfLost, keyboardIn, touchScreen } from './dom.js';
import { fnv1a, visible } from './names.js';

const MAX_ITEMS = 500;
const DEFAULT_MAX_CHARS = 2000;
const NEWS_CHARS = 80; // of a line told while the chat is not on screen

/** The length of s in Unicode code points (how the sidecar counts chat). */
export function codePoints(s) {
    let n = 0;
    for (const _ of String(s)) n++;
    return n;
}

/** text on one line, cut to max code points ("…" after the cut). */
export function shortText(text, max) {
    const line = String(text).replace(/\s+/g, ' ').trim();
    const cps = [...line];
    return cps.length <= max ? line : `${cps.slice(0, max - 1).join('').trimEnd()}…`;
}

/**
 * The counter under the chat box for n code points of at most max: null
 * while far from the limit (below 90 %), else "n / max".
 */
export function counterText(n, max) {
    return n < Math.ceil(max * 0.9) ? null : t('chat.counter', { n: num(n), max: num(max) });
}

// An http(s) address in chat text; trailing punctuation is not part of it.
const URL_RE = /\bhttps?:\/\/[^\s<>"']+/gi;
const PAIRS = { ')': '(', ']': '[', '}': '{' };

/**
 * raw without the punctuation that ends the sentence around it: a final
 * . , ; : ! ? goes, and a closing bracket goes unless the address opened
 * it ("(see http://x.test/)" ends at the slash; a page called
 * https://en.wikipedia.org/wiki/Mercury_(planet) keeps its bracket).
 */
function trimAddress(raw) {
    let s = raw;
    for (;;) {
        const last = s.slice(-1);
        const open = PAIRS[last];
        if (open) {
            const count = (c) => s.split(c).length - 1;
            if (count(open) >= count(last)) return s;
        } else if (!last || !'.,;:!?'.includes(last)) {
            return s;
        }
        s = s.slice(0, -1);
    }
}

/**
 * Chat text split into plain and link parts, in order: [{text}] or
 * [{text, href}]. Only http: and https: addresses that parse become links;
 * anything else (javascript:, data:, ...) stays text.
 */
export function linkParts(text) {
    const s = String(text);
    const parts = [];
    let at = 0;
    for (const m of s.matchAll(URL_RE)) {
        const raw = trimAddress(m[0]);
        let href = null;
        try {
            const u = new URL(raw);
            if (u.protocol === 'http:' || u.protocol === 'https:') href = u.href;
        } catch {
            href = null;
        }
        if (!href) continue;
        if (m.index > at) parts.push({ text: s.slice(at, m.index) });
        parts.push({ text: raw, href });
        at = m.index + raw.length;
    }
    if (at < s.length || !parts.length) parts.push({ text: s.slice(at) });
    return parts;
}

function timeOf(ts) {
    return timeText(new Date(typeof ts === 'number' ? ts : Date.now()));
}

/** A message's text as DOM nodes: plain text, and http(s) addresses as links. */
function textBody(text) {
    const body = el('div', 'text');
    body.dir = 'auto'; // Hebrew in an English page, English in an Arabic one: each line reads its own way
    for (const part of linkParts(text)) {
        if (!part.href) {
            body.append(part.text);
            continue;
        }
        const a = el('a', '', part.text);
        a.href = part.href;
        a.target = '_blank';
        a.rel = 'noopener noreferrer';
        body.append(a);
    }
    return body;
}

// Why the server refused a line (an error code; ref "chat"): the words under it.
// (A room line answered "unavailable" was not refused: see #pending.)
const REFUSALS = { 'rate-limited': 'chat.unsentRate', 'no-such-peer': 'chat.unsentGone' };

/**
 * What tells one chat message from another (a duplicate has the same):
 * the server stamps one member's lines with strictly increasing ts, so two
 * lines of the same text sent at once differ. The text counts by its
 * length and hash: a key stays short however long the line.
 */
const keyOf = (m) => `${m.ts}|${m.from}|${m.to || ''}|${m.text.length}|${fnv1a(m.text).toString(36)}`;

/**
 * The messages shown, to tell a duplicate: a welcome's history after a
 * reconnect repeats lines that came live. Only the newest keys are kept,
 * as many as the log shows and a history holds (cover() raises that for a
 * longer history), so a long meeting does not grow it without end.
 */
export class SeenMessages {
    #keys = new Set();
    #max;

    constructor(max = MAX_ITEMS) {
        this.#max = max;
    }

    /** Whether message m was seen. */
    has(m) {
        return this.#keys.has(keyOf(m));
    }

    /** Remembers m; false when it was seen already. */
    add(m) {
        const key = keyOf(m);
        if (this.#keys.has(key)) return false;
        this.#keys.add(key);
        // A Set keeps insertion order: the first key is the oldest.
        while (this.#keys.size > this.#max) this.#keys.delete(this.#keys.values().next().value);
        return true;
    }

    /** Keeps at least n keys. */
    cover(n) {
        this.#max = Math.max(this.#max, n);
    }

    get size() {
        return this.#keys.size;
    }
}

/**
 * The lines ({ text, to }) sent before a connection dropped that a new
 * welcome's history does not show went through. history: its messages
 * not seen before; ownIds: every id this page has had. A room line the
 * server took is kept in the history, from us, with its text; each kept
 * message answers one line. A private line is never kept, so whether it
 * went is not known: it is among those returned.
 */
export function unconfirmed(lines, history, ownIds) {
    const kept = history.filter((m) => !m.to && ownIds.has(m.from)).map((m) => m.text);
    return lines.filter((line) => {
        const i = line.to ? -1 : kept.indexOf(line.text);
        if (i >= 0) kept.splice(i, 1);
        return i < 0;
    });
}

export class Chat {
    #send;
    #peerOf;
    #selfId;
    #isVisible;
    #onUnread;
    #log;
    #input;
    #unread = 0;
    #seen = new SeenMessages();
    // The private target { id, name, gone } or null (everyone); gone: they
    // left, and the draft waits for the person to pick again (never public
    // by itself).
    #to = null;
    // Ids rebound to a later one (rekey), for Reply on an older line.
    #moved = new Map();
    // The lines sent that the server has not answered yet, oldest first
    // ({ text, to, partly }): it answers each, in order, with its echo to us
    // or an error (docs/protocol.md), so an echo or a refusal is the oldest
    // one's. One answer has both: a room line the sidecar could not pass to
    // the other sidecars (Redis down) gets "unavailable", then its echo (it
    // reached the members here); partly marks it until that echo.
    #pending = [];
    // The refused lines shown as not sent, until sent again.
    #unsent = new Set();
    // Every id this page has had (a new one after the server forgot our
    // seat): lines from any of them are ours.
    #ownIds = new Set();
    #stickNext = false;
    // Lines that came while the log was scrolled up, shown on the "new
    // messages" button under it; 0 once the log is at its end again.
    #below = 0;
    #offline = false; // the line under the box says "not connected"
    #maxChars = DEFAULT_MAX_CHARS;

    /**
     * send({text, to?}) -> bool; peerOf(id) -> the roster's copy of the
     * peer (with its label) or null;
     * selfId() -> one's id; isVisible() -> whether the chat is on screen;
     * onUnread(n, news) after the unread count changed; news: what to
     * tell of the line that came (who wrote and how it starts), null when
     * the count went back to 0.
     */
    constructor({ send, peerOf, selfId, isVisible, onUnread }) {
        this.#send = send;
        this.#peerOf = peerOf;
        this.#selfId = selfId;
        this.#isVisible = isVisible;
        this.#onUnread = onUnread;
        this.#log = $('chat-log');
        this.#input = $('chat-input');
        $('chat-form').addEventListener('submit', (e) => {
            e.preventDefault();
            this.#submit();
        });
        this.#input.addEventListener('keydown', (e) => {
            if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
                e.preventDefault();
                this.#submit();
            }
        });
        this.#input.addEventListener('input', () => {
            this.#grow();
            this.#count();
            this.#status(null);
            this.#direction();
        });
        // A tap on Send keeps the focus (and a phone's keyboard) in the box.
        $('chat-send').addEventListener('mousedown', (e) => e.preventDefault());
        $('chat-to-clear').addEventListener('click', () => this.privateTo(null));
        this.#log.addEventListener('scroll', () => {
            if (this.#below && this.#atBottom()) this.#showBelow(0);
        }, { passive: true });
        $('chat-below').addEventListener('click', () => {
            // The button goes: a keyboard user's focus would go with it. A
            // tap on a touch screen leaves it (the box's keyboard would
            // come up over the lines one asked to see).
            const keyed = keyboardIn($('chat-below'));
            this.#log.scrollTop = this.#log.scrollHeight;
            this.#showBelow(0);
            if (keyed || !touchScreen()) this.#input.focus();
        });
    }

    /**
     * The box's direction: the page's while it is empty (its prompt, in the
     * page's language, reads right: "رسالة خاصة إلى عمر"), the text's own
     * once something is typed (dir=auto: a Latin line left to right on an
     * Arabic page).
     */
    #direction() {
        if (this.#input.value) this.#input.dir = 'auto';
        else this.#input.removeAttribute('dir');
    }

    #grow() {
        this.#input.style.height = 'auto';
        this.#input.style.height = `${Math.min(this.#input.scrollHeight, 140)}px`;
    }

    /** The counter near the limit; Send is refused past it. */
    #count() {
        const n = codePoints(this.#input.value.replace(/\s+$/, ''));
        const text = counterText(n, this.#maxChars);
        const over = n > this.#maxChars;
        const counter = $('chat-count');
        counter.hidden = text === null;
        counter.textContent = text || '';
        counter.title = text ? t('chat.counterTitle', { n: num(n), max: num(this.#maxChars) }) : '';
        counter.classList.toggle('over', over);
        $('chat-send').disabled = over;
        this.#input.setAttribute('aria-invalid', String(over));
        return over;
    }

    /** A line under the box (null clears it); offline: it says the page had no connection. */
    #status(text, offline = false) {
        $('chat-status').hidden = !text;
        $('chat-status').textContent = text || '';
        this.#offline = !!text && offline;
    }

    /** The connection is back: a line saying it was not is no longer true. */
    reconnected() {
        if (this.#offline) this.#status(null);
    }

    #submit() {
        // A NUL (pasted) is dropped: the server refuses a line holding one.
        const text = this.#input.value.replace(/\0/g, '').replace(/\s+$/, '');
        if (!visible(text) || this.#count()) return; // nothing to see: not sent, kept
        if (this.#to && this.#to.gone) {
            this.#status(t('chat.toGoneNotSent', { name: this.#to.name }));
            return;
        }
        if (this.#awayTo(this.#to)) return;
        if (!this.#deliver({ text, to: this.#to && { id: this.#to.id, name: this.#to.name } })) {
            this.#status(t('chat.notSent'), true);
            return;
        }
        this.#status(null);
        this.#input.value = '';
        this.#grow();
        this.#count();
        this.#direction();
        this.#stickNext = true;
    }

    /**
     * Whether to (a private line's addressee, or null) is away: their seat
     * waits for their connection, and the server would drop the line.
     * Then the box says so, and nothing goes.
     */
    #awayTo(to) {
        const peer = to && this.#peerOf(to.id);
        if (!peer || !peer.away) return false;
        this.#status(t('chat.toAwayNotSent', { name: peer.label }));
        return true;
    }

    /**
     * Sends line ({ text, to: { id, name } or null }) and keeps it until
     * the server answers; false when it could not be sent (not connected).
     */
    #deliver(line) {
        // A lone surrogate (pasted broken text) would make the line bad JSON
        // to the server, which answers that without saying which line.
        if (line.text.toWellFormed) line.text = line.text.toWellFormed();
        const msg = { text: line.text };
        if (line.to) msg.to = line.to.id;
        if (!this.#send(msg)) return false;
        this.#pending.push(line);
        return true;
    }

    /** Our own line came back from the server: the oldest one was taken (returned, or undefined). */
    #taken() {
        return this.#pending.shift();
    }

    /**
     * The server refused our oldest unanswered line (code: the error's):
     * it goes in the log as not sent, with why and "Send again", so its
     * text is not lost and stays addressed as it was.
     */
    refused(code) {
        const line = this.#pending[0];
        if (!line) return;
        if (code === 'unavailable' && !line.to) {
            line.partly = true; // its echo follows: shown sent, with a word of warning
            return;
        }
        this.#pending.shift();
        this.#showUnsent(line, REFUSALS[code] || 'chat.unsent');
    }

    /** Puts line in the log as not sent, with why (a text key) and "Send again". */
    #showUnsent(line, why) {
        const atBottom = this.#atBottom();
        const li = el('li', 'msg mine unsent');
        if (line.to) li.classList.add('private');
        const head = el('div', 'msg-head');
        head.append(el('span', 'who', t('common.you')));
        if (line.to) head.append(el('span', 'pv', t('chat.privatelyTo', { name: line.to.name })));
        const again = el('button', 'ghost small', t('chat.sendAgain'));
        again.type = 'button';
        again.addEventListener('click', () => this.#again(li, line));
        li.append(head, textBody(line.text), el('p', 'unsent-why', t(why, { name: line.to ? line.to.name : '' })), again);
        this.#unsent.add(line);
        this.#append(li, atBottom);
    }

    /** Whether the log is scrolled to (near) its newest line. */
    #atBottom() {
        return this.#log.scrollHeight - this.#log.scrollTop - this.#log.clientHeight < 40;
    }

    /**
     * Puts li at the end of the log (the oldest line goes past MAX_ITEMS).
     * follow: the log scrolls to it; otherwise someone reading further up
     * is left there and told of it by the "new messages" button.
     */
    #append(li, follow) {
        this.#log.append(li);
        while (this.#log.children.length > MAX_ITEMS) this.#log.firstElementChild.remove();
        $('chat-empty').hidden = true;
        if (follow) {
            this.#log.scrollTop = this.#log.scrollHeight;
            this.#showBelow(0);
        } else {
            this.#showBelow(Math.min(this.#below + 1, MAX_ITEMS)); // no more than the log holds
        }
    }

    /** The "new messages" button says n (0: hidden). */
    #showBelow(n) {
        this.#below = n;
        $('chat-below').hidden = n === 0;
        if (n) $('chat-below-text').textContent = t('chat.below', { count: n });
    }

    /** "Send again" on a refused line: to whom it was addressed, never to the box's target. */
    #again(li, line) {
        if (this.#awayTo(line.to)) return;
        if (!this.#deliver(line)) {
            this.#status(t('chat.notSent'), true);
            return;
        }
        this.#status(null);
        const keyboard = keyboardIn(li);
        li.remove();
        if (keyboard) focusIfLost(this.#input); // it was on Send again
        this.#unsent.delete(line);
        this.#stickNext = true;
    }

    /** The longest message the server takes, in code points (welcome.limits.maxChatChars). */
    setLimit(max) {
        if (Number.isInteger(max) && max > 0) this.#maxChars = max;
        this.#count();
    }

    /** Private messages to peer (or to everyone when null). */
    privateTo(peer) {
        this.#to = peer ? { id: peer.id, name: peer.label, gone: false } : null;
        $('chat-to').hidden = !peer;
        this.relabel();
        this.#input.focus();
    }

    /** The language changed: the box's words and the counter follow. */
    relabel() {
        const to = this.#to;
        $('chat-to').classList.toggle('gone', !!to && to.gone);
        $('chat-to-name').textContent = to ? t(to.gone ? 'chat.toGone' : 'chat.to', { name: to.name }) : '';
        this.#input.placeholder = to ? t('chat.placeholderTo', { name: to.name }) : t('chat.placeholder');
        this.#count();
        this.#showBelow(this.#below);
    }

    /**
     * id left. A private draft to them stays private: the chip says they
     * left and nothing is sent until the person picks someone, or everyone.
     */
    forget(id) {
        if (!this.#to || this.#to.id !== id) return;
        this.#to.gone = true;
        this.relabel();
    }

    /** id is now called name: a private draft's chip and box say so. */
    renamed(id, name) {
        if (!this.#to || this.#to.id !== id) return;
        this.#to.name = name;
        this.relabel();
    }

    /** The same person under a new id (a rebound connection). */
    rekey(from, to) {
        this.#moved.set(from, to);
        for (const line of [...this.#pending, ...this.#unsent]) if (line.to && line.to.id === from) line.to.id = to;
        if (this.#to && this.#to.id === from) this.#to.id = to;
    }

    /**
     * A welcome's history. A welcome also starts a new session: lines sent
     * before it get no answer now, so none is waited for. Those the
     * history does not show went through are put in the log as maybe not
     * sent, with "Send again": a dropped connection loses no text.
     */
    history(list) {
        this.#ownIds.add(this.#selfId());
        const messages = (list || []).filter((m) => m && typeof m.text === 'string');
        this.#seen.cover(MAX_ITEMS + messages.length);
        const lost = unconfirmed(this.#pending, messages.filter((m) => !this.#seen.has(m)), this.#ownIds);
        this.#pending = [];
        for (const m of messages) this.add(m, { quiet: true });
        for (const line of lost) this.#showUnsent(line, 'chat.unsentDropped');
    }

    /** Shows one chat message; returns false for a duplicate. */
    add(m, { quiet = false } = {}) {
        if (!m || typeof m.text !== 'string') return false;
        const taken = !quiet && m.from === this.#selfId() ? this.#taken() : undefined;
        if (!this.#seen.add(m)) return false;
        const atBottom = this.#atBottom();
        const mine = m.from === this.#selfId() || this.#ownIds.has(m.from);
        const prev = this.#log.lastElementChild;
        const li = document.createElement('li');
        li.className = 'msg';
        if (mine) li.classList.add('mine');
        if (m.to) li.classList.add('private');
        // One head for a run of one sender's lines; a sender renamed
        // meanwhile starts a new one under the new name (one's own: "You").
        const groupKey = `${m.from}|${mine ? '' : m.name || ''}|${m.to || ''}`;
        const grouped = prev && prev.dataset.group === groupKey && m.ts - Number(prev.dataset.ts) < 120000;
        li.dataset.group = groupKey;
        li.dataset.ts = String(m.ts || Date.now());
        const who = mine ? t('common.you') : m.name ? this.#labelOf(m) : t('chat.someone');
        const privately = !m.to ? '' : mine ? t('chat.privatelyTo', { name: this.#peerOf(m.to)?.label || t('chat.someone') }) : t('chat.privatelyToYou');
        if (!grouped) {
            const head = document.createElement('div');
            head.className = 'msg-head';
            head.append(mine || !m.name ? el('span', 'who', who) : nameSpan('who', who));
            if (privately) head.append(el('span', 'pv', privately));
            if (m.to && !mine && m.from) head.append(this.#replyButton(m));
            const time = document.createElement('time');
            time.textContent = timeOf(m.ts);
            if (typeof m.ts === 'number') time.dateTime = new Date(m.ts).toISOString();
            head.append(time);
            li.append(head);
        } else {
            // Read out without its head, the line would not say whose it
            // is, nor that it is private.
            li.classList.add('cont');
            li.append(el('span', 'sr', privately ? t('chat.lineByPrivately', { name: who, privately }) : t('chat.lineBy', { name: who })));
        }
        // One's own line is not read out to oneself as it arrives.
        if (mine) li.setAttribute('aria-live', 'off');
        li.append(textBody(m.text));
        if (taken && taken.partly) li.append(el('p', 'unsent-why', t('chat.unsentBusy')));
        this.#append(li, atBottom || (mine && this.#stickNext));
        if (mine) this.#stickNext = false;
        if (!quiet && !mine && !this.#isVisible()) {
            this.#unread++;
            const name = m.name ? this.#labelOf(m) : t('chat.someone');
            // A private line's words stay in the chat: a shared screen
            // shows the toast to everyone.
            this.#onUnread(this.#unread, m.to ? t('chat.newsPrivate', { name }) : t('chat.news', { name, text: shortText(m.text, NEWS_CHARS) }));
        }
        return true;
    }

    /**
     * "Reply" on a private line to oneself: the box goes private to its
     * sender (otherwise a reply typed straight away went to everyone). A
     * sender who left gets the box's "left the meeting" chip, and nothing
     * is sent.
     */
    #replyButton(m) {
        const name = m.name ? this.#labelOf(m) : t('chat.someone');
        const b = el('button', 'reply', t('chat.reply'));
        b.type = 'button';
        b.setAttribute('aria-label', t('chat.replyTo', { name }));
        b.addEventListener('click', () => {
            // Its sender as now: under a later id if rebound (rekey).
            let id = m.from;
            for (let i = 0; i < 8 && this.#moved.has(id); i++) id = this.#moved.get(id);
            const p = this.#peerOf(id);
            this.privateTo(p || { id, label: name });
            if (!p) this.forget(id);
        });
        return b;
    }

    /**
     * The name a message is shown under: the one it was sent with, or the
     * sender's label when they are still in the meeting under that name
     * (then two people of one name are told apart).
     */
    #labelOf(m) {
        const p = this.#peerOf(m.from);
        return p && p.name === m.name ? p.label : m.name;
    }

    /** Puts the cursor in the message box. */
    focus() {
        this.#input.focus();
    }

    /** The panel became visible: nothing is unread any more. */
    seenAll() {
        this.#unread = 0;
        this.#onUnread(0, null);
        this.#log.scrollTop = this.#log.scrollHeight;
        this.#showBelow(0);
    }
}
