// The pure parts of the meeting chrome (public/controls.js) and of the
// active-speaker ring (public/media.js), and the socket URL (public/signal.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { shortcutFor, isTyping, takesKeys, spaceTalks, keysOn, rememberKeys, clockText, unreadText, stayText } from '../../public/controls.js';
import { holdSpeaker } from '../../public/media.js';
import { socketUrl } from '../../public/signal.js';

const key = (k, mods = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods });

/** An element inside the given ancestors (closest() as the DOM's: a selector of the list matches). */
const at = (tagName, inside = []) => ({ tagName, closest: (sel) => (inside.some((a) => sel.split(', ').includes(a)) ? {} : null) });

test('Ctrl or Cmd with D and E toggle mic and camera, even while typing', () => {
    assert.equal(shortcutFor(key('d', { ctrlKey: true }), true), 'mic');
    assert.equal(shortcutFor(key('e', { ctrlKey: true }), true), 'cam');
    assert.equal(shortcutFor(key('D', { metaKey: true }), false), 'mic');
    assert.equal(shortcutFor(key('E', { metaKey: true }), false), 'cam');
});

test('Ctrl+D with Shift or Alt is left to the browser', () => {
    assert.equal(shortcutFor(key('d', { ctrlKey: true, shiftKey: true }), false), null);
    assert.equal(shortcutFor(key('e', { ctrlKey: true, altKey: true }), false), null);
});

test('M, V, H and C act only without modifiers and outside a field', () => {
    assert.equal(shortcutFor(key('m'), false), 'mic');
    assert.equal(shortcutFor(key('V'), false), 'cam');
    assert.equal(shortcutFor(key('h'), false), 'hand');
    assert.equal(shortcutFor(key('c'), false), 'chat');
    assert.equal(shortcutFor(key('m'), true), null);
    assert.equal(shortcutFor(key('m', { altKey: true }), false), null);
    assert.equal(shortcutFor(key('c', { ctrlKey: true }), false), null);
    assert.equal(shortcutFor(key('x'), false), null);
    assert.equal(shortcutFor(key('Enter'), false), null);
    assert.equal(shortcutFor(key(undefined), false), null);
});

test('on a keyboard without Latin letters the key\'s place counts; a Latin layout\'s printed letter wins', () => {
    // Arabic: M is "ة", D is "ي", C is "ؤ".
    assert.equal(shortcutFor(key('\u0629', { code: 'KeyM' }), false), 'mic');
    assert.equal(shortcutFor(key('\u064a', { code: 'KeyD', ctrlKey: true }), true), 'mic');
    assert.equal(shortcutFor(key('\u0624', { code: 'KeyC' }), false), 'chat');
    assert.equal(shortcutFor(key('\u0629', { code: 'KeyM' }), true), null, 'still not while typing');
    // French AZERTY: the M key sits where a US keyboard has ";", and ","
    // where it has M; Dvorak's "." is where US has V. Punctuation is no
    // shortcut, wherever it is.
    assert.equal(shortcutFor(key('m', { code: 'Semicolon' }), false), 'mic');
    assert.equal(shortcutFor(key(',', { code: 'KeyM' }), false), null);
    assert.equal(shortcutFor(key('.', { code: 'KeyV' }), false), null);
    assert.equal(shortcutFor(key('.', { code: 'KeyE', ctrlKey: true }), false), null);
    assert.equal(shortcutFor(key('a', { code: 'KeyQ' }), false), null, 'the printed letter, not the place');
    assert.equal(shortcutFor(key('\u00e9', { code: 'KeyM' }), false), null, 'a Latin letter is itself');
    // Cyrillic: V is "м".
    assert.equal(shortcutFor(key('\u043c', { code: 'KeyV' }), false), 'cam');
    assert.equal(shortcutFor(key('1', { code: 'Digit1' }), false), null);
});

test('isTyping knows text fields and editable elements', () => {
    for (const tagName of ['INPUT', 'TEXTAREA', 'SELECT']) assert.equal(isTyping({ tagName }), true, tagName);
    assert.equal(isTyping({ tagName: 'DIV', isContentEditable: true }), true);
    assert.equal(isTyping({ tagName: 'BUTTON', isContentEditable: false }), false);
    assert.equal(isTyping({ tagName: 'INPUTX' }), false);
    assert.equal(isTyping(null), false);
    assert.equal(isTyping(undefined), false);
});

