// The translations (public/i18n.js, public/i18n/*.js): every catalogue has
// exactly English's keys with the same {placeholders} and no empty text;
// t() falls back to English, fills vars as text in one pass, picks plural
// forms; the language is picked from navigator.languages; and no
// user-visible English is left in the page's modules outside the catalogues.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import en from '../../public/i18n/en.js';
import {
    LANGUAGES, t, fill, pickLanguage, storedLanguage, rememberLanguage, useCatalogue, lang, dir, hasText, durationText,
} from '../../public/i18n.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CODES = Object.keys(LANGUAGES);
const catalogues = Object.fromEntries(await Promise.all(CODES.map(async (c) => [c, (await import(`../../public/i18n/${c}.js`)).default])));

/** The forms of an entry: [text] or the plural forms' texts. */
const forms = (e) => (typeof e === 'string' ? [e] : Object.values(e));
/** The {placeholders} of an entry, over all its forms, sorted. */
const holes = (e) => [...new Set(forms(e).flatMap((s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1])))].sort();

test('there is one catalogue file per language, and no other', () => {
    const files = fs.readdirSync(path.join(ROOT, 'public/i18n')).map((f) => f.replace(/\.js$/, ''));
    assert.deepEqual(files.sort(), [...CODES].sort());
    assert.ok(CODES.length >= 5 && CODES.includes('ar'));
});

for (const code of CODES) {
    test(`${code}: exactly English's keys, the same placeholders, no empty text`, () => {
        const cat = catalogues[code];
        assert.deepEqual(Object.keys(cat).filter((k) => !(k in en)), [], 'extra keys');
        assert.deepEqual(Object.keys(en).filter((k) => !(k in cat)), [], 'missing keys');
        for (const [key, e] of Object.entries(cat)) {
            assert.ok(typeof e === 'string' || (e && typeof e === 'object' && typeof e.other === 'string'), `${key}: a text or plural forms with "other"`);
            for (const s of forms(e)) assert.ok(s.trim().length > 0, `${key} is empty`);
            assert.deepEqual(holes(e), holes(en[key]), `${key}: placeholders`);
            if (typeof e === 'object') {
                // Every form a whole count (0..1000) can take in this language.
                const rules = new Intl.PluralRules(code);
                const need = new Set(Array.from({ length: 1001 }, (_, n) => rules.select(n)));
                for (const f of need) assert.ok(typeof e[f] === 'string', `${key}: plural form ${f}`);
            }
        }
    });
}

test('t() falls back to English for a key a catalogue lacks, and to the key', () => {
    try {
        useCatalogue('de', { 'controls.leave': 'Verlassen' });
        assert.equal(lang(), 'de');
        assert.equal(t('controls.leave'), 'Verlassen');
        assert.equal(t('controls.invite'), 'Invite');
        assert.equal(t('toast.joined', { name: 'Ann' }), 'Ann joined');
        assert.equal(t('no.such.key'), 'no.such.key');
    } finally {
        useCatalogue('en');
    }
    assert.equal(hasText('controls.leave'), true);
    assert.equal(hasText('no.such.key'), false);
});

test('vars go in as text, once: markup and braces in a value stay as typed', () => {
    assert.equal(t('toast.joined', { name: '<img src=x onerror=alert(1)>' }), '<img src=x onerror=alert(1)> joined');
    assert.equal(t('toast.renamed', { old: '{name}', name: 'Bo' }), '{name} is now Bo');
    assert.equal(fill('{a} and {b}', { a: '{b}', b: '$&' }), '{b} and $&');
    assert.equal(fill('{missing} stays', {}), '{missing} stays');
    assert.equal(fill('{toString}', {}), '{toString}');
});

test('plural forms follow Intl.PluralRules of the language', () => {
    assert.equal(t('meeting.count', { count: 1 }), '1 person in the meeting');
    assert.equal(t('meeting.count', { count: 3 }), '3 people in the meeting');
    try {
        useCatalogue('de', catalogues.de);
        assert.equal(t('toast.waitingMany', { count: 2 }), '2 Personen warten auf Einlass');
        assert.equal(t('meeting.count', { count: 1 }), '1 Person im Meeting');
        useCatalogue('ar', catalogues.ar);
        assert.equal(dir(), 'rtl');
        assert.equal(t('meeting.count', { count: 2 }), 'شخصان في الاجتماع');
        // Arabic digits, and a name isolated from the right-to-left text around it.
        assert.equal(t('meeting.count', { count: 5 }), `${new Intl.NumberFormat('ar').format(5)} أشخاص في الاجتماع`);
        assert.equal(t('toast.joined', { name: 'Ann!' }), 'انضم \u2068Ann!\u2069');
        // A control's own word, given plain, starts its name as it is shown.
        assert.equal(t('action.short', { action: 'قبول', name: 'Ann!' }, { plain: ['action'] }), 'قبول: \u2068Ann!\u2069');
    } finally {
        useCatalogue('en');
    }
    assert.equal(dir(), 'ltr');
});

