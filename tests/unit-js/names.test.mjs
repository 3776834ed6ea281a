// cleanName, initials and hue from public/names.js, the module the page uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cleanName, initials, hue, visible } from '../../public/names.js';

const bytes = (s) => new TextEncoder().encode(s).length;

test('visible: a chat line of white space and invisible characters shows nothing; a letter, an emoji or a mark does', () => {
    for (const s of ['', ' \n\t', '\u200b', '\u2060\ufeff \u00ad', '\u{e0041}']) assert.equal(visible(s), false, JSON.stringify(s));
    for (const s of ['a', ' ok ', '\u200bx', '😀', '.', 'مرحبا']) assert.equal(visible(s), true, JSON.stringify(s));
});

test('cleanName keeps a plain name and folds its white space', () => {
    assert.equal(cleanName('Ann'), 'Ann');
    assert.equal(cleanName('  Ann \t  Lee  '), 'Ann Lee');
});

test('cleanName turns control characters into spaces', () => {
    assert.equal(cleanName('Ann\u0000Lee'), 'Ann Lee');
    assert.equal(cleanName('A\nB\rC\u001bD\u007fE\u0085F\u009fG'), 'A B C D E F G');
});

test('cleanName drops every bidi embedding, override and isolate', () => {
    assert.equal(cleanName('A\u202eevil\u202c'), 'Aevil');
    for (const cp of [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
        assert.equal(cleanName(`x${String.fromCodePoint(cp)}y`), 'xy', cp.toString(16));
    }
    // Marks that reorder nothing stay (the server accepts them).
    assert.equal(cleanName('a\u200eb'), 'a\u200eb');
});

test('cleanName gives an empty name for nothing, or nothing visible', () => {
    for (const raw of ['', '   ', null, undefined, '\u0000\u0001', '\u202e', '\u200b\u200b', '\u00a0\u3000', '\ufeff', '\u2800', '\u{e0041}']) {
        assert.equal(cleanName(raw), '', JSON.stringify(raw));
    }
    assert.equal(cleanName('A\u200b'), 'A\u200b');
});

test('cleanName cuts to 64 UTF-8 bytes on a character boundary', () => {
    assert.equal(cleanName('a'.repeat(64)), 'a'.repeat(64));
    assert.equal(cleanName('a'.repeat(65)), 'a'.repeat(64));
    assert.equal(cleanName(`${'a'.repeat(63)}é`), 'a'.repeat(63));
    assert.equal(cleanName('é'.repeat(40)), 'é'.repeat(32));
    const emoji = cleanName('😀'.repeat(20));
    assert.equal(emoji, '😀'.repeat(16));
    assert.ok(emoji.isWellFormed());
    for (const raw of ['ü'.repeat(33), `${'x'.repeat(62)}😀`, '字'.repeat(30)]) {
        const s = cleanName(raw);
        assert.ok(bytes(s) <= 64 && bytes(s) > 60, raw);
        assert.ok(s.isWellFormed(), raw);
    }
});

test('cleanName leaves no trailing space where the cut fell after one', () => {
    assert.equal(cleanName(`${'a'.repeat(63)} b`), 'a'.repeat(63));
});

test('initials take the first and last words, or two letters of one', () => {
    assert.equal(initials('Ann Lee'), 'AL');
    assert.equal(initials('ann bee cee'), 'AC');
    assert.equal(initials('ann'), 'AN');
    assert.equal(initials('  x  '), 'X');
    assert.equal(initials('élodie'), 'ÉL');
});

test('initials of nothing is a question mark', () => {
    for (const n of ['', '   ', null, undefined]) assert.equal(initials(n), '?', JSON.stringify(n));
});

test('initials never split a surrogate pair', () => {
    assert.equal(initials('😀 Bob'), '😀B');
    assert.equal(initials('😀😁😂'), '😀😁');
    assert.equal(initials('Ann 𝒳avier'), 'A𝒳');
    assert.ok(initials('𝒳').isWellFormed());
});

test('hue is a stable whole number of degrees, different for different names', () => {
    for (const n of ['', 'Ann', 'Bob', '😀', 'a'.repeat(64)]) {
        const h = hue(n);
        assert.ok(Number.isInteger(h) && h >= 0 && h < 360, `${n}: ${h}`);
        assert.equal(hue(n), h);
    }
    assert.notEqual(hue('Ann'), hue('Bob'));
    assert.equal(hue(''), 0);
});

test('initials skip punctuation: letters, numbers and emoji only', () => {
    assert.equal(initials('Anna (she/her)'), 'AS');
    assert.equal(initials('(Bob)'), 'BO');
    assert.equal(initials('Dr. J.-P. Smith'), 'DS');
    assert.equal(initials('"Ann" - Lee'), 'AL');
    assert.equal(initials('Ann ()'), 'AN');
    assert.equal(initials('3rd floor'), '3F');
    assert.equal(initials('🎉 party!'), '🎉P');
    assert.equal(initials('👍🏽 ok'), '👍🏽O', 'an emoji keeps its skin tone');
    assert.equal(initials('👩‍👧 Mum'), '👩‍👧M', 'an emoji joined with ZWJ stays whole');
    assert.equal(initials('🏳️‍🌈 Pride'), '🏳️‍🌈P');
    assert.equal(initials('e\u0301lodie'), 'E\u0301L', 'a letter keeps its combining accent');
    assert.equal(initials('A.B'), 'AB');
    for (const n of ['--- ...', '()', '!?']) assert.equal(initials(n), '?', n);
});

test('initials are always well formed, never a lone surrogate', () => {
    for (const n of ['😀', '(😀)', '𝒳', '.𝒳', 'a 😀', '\ud83d', 'x \ud83d y', '\ude00']) {
        const s = initials(n);
        assert.ok(s.isWellFormed(), `${JSON.stringify(n)} -> ${JSON.stringify(s)}`);
        assert.ok([...s].length <= 2 && s.length > 0);
    }
});
