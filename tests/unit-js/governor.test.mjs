// The quality governor (public/governor.js): each link gets what its
// receiver shows, the speaker and a screen share first, nothing for a
// hidden tile, audio-only links before the uplink overflows, and less work
// per link when the CPU is the limit. What a receiver reports of its tiles
// (public/views.js: checked views, when a view is worth sending, who data
// saver shows) and what the samples give the plan (public/encoding.js).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readView, changedMeaningfully, ladderStep, speakerOf, MAX_SIDE } from '../../public/views.js';
import { fromSamples, governorOn, bitrateFor } from '../../public/encoding.js';
import { plan, scaleFor, LADDER, MIN_VIDEO_BPS, SCREEN_MIN_BPS, AUDIO_BPS, UPLINK_SHARE, CPU_FPS } from '../../public/governor.js';

const HD = { width: 1280, height: 720 };
const want = (width, height, visible = true) => ({ width, height, visible });
const base = (links, more = {}) => ({ capture: HD, links, screen: false, roomCap: 2500000, userCap: 0, uplinkBps: 0, limit: 'none', ...more });

test('a small tile gets a lower bitrate and resolution than a large one; enlarging it raises both', () => {
    const p = plan(base([
        { id: 'small', want: want(320, 180) },
        { id: 'large', want: want(1280, 720) },
    ]));
    const small = p.get('small');
    const large = p.get('large');
    assert.ok(small.maxBitrate < large.maxBitrate);
    assert.ok(small.scaleResolutionDownBy > large.scaleResolutionDownBy);
    assert.deepEqual(small, { active: true, maxBitrate: 150000, scaleResolutionDownBy: 4, maxFramerate: 15 });
    assert.deepEqual(large, { active: true, maxBitrate: 2500000, scaleResolutionDownBy: 1, maxFramerate: 30 }, 'the room cap');
    const bigger = plan(base([{ id: 'small', want: want(640, 360) }])).get('small');
    assert.ok(bigger.maxBitrate > small.maxBitrate && bigger.scaleResolutionDownBy < small.scaleResolutionDownBy);
});

test('a hidden tile gets no video; a receiver that said nothing yet gets the full picture', () => {
    const p = plan(base([{ id: 'hidden', want: want(640, 360, false) }, { id: 'new', want: null }]));
    assert.deepEqual(p.get('hidden'), { active: false, maxBitrate: 0, scaleResolutionDownBy: 1, maxFramerate: null });
    assert.deepEqual(p.get('new'), { active: true, maxBitrate: 2500000, scaleResolutionDownBy: 1, maxFramerate: 30 });
});

test('the room-size cap and the chosen quality cap the ladder', () => {
    assert.equal(plan(base([{ id: 'a', want: want(1920, 1080) }], { roomCap: 600000 })).get('a').maxBitrate, 600000);
    assert.equal(plan(base([{ id: 'a', want: want(1920, 1080) }], { userCap: 500000 })).get('a').maxBitrate, 500000);
    // Every step of the ladder is above the minimum a live link keeps.
    for (const s of LADDER) assert.ok(s.bps > MIN_VIDEO_BPS);
    assert.equal(plan(base([{ id: 'a', want: null }], { roomCap: 450000 })).get('a').maxBitrate, 450000);
});

test('a screen share keeps its full resolution and at least 1.2 Mbps, even to a small tile', () => {
    const p = plan(base([{ id: 'a', want: want(320, 180) }], { screen: true, capture: { width: 1920, height: 1080 } }));
    assert.deepEqual(p.get('a'), { active: true, maxBitrate: SCREEN_MIN_BPS, scaleResolutionDownBy: 1, maxFramerate: null });
});

