// The signalling client's liveness (public/signal.js): a server that goes
// silent is dropped with "back soon", so that a server only stalled, which
// reads the close later, keeps the seat for the resume (a close without a
// code is a leave, docs/protocol.md). A fake WebSocket records what the
// client does; node's mock timers stand in for the seconds.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';

class FakeSocket {
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

test('a server silent past the pong deadline is dropped with 4001 "back soon", and the client connects again', () => {
    mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] });
    try {
        FakeSocket.made = [];
        const sig = new Signaling('ws://huddle.test/ws', () => ({ room: 'r', name: 'Ann' }));
        sig.connect();
        const [ws] = FakeSocket.made;
        ws.accept();
        ws.hear({ type: 'welcome', id: 'ann', resume: 'tok', limits: { resumeGraceMs: 15000 } });
        // Pongs for a while: the socket stays.
        for (let i = 0; i < 3; i++) {
            mock.timers.tick(10000);
            ws.hear({ type: 'pong' });
        }
        assert.equal(ws.closedWith, null);
        assert.ok(ws.sent.some((m) => m.type === 'ping'), 'it pings');
        // Then nothing: by 10 s + 8 s of silence and the next ping's turn, it is dropped.
        mock.timers.tick(20000);
        assert.deepEqual(ws.closedWith, { code: 4001, reason: 'back soon' });
        mock.timers.tick(10000);
        assert.equal(FakeSocket.made.length, 2, 'a new connection');
        const again = FakeSocket.made[1];
        again.accept();
        assert.equal(again.sent[0].type, 'join');
        assert.equal(again.sent[0].resume, 'tok', 'it asks for its seat back');
        sig.leave();
    } finally {
        mock.timers.reset();
    }
});
