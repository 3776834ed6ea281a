// The signalling client's liveness (public/signal.js): a server that goes
// silent is dropped with "back soon", so that a server only stalled, which
// reads the close later, keeps the seat for the resume (a close without a
// code is a leave, docs/protocol.md). A fake WebSocket records what the
// client does; node's mock timers stand in for the seconds.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';

class FakeSocket {
    static CONNECTING = 0;
    static OPEN = 1;
    static made = [];
    readyState = 0;
    sent = [];
    closedWith = null;

    constructor(url, protocol) {
        this.url = url;
        this.protocol = protocol;
        FakeSocket.made.push(this);
    }

    send(text) {
        this.sent.push(JSON.parse(text));
    }

    close(code, reason) {
        this.closedWith = { code, reason };
    }

    /** The server accepts: the client joins. */
    accept() {
        this.readyState = FakeSocket.OPEN;
        this.onopen();
    }

    /** A message from the server. */
    hear(msg) {
        this.onmessage({ data: JSON.stringify(msg) });
    }
}

globalThis.WebSocket = FakeSocket;
const { Signaling } = await import('../../public/signal.js');

/** Runs fn(sig) with the timers and the clock mocked, sig a new client
 * (with options opts) whose sockets are FakeSocket.made. */
function withClient(fn, opts = {}) {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    try {
        FakeSocket.made = [];
        const sig = new Signaling('ws://huddle.test/ws', () => ({ room: 'r', name: 'Ann' }), { clock: () => Date.now(), ...opts });
        fn(sig);
        sig.leave();
    } finally {
        mock.timers.reset();
    }
}

/** Moves the mocked clock on by ms, a second at a time (one tick() runs
 * an interval once at most). */
function advance(ms) {
    for (let t = 0; t < ms; t += 1000) mock.timers.tick(Math.min(1000, ms - t));
}

/** Connects sig and seats it: its socket, welcomed as Ann (token tok, 15 s
 * of grace). */
function seated(sig) {
    sig.connect();
    const ws = FakeSocket.made.at(-1);
    ws.accept();
    ws.hear({ type: 'welcome', id: 'ann', resume: 'tok', limits: { resumeGraceMs: 15000 } });
    return ws;
}

test('a server silent past the pong deadline is dropped with 4001 "back soon" within 13 s, and the client is back within a second', () => withClient((sig) => {
    const ws = seated(sig);
    // Pongs for a while: the socket stays.
    for (let i = 0; i < 6; i++) {
        advance(5000);
        ws.hear({ type: 'pong' });
    }
    assert.equal(ws.closedWith, null);
    assert.ok(ws.sent.some((m) => m.type === 'ping'), 'it pings');
    // Then nothing: the next ping (5 s on) goes unanswered for 7 s, and
    // within a second it is dropped: 13 s after the last word at most.
    // A sidecar that stalled keeps the seat for the grace counted from
    // when the others find it dead (7 s at the soonest).
    advance(6999);
    assert.equal(ws.closedWith, null, 'not within 7 s');
    advance(6001);
    assert.deepEqual(ws.closedWith, { code: 4001, reason: 'back soon' });
    // The seat waits: the next try comes within the first backoff step.
    advance(500);
    assert.equal(FakeSocket.made.length, 2, 'a new connection');
    const again = FakeSocket.made[1];
    again.accept();
    assert.equal(again.sent[0].type, 'join');
    assert.equal(again.sent[0].resume, 'tok', 'it asks for its seat back');
}));

