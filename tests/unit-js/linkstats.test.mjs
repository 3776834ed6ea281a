// public/linkstats.js: a links entry from real getStats() reports recorded
// from Chromium (fixtures/capture-linkstats.mjs: two connections in one
// page, directly and through coturn over TCP), and what is said about it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { candidateUdp, describe, grade, linkEntry, problem, RANGES, selectedPair, audioBytesIn } from '../../public/linkstats.js';

const PEER = 'Bb0-_bbbbbbbbbbb';

/** The two samples of a fixture as getStats() gives them: Maps of id -> stats. */
function samples(name) {
    const raw = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', `linkstats-${name}.json`), 'utf8'));
    return [new Map(Object.entries(raw.first)), new Map(Object.entries(raw.second))];
}

/** A copy of report with the stats of id changed by fn. */
function edit(report, id, fn) {
    const r = new Map([...report].map(([k, v]) => [k, { ...v }]));
    fn(r.get(id));
    return r;
}

const ofType = (report, type, kind) => [...report.values()].find((s) => s.type === type && (!kind || s.kind === kind));

/** What linkEntry must make of a pair of samples, from the stats themselves. */
function expected(first, second) {
    const bytes = (r, type, field) => [...r.values()].filter((s) => s.type === type).reduce((n, s) => n + s[field], 0);
    const ms = ofType(second, 'outbound-rtp').timestamp - ofType(first, 'outbound-rtp').timestamp;
    return {
        out: Math.round(((bytes(second, 'outbound-rtp', 'bytesSent') - bytes(first, 'outbound-rtp', 'bytesSent')) * 8) / ms),
        in: Math.round(((bytes(second, 'inbound-rtp', 'bytesReceived') - bytes(first, 'inbound-rtp', 'bytesReceived')) * 8) / ms),
        rtt: Math.round(selectedPair(second).currentRoundTripTime * 1000),
    };
}

test('a direct link: host candidates over UDP, round trip of the selected pair, bitrates over the time between samples', () => {
    const [first, second] = samples('host');
    const e = linkEntry(PEER, 'connected', second, first);
    const want = expected(first, second);
    const video = ofType(second, 'inbound-rtp', 'video');
    assert.deepEqual(e, {
        peer: PEER, state: 'connected', path: 'host', proto: 'udp', rtt: want.rtt, loss: 0,
        jitter: Math.round(Math.max(ofType(second, 'inbound-rtp', 'audio').jitter, video.jitter) * 1000),
        out: want.out, in: want.in, fps: Math.round(video.framesPerSecond), w: 640, h: 360, limit: 'none',
    });
    assert.ok(e.out > 30 && e.in > 30, `audio and video both ways: ${e.out} and ${e.in} kbit/s`);
    // The members in the sidecar's canonical order.
    assert.deepEqual(Object.keys(e), ['peer', 'state', 'path', 'proto', 'rtt', 'loss', 'jitter', 'out', 'in', 'fps', 'w', 'h', 'limit']);
});

test('a link relayed by coturn over TCP is relay/tcp though its local candidate says udp', () => {
    const [first, second] = samples('relay-tcp');
    const local = second.get(selectedPair(second).localCandidateId);
    assert.deepEqual([local.candidateType, local.protocol, local.relayProtocol], ['relay', 'udp', 'tcp']);
    const e = linkEntry(PEER, 'connected', second, first);
    assert.deepEqual([e.path, e.proto], ['relay', 'tcp']);
    assert.deepEqual([e.out, e.in, e.rtt], Object.values(expected(first, second)));
});

