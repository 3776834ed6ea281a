// The in-call pieces that need no browser: the device pickers' options and
// what an empty one says, the remembered mirror switch, the raised hands
// in the order they went up, and when TURN credentials are renewed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptyWord, pickerOptions } from '../../public/devices.js';
import { mirrorOn, savedQuality } from '../../public/settings.js';
import { QUALITIES } from '../../public/media.js';
import { iceRenewDelay } from '../../public/mesh.js';
import { Roster } from '../../public/roster.js';

const LIST = [
    { kind: 'audioinput', deviceId: 'default', label: 'Default' },
    { kind: 'audioinput', deviceId: 'm2', label: '' },
    { kind: 'videoinput', deviceId: '', label: '' },
    { kind: 'videoinput', deviceId: 'c1', label: 'Front' },
    { kind: 'audiooutput', deviceId: 's1', label: 'Headset' },
];

test('picker options: one kind, devices without an id left out, unnamed ones numbered', () => {
    assert.deepEqual(pickerOptions(LIST, 'audio'), [{ value: 'default', text: 'Default' }, { value: 'm2', text: 'Microphone 2' }]);
    assert.deepEqual(pickerOptions(LIST, 'video'), [{ value: 'c1', text: 'Front' }]);
    assert.deepEqual(pickerOptions(LIST, 'speaker'), [{ value: 's1', text: 'Headset' }]);
    assert.deepEqual(pickerOptions([], 'speaker'), []);
});

test('an empty picker says there is none, or, with the devices blocked, that they are (the speaker: the default one plays)', () => {
    assert.deepEqual(['audio', 'video', 'speaker'].map((k) => emptyWord(k, false)), ['device.noMic', 'device.noCam', 'device.noSpeaker']);
    assert.deepEqual(['audio', 'video', 'speaker'].map((k) => emptyWord(k, true)), ['device.blocked', 'device.blocked', 'device.defaultSpeaker']);
});

test('the mirror is on unless turned off, and survives a storage that throws', () => {
    const store = (v) => ({ getItem: () => v });
    assert.equal(mirrorOn(null), true);
    assert.equal(mirrorOn(store(null)), true);
    assert.equal(mirrorOn(store('on')), true);
    assert.equal(mirrorOn(store('off')), false);
    assert.equal(mirrorOn({ getItem() { throw new Error('denied'); } }), true);
});

test('the saved video quality is one the camera knows, else Best', () => {
    const store = (v) => ({ getItem: () => v });
    assert.equal(savedQuality(null), 'auto');
    assert.equal(savedQuality(store(null)), 'auto');
    assert.equal(savedQuality(store('low')), 'low');
    assert.equal(savedQuality(store('standard')), 'standard');
    assert.equal(savedQuality(store('ultra')), 'auto');
    assert.equal(savedQuality(store('constructor')), 'auto', 'not an inherited name');
    assert.equal(savedQuality({ getItem() { throw new Error('denied'); } }), 'auto');
    // Each lower quality captures less and carries less.
    const order = ['auto', 'standard', 'low'].map((q) => QUALITIES[q]);
    assert.equal(order[0].maxBitrate, 0);
    assert.ok(order[1].width > order[2].width && order[1].maxBitrate > order[2].maxBitrate);
    assert.ok(order[0].width > order[1].width);
});

const peer = (id, name, hand = false) => ({ id, name, audio: true, video: true, screen: false, hand, role: 'guest' });
const names = (r) => r.hands().map((p) => p.name);

test('raised hands: first raised first, oneself included, lowered ones gone', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Me' });
    r.add(peer('a', 'Ann'));
    r.add(peer('b', 'Bob'));
    assert.deepEqual(names(r), []);
    r.update({ id: 'b', hand: true });
    r.setSelf({ hand: true });
    r.update({ id: 'a', hand: true });
    assert.deepEqual(names(r), ['Bob', 'Me', 'Ann']);
    // A state that repeats hand: true keeps the place.
    r.update({ id: 'b', hand: true, audio: false });
    r.setSelf({ hand: true });
    assert.deepEqual(names(r), ['Bob', 'Me', 'Ann']);
    // Lowered and raised again: to the end.
    r.update({ id: 'b', hand: false });
    assert.deepEqual(names(r), ['Me', 'Ann']);
    r.update({ id: 'b', hand: true });
    assert.deepEqual(names(r), ['Me', 'Ann', 'Bob']);
    r.setSelf({ hand: false });
    assert.deepEqual(names(r), ['Ann', 'Bob']);
    // Gone people take their hands with them; copies are not the roster's own.
    r.remove('a');
    assert.deepEqual(names(r), ['Bob']);
    r.hands()[0].name = 'changed';
    assert.equal(r.nameOf('b'), 'Bob');
    r.clear();
    assert.deepEqual(names(r), []);
});

test('raised hands: hands already up at a welcome are listed in join order', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Me' });
    r.add(peer('a', 'Ann', true));
    r.add(peer('b', 'Bob'));
    r.add(peer('c', 'Cid', true));
    assert.deepEqual(names(r), ['Ann', 'Cid']);
    // Added again (a roster reconcile) with the hand still up: same place.
    r.add(peer('a', 'Ann', true));
    assert.deepEqual(names(r), ['Ann', 'Cid']);
});

test('TURN credentials are renewed halfway through their lifetime; servers without credentials never', () => {
    const minted = [{ urls: ['stun:h:3478'] }, { urls: ['turn:h:3478'], username: '1700000000:p', credential: 'x' }];
    assert.equal(iceRenewDelay(minted, 600), 300000);
    assert.equal(iceRenewDelay(minted, 10), 5000);
    assert.equal(iceRenewDelay(minted, 31536000), 2 ** 31 - 1, 'a year: as long as a timer can wait');
    assert.equal(iceRenewDelay(minted, 0), 0);
    assert.equal(iceRenewDelay(minted, undefined), 0);
    assert.equal(iceRenewDelay([{ urls: ['stun:h:3478'] }], 600), 0);
    assert.equal(iceRenewDelay([], 600), 0);
    assert.equal(iceRenewDelay(null, 600), 0);
});
