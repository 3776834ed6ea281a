// Hosts, the lobby and join tokens on the page: the pure parts
// (public/access.js) and when the signalling client stops for good
// (finalClose in public/signal.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
    rowActions, actionLabel, actionWord, controlName, endedText, refusalText, joinRateText, newArrivals, waitingList, splitToken, takeToken, tokenName,
    keepWayBack, takeWayBack, kickText,
} from '../../public/access.js';
import { finalClose, Signaling } from '../../public/signal.js';

test('a guest sees no host action on anyone\'s row', () => {
    assert.deepEqual(rowActions('guest', 'guest'), []);
    assert.deepEqual(rowActions('guest', 'host'), []);
    assert.deepEqual(rowActions(undefined, 'guest'), [], 'no role known: a guest');
});

test('a host can promote a guest, demote a host, ask to mute and remove', () => {
    assert.deepEqual(rowActions('host', 'guest'), ['make-host', 'mute', 'kick']);
    assert.deepEqual(rowActions('host', 'host'), ['make-guest', 'mute', 'kick']);
    assert.deepEqual(rowActions('host', undefined), ['make-host', 'mute', 'kick'], 'no role known: a guest');
});

test('every row action has a label naming the person', () => {
    for (const a of ['make-host', 'make-guest', 'mute', 'kick']) assert.match(actionLabel(a, 'Bob'), /Bob/);
    assert.equal(actionLabel('kick', 'Bob'), 'Remove Bob from the meeting');
    assert.equal(actionLabel('nonsense', 'Bob'), '');
    assert.equal(controlName('Admit', 'Bob'), 'Admit: Bob');
    assert.deepEqual(['make-host', 'make-guest', 'mute', 'kick', 'x'].map(actionWord), ['Make host', 'Make guest', 'Mute', 'Remove', '']);
});

test('the Remove question says how long the person stays out, as the server keeps them out', () => {
    assert.equal(kickText('Ron', 300000), 'Ron leaves the meeting at once and cannot join again for 5 minutes.');
    assert.equal(kickText('Ron', 86400000), 'Ron leaves the meeting at once and cannot join again for 24 hours.');
    assert.equal(kickText('Ron', 0), 'Ron leaves the meeting at once, and can join again with the link.');
    assert.equal(kickText('Ron', null), 'Ron leaves the meeting at once and cannot join again for a while.');
});

test('the ended screen names the host who removed one or ended the meeting', () => {
    assert.deepEqual(endedText('removed', 'Ann'), { title: 'You were removed', text: 'You were removed from the meeting by Ann.' });
    assert.deepEqual(endedText('ended', 'Ann'), { title: 'The meeting has ended', text: 'Ann ended the meeting.' });
    assert.equal(endedText('ended', 'You').text, 'You ended the meeting.');
    assert.equal(endedText('removed', null).text, 'You were removed from the meeting by a host.');
    assert.equal(endedText('ended', null).text, 'A host ended the meeting.');
    // How long one removed stays out, when the server said.
    assert.equal(endedText('removed', 'Ann', { banMs: 600000 }).text, 'You were removed from the meeting by Ann. You cannot join again for 10 minutes.');
    assert.equal(endedText('removed', 'Ann', { banMs: 0 }).text, 'You were removed from the meeting by Ann. You can join again with the link.');
    assert.equal(endedText('ended', 'Ann', { banMs: 600000 }).text, 'Ann ended the meeting.');
});

test('a join refused for its rate says what to wait for: one\'s own wrong passwords, the room\'s, or a few seconds', () => {
    assert.equal(joinRateText('passwords'), 'Too many wrong passwords. Wait a minute, then try again.');
    assert.equal(joinRateText('room-passwords'), 'Too many wrong passwords were tried for this meeting. Wait a minute, then try again.');
    for (const reason of [undefined, 'joins', '__proto__', 'constructor']) {
        assert.equal(joinRateText(reason), 'Too many tries. Wait a few seconds, then try again.', String(reason));
    }
});