test('candidateUdp: what one gathered candidate says of UDP getting out, as Chromium gives candidates', () => {
    // As seen from Chromium 156's onicecandidate: relayProtocol null on a UDP relay, the TURN URL tells.
    const turn = 'turn:203.0.113.5:3478';
    const cases = [
        [{ type: 'relay', protocol: 'udp', relayProtocol: null, url: `${turn}?transport=udp` }, true],
        [{ type: 'relay', protocol: 'udp', relayProtocol: null, url: turn }, true],
        [{ type: 'relay', protocol: 'udp', relayProtocol: 'udp', url: '' }, true],
        [{ type: 'relay', protocol: 'udp', relayProtocol: 'tcp', url: `${turn}?transport=tcp` }, false],
        [{ type: 'relay', protocol: 'udp', relayProtocol: null, url: `${turn}?transport=tcp` }, false],
        [{ type: 'relay', protocol: 'udp', relayProtocol: null, url: 'turns:turn.example:443?transport=tcp' }, false],
        [{ type: 'relay', protocol: 'udp', relayProtocol: 'tls' }, false],
        [{ type: 'relay', protocol: 'udp', relayProtocol: null, url: null }, undefined],
        [{ type: 'srflx', protocol: 'udp', url: 'stun:203.0.113.5:3478' }, true],
        [{ type: 'srflx', protocol: 'tcp' }, undefined],
        [{ type: 'host', protocol: 'udp', url: '' }, undefined],
        [{ type: 'prflx', protocol: 'udp' }, undefined],
        [null, undefined],
    ];
    for (const [c, want] of cases) assert.equal(candidateUdp(c), want, JSON.stringify(c));
});

test('udp goes into the entry after the route when known, and is left out when not', () => {
    const [first, second] = samples('relay-tcp');
    const e = linkEntry(PEER, 'connected', second, first, false);
    assert.deepEqual(Object.keys(e).slice(0, 5), ['peer', 'state', 'path', 'proto', 'udp']);
    assert.equal(linkEntry(PEER, 'connected', second, first, true).udp, true);
    assert.equal('udp' in linkEntry(PEER, 'connected', second, first), false);
});