test('under a weak uplink: everything fits beside the audio, the speaker keeps its picture, the smallest tiles go audio-only first', () => {
    const links = [
        { id: 'speaker', want: want(320, 180), stage: true },
        { id: 'big', want: want(1280, 720) },
        { id: 'mid', want: want(640, 360) },
        { id: 'tiny', want: want(160, 90) },
    ];
    const uplink = 600000;
    const p = plan(base(links, { uplinkBps: uplink }));
    const video = [...p.values()].reduce((sum, x) => sum + x.maxBitrate, 0);
    assert.ok(video + AUDIO_BPS * links.length <= uplink * UPLINK_SHARE, `video ${video}`);
    assert.equal(p.get('speaker').maxBitrate, 150000, 'the speaker keeps what it asked');
    for (const x of p.values()) if (x.active) assert.ok(x.maxBitrate >= MIN_VIDEO_BPS);
    // 600k * 0.85 - 160k audio = 350k: the speaker's 150k and two at 100k.
    assert.deepEqual([...p].filter(([, x]) => x.active).map(([id]) => id), ['speaker', 'big', 'mid']);
    assert.equal(p.get('tiny').active, false);

    // Less still: more links go audio-only, the speaker's last.
    const worse = plan(base(links, { uplinkBps: 400000 }));
    assert.deepEqual([...worse].filter(([, x]) => x.active).map(([id]) => id), ['speaker']);
    // Not even one video stream fits beside the audio: all audio-only.
    const none = plan(base(links, { uplinkBps: 250000 }));
    assert.deepEqual([...none.values()].map((x) => x.active), [false, false, false, false]);
    // An uplink that carries it all changes nothing.
    assert.deepEqual(plan(base(links, { uplinkBps: 50000000 })), plan(base(links)));
});

test('when the CPU limits, links other than the speaker\'s encode less', () => {
    const p = plan(base([{ id: 's', want: want(1280, 720), stage: true }, { id: 'o', want: want(1280, 720) }], { limit: 'cpu' }));
    assert.deepEqual(p.get('s'), { active: true, maxBitrate: 2500000, scaleResolutionDownBy: 1, maxFramerate: 30 });
    assert.deepEqual(p.get('o'), { active: true, maxBitrate: 2500000, scaleResolutionDownBy: 2, maxFramerate: CPU_FPS });
});

test('scaleFor: never scales up, rounds down so the picture is not smaller than shown', () => {
    assert.equal(scaleFor(HD, want(1280, 720)), 1);
    assert.equal(scaleFor(HD, want(2560, 1440)), 1);
    assert.equal(scaleFor(HD, want(400, 300)), 2.4);
    assert.equal(scaleFor(HD, want(0, 0)), 1);
    assert.equal(scaleFor(null, want(320, 180)), 1);
});

test('a received view is used only when its numbers are whole, in range, and its flags booleans', () => {
    assert.deepEqual(readView({ w: 640, h: 360, visible: true, stage: false }), { w: 640, h: 360, visible: true, stage: false });
    assert.deepEqual(readView({ w: 0, h: 0, visible: false, stage: false, extra: 1 }), { w: 0, h: 0, visible: false, stage: false });
    assert.deepEqual(readView({ w: MAX_SIDE, h: 1, visible: true, stage: true }), { w: MAX_SIDE, h: 1, visible: true, stage: true });
    const bad = [
        null, undefined, 'view', 7, [], [640, 360],
        { w: 640, h: 360, visible: true },
        { w: 640, h: 360, visible: 'yes', stage: false },
        { w: 640, h: 360, visible: true, stage: 1 },
        { w: -1, h: 360, visible: true, stage: false },
        { w: 640.5, h: 360, visible: true, stage: false },
        { w: MAX_SIDE + 1, h: 360, visible: true, stage: false },
        { w: '640', h: 360, visible: true, stage: false },
        { w: Infinity, h: 360, visible: true, stage: false },
        { w: NaN, h: 360, visible: true, stage: false },
        { w: 640, h: null, visible: true, stage: false },
    ];
    for (const v of bad) assert.equal(readView(v), null, JSON.stringify(v));
});

