// The roster (public/roster.js): who is in the meeting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Roster } from '../../public/roster.js';
import { tagOf } from '../../public/names.js';

const peer = (id, name, more = {}) => ({ id, name, audio: true, video: true, screen: false, hand: false, ...more });

/** A roster with its 'change' events recorded as "what:id". */
function recorded() {
    const r = new Roster();
    const events = [];
    r.addEventListener('change', (e) => events.push(`${e.detail.what}:${e.detail.id}`));
    return { r, events };
}

test('a new roster holds oneself only, with everything off, as a guest', () => {
    const r = new Roster();
    assert.deepEqual(r.self(), { id: '', name: '', audio: false, video: false, screen: false, hand: false, role: 'guest', label: '' });
    assert.equal(r.isHost(), false);
    assert.equal(r.size, 0);
    assert.deepEqual(r.others(), []);
});

test('a roster has no field to read or write from outside', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Ann' });
    r.add(peer('b', 'Bob'));
    assert.deepEqual(Object.keys(r), []);
    assert.equal(r.others, Roster.prototype.others, 'others is a method, not a field');
});

test('setSelf merges fields and says so', () => {
    const { r, events } = recorded();
    r.setSelf({ name: 'Ann', audio: true });
    r.setSelf({ id: 'me1' });
    assert.deepEqual(r.self(), { id: 'me1', name: 'Ann', audio: true, video: false, screen: false, hand: false, role: 'guest', label: 'Ann' });
    assert.equal(r.selfId(), 'me1');
    assert.deepEqual(events, ['self:', 'self:me1']);
});

test('what the roster hands out is a copy', () => {
    const r = new Roster();
    r.setSelf({ id: 'me' });
    r.add(peer('b', 'Bob'));
    r.self().hand = true;
    r.get('b').name = 'Mallory';
    r.others()[0].audio = false;
    assert.equal(r.self().hand, false);
    assert.equal(r.get('b').name, 'Bob');
    assert.equal(r.get('b').audio, true);
    const given = peer('c', 'Cee');
    r.add(given);
    given.name = 'changed after add';
    assert.equal(r.nameOf('c'), 'Cee');
});

test('add says whether the peer is new, and refuses oneself and a missing id', () => {
    const { r, events } = recorded();
    r.setSelf({ id: 'me' });
    events.length = 0;
    assert.equal(r.add(peer('b', 'Bob')), true);
    assert.equal(r.add(peer('b', 'Bobby')), false);
    assert.equal(r.nameOf('b'), 'Bobby');
    assert.equal(r.add(peer('me', 'Me again')), null);
    assert.equal(r.add(peer('', 'Nobody')), null);
    assert.equal(r.add(null), null);
    assert.equal(r.size, 1);
    assert.deepEqual(events, ['add:b', 'add:b']);
});

test('the others keep their join order, also when one is added again', () => {
    const r = new Roster();
    for (const id of ['c', 'a', 'b']) r.add(peer(id, id.toUpperCase()));
    r.add(peer('c', 'Cee'));
    assert.deepEqual(r.ids(), ['c', 'a', 'b']);
    assert.deepEqual(r.others().map((p) => p.name), ['Cee', 'A', 'B']);
    r.remove('a');
    r.add(peer('a', 'A'));
    assert.deepEqual(r.ids(), ['c', 'b', 'a']);
});

test('update merges into a known peer and tells when a hand went up', () => {
    const { r, events } = recorded();
    r.add(peer('b', 'Bob'));
    const up = r.update({ id: 'b', name: 'Bob', hand: true });
    assert.deepEqual(up, { peer: peer('b', 'Bob', { hand: true, label: 'Bob' }), raised: true, role: null });
    assert.equal(r.update({ id: 'b', name: 'Bob', hand: true }).raised, false, 'already up');
    assert.equal(r.update({ id: 'b', name: 'Bob', audio: false }).raised, false, 'hand not in the update');
    assert.equal(r.get('b').hand, true);
    assert.equal(r.get('b').audio, false);
    assert.equal(r.update({ id: 'b', name: 'Bob', hand: false }).raised, false);
    assert.equal(r.update({ id: 'b', name: 'Bob', hand: true }).raised, true, 'up again');
    assert.deepEqual(events, ['add:b', 'update:b', 'update:b', 'update:b', 'update:b', 'update:b']);
});