test('an RTCStatsReport, map-like but no Map, reads as the Map it holds', () => {
    // What getStats() resolves to in a browser: get, values, forEach, keys; no instanceof Map.
    class StatsReport {
        #m;
        constructor(m) { this.#m = m; }
        get(id) { return this.#m.get(id); }
        values() { return this.#m.values(); }
        keys() { return this.#m.keys(); }
        forEach(fn) { this.#m.forEach(fn); }
    }
    const [first, second] = samples('relay-tcp');
    const e = linkEntry(PEER, 'connected', new StatsReport(second), new StatsReport(first));
    assert.ok(!(new StatsReport(second) instanceof Map));
    assert.deepEqual(e, linkEntry(PEER, 'connected', second, first));
    assert.deepEqual([e.path, e.proto], ['relay', 'tcp']);
    assert.ok(e.rtt >= 0 && e.in > 0);
});

test('without a previous sample there are no bitrates and no loss', () => {
    const [, second] = samples('host');
    const e = linkEntry(PEER, 'connected', second, null);
    for (const k of ['out', 'in', 'loss']) assert.equal(k in e, false, k);
    assert.equal(e.path, 'host');
});

test('loss is the packets lost since the last sample over those expected, audio and video together', () => {
    const [first, second] = samples('host');
    const audio = ofType(second, 'inbound-rtp', 'audio');
    const video = ofType(second, 'inbound-rtp', 'video');
    const received = audio.packetsReceived - first.get(audio.id).packetsReceived
        + video.packetsReceived - first.get(video.id).packetsReceived;
    const lossy = edit(second, video.id, (s) => { s.packetsLost += 10; });
    assert.equal(linkEntry(PEER, 'connected', lossy, first).loss, Math.round((1000 / (10 + received)) * 10) / 10);
});

test('a stream whose counters went back (it started again) counts for nothing', () => {
    const [first, second] = samples('host');
    const video = ofType(second, 'outbound-rtp', 'video');
    const audio = ofType(second, 'outbound-rtp', 'audio');
    const restarted = edit(second, video.id, (s) => { s.bytesSent = 10; });
    const ms = audio.timestamp - first.get(audio.id).timestamp;
    assert.equal(linkEntry(PEER, 'connected', restarted, first).out,
        Math.round(((audio.bytesSent - first.get(audio.id).bytesSent) * 8) / ms));
});

test('every number is clamped into the protocol\'s range; no NaN or infinity gets out', () => {
    const [first, second] = samples('host');
    const pair = selectedPair(second);
    const video = ofType(second, 'inbound-rtp', 'video');
    let r = edit(second, pair.id, (s) => { s.currentRoundTripTime = 1e9; });
    r = edit(r, video.id, (s) => { s.frameWidth = 1e6; s.framesPerSecond = Infinity; s.jitter = -3; s.bytesReceived += 1e12; });
    const e = linkEntry(PEER, 'connected', r, first);
    assert.equal(e.rtt, RANGES.rtt);
    assert.equal(e.w, RANGES.w);
    assert.equal(e.in, RANGES.in);
    assert.equal('fps' in e, false); // not a finite number: left out
    for (const [k, v] of Object.entries(e)) {
        if (typeof v === 'number') assert.ok(Number.isFinite(v) && v >= 0 && v <= RANGES[k], `${k}=${v}`);
    }
});

test('a connection still connecting has no route yet, and an unknown state is sent as new', () => {
    const [, second] = samples('host');
    const t = ofType(second, 'transport');
    let r = edit(second, t.id, (s) => { delete s.selectedCandidatePairId; });
    for (const s of r.values()) if (s.type === 'candidate-pair') s.nominated = false;
    const e = linkEntry(PEER, 'connecting', r, null);
    assert.equal('path' in e || 'proto' in e, false);
    assert.equal(linkEntry(PEER, 'stable', new Map()).state, 'new');
    assert.deepEqual(linkEntry(PEER, 'new', new Map()), { peer: PEER, state: 'new' });
});

test('a pair marked selected (Firefox) is found without a transport; TURN over TLS is tcp', () => {
    const report = new Map(Object.entries({
        P1: { id: 'P1', type: 'candidate-pair', selected: true, localCandidateId: 'L1', currentRoundTripTime: 0.05 },
        L1: { id: 'L1', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', relayProtocol: 'tls' },
    }));
    assert.deepEqual(linkEntry(PEER, 'connected', report), { peer: PEER, state: 'connected', path: 'relay', proto: 'tcp', rtt: 50 });
});

test('what limits the video sent: bandwidth before cpu before none', () => {
    const [, second] = samples('host');
    const video = ofType(second, 'outbound-rtp', 'video');
    const r = edit(second, video.id, (s) => { s.qualityLimitationReason = 'cpu'; });
    r.set('x', { id: 'x', type: 'outbound-rtp', kind: 'video', qualityLimitationReason: 'bandwidth' });
    assert.equal(linkEntry(PEER, 'connected', r).limit, 'bandwidth');
    r.delete('x');
    assert.equal(linkEntry(PEER, 'connected', r).limit, 'cpu');
});

test('describe says how a link goes, as a key and names, never words', () => {
    const names = { a: 'Cleo', b: 'Dan' };
    const [first, second] = samples('relay-tcp');
    const relayed = linkEntry(PEER, 'connected', second, first, false);
    assert.deepEqual(describe(relayed, names), { key: 'links.relayed-udp-blocked', vars: { a: 'Cleo', b: 'Dan', net: 'Cleo' } });
    const direct = { peer: PEER, state: 'connected', path: 'srflx', proto: 'udp' };
    // Cleo's side is direct to the TURN server's relay; Dan's side reaches it over TCP.
    const udpRelay = { ...direct, path: 'relay' };
    assert.deepEqual(describe(udpRelay, names, { ...relayed }), { key: 'links.relayed-udp-blocked', vars: { ...names, net: 'Dan' } });
    assert.equal(describe(udpRelay, names).key, 'links.relayed');
    // Both relay over TCP, but Cleo's UDP gets out: only Dan's network is to blame.
    const tcpByChoice = { ...relayed, udp: true };
    assert.deepEqual(describe(tcpByChoice, names, relayed), { key: 'links.relayed-udp-blocked', vars: { ...names, net: 'Dan' } });
    assert.equal(describe(tcpByChoice, names, tcpByChoice).key, 'links.relayed');
    assert.equal(describe(tcpByChoice, names).key, 'links.relayed');
    // A side whose UDP check has not answered (udp left out) is not blamed either.
    const { udp, ...unchecked } = relayed;
    assert.equal(udp, false);
    assert.equal(describe(unchecked, names).key, 'links.relayed');
    assert.equal(describe(direct, names).key, 'links.direct');
    assert.equal(describe({ ...direct, proto: 'tcp' }, names).key, 'links.direct-tcp');
    const [h1, h2] = samples('host');
    assert.equal(describe(linkEntry(PEER, 'connected', h2, h1), names).key, 'links.direct-local');
    assert.equal(describe({ peer: PEER, state: 'connected' }, names).key, 'links.unknown');
    for (const [state, key] of [['new', 'links.waiting'], ['connecting', 'links.waiting'], ['failed', 'links.failed'],
        ['disconnected', 'links.interrupted'], ['closed', 'links.closed']]) {
        assert.deepEqual(describe({ ...direct, state }, names), { key, vars: names });
    }
});

test('grade and problem follow the thresholds on loss, round trip, jitter and what limits the sender', () => {
    const ok = { peer: PEER, state: 'connected', rtt: 30, loss: 0, jitter: 5 };
    assert.equal(grade(ok), 'good');
    assert.equal(problem(ok), null);
    assert.equal(grade({ ...ok, loss: 1.5 }), 'fair');
    assert.deepEqual(problem({ ...ok, loss: 1.5 }), { key: 'links.lossy', vars: { loss: 1.5 } });
    assert.equal(grade({ ...ok, loss: 5 }), 'poor');
    assert.equal(grade({ ...ok, rtt: 250 }), 'fair');
    assert.deepEqual(problem({ ...ok, rtt: 250 }), { key: 'links.slow', vars: { rtt: 250 } });
    assert.equal(grade({ ...ok, rtt: 400 }), 'poor');
    assert.equal(grade({ ...ok, jitter: 120 }), 'poor');
    assert.deepEqual(problem({ ...ok, jitter: 120 }), { key: 'links.jittery', vars: { jitter: 120 } });
    assert.equal(problem({ ...ok, limit: 'bandwidth' }).key, 'links.bandwidth-limited');
    // Not while a new link's encoder steps up (it reports that as bandwidth).
    assert.equal(problem({ ...ok, limit: 'bandwidth' }, 34999), null);
    assert.equal(problem({ ...ok, limit: 'bandwidth' }, 35000).key, 'links.bandwidth-limited');
    assert.equal(problem({ ...ok, limit: 'cpu' }, 0).key, 'links.cpu-limited');
    assert.equal(problem({ ...ok, loss: 2, limit: 'bandwidth' }, 0).key, 'links.lossy');
    assert.equal(problem({ ...ok, limit: 'cpu' }).key, 'links.cpu-limited');
    assert.equal(grade({ peer: PEER, state: 'connected' }), 'good');
    assert.equal(grade({ ...ok, state: 'failed' }), 'down');
    assert.equal(grade({ ...ok, state: 'connecting' }), 'waiting');
    assert.equal(problem({ ...ok, state: 'failed', loss: 50 }), null);
});

test('audioBytesIn sums the audio received, in a Map or a plain report, and nothing else', () => {
    const stats = [
        { id: 'a1', type: 'inbound-rtp', kind: 'audio', bytesReceived: 1000 },
        { id: 'a2', type: 'inbound-rtp', kind: 'audio', bytesReceived: 234 },
        { id: 'v1', type: 'inbound-rtp', kind: 'video', bytesReceived: 50000 },
        { id: 'o1', type: 'outbound-rtp', kind: 'audio', bytesSent: 777 },
    ];
    assert.equal(audioBytesIn(new Map(stats.map((x) => [x.id, x]))), 1234);
    assert.equal(audioBytesIn(Object.fromEntries(stats.map((x) => [x.id, x]))), 1234);
    assert.equal(audioBytesIn(new Map()), 0);
});
