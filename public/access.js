// Who may do what in a meeting, and what the page says about it: the
// actions a host sees on someone's row, the words of the screens shown
// when the server keeps one out or ends one's seat, who in the lobby is
// new, and the join token of an invitation link. Pure functions: nothing
// here touches document or window; takeToken is handed what it works on.
// The words come from the catalogue (i18n.js).
import { t, durationText } from './i18n.js';
import { cleanName } from './names.js';

const TOKEN_KEY = 'huddle.token.';
const BACK_KEY = 'huddle.back.';

/**
 * What the Remove question says happens to name: how long they stay out
 * (banMs, welcome.limits.kickBanMs: 0 for no ban, null when the server
 * did not say).
 */
export function kickText(name, banMs) {
    if (banMs === null) return t('host.kickTextWhile', { name });
    return banMs > 0 ? t('host.kickText', { name, time: durationText(banMs) }) : t('host.kickTextNoBan', { name });
}

/**
 * The actions one with role mine sees on the row of someone with role
 * theirs: [] for a guest; for a host, a role change ('make-host' or
 * 'make-guest'), 'mute' and 'kick', in that order.
 */
export function rowActions(mine, theirs) {
    if (mine !== 'host') return [];
    return [theirs === 'host' ? 'make-guest' : 'make-host', 'mute', 'kick'];
}

const ACTIONS = ['make-host', 'make-guest', 'mute', 'kick'];

/** The short word of a row action on its button. */
export function actionWord(action) {
    return ACTIONS.includes(action) ? t(`action.${action}`) : '';
}

/**
 * A row control's accessible name: the word on it, then whom ("Admit:
 * Dan", "Make host: Ben"), so that it starts with what is shown and a
 * voice command of that finds it. The word is the page's own, never
 * bidi-isolated (in Arabic an isolate would come before it).
 */
export function controlName(word, name) {
    return t('action.short', { action: word, name }, { plain: ['action'] });
}

/** The full label of a row action for name (the button's title and accessible name). */
export function actionLabel(action, name) {
    return ACTIONS.includes(action) ? t(`action.${action}.full`, { name }) : '';
}

/**
 * The screen after an `ended` message: { title, text }. reason is
 * 'removed' or 'ended'; name is the host's (null when unknown); self:
 * one ended it oneself; banMs: how long one removed stays out, as for
 * kickText (said after who removed one).
 */
export function endedText(reason, name, { self = false, banMs = null } = {}) {
    if (self && reason !== 'removed') return { title: t('gate.endedTitle'), text: t('gate.endedTextYou') };
    if (reason === 'removed') {
        const who = name ? t('gate.removedText', { name }) : t('gate.removedTextHost');
        const back = banMs === null ? '' : banMs > 0 ? t('gate.removedBan', { time: durationText(banMs) }) : t('gate.removedNoBan');
        return { title: t('gate.removedTitle'), text: back ? `${who} ${back}` : who };
    }
    return { title: t('gate.endedTitle'), text: name ? t('gate.endedText', { name }) : t('gate.endedTextHost') };
}

// Why a token was refused (the error's reason, docs/protocol.md), in words
// for whoever holds the link: the catalogue's keys of the title and the
// text. Any other reason (a bad signature, a malformed token...) is the
// organizer's to fix: "not valid".
const TOKEN_WORDS = new Map([
    ['missing', ['gate.tokenTitle', 'gate.tokenText']],
    ['expired', ['gate.tokenExpiredTitle', 'gate.tokenExpiredText']],
    ['not-yet-valid', ['gate.tokenEarlyTitle', 'gate.tokenEarlyText']],
    ['wrong-room', ['gate.tokenOtherRoomTitle', 'gate.tokenOtherRoomText']],
]);
const TOKEN_INVALID = ['gate.tokenInvalidTitle', 'gate.tokenInvalidText'];

// Why a knock was denied (the error's reason): a host said no, everyone
// left, or the meeting ended while one waited. No reason: the words for
// the first two.
const DENIED_WORDS = new Map([
    ['host', ['gate.deniedTitle', 'gate.deniedHostText']],
    ['empty', ['gate.deniedEmptyTitle', 'gate.deniedEmptyText']],
    ['ended', ['gate.endedTitle', 'gate.deniedEndedText']],
]);
const DENIED_ANY = ['gate.deniedTitle', 'gate.deniedText'];

/**
 * The screen for a join the server refused for good (until one tries
 * again): { title, text, retry } for 'denied', 'knock-timeout', 'banned'
 * and 'bad-token' (reason: the error's, why the knock or the token was
 * refused), or null for any other code. retry: whether "Try again" makes sense.
 */
export function refusalText(code, reason) {
    switch (code) {
    case 'denied': {
        // Try again: a host may say yes now, or, after everyone left,
        // this join finds the room empty and open (its first member is its
        // host, unless join tokens make hosts). Not after a host ended the
        // meeting: that would start it again, hosted by someone nobody let
        // in. New meeting is still there.
        const [title, text] = DENIED_WORDS.get(reason) || DENIED_ANY;
        return { title: t(title), text: t(text), retry: reason !== 'ended' };
    }
    case 'knock-timeout':
        return { title: t('gate.timeoutTitle'), text: t('gate.timeoutText'), retry: true };
    case 'banned':
        // The ban is on an address, for HUDDLE_KICK_BAN_S: it may be someone
        // else's on the same connection, and it ends.
        return { title: t('gate.bannedTitle'), text: t('gate.bannedText'), retry: true };
    case 'bad-token': {
        const [title, text] = TOKEN_WORDS.get(reason) || TOKEN_INVALID;
        return { title: t(title), text: t(text), retry: reason === 'not-yet-valid' };
    }
    default:
        return null;
    }
}

