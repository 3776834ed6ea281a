// The chat's pure helpers from public/chat.js: code points, the counter,
// links, and which lines a reconnect's history does not confirm.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SeenMessages, codePoints, counterText, linkParts, unconfirmed } from '../../public/chat.js';

test('codePoints counts code points, as the sidecar does', () => {
    assert.equal(codePoints(''), 0);
    assert.equal(codePoints('abc'), 3);
    assert.equal(codePoints('é'), 1);
    assert.equal(codePoints('😀😀'), 2);
    assert.equal('😀😀'.length, 4);
    assert.equal(codePoints('👍🏽'), 2);
});

test('counterText shows nothing far from the limit, then n / max', () => {
    assert.equal(counterText(0, 2000), null);
    assert.equal(counterText(1799, 2000), null);
    assert.equal(counterText(1800, 2000), '1800 / 2000');
    assert.equal(counterText(2001, 2000), '2001 / 2000');
    assert.equal(counterText(8, 10), null);
    assert.equal(counterText(9, 10), '9 / 10');
    assert.equal(counterText(1, 1), '1 / 1');
});

test('linkParts leaves text without an address alone', () => {
    assert.deepEqual(linkParts('hello there'), [{ text: 'hello there' }]);
    assert.deepEqual(linkParts(''), [{ text: '' }]);
});

test('linkParts makes http and https addresses links, punctuation after them not', () => {
    assert.deepEqual(linkParts('see https://example.com/a?b=1#c, ok'), [
        { text: 'see ' },
        { text: 'https://example.com/a?b=1#c', href: 'https://example.com/a?b=1#c' },
        { text: ', ok' },
    ]);
    assert.deepEqual(linkParts('(http://x.test/)'), [
        { text: '(' }, { text: 'http://x.test/', href: 'http://x.test/' }, { text: ')' },
    ]);
    const two = linkParts('HTTPS://A.test and http://b.test.');
    assert.deepEqual(two.filter((p) => p.href).map((p) => p.href), ['https://a.test/', 'http://b.test/']);
    assert.equal(two.map((p) => p.text).join(''), 'HTTPS://A.test and http://b.test.');
});

test('linkParts keeps a closing bracket the address opened, and drops one the sentence opened', () => {
    const wiki = 'https://en.wikipedia.org/wiki/Mercury_(planet)';
    assert.deepEqual(linkParts(`read ${wiki}.`), [{ text: 'read ' }, { text: wiki, href: wiki }, { text: '.' }]);
    assert.deepEqual(linkParts(`(see ${wiki})`), [{ text: '(see ' }, { text: wiki, href: wiki }, { text: ')' }]);
    assert.deepEqual(linkParts('[http://x.test/a[1]]!').filter((p) => p.href).map((p) => p.text), ['http://x.test/a[1]']);
    assert.deepEqual(linkParts('http://x.test/?q={a}}').filter((p) => p.href).map((p) => p.text), ['http://x.test/?q={a}']);
    const only = linkParts('http://x.test/))).');
    assert.deepEqual(only.map((p) => p.text), ['http://x.test/', '))).']);
});

test('linkParts keeps every other scheme as text', () => {
    for (const s of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'JaVaScRiPt:alert(1)', 'vbscript:x', 'file:///etc/passwd', 'ftp://x.test', 'http:/x', 'https://']) {
        const parts = linkParts(s);
        assert.ok(parts.every((p) => !p.href), s);
        assert.equal(parts.map((p) => p.text).join(''), s);
    }
    // An address hidden after another scheme is still only http(s).
    const p = linkParts('javascript:https://x.test');
    assert.ok(p.every((q) => !q.href || q.href.startsWith('https:')));
});

test('linkParts gives back the text unchanged when joined', () => {
    for (const s of ['a https://x.test b https://y.test/c. d', 'https://x.test', '<https://x.test>', 'x"https://y.test"']) {
        assert.equal(linkParts(s).map((p) => p.text).join(''), s);
    }
});

test('unconfirmed: a room line the history holds from one of our ids went; the others did not', () => {
    const own = new Set(['old', 'new']);
    const a = { text: 'first', to: null };
    const b = { text: 'second', to: null };
    const history = [
        { from: 'old', text: 'first', ts: 1 },
        { from: 'bob', text: 'second', ts: 2 }, // someone else's line with our text
    ];
    assert.deepEqual(unconfirmed([a, b], history, own), [b]);
    assert.deepEqual(unconfirmed([a, b], [], own), [a, b]);
    assert.deepEqual(unconfirmed([], history, own), []);
});

test('unconfirmed: each message in the history answers one line sent', () => {
    const own = new Set(['me']);
    const ok1 = { text: 'ok', to: null };
    const ok2 = { text: 'ok', to: null };
    assert.deepEqual(unconfirmed([ok1, ok2], [{ from: 'me', text: 'ok', ts: 5 }], own), [ok2]);
    assert.deepEqual(unconfirmed([ok1, ok2], [{ from: 'me', text: 'ok', ts: 5 }, { from: 'me', text: 'ok', ts: 6 }], own), []);
});

test('unconfirmed: a private line is never kept, so it is never confirmed', () => {
    const own = new Set(['me']);
    const pv = { text: 'psst', to: { id: 'bob', name: 'Bob' } };
    assert.deepEqual(unconfirmed([pv], [{ from: 'me', text: 'psst', ts: 1 }, { from: 'me', to: 'bob', text: 'psst', ts: 1 }], own), [pv]);
});

test('SeenMessages: a message seen is a duplicate, the same text at another ts or from another is not', () => {
    const seen = new SeenMessages(10);
    const m = { ts: 1, from: 'ann', text: 'hello' };
    assert.equal(seen.add(m), true);
    assert.equal(seen.add({ ...m }), false);
    assert.equal(seen.has(m), true);
    assert.equal(seen.add({ ...m, ts: 2 }), true);
    assert.equal(seen.add({ ...m, from: 'ben' }), true);
    assert.equal(seen.add({ ...m, to: 'ben' }), true);
    assert.equal(seen.add({ ...m, text: 'hellp' }), true);
    assert.equal(seen.add({ ...m, text: 'hello!' }), true);
});

test('SeenMessages: a long meeting keeps only the newest keys, as many as a history covers', () => {
    const seen = new SeenMessages(500);
    const line = (i) => ({ ts: i, from: 'ann', text: `${'x'.repeat(2000)}${i}` });
    for (let i = 0; i < 5000; i++) seen.add(line(i));
    assert.equal(seen.size, 500);
    assert.equal(seen.has(line(4500)), true, 'the newest 500 are kept');
    assert.equal(seen.has(line(4499)), false);
    // A welcome with a history of 800 raises the bound to cover it.
    seen.cover(1300);
    for (let i = 5000; i < 7000; i++) seen.add(line(i));
    assert.equal(seen.size, 1300);
    assert.equal(seen.has(line(5700)), true);
    seen.cover(10); // never lower
    seen.add(line(7000));
    assert.equal(seen.size, 1300);
});
