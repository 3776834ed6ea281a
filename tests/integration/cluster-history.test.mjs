// Chat history in Redis under HUDDLE_HISTORY_MAX_BYTES (docs/cluster.md,
// "Chat history"): a real redis-server and two sidecars; chat in many rooms
// over a small byte budget drops the oldest messages of all rooms first,
// welcome still gives each room's newest, the bytes kept in Redis stay under
// the budget, and every key expires after the history TTL.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { startRedis, startSidecar, stopAll, until } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

const BUDGET = 3000;
const TTL_MS = 1500;
const ENV = {
    HUDDLE_HISTORY_MAX_BYTES: String(BUDGET),
    HUDDLE_CHAT_HISTORY_TTL_MS: String(TTL_MS),
    HUDDLE_CHAT_BURST: '1000',
    HUDDLE_CHAT_RATE: '1000',
    HUDDLE_REDIS_REAPER_MS: '200',
    HUDDLE_RESUME_GRACE_MS: '200', // a dropped seat goes soon, then its TTL
};

function cli(redis, ...args) {
    return execFileSync('redis-cli', ['-p', String(redis.port), ...args], { encoding: 'utf8' })
        .split('\n').filter(Boolean);
}

/** Each room's kept messages as Redis holds them: "<seq> <json>", newest
 * first; returns { room: [json, ...] } oldest first. */
function kept(redis, rooms) {
    const out = {};
    for (const room of rooms) {
        out[room] = cli(redis, 'LRANGE', `huddle:room:${room}:chat`, '0', '-1')
            .map((e) => e.slice(e.indexOf(' ') + 1)).reverse();
    }
    return out;
}

test('chat in many rooms over the byte budget drops the oldest of all rooms; welcome, bytes and expiry hold', async () => {
    const procs = [];
    const clients = [];
    try {
        const redis = await startRedis();
        procs.push(redis);
        const scs = [];
        for (let i = 0; i < 2; i++) {
            const s = await startSidecar({ env: { HUDDLE_REDIS_URL: redis.url, HUDDLE_NODE_ID: `h${i}`, ...ENV } });
            procs.push(s);
            scs.push(s);
        }
        for (const s of scs) await s.waitForOutput(/redis up as node/);

        // Six rooms, one member each, alternating sidecars; 8 rounds of one
        // message per room: 48 messages of about 150 bytes, far over 3000.
        const rooms = Array.from({ length: 6 }, () => uniqueRoom('hist'));
        const members = [];
        for (let i = 0; i < rooms.length; i++) {
            const c = await connect(scs[i % 2].wsUrl);
            clients.push(c);
            await c.join(rooms[i], `P${i}`);
            members.push(c);
        }
        const order = [];
        for (let round = 0; round < 8; round++) {
            for (let i = 0; i < rooms.length; i++) {
                const text = `room ${i} round ${round} ${'x'.repeat(40)}`;
                await members[i].send({ type: 'chat', text });
                assert.equal((await members[i].next('chat')).text, text);
                order.push(text);
                // The echo can come before the sidecar's history write
                // reaches Redis; the global order is the order of the writes,
                // so the next message waits for this one's.
                const seq = () => Number(cli(redis, 'HGET', 'huddle:history:bytes', '*seq')[0] || 0);
                await until(() => seq() >= order.length, () => `history writes ${seq()} of ${order.length}`, 5000);
            }
        }

        // Redis holds a suffix of the global order, under the budget.
        const k = kept(redis, rooms);
        const texts = new Set(Object.values(k).flat().map((j) => JSON.parse(j).text));
        const bytes = Object.values(k).flat().reduce((n, j) => n + Buffer.byteLength(j), 0);
        assert.ok(bytes <= BUDGET, `${bytes} bytes kept`);
        assert.ok(bytes > BUDGET - 400, `${bytes} bytes kept: the budget is used`);
        assert.ok(texts.size > 6 && texts.size < order.length, `${texts.size} kept`);
        assert.deepEqual([...texts].sort(), order.slice(order.length - texts.size).sort());
        assert.equal(Number(cli(redis, 'HGET', 'huddle:history:bytes', '*total')[0]), bytes);
        assert.equal(Number(cli(redis, 'ZCARD', 'huddle:history')[0]), rooms.length);

        // Welcome on the other sidecar gives each room's kept messages, in order.
        for (let i = 0; i < rooms.length; i++) {
            const c = await connect(scs[(i + 1) % 2].wsUrl);
            clients.push(c);
            const w = await c.join(rooms[i], 'Late');
            assert.deepEqual(w.chat.map((m) => m.text), k[rooms[i]].map((j) => JSON.parse(j).text), rooms[i]);
            c.terminate();
        }

        // Everyone gone: after the TTL no key of these rooms or of the
        // accounting is left.
        for (const c of clients) c.terminate();
        const left = () => [...cli(redis, '--scan', '--pattern', 'huddle:room:*'),
            ...cli(redis, '--scan', '--pattern', 'huddle:history*')];
        await until(() => left().length === 0, () => `keys left after the TTL: ${left().join(' ')}`, TTL_MS + 10000);
    } finally {
        for (const c of clients) c.terminate();
        await stopAll(procs);
    }
});