test('an upgrade nobody answers (nginx passed it to a stalled sidecar) is given up after 4 s, then 8 s, and tried again', () => withClient((sig) => {
    const downs = [];
    sig.on('down', (d) => downs.push(d.why));
    sig.connect();
    const [first] = FakeSocket.made;
    advance(3999);
    assert.equal(first.closedWith, null, 'not yet');
    advance(1);
    assert.notEqual(first.closedWith, null, 'given up');
    assert.deepEqual(downs, ['timeout']);
    advance(500); // the first backoff step at most
    assert.equal(FakeSocket.made.length, 2);
    const second = FakeSocket.made[1];
    advance(7999);
    assert.equal(second.closedWith, null, 'the second try waits longer');
    advance(1);
    assert.notEqual(second.closedWith, null);
    advance(1000);
    const third = FakeSocket.made[2];
    third.accept(); // answered: it joins, and stays
    third.hear({ type: 'welcome', id: 'ann', resume: 'tok', limits: { resumeGraceMs: 15000 } });
    for (let i = 0; i < 5; i++) { // past the third try's 12 s
        advance(4000);
        third.hear({ type: 'pong' });
    }
    assert.equal(third.closedWith, null);
    assert.equal(FakeSocket.made.length, 3);
}));

test('a server that takes the upgrade and never answers the join is left within 8 s', () => withClient((sig) => {
    sig.connect();
    const [ws] = FakeSocket.made;
    ws.accept();
    assert.equal(ws.sent[0].type, 'join');
    assert.ok(!('attempt' in ws.sent[0]), 'a join that takes no seat back is not numbered');
    advance(7000);
    assert.equal(ws.closedWith, null);
    advance(1000);
    assert.notEqual(ws.closedWith, null, 'given up');
    advance(1000);
    assert.equal(FakeSocket.made.length, 2, 'and tried again');
}));

test('while its seat waits, every upgrade gets 4 s: the next may reach another sidecar before the grace ends', () => withClient((sig) => {
    const ws = seated(sig);
    ws.onclose({ code: 1006, reason: '' }); // the connection dropped: the seat waits
    for (let i = 1; i <= 3; i++) {
        // the retry: at most 2 s while the seat waits
        for (let t = 0; !FakeSocket.made[i]; t += 100) {
            assert.ok(t <= 2000, `try ${i}`);
            mock.timers.tick(100);
        }
        const next = FakeSocket.made[i];
        advance(3999);
        assert.equal(next.closedWith, null);
        advance(1);
        assert.notEqual(next.closedWith, null, `try ${i} given up after 4 s`);
    }
}));

/** Connects sig, which knocks (knock k1, token ktok), then its socket
 * goes silent past the probe's deadline: given up, left open. */
function knockingLeftOpen(sig) {
    sig.connect();
    const ws = FakeSocket.made.at(-1);
    ws.accept();
    ws.hear({ type: 'knocking', id: 'k1', token: 'ktok' });
    sig.probe();
    advance(3000);
    return ws;
}

test('each resume is numbered above the one before, from the number the page before a reload sent: a server that reads an old one late (it stalled) can tell it from a newer connection', () => withClient((sig) => {
    sig.connect();
    const [ws] = FakeSocket.made;
    ws.accept();
    assert.deepEqual([ws.sent[0].resume, ws.sent[0].attempt], ['tok0', 8], 'above the 7 the page before sent');
    ws.hear({ type: 'welcome', id: 'ann', resume: 'tok1', limits: { resumeGraceMs: 15000 } });
    assert.equal(sig.resumeAttempt, 8, 'what a reload takes on');
    ws.onclose({ code: 1006, reason: '' }); // dropped: the seat waits
    advance(2000);
    const again = FakeSocket.made[1];
    again.accept();
    assert.deepEqual([again.sent[0].resume, again.sent[0].attempt], ['tok1', 9]);
    advance(10000); // no answer: given up within 8 s, tried again
    assert.equal(FakeSocket.made.length, 3);
    const third = FakeSocket.made[2];
    third.accept();
    assert.deepEqual([third.sent[0].resume, third.sent[0].attempt], ['tok1', 10]);
}, { resume: 'tok0', attempt: 7 }));