test('update tells when a role changed, and to what', () => {
    const r = new Roster();
    r.add(peer('b', 'Bob', { role: 'guest' }));
    assert.equal(r.update({ id: 'b', name: 'Bob', audio: false }).role, null, 'role not in the update');
    assert.equal(r.update({ id: 'b', name: 'Bob', role: 'guest' }).role, null, 'same role');
    assert.equal(r.update({ id: 'b', name: 'Bob', role: 'host' }).role, 'host');
    assert.equal(r.get('b').role, 'host');
    assert.equal(r.update({ id: 'b', name: 'Bob', role: 'guest' }).role, 'guest');
});

test('isHost follows one\'s own role', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', role: 'host' });
    assert.equal(r.isHost(), true);
    r.setSelf({ role: 'guest' });
    assert.equal(r.isHost(), false);
});

test('update of a peer not in the meeting changes nothing', () => {
    const { r, events } = recorded();
    assert.equal(r.update(peer('x', 'X', { hand: true })), null);
    assert.equal(r.update(null), null);
    assert.equal(r.has('x'), false);
    assert.deepEqual(events, []);
});

test('a hand raised by a peer whose hand was never known does not count as raised', () => {
    const r = new Roster();
    r.add({ id: 'b', name: 'Bob' });
    assert.equal(r.update({ id: 'b', name: 'Bob', hand: true }).raised, false);
});

test('remove hands back the last copy once', () => {
    const { r, events } = recorded();
    r.add(peer('b', 'Bob', { screen: true }));
    assert.deepEqual(r.remove('b'), peer('b', 'Bob', { screen: true, label: 'Bob' }));
    assert.equal(r.remove('b'), null);
    assert.equal(r.has('b'), false);
    assert.equal(r.get('b'), null);
    assert.equal(r.nameOf('b'), null);
    assert.deepEqual(events, ['add:b', 'remove:b']);
});

test('clear forgets the others but not oneself', () => {
    const { r, events } = recorded();
    r.setSelf({ id: 'me', name: 'Ann', hand: true });
    r.add(peer('b', 'Bob'));
    r.add(peer('c', 'Cee'));
    r.clear();
    assert.equal(r.size, 0);
    assert.equal(r.self().hand, true);
    assert.equal(events.at(-1), 'clear:');
});

test('after clear, those who were there come back by name: known as back, their hands in the old order and no news', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Ann' });
    r.add(peer('c', 'Cleo'));
    r.add(peer('b', 'Bob'));
    r.update({ id: 'c', hand: true }); // Cleo first,
    r.setSelf({ hand: true }); // then oneself,
    r.update({ id: 'b', hand: true }); // then Bob
    r.clear(); // the server restarted: everyone comes back under a new id
    // Bob's page is back first, his hand sent after his join; Cleo's with
    // her join; a stranger comes too.
    assert.equal(r.add(peer('b2', 'Bob')), true);
    assert.equal(r.cameBack('b2'), true);
    assert.equal(r.update({ id: 'b2', hand: true }).raised, false, 'no "raised a hand" for a hand that was up');
    r.add(peer('c2', 'Cleo', { hand: true }));
    r.add(peer('d', 'Dee'));
    assert.equal(r.cameBack('c2'), true);
    assert.equal(r.cameBack('d'), false);
    assert.deepEqual(r.hands().map((p) => p.name), ['Cleo', 'Ann', 'Bob']);
    // The stranger's hand is news and goes last; a name matches once.
    assert.equal(r.update({ id: 'd', hand: true }).raised, true);
    r.add(peer('b3', 'Bob'));
    assert.equal(r.cameBack('b3'), false);
    assert.deepEqual(r.hands().map((p) => p.name), ['Cleo', 'Ann', 'Bob', 'Dee']);
    // A hand lowered and raised again after the restart is news again.
    r.update({ id: 'c2', hand: false });
    assert.equal(r.update({ id: 'c2', hand: true }).raised, true);
    assert.deepEqual(r.hands().map((p) => p.name), ['Ann', 'Bob', 'Dee', 'Cleo']);
});

