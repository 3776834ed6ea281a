// People's names: the rule a name must meet before it is sent, how a name
// is drawn (initials, a colour), and how two people of the same name are
// told apart (a tag). Pure functions: no DOM, no state.

const MAX_NAME_BYTES = 64;

// The sidecar refuses a join or state whose name holds one of these, or
// holds nothing visible (sidecar/msg.c, msg_name_valid; docs/protocol.md).
// cleanName applies the same rule, so a name it returns is never refused.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f]/g;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/g;
const INVISIBLE = /^[\u0020\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff9-\ufffb\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}]*$/u;

/**
 * The name a person typed, made fit to send: control characters become
 * spaces, bidi embeddings, overrides and isolates go, runs of white space
 * become one space, and the result is cut to 64 UTF-8 bytes on a character
 * boundary. Returns '' when nothing visible is left.
 */
export function cleanName(raw) {
    let s = String(raw || '').replace(CONTROLS, ' ').replace(BIDI, '').replace(/\s+/g, ' ').trim();
    const enc = new TextEncoder();
    while (enc.encode(s).length > MAX_NAME_BYTES) s = [...s].slice(0, -1).join('');
    s = s.trim();
    return INVISIBLE.test(s) ? '' : s;
}

/** Whether text shows anything: not only white space and invisible characters (a chat line). */
export function visible(text) {
    return !INVISIBLE.test(String(text || '').replace(/\s+/g, ''));
}

// A character that can stand for a word in an avatar: a letter, a number
// or an emoji (not punctuation, symbols or marks).
const MARK = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;

const SEGMENTER = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/** The characters of s as people see them: "👩‍👧" or "é" as one, not two. */
function graphemes(s) {
    return [...SEGMENTER.segment(s)].map((g) => g.segment);
}

/** The first letter, number or emoji of word (a whole character), or null. */
function firstMark(word) {
    for (const ch of graphemes(word)) if (MARK.test(ch)) return ch;
    return null;
}

/**
 * Up to two characters for an avatar, upper-cased: the first letter, number
 * or emoji of the first and of the last word that have one ("Anna (she/her)"
 * gives "AS"), or the first two of a single such word, or '?'. Works on
 * whole characters (grapheme clusters), so it never cuts an emoji made of
 * several code points, or a letter from its accent.
 */
export function initials(name) {
    const words = String(name || '').trim().split(/\s+/).filter((w) => firstMark(w) !== null);
    if (!words.length) return '?';
    if (words.length > 1) return (firstMark(words[0]) + firstMark(words[words.length - 1])).toUpperCase();
    const marks = graphemes(words[0]).filter((ch) => MARK.test(ch));
    return marks.slice(0, 2).join('').toUpperCase();
}

/** A stable hue (0..359) for a name, so each person keeps a colour. */
export function hue(name) {
    let h = 0;
    for (const ch of String(name)) h = (h * 31 + ch.codePointAt(0)) % 360;
    return h;
}

/**
 * What two names are compared by when telling people apart: names that
 * differ only in case or in Unicode compatibility forms ("Ann", "ANN",
 * "Ａｎｎ") look alike in a list, so they count as the same.
 */
export function nameKey(name) {
    return String(name || '').normalize('NFKC').toLowerCase();
}

/** The 32-bit FNV-1a hash of s's UTF-16 code units, unsigned. */
export function fnv1a(s) {
    let h = 0x811c9dc5;
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
    return h >>> 0;
}

/**
 * Four digits for the peer id (FNV-1a): what tells two people of the same
 * name apart ("Ann #4821"). Every page computes the same tag for one id,
 * so a person can say which one they are.
 */
export function tagOf(id) {
    return String(1000 + (fnv1a(String(id)) % 9000));
}