test('the language is the first of navigator.languages with a catalogue', () => {
    assert.equal(pickLanguage(['de-AT', 'en-US']), 'de');
    assert.equal(pickLanguage(['pt-BR', 'fr-CA', 'de']), 'fr');
    assert.equal(pickLanguage(['ES']), 'es');
    assert.equal(pickLanguage(['ar-EG']), 'ar');
    assert.equal(pickLanguage(['zh-Hant-TW', 'ja']), 'en');
    assert.equal(pickLanguage([]), 'en');
    assert.equal(pickLanguage(undefined), 'en');
    assert.equal(pickLanguage(['en-GB', 'de']), 'en');
});

test('a length of time is said in the largest unit that counts it whole, in the language in use', () => {
    assert.equal(durationText(300000), '5 minutes');
    assert.equal(durationText(60000), '1 minute');
    assert.equal(durationText(3600000), '1 hour');
    assert.equal(durationText(90000), '90 seconds');
    assert.equal(durationText(5400000), '90 minutes');
    try {
        useCatalogue('de', catalogues.de);
        assert.equal(durationText(300000), '5 Minuten');
        useCatalogue('ar', catalogues.ar);
        assert.match(durationText(300000), /دقائق/);
    } finally {
        useCatalogue('en');
    }
});

test('the picked language is kept in storage, and only a known one is taken', () => {
    const data = new Map();
    const store = { getItem: (k) => data.get(k) ?? null, setItem: (k, v) => data.set(k, String(v)) };
    assert.equal(storedLanguage(store), null);
    rememberLanguage(store, 'fr');
    assert.equal(storedLanguage(store), 'fr');
    data.set('huddle.lang', 'xx');
    assert.equal(storedLanguage(store), null);
    const broken = { getItem: () => { throw new Error('denied'); }, setItem: () => { throw new Error('denied'); } };
    assert.equal(storedLanguage(broken), null);
    rememberLanguage(broken, 'de');
    assert.equal(storedLanguage(null), null);
});

// ---- no English left in the page's modules ----

/**
 * The user-visible string literals of a module's source: what is assigned
 * to textContent, placeholder, title, innerText or label, passed to
 * setAttribute('aria-label' | 'title' | 'placeholder' | 'aria-valuetext',
 * ...), toast(), banner(), message(), busy(), error(), ask({...}) fields
 * or gate actions' label; a literal counts when it holds a letter (words;
 * "9+" and "" do not). Template literals count when their text outside
 * ${} holds a letter.
 */
export function visibleLiterals(src) {
    const lit = String.raw`('(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|\x60(?:[^\x60\\\n]|\\.)*\x60)`;
    const sinks = [
        new RegExp(String.raw`\.(?:textContent|innerText|placeholder|title|label)\s*=\s*(?:[^;\n]*?[?:]\s*)?${lit}`, 'g'),
        new RegExp(String.raw`setAttribute\(\s*'(?:aria-label|title|placeholder|aria-valuetext)'\s*,\s*${lit}`, 'g'),
        new RegExp(String.raw`\b(?:toast|banner|message|busy|error|refused|leave|backToPrejoin)\(\s*(?:[^;\n]*?[?:]\s*)?${lit}`, 'g'),
        new RegExp(String.raw`\b(?:title|text|ok|field|label)\s*:\s*${lit}`, 'g'),
        new RegExp(String.raw`\bel\(\s*'[^']*'\s*,\s*'[^']*'\s*,\s*${lit}`, 'g'),
    ];
    const out = [];
    for (const re of sinks) {
        for (const m of src.matchAll(re)) {
            const s = m[1];
            const words = s.startsWith('`') ? s.replace(/\$\{[^}]*\}/g, '') : s;
            // A catalogue key ('toast.joined') is not a text.
            if (/^.[a-z][\w-]*(?:\.[\w-]+)+.$/.test(s)) continue;
            if (/\p{L}{2,}/u.test(words.slice(1, -1))) out.push(s);
        }
    }
    return out;
}