test('a refused join says why, and whether trying again can help', () => {
    assert.equal(refusalText('denied').retry, true);
    // A denial says which of its three causes it was; none (or one this
    // page does not know) gets the words for the first two.
    assert.deepEqual(refusalText('denied', 'host'),
        { title: 'You were not let in', text: 'A host did not let you into this meeting.', retry: true });
    assert.deepEqual(refusalText('denied', 'empty'),
        { title: 'Everyone left', text: 'Everyone left the meeting while you waited to be let in.', retry: true });
    assert.deepEqual(refusalText('denied', 'ended'),
        { title: 'The meeting has ended', text: 'A host ended the meeting while you waited to be let in.', retry: false });
    for (const reason of [undefined, 'later', '__proto__']) {
        assert.deepEqual(refusalText('denied', reason),
            { title: 'You were not let in', text: 'The host did not let you into this meeting, or everyone left while you waited.', retry: true }, String(reason));
    }
    assert.equal(refusalText('knock-timeout').retry, true);
    assert.equal(refusalText('banned').retry, true, 'a ban ends, and may be a colleague\'s');
    const bad = refusalText('bad-token', 'expired');
    assert.deepEqual(bad, { title: 'This invitation has expired', text: 'Ask the organizer for a new invitation link.', retry: false });
    assert.deepEqual(refusalText('bad-token', 'missing'),
        { title: 'An invitation is needed', text: 'This meeting needs an invitation link from the organizer.', retry: false });
    assert.equal(refusalText('bad-token', 'wrong-room').title, 'This invitation is for another meeting');
    const early = refusalText('bad-token', 'not-yet-valid');
    assert.equal(early.title, 'This invitation is not valid yet');
    assert.equal(early.retry, true, 'a token not valid yet may be by the time one tries again');
    for (const reason of ['signature', 'malformed', 'algorithm', 'claims', 'refused', 'constructor', '__proto__', undefined]) {
        assert.deepEqual(refusalText('bad-token', reason),
            { title: 'This invitation is not valid', text: 'Ask the organizer for a new invitation link.', retry: false }, String(reason));
    }
    for (const code of ['room-full', 'wrong-password', 'password-required', 'forbidden', 'nonsense']) {
        assert.equal(refusalText(code, 'x'), null, code);
    }
});

test('new arrivals in the lobby are those not waiting before, in list order', () => {
    const list = [{ id: 'a', name: 'Ann' }, { id: 'b', name: 'Bob' }, { id: 'c', name: 'Cy' }];
    assert.deepEqual(newArrivals(new Set(['b']), list).map((w) => w.id), ['a', 'c']);
    assert.deepEqual(newArrivals(new Set(['a', 'b', 'c']), list), []);
    assert.deepEqual(newArrivals(new Set(), []), []);
});

test('a lobby message\'s list keeps only entries with a string id and name', () => {
    assert.deepEqual(waitingList({ waiting: [{ id: 'a', name: 'Ann', since: 1 }, null, { id: 2, name: 'x' }, { id: 'c' }] }),
        [{ id: 'a', name: 'Ann', since: 1 }]);
    assert.deepEqual(waitingList({}), []);
    assert.deepEqual(waitingList(null), []);
    assert.deepEqual(waitingList({ waiting: 'nope' }), []);
});

test('tokenName reads the name an invitation gives, cleaned, and nothing from what is no token', () => {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const tok = (claims) => `${b64({ alg: 'HS256' })}.${b64(claims)}.sig`;
    assert.equal(tokenName(tok({ room: 'r', name: 'Zoë Ünal — 東京' })), 'Zoë Ünal — 東京', 'UTF-8 through base64url');
    assert.equal(tokenName(tok({ name: '  Ann\u202e  Lee\n' })), 'Ann Lee', 'cleaned as a typed name is');
    assert.equal(tokenName(tok({ name: 'x'.repeat(40) + '?' })), 'x'.repeat(40) + '?');
    for (const bad of [null, '', 'not-a-real-token', 'a.b', `${b64({})}.!!!.x`, tok({ name: 42 }), tok({}), tok({ name: '\u200b' }),
        `${b64({})}.${Buffer.from([0xff, 0xfe]).toString('base64url')}.x`, `${b64({})}.${b64('[1]')}.x`]) {
        assert.equal(tokenName(bad), '', String(bad));
    }
});

test('splitToken takes the token out of the query and keeps the rest', () => {
    assert.deepEqual(splitToken('https://h/r1?token=abc.def-ghi'), { token: 'abc.def-ghi', clean: 'https://h/r1' });
    assert.deepEqual(splitToken('https://h/r1?x=1&token=t&y=2#f'), { token: 't', clean: 'https://h/r1?x=1&y=2#f' });
    assert.deepEqual(splitToken('https://h/r1'), { token: null, clean: 'https://h/r1' });
    assert.deepEqual(splitToken('https://h/r1?token='), { token: null, clean: 'https://h/r1' });
});

/** A fake location, history and sessionStorage. */
function fakes(href, stored = {}) {
    const loc = { href };
    const calls = [];
    const hist = {
        state: { s: 1 },
        replaceState(state, title, url) {
            calls.push([state, url]);
            loc.href = url;
        },
    };
    const map = new Map(Object.entries(stored));
    const store = {
        getItem: (k) => (map.has(k) ? map.get(k) : null),
        setItem: (k, v) => map.set(k, v),
        removeItem: (k) => map.delete(k),
    };
    return { loc, hist, store, calls, map };
}

