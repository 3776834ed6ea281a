// public/xray.js, its pure parts: the route word of a link from both ends,
// the N x N table of who reaches whom, the local copy of the sidecar's
// `links` bucket; and words in the catalogue for every key linkstats.js
// and xray.js can ask for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { linksBucket, matrix, routeKey } from '../../public/xray.js';
import { describe, grade, problem } from '../../public/linkstats.js';
import en from '../../public/i18n/en.js';
import { t } from '../../public/i18n.js';

const A = 'AAAAAAAAAAAAAAAA';
const B = 'BBBBBBBBBBBBBBBB';
const C = 'CCCCCCCCCCCCCCCC';

test('the route: relayed when either end is relayed, over TCP when either relayed end is; else direct, over UDP or TCP', () => {
    const host = { peer: B, state: 'connected', path: 'host', proto: 'udp' };
    const relayTcp = { peer: A, state: 'connected', path: 'relay', proto: 'tcp' };
    const relayUdp = { ...relayTcp, proto: 'udp' };
    assert.equal(routeKey(host, null), 'xray.direct');
    assert.equal(routeKey({ ...host, path: 'srflx', proto: 'tcp' }, null), 'xray.directTcp');
    assert.equal(routeKey(host, relayTcp), 'xray.relayTcp');
    assert.equal(routeKey(relayUdp, host), 'xray.relayUdp');
    assert.equal(routeKey(relayUdp, relayTcp), 'xray.relayTcp', 'both ends relayed, one over TCP');
    assert.equal(routeKey(relayTcp, relayUdp), 'xray.relayTcp');
    assert.equal(routeKey({ peer: B, state: 'connecting' }, null), 'xray.routeUnknown');
    assert.equal(routeKey(undefined, null), 'xray.routeUnknown');
});

test('the table has every pair once each way, what the row measured, the reverse beside it, nothing on the diagonal', () => {
    const people = [{ id: A, name: 'Ann' }, { id: B, name: 'Ben' }, { id: C, name: 'Cleo' }];
    const ab = { peer: B, state: 'connected', rtt: 10 };
    const ba = { peer: A, state: 'connected', rtt: 11 };
    const ca = { peer: A, state: 'failed' };
    const reports = new Map([[A, new Map([[B, ab]])], [B, new Map([[A, ba]])], [C, new Map([[A, ca]])]]);
    const rows = matrix(people, (id) => reports.get(id));
    assert.deepEqual(rows.map((r) => r.person.name), ['Ann', 'Ben', 'Cleo']);
    for (const [i, r] of rows.entries()) {
        assert.deepEqual(r.cells.map((c) => c.to.id), [A, B, C]);
        assert.deepEqual(r.cells.map((c) => !!c.self), [i === 0, i === 1, i === 2]);
    }
    assert.equal(rows[0].cells[1].entry, ab);
    assert.equal(rows[0].cells[1].back, ba);
    assert.equal(rows[1].cells[0].entry, ba);
    assert.equal(rows[0].cells[2].entry, undefined, 'Ann has no entry about Cleo');
    assert.equal(rows[0].cells[2].back, ca);
    assert.equal(rows[2].cells[1].entry, undefined);
    assert.equal(rows[2].cells[1].back, null, 'Ben has no entry about Cleo');
    assert.deepEqual(matrix(people, () => undefined)[1].cells[2], { to: people[2], entry: undefined, back: null });
});

test('links go at half the sidecar\'s rate (a tenth of a token early at most), so three held back and let go together still pass', () => {
    const take = linksBucket(2, 2000);
    assert.equal(take(0), true);
    assert.equal(take(2000), false, 'one sample of two is sent');
    assert.equal(take(3900), true, 'a timer a little early still sends');
    assert.equal(take(6000), false);
    assert.equal(take(8000), true);
    assert.equal(linksBucket(0, 2000)(0), false, 'no burst: nothing may go');
    // Samples every 2 s for a minute by a timer that wobbles; the sidecar gets
    // the messages sent in 6 s together: its bucket (2, one per 2 s) takes them all.
    const t2 = linksBucket(2, 2000);
    const sent = [];
    for (let i = 0, now = 0; i < 30; i++, now += 2000 + (i % 2 ? -150 : 150)) if (t2(now)) sent.push(now);
    assert.ok(sent.length >= 13, `sent ${sent.length}`);
    let server = 2;
    let last = 0;
    for (const at of sent.map((s) => Math.ceil((s + 1) / 6000) * 6000)) {
        server = Math.min(2, server + (at - last) / 2000);
        last = at;
        assert.ok(server >= 1, `the sidecar would refuse the message arriving at ${at} ms`);
        server -= 1;
    }
});