test('raised hands go by the server\'s time (handAt), so every page has one order: a late joiner and oneself too', () => {
    const r = new Roster();
    r.setSelf({ id: 'a', name: 'Ann' });
    // Joined after Ben and Cleo raised theirs, Cleo first: join order is
    // Ben, Cleo, but the hands are Cleo's, then Ben's.
    r.add(peer('b', 'Ben', { hand: true, handAt: 2_000 }));
    r.add(peer('c', 'Cleo', { hand: true, handAt: 1_000 }));
    assert.deepEqual(r.hands().map((p) => p.name), ['Cleo', 'Ben']);
    // One's own goes last at once, then where the server's time puts it.
    r.setSelf({ hand: true });
    assert.deepEqual(r.hands().map((p) => p.name), ['Cleo', 'Ben', 'Ann']);
    r.selfHandAt(1_500);
    assert.deepEqual(r.hands().map((p) => p.name), ['Cleo', 'Ann', 'Ben']);
    // The same time again changes nothing; a newer one is a raise since
    // (the answer to an earlier raise came late, overtaken).
    r.selfHandAt(1_500);
    assert.deepEqual(r.hands().map((p) => p.name), ['Cleo', 'Ann', 'Ben']);
    r.selfHandAt(2_500);
    assert.deepEqual(r.hands().map((p) => p.name), ['Cleo', 'Ben', 'Ann']);
    // Cleo lowers and raises again: last, by her new time.
    r.update({ id: 'c', name: 'Cleo', hand: false });
    r.update({ id: 'c', name: 'Cleo', hand: true, handAt: 3_000 });
    assert.deepEqual(r.hands().map((p) => p.name), ['Ben', 'Ann', 'Cleo']);
    // Another change of Ben's (his whole peer object, the same time): no move.
    r.update({ ...peer('b', 'Ben', { hand: true, handAt: 2_000 }), audio: false });
    assert.deepEqual(r.hands().map((p) => p.name), ['Ben', 'Ann', 'Cleo']);
    // A time for one's own hand that is down changes nothing.
    r.setSelf({ hand: false });
    r.selfHandAt(500);
    assert.deepEqual(r.hands().map((p) => p.name), ['Ben', 'Cleo']);
});

test('after the server restarted, hands kept from before keep their places under the new times, also at a later change', () => {
    const r = new Roster();
    r.setSelf({ id: 'a', name: 'Ann' });
    r.add(peer('b', 'Bob', { hand: true, handAt: 1_000 }));
    r.setSelf({ hand: true });
    r.selfHandAt(1_500);
    r.add(peer('c', 'Cid', { hand: true, handAt: 2_000 }));
    r.clear();
    // Back under new ids, their hands sent again in another order.
    r.add(peer('c2', 'Cid', { hand: true, handAt: 5_000 }));
    r.selfHandAt(6_000);
    r.add(peer('b2', 'Bob', { hand: true, handAt: 7_000 }));
    assert.deepEqual(r.hands().map((p) => p.name), ['Bob', 'Ann', 'Cid']);
    r.update({ ...peer('b2', 'Bob', { hand: true, handAt: 7_000 }), audio: false });
    r.update({ ...peer('c2', 'Cid', { hand: true, handAt: 5_000 }), name: 'Cid B' });
    assert.deepEqual(r.hands().map((p) => p.name), ['Bob', 'Ann', 'Cid B']);
    // Lowered and raised again: a new raise, last.
    r.update({ ...peer('b2', 'Bob'), hand: false });
    r.update({ ...peer('b2', 'Bob'), hand: true, handAt: 9_000 });
    assert.deepEqual(r.hands().map((p) => p.name), ['Ann', 'Cid B', 'Bob']);
});

test('after clear, two who look alike come back as two; the old order lasts 30 s only', (t) => {
    t.mock.timers.enable({ apis: ['Date'], now: 1_000_000 });
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Ann' });
    r.add(peer('a1', 'Alex', { hand: true }));
    r.add(peer('a2', 'alex'));
    r.add(peer('z', 'Zoe'));
    r.update({ id: 'z', hand: true });
    r.clear();
    r.add(peer('n1', 'ALEX'));
    r.add(peer('n2', 'Alex'));
    assert.equal(r.cameBack('n1'), true);
    assert.equal(r.cameBack('n2'), true);
    // Zoe is back, her hand down (it comes after her join): 31 s later it
    // goes up, news, and last.
    r.add(peer('z2', 'Zoe'));
    r.update({ id: 'n1', hand: true });
    t.mock.timers.setTime(1_000_000 + 31_000);
    assert.equal(r.update({ id: 'z2', hand: true }).raised, true);
    assert.deepEqual(r.hands().map((p) => p.id), ['n1', 'z2']);
    r.add(peer('z3', 'Zoe'));
    assert.equal(r.cameBack('z3'), false);
});