test('takesKeys leaves single keys to fields, dialogs and the reactions\' row, not to a button of the page', () => {
    for (const tagName of ['INPUT', 'TEXTAREA', 'SELECT']) assert.equal(takesKeys(at(tagName)), true, tagName);
    assert.equal(takesKeys({ tagName: 'DIV', isContentEditable: true }), true);
    assert.equal(takesKeys(at('BODY')), false);
    assert.equal(takesKeys(null), false);
    // M on the Microphone button (the focus right after joining) mutes.
    assert.equal(takesKeys(at('BUTTON')), false);
    assert.equal(shortcutFor(key('m'), takesKeys(at('BUTTON'))), 'mic');
    // Not behind a question, nor in the reactions' row; Ctrl+D still mutes.
    assert.equal(takesKeys(at('BUTTON', ['dialog[open]'])), true);
    assert.equal(takesKeys(at('BUTTON', ['#react-menu'])), true);
    assert.equal(shortcutFor(key('m'), takesKeys(at('BUTTON', ['dialog[open]']))), null);
    assert.equal(shortcutFor(key('d', { ctrlKey: true }), takesKeys(at('BUTTON', ['dialog[open]']))), 'mic');
});

test('a held Space talks only where the focus is on no control: a focused button, field or region answers Space itself', () => {
    assert.equal(spaceTalks(at('BODY')), true);
    assert.equal(spaceTalks(null), true);
    assert.equal(spaceTalks(at('BUTTON', ['button'])), false);
    assert.equal(spaceTalks(at('SPAN', ['button'])), false, 'inside a button');
    assert.equal(spaceTalks(at('INPUT', ['input'])), false);
    assert.equal(spaceTalks(at('DIV', ['[tabindex]'])), false, 'a scrolling region');
    assert.equal(spaceTalks(at('DIV', ['[role]'])), false, 'a tab or slider of its own making');
    assert.equal(spaceTalks(at('DIV', ['dialog[open]'])), false);
    assert.equal(spaceTalks({ tagName: 'DIV', isContentEditable: true }), false);
});

test('single-key shortcuts are on until turned off, and the choice is kept', () => {
    const mem = new Map();
    const store = { getItem: (k) => (mem.has(k) ? mem.get(k) : null), setItem: (k, v) => mem.set(k, String(v)) };
    assert.equal(keysOn(store), true);
    rememberKeys(store, false);
    assert.equal(keysOn(store), false);
    rememberKeys(store, true);
    assert.equal(keysOn(store), true);
    assert.equal(keysOn(null), true);
    const broken = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); } };
    assert.equal(keysOn(broken), true);
    assert.doesNotThrow(() => rememberKeys(broken, false));
});

test('the clock shows minutes and seconds, and hours from the first hour', () => {
    assert.equal(clockText(0), '00:00');
    assert.equal(clockText(999), '00:00');
    assert.equal(clockText(59999), '00:59');
    assert.equal(clockText(61000), '01:01');
    assert.equal(clockText(3599999), '59:59');
    assert.equal(clockText(3600000), '1:00:00');
    assert.equal(clockText(36061000), '10:01:01');
    assert.equal(clockText(-5000), '00:00');
});

test('the unread badge stops counting at 9', () => {
    assert.equal(unreadText(0), '0');
    assert.equal(unreadText(1), '1');
    assert.equal(unreadText(9), '9');
    assert.equal(unreadText(10), '9+');
    assert.equal(unreadText(500), '9+');
});

test('the left screen says how long one stayed, rounded to minutes', () => {
    assert.equal(stayText('team', 0), 'Thanks for joining. You were in team for less than a minute.');
    assert.equal(stayText('team', 29999), 'Thanks for joining. You were in team for less than a minute.');
    assert.equal(stayText('team', 30000), 'Thanks for joining. You were in team for 1 min.');
    assert.equal(stayText('x-1', 90 * 60000), 'Thanks for joining. You were in x-1 for 90 min.');
});

test('a speaker takes the ring at once and keeps it through a short silence', () => {
    const none = { id: null, until: 0 };
    const a = holdSpeaker(none, 'a', 1000);
    assert.deepEqual(a, { id: 'a', until: 1900 });
    assert.deepEqual(holdSpeaker(a, null, 1500), a);
    assert.deepEqual(holdSpeaker(a, null, 1900), a, 'held up to and including until');
    assert.deepEqual(holdSpeaker(a, null, 1901), none);
    assert.deepEqual(holdSpeaker(a, 'b', 1200), { id: 'b', until: 2100 }, 'a louder one takes over at once');
    assert.deepEqual(holdSpeaker(none, null, 5), none);
    assert.deepEqual(holdSpeaker(none, 'a', 0, 100), { id: 'a', until: 100 });
});

test('the socket URL follows the page: wss on https, ws on http, same host', () => {
    assert.equal(socketUrl({ protocol: 'https:', host: 'meet.example.org' }), 'wss://meet.example.org/ws');
    assert.equal(socketUrl({ protocol: 'http:', host: '127.0.0.1:8080' }), 'ws://127.0.0.1:8080/ws');
    assert.equal(socketUrl({ protocol: 'http:', host: '[::1]:80' }), 'ws://[::1]:80/ws');
});