test('a view is sent first, then only on another ladder step, visibility or stage', () => {
    const v = (w, h, visible = true, stage = false) => ({ w, h, visible, stage });
    assert.equal(changedMeaningfully(null, v(10, 10)), true);
    assert.equal(changedMeaningfully(v(600, 340), v(620, 350)), false, 'same step');
    assert.equal(changedMeaningfully(v(300, 170), v(600, 340)), true, '180p step to 360p step');
    assert.equal(changedMeaningfully(v(1000, 560), v(1900, 1070)), false, 'both above 960x540');
    assert.equal(changedMeaningfully(v(600, 340), v(600, 340, false)), true, 'hidden');
    assert.equal(changedMeaningfully(v(600, 340, false), v(300, 170, false)), false, 'hidden either way');
    assert.equal(changedMeaningfully(v(600, 340), v(600, 340, true, true)), true, 'on the stage');
    assert.deepEqual([ladderStep(0, 0), ladderStep(320, 180), ladderStep(321, 180), ladderStep(960, 540), ladderStep(961, 540)], [0, 0, 1, 2, 3]);
});

test('data saver shows the stage tile, else the last one who spoke, else the first tile', () => {
    const tiles = [{ id: 'a', stage: false }, { id: 'b', stage: false }, { id: 'c', stage: false }];
    assert.equal(speakerOf(tiles, null), 'a');
    assert.equal(speakerOf(tiles, 'c'), 'c');
    assert.equal(speakerOf(tiles, 'gone'), 'a', 'someone no longer here');
    assert.equal(speakerOf([{ id: 'a', stage: false }, { id: 'b', stage: true }], 'a'), 'b');
    assert.equal(speakerOf([], 'a'), null);
});

test('samples give the plan the worst limit (bandwidth only from a link past its ramp-up) and, summed, each link\'s available outgoing bitrate', () => {
    const report = (bps) => new Map([
        ['T', { id: 'T', type: 'transport', selectedCandidatePairId: 'P' }],
        ['P', { id: 'P', type: 'candidate-pair', availableOutgoingBitrate: bps }],
    ]);
    assert.deepEqual(fromSamples([]), { limit: 'none', uplinkBps: 0 });
    assert.deepEqual(fromSamples([
        { entry: { limit: 'none' }, report: report(1000000) },
        { entry: { limit: 'bandwidth' }, report: report(300000) },
    ]), { limit: 'bandwidth', uplinkBps: 1300000 });
    assert.deepEqual(fromSamples([
        { entry: { limit: 'bandwidth' }, report: report(1000000) },
        { entry: { limit: 'cpu' }, report: new Map() },
    ]), { limit: 'cpu', uplinkBps: 1000000 });
    // A link still ramping up (its encoder stepping up, said as bandwidth)
    // is no sign of a tight uplink; its CPU limit is.
    const rampedUp = (id) => id !== 'new';
    assert.deepEqual(fromSamples([
        { id: 'new', entry: { limit: 'bandwidth' }, report: report(600000) },
        { id: 'old', entry: { limit: 'none' }, report: report(2000000) },
    ], rampedUp), { limit: 'none', uplinkBps: 2600000 });
    assert.deepEqual(fromSamples([
        { id: 'new', entry: { limit: 'bandwidth' }, report: report(600000) },
        { id: 'old', entry: { limit: 'bandwidth' }, report: report(400000) },
    ], rampedUp), { limit: 'bandwidth', uplinkBps: 1000000 });
    assert.equal(fromSamples([{ id: 'new', entry: { limit: 'cpu' }, report: new Map() }], rampedUp).limit, 'cpu');
    // The recorded Chromium report has a selected pair with an estimate.
    const rec = JSON.parse(fs.readFileSync(new URL('./fixtures/linkstats-host.json', import.meta.url)));
    assert.deepEqual(fromSamples([{ entry: {}, report: rec.second }]), { limit: 'none', uplinkBps: 3272571 });
});

test('the governor is on unless the benchmark switch says off', () => {
    const store = (v) => ({ getItem: () => v });
    assert.equal(governorOn(null), true);
    assert.equal(governorOn(store(null)), true);
    assert.equal(governorOn(store('off')), false);
    assert.equal(governorOn({ getItem: () => { throw new Error('denied'); } }), true);
    assert.deepEqual([2, 3, 4, 5, 6, 7].map(bitrateFor), [2500000, 1200000, 900000, 600000, 600000, 450000]);
});
