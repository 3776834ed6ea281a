// The page's words in the reader's language: one catalogue per language
// (public/i18n/<code>.js, `export default { key: text }`), English the
// source and the fallback of every missing key. t(key, vars) gives a text
// with its {placeholders} filled; vars are inserted as text (the callers
// set it with textContent), never read as markup. A key whose entry is an
// object holds plural forms ({ one, other, ... }, chosen by
// Intl.PluralRules for vars.count). translatePage() fills the static
// markup from data-i18n (text) and data-i18n-attr ("attr:key;attr:key")
// and sets <html lang dir>. The choice: the stored one, else the first
// of navigator.languages whose primary subtag has a catalogue, else
// English. Pure until loadLanguage() and translatePage() are called: node
// imports this module without a DOM.
import en from './i18n/en.js';

// The languages with a catalogue: code -> the language's own name and how
// its catalogue loads. Each import names its file, so that the page's bundle
// (scripts/assets.sh) makes every other language a file of its own, loaded
// only by a page in that language.
const CATALOGUES = {
    en: { name: 'English' },
    de: { name: 'Deutsch', load: () => import('./i18n/de.js') },
    fr: { name: 'Français', load: () => import('./i18n/fr.js') },
    es: { name: 'Español', load: () => import('./i18n/es.js') },
    ar: { name: 'العربية', load: () => import('./i18n/ar.js') },
};

/** The languages with a catalogue: code -> the language's own name. */
export const LANGUAGES = Object.fromEntries(Object.entries(CATALOGUES).map(([code, c]) => [code, c.name]));

// Primary subtags written right to left.
const RTL = new Set(['ar', 'he', 'fa', 'ur']);
const LANG_PREF = 'huddle.lang';

let current = 'en';
let catalogue = en;
let plurals = new Intl.PluralRules('en');

/** The language in use ('en', 'de', ...). */
export function lang() {
    return current;
}

/** The writing direction of the language in use: 'ltr' or 'rtl'. */
export function dir() {
    return RTL.has(current) ? 'rtl' : 'ltr';
}

/**
 * The language to use for wanted (navigator.languages, best first): the
 * first whose primary subtag (de-AT -> de) is in have, else 'en'.
 */
export function pickLanguage(wanted, have = Object.keys(LANGUAGES)) {
    for (const tag of wanted || []) {
        const primary = String(tag).toLowerCase().split(/[-_]/)[0];
        if (have.includes(primary)) return primary;
    }
    return 'en';
}

/** The language chosen in the picker, from storage (null: none chosen). */
export function storedLanguage(storage) {
    try {
        const v = storage && storage.getItem(LANG_PREF);
        return v && Object.hasOwn(LANGUAGES, v) ? v : null;
    } catch {
        return null;
    }
}

/** Remembers the picker's choice in storage (if it can). */
export function rememberLanguage(storage, code) {
    try {
        if (storage) storage.setItem(LANG_PREF, code);
    } catch { /* private mode: the choice lasts for this page */ }
}

/**
 * template with each {name} replaced by String(vars[name]) in one pass
 * (a value that contains "{x}" or markup stays as it is); an unknown
 * {name} is left as written.
 */
export function fill(template, vars = {}) {
    return template.replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(vars, name) ? String(vars[name]) : m));
}

const EN_PLURALS = new Intl.PluralRules('en');

// key's text in cat, its plural form for vars.count by rules; null if absent.
function entry(cat, key, vars, rules) {
    const e = Object.hasOwn(cat, key) ? cat[key] : null;
    if (typeof e === 'string') return e;
    if (!e || typeof e !== 'object') return null;
    const n = Number(vars && vars.count);
    return e[rules.select(Number.isFinite(n) ? n : 0)] ?? e.other ?? null;
}

/** Whether the English catalogue has key. */
export function hasText(key) {
    return Object.hasOwn(en, key);
}

/**
 * The text of key in the language in use (English when that catalogue
 * lacks it, the key itself when English does too), vars filled in:
 * numbers in the language's digits (num), and in a right-to-left language
 * each string bidi-isolated (FSI ... PDI), so a Latin name ending in "!"
 * or a digit stays in one piece, except those named in plain: the page's
 * own words, in its own direction (a control's name starts with the word
 * on it, "Admit: Dan", and an isolate before it would not).
 */
