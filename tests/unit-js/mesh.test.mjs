// The mesh's connections kept aside after a server loss (public/mesh.js
// detachAll): what becomes of them when the other side kept its id. The
// browser's RTCPeerConnection is replaced by a fake that records what is
// asked of it (these tests follow the Mesh's bookkeeping, not WebRTC; the
// real thing is in the e2e tests), and node's mock timers stand in for the
// 20 s a kept connection waits.
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';

class FakePeerConnection {
    static made = [];
    connectionState = 'new';
    closed = false;
    localDescription = { toJSON: () => ({ type: 'offer', sdp: 'v=0' }) };

    constructor() {
        FakePeerConnection.made.push(this);
    }

    addTransceiver() {
        return { sender: { replaceTrack: async () => {} } };
    }

    async setLocalDescription() {}

    close() {
        this.closed = true;
        this.connectionState = 'closed';
    }

    /** The link comes up (or fails): the Mesh hears it as from a browser. */
    become(state) {
        this.connectionState = state;
        this.onconnectionstatechange?.();
    }
}

globalThis.RTCPeerConnection = FakePeerConnection;
globalThis.MediaStream = class {
    getTracks() {
        return [];
    }

    addTrack() {}
};

const { Mesh } = await import('../../public/mesh.js');

/**
 * Ben's page, linked with Ann, after his server forgot him (his seat was
 * reaped): he is ben-2 now and his link with Ann (who kept her id) is put
 * aside. greeted: Ann is in his new welcome, he greets her, and that link
 * has failed (Ann closed her end). Run with mock timers on.
 */
function afterServerLoss({ greeted = true } = {}) {
    FakePeerConnection.made = [];
    const gone = [];
    const m = new Mesh({ send: () => {}, media: { stream: () => new MediaStream() }, outgoing: () => null });
    m.addEventListener('gone', (e) => gone.push(e.detail.id));
    m.setSelf('ben-1');
    m.offer('ann');
    const [kept] = FakePeerConnection.made;
    kept.become('connected');
    m.detachAll();
    m.setSelf('ben-2');
    if (greeted) {
        m.greet('ann');
        kept.become('failed');
    }
    return { m, gone, kept };
}

/** Runs body with node's mock setTimeout. */
function withTimers(body) {
    mock.timers.enable({ apis: ['setTimeout'] });
    try {
        body();
    } finally {
        mock.timers.reset();
    }
}

test('one who kept their id and is linked anew after a server loss keeps the new link when the kept one expires', () => withTimers(() => {
    const { m, gone, kept } = afterServerLoss();
    // Her page answers that nothing is re-attached: Ben offers anew.
    m.signal('ann', { rebound: [] });
    const fresh = FakePeerConnection.made.at(-1);
    assert.notEqual(fresh, kept, 'a new connection to ann');
    fresh.become('connected');
    mock.timers.tick(20000);
    assert.equal(fresh.closed, false, 'the new link to ann lives on');
    assert.equal(kept.closed, true, 'the one put aside is closed');
    assert.deepEqual(gone, [], 'ann is not gone: her tile stays');
}));

test('a kept link that failed is closed as soon as a re-attach finds it dead, not left for the timer', () => withTimers(() => {
    const { m, gone, kept } = afterServerLoss();
    // Ann names her past ids: hers is the same, the kept link is dead.
    m.signal('ann', { rebound: ['ann'] });
    assert.equal(kept.closed, true);
    assert.equal(m.hasDetached(), false);
    const fresh = FakePeerConnection.made.at(-1);
    assert.notEqual(fresh, kept);
    fresh.become('connected');
    mock.timers.tick(20000);
    assert.equal(fresh.closed, false);
    assert.deepEqual(gone, []);
}));

test('a kept link nobody came back for is closed after 20 s and its person gone', () => withTimers(() => {
    const { m, gone, kept } = afterServerLoss({ greeted: false });
    mock.timers.tick(19999);
    assert.equal(kept.closed, false, 'kept for a rebind meanwhile');
    mock.timers.tick(1);
    assert.equal(kept.closed, true);
    assert.deepEqual(gone, ['ann']);
    assert.equal(m.hasDetached(), false);
}));