test('takeToken strips the token from the address bar and keeps it for this tab', () => {
    const f = fakes('https://h/r1?token=secret');
    assert.deepEqual(takeToken(f.loc, f.hist, f.store, 'r1'), { token: 'secret', renewed: true });
    assert.deepEqual(f.calls, [[{ s: 1 }, 'https://h/r1']], 'replaced, same history state');
    assert.equal(f.loc.href, 'https://h/r1');
    assert.equal(f.map.get('huddle.token.r1'), 'secret');
});

test('takeToken after a reload finds the tab\'s token without touching history', () => {
    const f = fakes('https://h/r1', { 'huddle.token.r1': 'kept' });
    assert.deepEqual(takeToken(f.loc, f.hist, f.store, 'r1'), { token: 'kept', renewed: false });
    assert.deepEqual(f.calls, []);
    const other = fakes('https://h/r2', { 'huddle.token.r1': 'kept' });
    assert.deepEqual(takeToken(other.loc, other.hist, other.store, 'r2'), { token: null, renewed: false }, 'another room\'s token is not used');
});

test('a new token in the link wins over the kept one, and says it is new; the same one again is not', () => {
    const f = fakes('https://h/r1?token=new', { 'huddle.token.r1': 'old' });
    assert.deepEqual(takeToken(f.loc, f.hist, f.store, 'r1'), { token: 'new', renewed: true });
    assert.equal(f.map.get('huddle.token.r1'), 'new');
    const same = fakes('https://h/r1?token=old', { 'huddle.token.r1': 'old' });
    assert.deepEqual(takeToken(same.loc, same.hist, same.store, 'r1'), { token: 'old', renewed: false });
    const none = fakes('https://h/r1?token=', { 'huddle.token.r1': 'old' });
    assert.deepEqual(takeToken(none.loc, none.hist, none.store, 'r1'), { token: null, renewed: false }, 'an emptied token drops the kept one');
    assert.equal(none.map.has('huddle.token.r1'), false);
});

test('takeToken works without storage (refused or absent)', () => {
    const f = fakes('https://h/r1?token=t');
    assert.deepEqual(takeToken(f.loc, f.hist, null, 'r1'), { token: 't', renewed: true });
    assert.equal(f.loc.href, 'https://h/r1');
    const g = fakes('https://h/r1');
    const throwing = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); } };
    assert.deepEqual(takeToken(g.loc, g.hist, throwing, 'r1'), { token: null, renewed: false });
});

test('the way back: kept by the page going away, taken once by the page loading, per room, until its time', () => {
    const f = fakes('https://h/r1');
    const back = { resume: 'tok1', attempt: 3, id: 'seat1', audio: false, video: true, until: 5000 };
    keepWayBack(f.store, 'r1', back);
    keepWayBack(f.store, 'r2', null); // none: nothing kept
    keepWayBack(f.store, 'r3', { resume: null, until: 5000 });
    assert.deepEqual([...f.map.keys()], ['huddle.back.r1']);
    assert.equal(takeWayBack(f.store, 'r2', 1000), null, 'another room\'s is not taken');
    assert.deepEqual(takeWayBack(f.store, 'r1', 1000), back);
    assert.equal(takeWayBack(f.store, 'r1', 1000), null, 'taken: a copy of the tab made now finds none');
    keepWayBack(f.store, 'r1', back);
    assert.equal(takeWayBack(f.store, 'r1', 5000), null, 'past its time');
    assert.equal(f.map.size, 0, 'and gone');
    f.map.set('huddle.back.r1', JSON.stringify({ resume: 'tok2', until: 5000 })); // kept by an older page
    assert.deepEqual(takeWayBack(f.store, 'r1', 1000), { resume: 'tok2', attempt: 0, id: '', audio: true, video: true, until: 5000 });
    for (const attempt of [-1, 1.5, '3', 2 ** 53, null]) { // a count not a page's
        f.map.set('huddle.back.r1', JSON.stringify({ resume: 'tok2', attempt, until: 5000 }));
        assert.equal(takeWayBack(f.store, 'r1', 1000).attempt, 0, String(attempt));
    }
    f.map.set('huddle.back.r1', '{not json');
    assert.equal(takeWayBack(f.store, 'r1', 1000), null);
    const throwing = { getItem() { throw new Error('denied'); }, setItem() { throw new Error('denied'); } };
    keepWayBack(throwing, 'r1', back);
    assert.equal(takeWayBack(throwing, 'r1'), null);
    assert.equal(takeWayBack(null, 'r1'), null);
});