test('plan says what to remove, add and update without doing it', () => {
    const r = new Roster();
    r.setSelf({ id: 'me' });
    r.add(peer('a', 'A'));
    r.add(peer('b', 'B'));
    const list = [peer('b', 'B2'), peer('d', 'D'), peer('me', 'Me'), peer('', 'None'), peer('c', 'C'), peer('d', 'D2')];
    const { gone, fresh, known } = r.plan(list);
    assert.deepEqual(gone, ['a']);
    assert.deepEqual(fresh.map((p) => p.id), ['d', 'c']);
    assert.deepEqual(known.map((p) => p.name), ['B2', 'D2'], 'a repeated id updates what the first one added');
    assert.deepEqual(r.ids(), ['a', 'b'], 'plan changed the roster');
});

test('plan of an empty list removes everyone', () => {
    const r = new Roster();
    r.add(peer('a', 'A'));
    assert.deepEqual(r.plan([]), { gone: ['a'], fresh: [], known: [] });
});

test('people of the same name are labelled with their tags, on every copy, until only one is left', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Ann' });
    r.add(peer('b', 'Bob'));
    assert.equal(r.self().label, 'Ann', 'a name nobody else has is its own label');
    r.add(peer('a2', 'ann'));
    const mine = `Ann #${tagOf('me')}`;
    const theirs = `ann #${tagOf('a2')}`;
    assert.equal(r.self().label, mine);
    assert.equal(r.get('a2').label, theirs);
    assert.equal(r.nameOf('a2'), theirs);
    assert.equal(r.get('b').label, 'Bob');
    assert.deepEqual(r.others().map((p) => p.label), ['Bob', theirs]);
    r.update({ id: 'b', name: 'Ａｎｎ', hand: true }); // full-width letters look the same
    assert.deepEqual(r.hands().map((p) => p.label), [`Ａｎｎ #${tagOf('b')}`]);
    assert.equal(r.update({ id: 'b', name: 'Bob' }).peer.label, 'Bob');
    assert.equal(r.remove('a2').label, theirs, 'the last copy is labelled as it was shown');
    assert.equal(r.self().label, 'Ann', 'alone with the name again: no tag');
});

test('listed: oneself first, then the others by label, as the people list and the X-ray show them', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Zoe' });
    r.add(peer('c', 'Cleo'));
    r.add(peer('a', 'anna'));
    r.add(peer('b', 'Ben'));
    assert.deepEqual(r.listed().map((p) => p.label), ['Zoe', 'anna', 'Ben', 'Cleo']);
    r.add(peer('z', 'zoe'));
    assert.deepEqual(r.listed().map((p) => p.id), ['me', 'a', 'b', 'c', 'z'], 'labels decide, tags included');
    assert.equal(r.listed()[0].label, `Zoe #${tagOf('me')}`);
});

test('a tag is four digits, the same for one id everywhere, and differs between ids', () => {
    assert.match(tagOf('kSfWxunqCwezJTSl'), /^[1-9][0-9]{3}$/);
    assert.equal(tagOf('kSfWxunqCwezJTSl'), tagOf('kSfWxunqCwezJTSl'));
    const tags = new Set(Array.from({ length: 200 }, (_, i) => tagOf(`peer-${i}`)));
    assert.ok(tags.size > 190, `200 ids give ${tags.size} tags`);
});

test('one\'s own name before joining (no id yet) gives nobody a tag', () => {
    const r = new Roster();
    r.setSelf({ name: 'Ann' });
    r.add(peer('a2', 'Ann'));
    assert.equal(r.self().label, 'Ann');
    assert.equal(r.get('a2').label, 'Ann');
});

test('a knock is labelled as its seat will be: tagged when someone in has a look-alike name', () => {
    const r = new Roster();
    r.setSelf({ id: 'me', name: 'Host' });
    r.add(peer('g', 'Gus'));
    assert.equal(r.labelFor('k1', 'GUS'), `GUS #${tagOf('k1')}`);
    assert.equal(r.labelFor('k2', 'Dee'), 'Dee');
    assert.equal(r.labelFor('k3', 'host'), `host #${tagOf('k3')}`, 'oneself counts too');
    assert.equal(r.get('g').label, 'Gus', 'a knock tags nobody in the meeting');
});
