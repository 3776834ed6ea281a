// The quality governor (public/governor.js): each link gets what its
// receiver shows, the speaker and a screen share first, nothing for a
// hidden tile, audio-only links before the uplink overflows, and less work
// per link when the CPU is the limit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
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
