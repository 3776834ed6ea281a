// Who may do what in a meeting, and what the page says about it: the
// actions a host sees on someone's row, the words of the screens shown
// when the server keeps one out or ends one's seat, who in the lobby is
// new, and the join token of an invitation link. Pure functions: nothing
// here touches document or window; takeToken is handed what it works on.

const TOKEN_KEY = 'huddle.token.';

/**
 * The actions one with role mine sees on the row of someone with role
 * theirs: [] for a guest; for a host, a role change ('make-host' or
 * 'make-guest'), 'mute' and 'kick', in that order.
 */
export function rowActions(mine, theirs) {
    if (mine !== 'host') return [];
    return [theirs === 'host' ? 'make-guest' : 'make-host', 'mute', 'kick'];
}

/** The short word of a row action on its button. */
export function actionWord(action) {
    return { 'make-host': 'Make host', 'make-guest': 'Make guest', mute: 'Ask to mute', kick: 'Remove' }[action] || '';
}

/** The full label of a row action for name (the button's title and accessible name). */
export function actionLabel(action, name) {
    return {
        'make-host': `Make ${name} a host`,
        'make-guest': `Make ${name} a guest`,
        mute: `Ask ${name} to mute`,
        kick: `Remove ${name} from the meeting`,
    }[action] || '';
}

/**
 * The screen after an `ended` message: { title, text }. reason is
 * 'removed' or 'ended'; name is the host's (null when unknown).
 */
export function endedText(reason, name) {
    if (reason === 'removed') {
        return { title: 'You were removed', text: `You were removed from the meeting by ${name || 'a host'}.` };
    }
    return { title: 'The meeting has ended', text: `${name || 'A host'} ended the meeting.` };
}

/**
 * The screen for a join the server refused for good (until one tries
 * again): { title, text, retry } for 'denied', 'knock-timeout', 'banned'
 * and 'bad-token' (message: the server's words), or null for any other
 * code. retry: whether "Try again" makes sense.
 */
export function refusalText(code, message) {
    switch (code) {
    case 'denied':
        return { title: 'You were not let in', text: 'The host did not let you into this meeting, or everyone left while you waited.', retry: true };
    case 'knock-timeout':
        return { title: 'Nobody let you in', text: 'No host answered in time. You can knock again.', retry: true };
    case 'banned':
        return { title: 'You cannot join this meeting', text: 'A host removed you from this meeting. Try again later, or ask the host.', retry: false };
    case 'bad-token': {
        const why = message ? ` (${message})` : '';
        return { title: 'An invitation is needed', text: `This meeting needs an invitation link from the organizer${why}.`, retry: false };
    }
    default:
        return null;
    }
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
 * Returns the token or null.
 */
export function takeToken(loc, hist, store, room) {
    const { token, clean } = splitToken(loc.href);
    try {
        if (token) store.setItem(TOKEN_KEY + room, token);
        else if (clean !== loc.href) store.removeItem(TOKEN_KEY + room);
    } catch { /* storage refused: the token lives for this page only */ }
    if (clean !== loc.href) hist.replaceState(hist.state, '', clean);
    if (token) return token;
    try {
        return store.getItem(TOKEN_KEY + room) || null;
    } catch {
        return null;
    }
}