// Capitalized tokens of the code itself (key names, DOM error names, constraint names).
const CODE_WORDS = new Set(['Escape', 'Enter', 'Space', 'Tab', 'ArrowRight', 'ArrowLeft', 'Home', 'End', 'NotAllowedError', 'SecurityError',
    'noiseSuppression', 'echoCancellation', 'autoGainControl', 'setSinkId', 'contentHint', 'viewBox']);

/**
 * Every string or template literal of src, outside comments and console
 * lines, that holds a capitalized word (what English on screen looks like,
 * wherever it is passed: a helper's argument too), except catalogue keys
 * and the code's own tokens (CODE_WORDS).
 */
export function capitalLiterals(src) {
    const out = [];
    for (const line of src.split('\n')) {
        if (/^\s*(\/\/|\*|\/\*)/.test(line) || /console\.\w+\(/.test(line)) continue;
        for (const m of line.matchAll(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`(?:[^`\\]|\\.)*`/g)) {
            const s = m[0];
            const body = s.slice(1, -1);
            if (/^[a-z][\w-]*(?:\.[\w-]+)+$/.test(body) || CODE_WORDS.has(body)) continue;
            const words = s.startsWith('`') ? body.replace(/\$\{[^}]*\}/g, ' ') : body;
            if (/(?:^|[^\w-])[A-Z][a-z]+/.test(words)) out.push(s);
        }
    }
    return out;
}

test('the scan finds English put on screen (it can fail)', () => {
    assert.deepEqual(capitalLiterals("this.#button('Admit', `Let ${w.name} in`, 'admit primary small', run)"), ["'Admit'", '`Let ${w.name} in`']);
    assert.deepEqual(capitalLiterals("if (e.key === 'Escape') x('icon-btn dm', t('lobby.admit')); // Hello there"), []);
    assert.deepEqual(capitalLiterals("    console.warn('huddle: Server said', code);"), []);
    assert.deepEqual(visibleLiterals("b.textContent = 'Leave';"), ["'Leave'"]);
    assert.deepEqual(visibleLiterals("toast(`${p.name} joined`);"), ['`${p.name} joined`']);
    assert.deepEqual(visibleLiterals("toast(ok ? 'Saved' : t('x'));"), ["'Saved'"]);
    assert.deepEqual(visibleLiterals("b.setAttribute('aria-label', `Volume of ${p.name}`);"), ['`Volume of ${p.name}`']);
    assert.deepEqual(visibleLiterals("this.ask({ title: 'Remove?', ok: t('a') });"), ["'Remove?'"]);
    assert.deepEqual(visibleLiterals("el('span', 'host-badge', 'Host')"), ["'Host'"]);
    assert.deepEqual(visibleLiterals("$('unread').textContent = unreadText(n); x.textContent = '';"), []);
    assert.deepEqual(visibleLiterals("toast(t('toast.joined', { name: p.name }));"), []);
    assert.deepEqual(visibleLiterals("b.title = t(on ? 'prejoin.micOff' : 'prejoin.micOn');"), []);
    assert.deepEqual(visibleLiterals("a.textContent = initials(n || '?');\n a.style.setProperty('--h', 1);"), []);
});

test('no module of public/ puts an English literal on screen', () => {
    const dir = path.join(ROOT, 'public');
    const found = [];
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.js') && n !== 'i18n.js')) {
        const src = fs.readFileSync(path.join(dir, f), 'utf8');
        for (const s of [...visibleLiterals(src), ...capitalLiterals(src)]) found.push(`${f}: ${s}`);
    }
    assert.deepEqual(found, []);
});

test('every data-i18n key of room.html is in the English catalogue', () => {
    const html = fs.readFileSync(path.join(ROOT, 'views/room.html'), 'utf8');
    const keys = [...html.matchAll(/data-i18n="([^"]+)"/g)].map((m) => m[1]);
    for (const m of html.matchAll(/data-i18n-attr="([^"]+)"/g)) {
        for (const pair of m[1].split(';')) keys.push(pair.split(':')[1]);
    }
    assert.ok(keys.length > 50);
    assert.deepEqual(keys.filter((k) => !hasText(k)), []);
});

test('every key t() is called with in public/ exists in English', () => {
    const dir = path.join(ROOT, 'public');
    const missing = [];
    for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.js'))) {
        const src = fs.readFileSync(path.join(dir, f), 'utf8');
        for (const m of src.matchAll(/\b(?:t|tr)\(\s*'([a-z][\w.-]*)'/g)) if (!hasText(m[1])) missing.push(`${f}: ${m[1]}`);
    }
    assert.deepEqual(missing, []);
});