test('every key the X-ray can show has English words with its placeholders filled', () => {
    const names = { a: 'Cleo', b: 'Dan' };
    const entries = [
        { state: 'new' }, { state: 'connecting' }, { state: 'failed' }, { state: 'disconnected' }, { state: 'closed' },
        { state: 'connected' }, { state: 'connected', path: 'host', proto: 'udp' },
        { state: 'connected', path: 'srflx', proto: 'udp' }, { state: 'connected', path: 'srflx', proto: 'tcp' },
        { state: 'connected', path: 'relay', proto: 'udp' }, { state: 'connected', path: 'relay', proto: 'tcp', udp: false },
        { state: 'connected', loss: 3 }, { state: 'connected', rtt: 300 }, { state: 'connected', jitter: 150 },
        { state: 'connected', limit: 'bandwidth' }, { state: 'connected', limit: 'cpu' },
    ];
    const keys = new Set();
    for (const e of entries) {
        const said = [describe(e, names), describe(e, names, { state: 'connected', path: 'relay', proto: 'tcp', udp: false }), problem(e)];
        for (const k of said.filter(Boolean)) {
            keys.add(k.key);
            assert.doesNotMatch(t(k.key, k.vars), /[{}]/, `${k.key} leaves a placeholder`);
        }
        keys.add(`xray.grade-${grade(e)}`);
    }
    // The steps repairStep() can return ('repaired' ends a repair: it is none).
    for (const step of ['ice-restart', 'relay', 'reoffer', 'gave-up', 'retry']) keys.add(`xray.repair-${step}`);
    for (const k of ['xray.direct', 'xray.directTcp', 'xray.relayUdp', 'xray.relayTcp', 'xray.routeUnknown']) keys.add(k);
    assert.deepEqual([...keys].filter((k) => !(k in en)), []);
    assert.equal(keys.size, 10 + 5 + 5 + 5 + 5, [...keys].join(' '));
    assert.equal(t('links.relayed-udp-blocked', { a: 'Cleo', b: 'Dan', net: 'Dan' }), 'Cleo and Dan are relayed: UDP is blocked on Dan\'s network');
});

test('before the first sample, a tile\'s badge follows the connection\'s state, not "Connecting" for a link already up', async () => {
    const { XRay } = await import('../../public/xray.js');
    const badges = new Map();
    const states = new Map([[B, 'connected'], [C, 'connecting']]);
    const xray = new XRay({
        root: null,
        grid: { setLink: (id, g, name) => badges.set(id, [g, name]) },
        send: () => {},
        people: () => [{ id: A, name: 'Ann', self: true }, { id: B, name: 'Ben' }, { id: C, name: 'Cleo' }],
        repairStep: () => null,
        stateOf: (id) => states.get(id),
        isVisible: () => false,
    });
    xray.show();
    assert.deepEqual(badges.get(B), ['good', 'Connection to Ben: Good']);
    assert.deepEqual(badges.get(C), ['waiting', 'Connection to Cleo: Connecting']);
    states.set(B, 'failed');
    xray.show();
    assert.equal(badges.get(B)[0], 'down');
});

test('a new link\'s video held back by bandwidth is not said while its encoder ramps up (35 s), then it is; a repair starts the wait anew', async (t) => {
    const { XRay } = await import('../../public/xray.js');
    let now = 1000;
    t.mock.method(performance, 'now', () => now);
    const tips = new Map();
    const ben = { peer: B, state: 'connected', rtt: 20, loss: 0, jitter: 2, limit: 'bandwidth' };
    let step = null;
    const xray = new XRay({
        root: null,
        grid: { setLink: (id, g, name, tip) => tips.set(id, tip) },
        send: () => {},
        people: () => [{ id: A, name: 'Ann', self: true }, { id: B, name: 'Ben' }],
        repairStep: () => step,
        isVisible: () => false,
    });
    const said = 'The video sent is held back by the bandwidth';
    xray.sample([{ id: B, entry: ben }], A);
    assert.equal(tips.get(B), 'Good');
    now += 34000;
    xray.sample([{ id: B, entry: ben }], A);
    assert.equal(tips.get(B), 'Good');
    now += 1000;
    xray.sample([{ id: B, entry: ben }], A);
    assert.match(tips.get(B), new RegExp(`^${said}`));
    // A repair (a new connection) starts the wait anew.
    step = 'reoffer';
    xray.sample([{ id: B, entry: { ...ben, state: 'connecting' } }], A);
    step = null;
    now += 2000;
    xray.sample([{ id: B, entry: ben }], A);
    assert.equal(tips.get(B), 'Good', 'a new connection ramps up again');
    // Loss is said at once, whatever the link's age.
    xray.sample([{ id: B, entry: { ...ben, loss: 3 } }], A);
    assert.match(tips.get(B), /lost/i);
    // A link closed (gone from the samples) and made again starts anew.
    now += 40000;
    xray.sample([{ id: B, entry: ben }], A);
    assert.match(tips.get(B), new RegExp(`^${said}`));
    xray.sample([], A);
    now += 2000;
    xray.sample([{ id: B, entry: ben }], A);
    assert.equal(tips.get(B), 'Good', 'a link made again ramps up again');
});

test('a link given up (no connection to sample) is reported failed, "Could not repair", to the room and on its tile', async () => {
    const { XRay } = await import('../../public/xray.js');
    const sent = [];
    const badges = new Map();
    const xray = new XRay({
        root: null,
        grid: { setLink: (id, g, name, tip) => badges.set(id, [g, tip]) },
        send: (m) => sent.push(m),
        people: () => [{ id: A, name: 'Ann', self: true }, { id: B, name: 'Ben' }, { id: C, name: 'Cleo' }],
        repairStep: (id) => (id === C ? 'gave-up' : null),
        isVisible: () => false,
    });
    xray.sample([{ id: B, entry: { peer: B, state: 'connected', rtt: 20, loss: 0 } }], A);
    assert.deepEqual(sent.at(-1).links.map((e) => [e.peer, e.state, e.repair]), [[B, 'connected', undefined], [C, 'failed', 'gave-up']]);
    assert.equal(badges.get(C)[0], 'down');
    assert.match(badges.get(C)[1], /Could not repair$/);
});