export function t(key, vars, { plain = [] } = {}) {
    const s = entry(catalogue, key, vars, plurals) ?? entry(en, key, vars, EN_PLURALS);
    if (!vars) return s ?? key;
    const rtl = dir() === 'rtl';
    const shown = {};
    for (const [k, v] of Object.entries(vars)) {
        if (typeof v === 'number') shown[k] = num(v);
        else shown[k] = rtl && typeof v === 'string' && !plain.includes(k) ? `\u2068${v}\u2069` : v;
    }
    return fill(s ?? key, shown);
}

/**
 * Makes code the language in use with its catalogue cat (English for
 * 'en' or none); the tests and loadLanguage() call it.
 */
export function useCatalogue(code, cat) {
    current = Object.hasOwn(LANGUAGES, code) ? code : 'en';
    catalogue = current === 'en' || !cat ? en : cat;
    plurals = new Intl.PluralRules(current);
}

/**
 * Loads the catalogue of code (only that one: a dynamic import) and makes
 * it the language in use; a catalogue that cannot load leaves English.
 */
export async function loadLanguage(code) {
    if (!Object.hasOwn(LANGUAGES, code) || code === 'en') {
        useCatalogue('en', en);
        return;
    }
    try {
        const mod = await CATALOGUES[code].load();
        useCatalogue(code, mod.default);
    } catch (err) {
        console.warn('huddle: language not loaded', code, err);
        useCatalogue('en', en);
    }
}

/**
 * Sets el's words to text and keeps its element children (icons, counts):
 * its first non-blank text node takes text (with that node's spaces
 * around it, "People " before a count), other text nodes go.
 */
function setWords(el, text) {
    const nodes = [...el.childNodes].filter((n) => n.nodeType === 3);
    const first = nodes.find((n) => n.data.trim()) || null;
    for (const n of nodes) if (n !== first) n.remove();
    if (!first) {
        el.append(text);
        return;
    }
    const [, lead, , trail] = /^(\s*)([\s\S]*?)(\s*)$/.exec(first.data);
    first.data = lead + text + trail;
}

/**
 * Translates the static markup under root: data-i18n="key" sets the words,
 * data-i18n-attr="aria-label:key;title:key2" sets attributes; and the
 * document's lang and dir.
 */
export function translatePage(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) setWords(el, t(el.dataset.i18n));
    for (const el of root.querySelectorAll('[data-i18n-attr]')) {
        for (const pair of el.dataset.i18nAttr.split(';')) {
            const [attr, key] = pair.split(':').map((s) => s.trim());
            if (attr && key) el.setAttribute(attr, t(key));
        }
    }
    document.documentElement.lang = current;
    document.documentElement.dir = dir();
}

/**
 * Makes sel (a <select>) a language picker: one option per catalogue, each
 * in its own language (lang attribute), showing the language in use; a
 * choice calls onPick(code).
 */
export function bindPicker(sel, onPick) {
    sel.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => {
        const o = document.createElement('option');
        o.value = code;
        o.lang = code;
        o.textContent = name;
        return o;
    }));
    sel.value = current;
    sel.addEventListener('change', () => onPick(sel.value));
}

/** n written with the digits of the language in use, without grouping. */
export function num(n) {
    return new Intl.NumberFormat(current, { useGrouping: false }).format(n);
}

/** texts as one list in the language in use ("a, b, c"; "a, b und c"). */
export function listText(texts) {
    return new Intl.ListFormat(current, { type: 'unit', style: 'long' }).format(texts);
}

/**
 * A length of time as words in the language in use ("5 minutes", "1 Stunde",
 * "90 segundos"), in the largest unit that counts it whole.
 */
export function durationText(ms) {
    const s = Math.round(ms / 1000);
    const [unit, n] = s % 3600 === 0 ? ['hour', s / 3600] : s % 60 === 0 ? ['minute', s / 60] : ['second', s];
    return new Intl.NumberFormat(current, { style: 'unit', unit, unitDisplay: 'long' }).format(n);
}

/** A date's time of day ("14:05", "2:05 PM") in the language in use. */
export function timeText(d, { seconds = false } = {}) {
    return d.toLocaleTimeString(current, { hour: 'numeric', minute: '2-digit', ...(seconds ? { second: '2-digit' } : {}) });
}