// Why a join must wait (a rate-limited join's reason): this address' wrong
// passwords, or everyone's into this room (a minute); none: the joins'
// budgets (a few seconds).
const RATE_WORDS = new Map([
    ['passwords', 'error.ratePassword'],
    ['room-passwords', 'error.rateRoomPassword'],
]);

/** The words for a join refused as rate-limited, with the error's reason. */
export function joinRateText(reason) {
    return t(RATE_WORDS.get(reason) || 'error.rateJoin');
}

/**
 * The way back into the meeting after a reload of this tab, or Rejoin after
 * Leave: { resume, attempt, id, audio, video, until }. The page going away keeps it in
 * store (sessionStorage: this tab only): its last resume token, which the
 * sidecar takes until `until` (ms since the epoch) as a return ticket or a
 * seat kept, letting its holder back in as they were, past the password
 * and the lock, a host again (docs/access.md, "Coming back"); and whether
 * the microphone and the camera were on, for the pre-join screen; id: the
 * seat's, which a welcome with the same id took back (a seat kept for the
 * page, not a new one on a return ticket); attempt: the number of the last
 * resume sent for the seat, which the next one must pass (signal.js). The page
 * loading takes it out, so that a copy of the tab made later does not find
 * it. A storage that refuses keeps nothing: the reload is then a new join.
 */
export function keepWayBack(store, room, back) {
    try {
        if (back && back.resume) store.setItem(BACK_KEY + room, JSON.stringify(back));
    } catch { /* nothing kept */ }
}

/** The way back keepWayBack kept for room, taken out of store; null when none, or past its time. */
export function takeWayBack(store, room, now = Date.now()) {
    let back = null;
    try {
        back = JSON.parse(store.getItem(BACK_KEY + room));
        store.removeItem(BACK_KEY + room);
    } catch {
        return null;
    }
    if (!back || typeof back.resume !== 'string' || !(back.until > now)) return null;
    const id = typeof back.id === 'string' ? back.id : '';
    const attempt = Number.isSafeInteger(back.attempt) && back.attempt > 0 ? back.attempt : 0;
    return { resume: back.resume, attempt, id, audio: back.audio !== false, video: back.video !== false, until: back.until };
}

/** The lobby entries of waiting whose id is not in known (a Set). */
export function newArrivals(known, waiting) {
    return waiting.filter((w) => w && !known.has(w.id));
}

/** A lobby message's list, cleaned: entries with a string id and name. */
export function waitingList(msg) {
    const list = msg && Array.isArray(msg.waiting) ? msg.waiting : [];
    return list.filter((w) => w && typeof w.id === 'string' && typeof w.name === 'string');
}

/**
 * The join token in href's query (?token=...) and href without it:
 * { token, clean }; token is null when there is none.
 */
export function splitToken(href) {
    const u = new URL(href);
    const token = u.searchParams.get('token');
    if (token === null) return { token: null, clean: href };
    u.searchParams.delete('token');
    return { token: token || null, clean: u.href };
}

/**
 * The join token of this page, taken out of the address bar so that it is
 * neither shown nor copied along with the link: read from loc's query and
 * replaced in hist (with the same state), or, on a reload of this tab,
 * from store (sessionStorage: this tab only) under the room's key.
 * Returns { token, renewed }: the token or null, and whether the link
 * brought one other than the one this tab kept (a new invitation).
 */
export function takeToken(loc, hist, store, room) {
    const { token, clean } = splitToken(loc.href);
    const inLink = clean !== loc.href; // "?token=" emptied counts: it drops the kept one
    let kept = null;
    try {
        kept = store.getItem(TOKEN_KEY + room) || null;
        if (token) store.setItem(TOKEN_KEY + room, token);
        else if (inLink) store.removeItem(TOKEN_KEY + room);
    } catch { /* storage refused: the token lives for this page only */ }
    if (inLink) hist.replaceState(hist.state, '', clean);
    if (token) return { token, renewed: token !== kept };
    return { token: inLink ? null : kept, renewed: false };
}

/**
 * The name a join token gives its holder (its `name` claim, cleaned), or
 * '' when token is null or none can be read from it. Only shown: the
 * sidecar checks the token and seats its holder under this name.
 */
export function tokenName(token) {
    try {
        const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
        const bytes = Uint8Array.from(atob(part), (ch) => ch.charCodeAt(0));
        // Not fatal: a stray byte in another claim (the sidecar reads the
        // name alone as UTF-8) must not hide the name.
        const claims = JSON.parse(new TextDecoder().decode(bytes));
        return typeof claims.name === 'string' ? cleanName(claims.name) : '';
    } catch {
        return '';
    }
}