test('a page knocking at a locked meeting gives a silent socket up without closing it (a close would end the knock) and comes back with the knock\'s token, numbered, to take the knock\'s place', () => withClient((sig) => {
    sig.connect();
    const [ws] = FakeSocket.made;
    ws.accept();
    assert.equal(ws.sent[0].resume, undefined);
    ws.hear({ type: 'knocking', id: 'k1', token: 'ktok' });
    assert.equal(sig.wayBack, null, 'not seated: a reload does not come back with it');
    sig.probe(); // the browser went offline: no answer within 2 to 3 s
    advance(3000);
    assert.equal(ws.closedWith, null, 'left open: the sidecar keeps the knock');
    ws.hear({ type: 'peer-left', id: 'k1', reason: 'replaced' }); // from a socket given up: not heard
    advance(1000);
    const again = FakeSocket.made[1];
    again.accept();
    assert.deepEqual([again.sent[0].resume, again.sent[0].attempt], ['ktok', 1]);
    again.onclose({ code: 1006, reason: '' }); // this one drops before its answer: closed as any
    advance(2000);
    const third = FakeSocket.made[2];
    third.accept();
    assert.deepEqual([third.sent[0].resume, third.sent[0].attempt], ['ktok', 2]);
    third.hear({ type: 'knocking', id: 'k1', token: 'ktok' }); // taken over: the first goes
    assert.deepEqual(ws.closedWith, { code: 1000, reason: undefined });
    sig.leave();
    assert.deepEqual(third.closedWith, { code: 1000, reason: undefined });
    assert.deepEqual(third.sent.at(-1), { type: 'leave' });
}));

test('a knock given up and then cancelled (Cancel, or the page going) closes the socket it left open: the knock ends; so does a refusal of the next socket\'s join that the page answers with leave', () => withClient((sig) => {
    const ws = knockingLeftOpen(sig);
    assert.equal(ws.closedWith, null);
    advance(1000);
    const again = FakeSocket.made[1];
    again.accept();
    again.hear({ type: 'error', code: 'bad-token', ref: 'join', message: 'expired' });
    assert.equal(ws.closedWith, null, 'still knocking there');
    sig.leave();
    assert.deepEqual(ws.closedWith, { code: 1000, reason: undefined });
}));

test('a take-over refused for the joins\' pace is tried again without a word; let in with another id (the knock had ended, the door opened), the socket left knocking goes', () => withClient((sig) => {
    const errors = [];
    sig.on('error', (m) => errors.push(m));
    const ws = knockingLeftOpen(sig);
    advance(1000);
    const again = FakeSocket.made[1];
    again.accept();
    again.hear({ type: 'error', code: 'rate-limited', ref: 'join', message: 'slow down' });
    assert.deepEqual(errors, []);
    advance(8000);
    const third = FakeSocket.made.at(-1);
    assert.notEqual(third, again);
    third.accept();
    assert.equal(third.sent[0].resume, 'ktok');
    assert.equal(ws.closedWith, null);
    third.hear({ type: 'welcome', id: 'new', resume: 'tok2', limits: { resumeGraceMs: 15000 } });
    assert.deepEqual(ws.closedWith, { code: 1000, reason: undefined });
}));

test('a knock that ends while its socket was given up (a host\'s denial, the timeout, read once the network is back) is the page\'s answer', () => withClient((sig) => {
    const errors = [];
    sig.on('error', (m) => errors.push(m.code));
    const ws = knockingLeftOpen(sig);
    ws.hear({ type: 'peer-left', id: 'k1', reason: 'replaced' });
    ws.hear({ type: 'error', code: 'unavailable', ref: 'join', message: 'try again' });
    assert.deepEqual(errors, []);
    ws.hear({ type: 'error', code: 'knock-timeout', ref: 'join', message: 'no host answered' });
    assert.deepEqual(errors, ['knock-timeout']);
    assert.deepEqual(ws.closedWith, { code: 1000, reason: undefined });
    ws.hear({ type: 'error', code: 'denied', ref: 'join', message: 'no', reason: 'host' });
    assert.deepEqual(errors, ['knock-timeout'], 'once');
}));

test('admitted, the knock\'s token is the seat\'s way back', () => withClient((sig) => {
    sig.connect();
    const [ws] = FakeSocket.made;
    ws.accept();
    ws.hear({ type: 'knocking', id: 'k1', token: 'ktok' });
    ws.hear({ type: 'welcome', id: 'k1', resume: 'ktok', limits: { resumeGraceMs: 15000 } });
    assert.equal(sig.wayBack, 'ktok');
    sig.probe(); // seated now: a silent socket is closed "back soon", as any seat's
    advance(3000);
    assert.deepEqual(ws.closedWith, { code: 4001, reason: 'back soon' });
}));

