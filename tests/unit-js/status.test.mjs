// What a screen reader hears of a person's state (public/ui.js stateText):
// the marks of a tile and a People row are icons hidden from it, so their
// meaning is said in words beside the name, in the page's language.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stateText } from '../../public/ui.js';
import { useCatalogue } from '../../public/i18n.js';
import de from '../../public/i18n/de.js';

const peer = (fields) => ({ id: 'b', name: 'Ben', audio: true, video: true, screen: false, hand: false, ...fields });

test('each mark that shows is said, in the order the marks show', () => {
    assert.equal(stateText(peer({})), '');
    assert.equal(stateText(peer({ audio: false })), 'microphone off');
    assert.equal(stateText(peer({ audio: false, video: false })), 'microphone off, camera off');
    assert.equal(stateText(peer({ screen: true, hand: true })), 'presenting, hand raised');
    assert.equal(stateText(peer({ audio: false, video: false, screen: true, hand: true })), 'microphone off, camera off, presenting, hand raised');
});

test('a seat waiting for its person (away) says so first', () => {
    assert.equal(stateText(peer({ away: true })), 'reconnecting');
    assert.equal(stateText(peer({ away: true, audio: false, hand: true })), 'reconnecting, microphone off, hand raised');
    assert.equal(stateText(peer({ away: false })), '');
});

test('in the page\'s language, as its lists are written', () => {
    try {
        useCatalogue('de', de);
        assert.equal(stateText(peer({ audio: false, video: false, hand: true })), 'Mikrofon aus, Kamera aus und Hand gehoben');
    } finally {
        useCatalogue('en');
    }
});
