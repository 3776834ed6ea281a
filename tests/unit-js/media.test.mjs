// Capture races in public/media.js, without a browser: getUserMedia and
// getDisplayMedia are stand-ins that answer only when the test says so (a
// real camera takes up to a second to start), so the person can change
// their mind, or leave, while a capture is still starting. What must hold:
// a capture that answers after such a change is stopped at once (its
// light goes off) and never handed out; the latest request wins.
import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

/** A fake MediaStreamTrack: stop() ends it. */
class FakeTrack {
    constructor(kind) {
        this.kind = kind;
        this.enabled = true;
        this.readyState = 'live';
    }

    stop() { this.readyState = 'ended'; }
    clone() { return new FakeTrack(this.kind); }
    getSettings() { return {}; }
    addEventListener() {}
}

globalThis.MediaStream = class {
    #tracks;
    constructor(tracks = []) { this.#tracks = [...tracks]; }
    getTracks() { return [...this.#tracks]; }
    getVideoTracks() { return this.#tracks.filter((t) => t.kind === 'video'); }
    getAudioTracks() { return this.#tracks.filter((t) => t.kind === 'audio'); }
    addTrack(t) { this.#tracks.push(t); }
    removeTrack(t) { this.#tracks = this.#tracks.filter((x) => x !== t); }
};

// Every capture asked for, in order: { constraints, tracks, answer(), fail(name) }.
let asked = [];

function capture(constraints) {
    return new Promise((resolve, reject) => {
        const tracks = ['audio', 'video'].filter((k) => constraints[k]).map((k) => new FakeTrack(k));
        asked.push({
            constraints,
            tracks,
            answer: () => resolve(new MediaStream(tracks)),
            fail: (name) => reject(Object.assign(new Error(name), { name })),
        });
    });
}

globalThis.window = { isSecureContext: true };
Object.defineProperty(globalThis, 'navigator', {
    value: { mediaDevices: { getUserMedia: capture, getDisplayMedia: capture } },
    configurable: true,
});

const { Media } = await import('../../public/media.js');

/** Lets the awaiting code after an answer run. */
const settle = () => new Promise((r) => setTimeout(r, 0));

/** A Media that started with the microphone and the camera; counts its 'track' events. */
async function started() {
    const media = new Media();
    const p = media.start();
    asked[0].answer();
    await p;
    media.events = [];
    media.addEventListener('track', (e) => media.events.push(e.detail.kind + (e.detail.track ? ':on' : ':off')));
    asked = [];
    return media;
}

beforeEach(() => {
    asked = [];
});

test('the camera turned off while it starts: its capture is stopped when it answers, never handed out', async () => {
    const media = await started();
    await media.setCamera(false);
    const on = media.setCamera(true);
    assert.equal(media.cameraWanted(), true, 'on while it starts');
    await media.setCamera(false);
    asked[0].answer();
    assert.equal(await on, true, 'overtaken, not failed');
    assert.equal(asked[0].tracks[0].readyState, 'ended', 'the light goes off');
    assert.equal(media.camTrack(), null);
    assert.equal(media.cameraWanted(), false);
    assert.deepEqual(media.events, ['video:off']);
});

test('off, on, off, on quickly: one live camera, the latest capture', async () => {
    const media = await started();
    await media.setCamera(false);
    const first = media.setCamera(true);
    media.setCamera(false);
    const second = media.setCamera(true);
    assert.equal(asked.length, 2);
    asked[1].answer();
    asked[0].answer();
    await Promise.all([first, second]);
    assert.equal(media.camTrack(), asked[1].tracks[0]);
    assert.equal(asked[0].tracks[0].readyState, 'ended');
    assert.equal(asked[1].tracks[0].readyState, 'live');
    assert.equal(media.cameraWanted(), true);
});

test('leaving while the camera starts: the capture is stopped when it answers', async () => {
    const media = await started();
    await media.setCamera(false);
    const on = media.setCamera(true);
    media.stopAll();
    asked[0].answer();
    await on;
    assert.equal(asked[0].tracks[0].readyState, 'ended');
    assert.equal(media.camTrack(), null);
    assert.equal(media.cameraWanted(), false);
});

test('a camera that cannot start is off, and says so', async () => {
    const media = await started();
    await media.setCamera(false);
    const on = media.setCamera(true);
    asked[0].fail('NotReadableError');
    assert.equal(await on, false);
    assert.equal(media.cameraWanted(), false);
    // A failure of a capture already overtaken is no failure of the camera.
    const again = media.setCamera(true);
    const latest = media.setCamera(true);
    asked[1].fail('NotReadableError');
    asked[2].answer();
    assert.equal(await again, true);
    assert.equal(await latest, true);
    assert.equal(media.camTrack(), asked[2].tracks[0]);
});

test('the camera turned off during the first capture: the microphone is kept, the camera stopped', async () => {
    const media = new Media();
    const p = media.start();
    await media.setCamera(false);
    asked[0].answer();
    await p;
    const [mic, cam] = asked[0].tracks;
    assert.equal(media.audioTrack(), mic);
    assert.equal(mic.readyState, 'live');
    assert.equal(cam.readyState, 'ended');
    assert.equal(media.camTrack(), null);
});

test('a device switch overtaken by camera off is dropped', async () => {
    const media = await started();
    const cam = media.camTrack();
    const switching = media.useDevice('video', 'cam-2');
    await media.setCamera(false);
    asked[0].answer();
    await switching;
    assert.equal(cam.readyState, 'ended');
    assert.equal(asked[0].tracks[0].readyState, 'ended');
    assert.equal(media.camTrack(), null);
});

test('a microphone captured again after leaving is stopped (processing switch, then Leave)', async () => {
    const media = await started();
    const changing = media.setProcessing({ noiseSuppression: false });
    media.stopAll();
    asked[0].answer();
    await changing;
    assert.equal(asked[0].tracks[0].readyState, 'ended');
    assert.equal(media.audioTrack(), null);
});

test('leaving while the screen picker is open: the screen picked after is stopped', async () => {
    const media = await started();
    const sharing = media.startScreen();
    assert.equal(await media.startScreen(), null, 'one picker at a time');
    media.stopAll();
    asked[0].answer();
    assert.equal(await sharing, null);
    assert.equal(asked[0].tracks[0].readyState, 'ended');
    assert.equal(media.screenTrack(), null);
    await settle();
});

test('a screen picker cancelled resolves null (nothing to say); a capture the system refuses rejects, for the page to say so', async () => {
    const media = await started();
    let sharing = media.startScreen();
    asked[0].fail('NotAllowedError');
    assert.equal(await sharing, null);
    sharing = media.startScreen();
    asked[1].fail('NotReadableError');
    await assert.rejects(sharing, { name: 'NotReadableError' });
    assert.equal(media.screenTrack(), null);
    assert.equal(await Promise.race([media.startScreen(), Promise.resolve('asked')]), 'asked', 'the next try asks again');
});