test('only close 1000 "removed" or "meeting ended" ends the session for good', () => {
    assert.equal(finalClose(1000, 'removed'), 'removed');
    assert.equal(finalClose(1000, 'meeting ended'), 'ended');
    assert.equal(finalClose(1000, 'replaced'), null);
    assert.equal(finalClose(1000, ''), null);
    assert.equal(finalClose(1012, 'service restart'), null);
    assert.equal(finalClose(1008, 'removed'), null);
    assert.equal(finalClose(1006, ''), null);
});

/** A stand-in for the browser's WebSocket: records what is sent; the test opens, answers and closes it. */
class FakeSocket {
    static OPEN = 1;
    static made = [];
    readyState = 0;
    sent = [];
    constructor(url, protocol) {
        this.url = url;
        this.protocol = protocol;
        FakeSocket.made.push(this);
    }
    send(text) { this.sent.push(JSON.parse(text)); }
    close(code) { this.readyState = 3; this.onclose?.({ code: code ?? 1005, reason: '' }); }
    open() { this.readyState = 1; this.onopen(); }
    receive(msg) { this.onmessage({ data: JSON.stringify(msg) }); }
}

test('reconnecting: backoff up to 8 s, but 2 s while the seat waits for us (its grace); retry now only with no socket open or opening', (t) => {
    const saved = globalThis.WebSocket;
    globalThis.WebSocket = FakeSocket;
    t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    t.mock.method(Math, 'random', () => 1); // the longest delay of each step
    try {
        const delays = [];
        const sig = new Signaling('ws://h/ws', () => ({ room: 'r1', name: 'Ann' }), { clock: () => Date.now() });
        sig.on('down', (d) => delays.push(d.delay)).on('welcome', () => {});
        sig.connect();
        // Never seated: the usual backoff.
        for (let i = 0; i < 6; i++) {
            FakeSocket.made.at(-1).close(1006);
            t.mock.timers.tick(delays.at(-1));
        }
        assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 8000]);
        // Seated, then dropped: the seat waits 15 s, and so retries stay short.
        const ws = FakeSocket.made.at(-1);
        ws.open();
        ws.receive({ type: 'welcome', id: 'p1', resume: 'tok1', peers: [], limits: { resumeGraceMs: 15000 } });
        delays.length = 0;
        ws.close(1006);
        const end = Date.now() + 15000 + 8000;
        while (Date.now() < end) {
            t.mock.timers.tick(delays.at(-1));
            FakeSocket.made.at(-1).close(1006);
        }
        const during = delays.filter((_, i) => delays.slice(0, i).reduce((a, b) => a + b, 0) < 15000);
        assert.deepEqual(during.slice(0, 4), [500, 1000, 2000, 2000]);
        assert.ok(during.every((d) => d <= 2000), JSON.stringify(delays));
        assert.equal(delays.at(-1), 8000, 'past the grace: the seat is gone, the usual backoff');
        // Retry now: not while a socket is opening (it would be a second one).
        const before = FakeSocket.made.length;
        sig.retryNow();
        assert.equal(FakeSocket.made.length, before + 1);
        sig.retryNow();
        assert.equal(FakeSocket.made.length, before + 1);
        sig.leave();
    } finally {
        globalThis.WebSocket = saved;
    }
});

test('the way back: the first join carries it; a page keeps one only while its socket holds the seat', () => {
    const saved = globalThis.WebSocket;
    globalThis.WebSocket = FakeSocket;
    try {
        const sig = new Signaling('ws://h/ws', () => ({ room: 'r1', name: 'Ann' }), { resume: 'kept' });
        sig.on('down', () => {});
        sig.connect();
        const ws = FakeSocket.made.at(-1);
        ws.open();
        assert.deepEqual(ws.sent[0], { type: 'join', room: 'r1', name: 'Ann', resume: 'kept', attempt: 1 });
        assert.equal(sig.wayBack, null, 'joining: no seat yet');
        ws.receive({ type: 'welcome', id: 'p1', resume: 'tok1', peers: [] });
        assert.equal(sig.wayBack, 'tok1');
        // The connection drops: the seat waits in its grace, and a page
        // reloaded now must not take it back under the old id.
        ws.close(1006);
        assert.equal(sig.wayBack, null, 'reconnecting');
        sig.leave();
        assert.equal(sig.wayBack, null, 'left');
        // Alone, a page going away says "back soon" (4001), without a leave.
        const alone = new Signaling('ws://h/ws', () => ({ room: 'r1', name: 'Ann' }));
        alone.connect();
        const ws2 = FakeSocket.made.at(-1);
        let code = null;
        ws2.close = (c) => { code = c; };
        ws2.open();
        ws2.receive({ type: 'welcome', id: 'p2', resume: 'tok2', peers: [] });
        alone.away();
        assert.equal(code, 4001);
        assert.deepEqual(ws2.sent.map((m) => m.type), ['join']);
    } finally {
        globalThis.WebSocket = saved;
    }
});