test('the browser going offline: a ping at once, and a socket that does not answer it within 2 to 3 s is given up; one that answers stays', () => withClient((sig) => {
    const ws = seated(sig);
    advance(3000);
    const pings = () => ws.sent.filter((m) => m.type === 'ping').length;
    const before = pings();
    sig.probe();
    assert.equal(pings(), before + 1, 'a ping at once');
    ws.hear({ type: 'pong' }); // it still works (the event was wrong)
    advance(4000);
    assert.equal(ws.closedWith, null, 'a socket that answered stays');
    sig.probe();
    advance(1999);
    assert.equal(ws.closedWith, null, 'not within 2 s');
    advance(1001);
    assert.deepEqual(ws.closedWith, { code: 4001, reason: 'back soon' });
    advance(2000);
    assert.equal(FakeSocket.made.length, 2, 'tried again while the seat waits');
}));

test('the network back: a socket still opening (opened while it was down) is given up for a new one at once; an open one stays', () => withClient((sig) => {
    const first = seated(sig);
    sig.networkBack();
    assert.equal(FakeSocket.made.length, 1, 'an open socket stays');
    assert.equal(first.closedWith, null);
    first.onclose({ code: 1006, reason: '' }); // the network went
    advance(2000);
    const opening = FakeSocket.made[1];
    assert.ok(opening, 'a try while the network is down');
    sig.probe(); // not open yet: nothing to ask
    assert.deepEqual(opening.sent, []);
    sig.networkBack();
    assert.notEqual(opening.closedWith, null, 'given up');
    assert.equal(FakeSocket.made.length, 3, 'a new one at once');
    opening.accept(); // a late open of the socket given up sends nothing
    assert.deepEqual(opening.sent, []);
    sig.networkBack(); // said again: the socket it opened stays
    assert.equal(FakeSocket.made.length, 3);
    assert.equal(FakeSocket.made[2].closedWith, null);
    opening.onclose({ code: 1006, reason: '' }); // its late close changes nothing
    advance(1000);
    assert.equal(FakeSocket.made.length, 3);
    FakeSocket.made[2].accept();
    // the first resume sent: the socket given up never sent one
    assert.deepEqual([FakeSocket.made[2].sent[0].resume, FakeSocket.made[2].sent[0].attempt], ['tok', 1]);
    sig.leave();
    sig.networkBack(); // left: nothing more
    assert.equal(FakeSocket.made.length, 3);
}));

test('a way back refused for the joins\' pace (many back at once from one address) is tried again within 2 s, without a word to the page', () => withClient((sig) => {
    const errors = [];
    sig.on('error', (m) => errors.push(m));
    const first = seated(sig);
    first.onclose({ code: 1012, reason: 'service restart' }); // a drain
    advance(1000);
    const again = FakeSocket.made[1];
    again.accept();
    assert.equal(again.sent[0].resume, 'tok');
    again.hear({ type: 'error', code: 'rate-limited', ref: 'join', message: 'slow down' });
    assert.notEqual(again.closedWith, null, 'given up');
    assert.deepEqual(errors, []);
    advance(2000);
    assert.equal(FakeSocket.made.length, 3, 'tried again');
    FakeSocket.made[2].accept();
    assert.deepEqual([FakeSocket.made[2].sent[0].resume, FakeSocket.made[2].sent[0].attempt], ['tok', 2]);
}));

test('a first join refused for the joins\' pace is the page\'s to tell (no seat waits): the socket stays', () => withClient((sig) => {
    const errors = [];
    sig.on('error', (m) => errors.push(m));
    sig.connect();
    const [ws] = FakeSocket.made;
    ws.accept();
    ws.hear({ type: 'error', code: 'rate-limited', ref: 'join', message: 'slow down' });
    assert.equal(errors.length, 1);
    assert.equal(ws.closedWith, null);
}));
