#!/usr/bin/env node
// huddle-sidecar beside the Node reference (bench/reference/: Express +
// socket.io, the tutorial's signalling), driven by bench/loadgen.c with the
// same scenarios in the same run: a join storm and the idle memory of
// 19,000 joined connections, paced joins, chat at 1, 16 and 40 msg/s per
// member in 50 rooms of 5, signals of realistic size, and chat at 1 and 16
// msg/s on two servers sharing the rooms through a redis-server (two
// sidecars; two Node references with socket.io's Redis adapter), on
// loopback TCP and again on Redis' Unix socket. Each scenario
// starts a fresh target (release build; huddle's rate limits out of the
// way of the load), runs loadgen against it and stops it; then the other
// target. Writes bench/results/latest.json and latest.md: the machine,
// every figure beside its target (docs/design.md, "Performance targets")
// and beside Node's as a ratio. Prints figures; asserts nothing.
//
//   node bench/loadgen.mjs [scale=1]   (scale < 1 shortens windows and
//                                       shrinks the storms, for a try)
//   BENCH_BUILD_DIR=/path/to/release/build (else HUDDLE_BUILD_DIR, else build/)
//   BENCH_ONLY='chat 16/s,idle 19k': those scenarios only
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '..');
const BUILD = process.env.BENCH_BUILD_DIR || process.env.HUDDLE_BUILD_DIR || path.join(ROOT, 'build');
process.env.HUDDLE_BUILD_DIR = BUILD;
const { Proc, stopAll, freePort, waitForConnect, startRedis, startSidecar } = await import('../tests/lib/stack.mjs');
const lib = await import('./lib.mjs');

const SCALE = Number(process.argv[2] || 1);
const REF = path.join(ROOT, 'bench', 'reference');
const RESULTS = path.join(ROOT, 'bench', 'results');
const LOADGEN = path.join(BUILD, 'bench', 'loadgen');
const FLOOR = path.join(BUILD, 'bench', 'syscall-floor');
const SECS = Math.max(2, Math.round(10 * SCALE));
const BIG = Math.max(1000, Math.round(19000 * SCALE));

// name, loadgen scenario, connections, room size, rate, seconds, servers
// sharing the rooms through Redis (3 members of each room on the first, 2
// on the second), and whether they reach Redis on its Unix socket
// (unix) instead of loopback TCP
const SCENARIOS = [
    { name: 'idle 19k', scenario: 'storm', conns: BIG, size: 5, rate: 1, secs: 1 },
    { name: 'join storm', scenario: 'storm', conns: 2000, size: 5, rate: 1, secs: 1 },
    { name: 'paced joins', scenario: 'join', conns: 500, size: 5, rate: 250, secs: 1 },
    { name: 'chat 1/s', scenario: 'chat', conns: 250, size: 5, rate: 1, secs: SECS },
    { name: 'chat 16/s', scenario: 'chat', conns: 250, size: 5, rate: 16, secs: SECS },
    { name: 'chat 40/s', scenario: 'chat', conns: 250, size: 5, rate: 40, secs: SECS },
    { name: 'signals 2/s', scenario: 'signal', conns: 250, size: 5, rate: 2, secs: SECS },
    { name: 'chat 1/s on 2 nodes', scenario: 'chat', conns: 250, size: 5, rate: 1, secs: SECS, nodes: 2 },
    { name: 'chat 16/s on 2 nodes', scenario: 'chat', conns: 250, size: 5, rate: 16, secs: SECS, nodes: 2 },
    { name: 'chat 1/s on 2 nodes (Unix socket)', scenario: 'chat', conns: 250, size: 5, rate: 1, secs: SECS, nodes: 2, unix: true },
    { name: 'chat 16/s on 2 nodes (Unix socket)', scenario: 'chat', conns: 250, size: 5, rate: 16, secs: SECS, nodes: 2, unix: true },
];

// huddle's per-client limits would refuse a benchmark from 8 addresses.
const SIDECAR_ENV = {
    HUDDLE_LOG_LEVEL: 'warn', HUDDLE_MAX_CONNECTIONS: '19900',
    HUDDLE_CHAT_RATE: '100000', HUDDLE_CHAT_BURST: '100000',
    HUDDLE_SIGNAL_RATE: '100000', HUDDLE_SIGNAL_BURST: '100000',
    HUDDLE_JOIN_RATE: '1000', HUDDLE_JOIN_BURST: '1000',
    HUDDLE_ADDRESS_CONNECTIONS: '100000', HUDDLE_ADDRESS_PENDING_UPGRADES: '1024',
    HUDDLE_ADDRESS_JOIN_RATE: '1000000', HUDDLE_ADDRESS_JOIN_BURST: '1000000',
    HUDDLE_ROOM_JOIN_RATE: '1000000', HUDDLE_ROOM_JOIN_BURST: '1000000',
};

/** Installs the reference's npm packages (exact versions, package-lock)
 * when bench/reference/node_modules is missing. */
function installReference() {
    if (fs.existsSync(path.join(REF, 'node_modules', '@socket.io', 'redis-adapter'))) return;
    console.log('loadgen: npm ci in bench/reference');
    const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: REF, stdio: 'inherit' });
    if (r.status !== 0) throw new Error('npm ci in bench/reference failed');
}

/**
 * A started target of kind 'huddle' or 'sio': nodes servers, sharing rooms
 * through a redis-server of their own when more than one, on its Unix
 * socket when unix. Resolves { procs (to stop), ports, pids, side (Redis'
 * pid, or undefined) }.
 */
async function startTarget(kind, nodes = 1, unix = false) {
    const redis = nodes > 1 ? await startRedis({ unix }) : null;
    const servers = [];
    const procs = () => [...servers, ...(redis ? [redis] : [])];
    try {
        for (let i = 0; i < nodes; i++) {
            if (kind === 'huddle') {
                const cluster = redis ? { HUDDLE_REDIS_URL: redis.url, HUDDLE_NODE_ID: `lg${i + 1}` } : {};
                servers.push(await startSidecar({ env: { ...SIDECAR_ENV, ...cluster } }));
            } else {
                const port = await freePort();
                const proc = new Proc(`node-ref:${port}`, process.execPath, [path.join(REF, 'server.js')],
                    { env: { PORT: String(port), NODE_ENV: 'production', ...(redis ? (unix ? { REDIS_SOCKET: redis.sock } : { REDIS_URL: redis.url }) : {}) } });
                proc.port = port;
                servers.push(proc); // stopped below if it never listens
                await waitForConnect({ port }, 60000); // node loads its modules slowly on a busy machine
            }
        }
        if (redis && kind === 'huddle') await lib.sidecarsReady(servers);
    } catch (err) {
        await stopAll(procs());
        throw err;
    }
    return { procs: procs(), ports: servers.map((p) => p.port), pids: servers.map((p) => p.pid), side: redis?.pid };
}

/** Runs loadgen; resolves its JSON line (null when it printed none) and
 * echoes its table. */
function runLoadgen(args, env = {}) {
    return new Promise((resolve) => {
        const p = spawn(LOADGEN, args.map(String), { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
        let out = '';
        p.stdout.on('data', (d) => { out += d; });
        p.on('close', () => {
            const lines = out.split('\n');
            for (const l of lines) if (l && !l.startsWith('{')) console.log(`  ${l}`);
            const json = lines.find((l) => l.startsWith('{'));
            resolve(json ? JSON.parse(json) : null);
        });
    });
}

/** One 150-byte loopback send() paced alike (bench/syscall-floor.c), in
 * us of CPU: rate sends/s round robin over conns connections. */
function sendFloor(conns, rate) {
    const r = spawnSync(FLOOR, ['150', String(conns), String(rate), '3'], { encoding: 'utf8' });
    const m = /([\d.]+) us CPU per send/.exec(r.stdout || '');
    return m ? Number(m[1]) : null;
}

function version(cmd, args, re) {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    const m = re.exec(`${r.stdout || ''}${r.stderr || ''}`);
    return m ? m[1] : 'unknown';
}

function machine() {
    const cpu = /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'));
    const pkg = (p) => version('pkg-config', ['--modversion', p], /(\S+)/);
    const ref = (p) => JSON.parse(fs.readFileSync(path.join(REF, 'node_modules', p, 'package.json'))).version;
    return {
        date: new Date().toISOString(), cpu: cpu ? cpu[1] : 'unknown', cores: os.cpus().length,
        kernel: os.release(), memory_mib: Math.round(os.totalmem() / 1048576),
        load_average: os.loadavg().map((x) => Number(x.toFixed(2))),
        libwebsockets: pkg('libwebsockets'), libuv: pkg('libuv'), node: process.version,
        express: ref('express'), socketio: ref('socket.io'),
        commit: version('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], /(\S+)/),
    };
}

async function runScenario(s) {
    const out = {};
    for (const kind of ['huddle', 'sio']) {
        console.log(`${s.name} (${s.scenario}) on ${kind === 'huddle' ? 'huddle-sidecar' : 'Node reference'}:`);
        const t = await startTarget(kind, s.nodes, s.unix);
        try {
            out[kind] = await runLoadgen([kind, s.scenario, t.ports.join(','), t.pids.join(','), s.conns, s.size, s.rate, s.secs],
                t.side ? { LG_SIDE_PID: String(t.side) } : {});
        } finally {
            await stopAll(t.procs);
        }
    }
    return { ...s, ...out };
}

// -- the report --

const fmt = (v, d = 2) => (v === null || v === undefined || v < 0 || Number.isNaN(v) ? 'n/a' : v.toFixed(d));
const ratio = (a, b) => (a > 0 && b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a');

/** Rows [what, huddle, node, target] of the summary, each a figure's
 * getter on a scenario's { huddle, sio } result. */
function summaryRows(results, floors) {
    const by = (name) => results.find((r) => r.name === name) || {};
    const rows = [];
    const add = (what, name, get, unit, target, d = 2) => {
        const r = by(name);
        const h = r.huddle ? get(r.huddle, r) : null;
        const n = r.sio ? get(r.sio, r) : null;
        rows.push({ what, huddle: h, node: n, unit, target, d });
    };
    const kib = (x) => x.kib_per_conn;
    add(`idle joined connection, RSS per connection (${by('idle 19k').conns} conns)`, 'idle 19k', kib, 'KiB', '<= 3 KiB (design: <= 4)');
    add(`storm of ${by('idle 19k').conns} joins: joins per second`, 'idle 19k', (x) => x.joined / x.open_s, '/s', '', 0);
    add(`storm of ${by('idle 19k').conns} joins: target CPU per join`, 'idle 19k', (x) => x.open_cpu_us / x.joined, 'us', '', 1);
    add('join storm: joins per second (2,000 conns, 256 at once)', 'join storm', (x) => x.joined / x.open_s, '/s', '', 0);
    add('join storm: join -> welcome p99', 'join storm', (x) => x.join_ms.p99, 'ms', '');
    add('join storm: target CPU per join', 'join storm', (x) => x.open_cpu_us / x.joined, 'us', '', 1);
    add('paced joins (250/s): join -> welcome p50', 'paced joins', (x) => x.join_ms.p50, 'ms', '', 3);
    add('paced joins (250/s): join -> welcome p99', 'paced joins', (x) => x.join_ms.p99, 'ms', '<= 1 ms', 3);
    for (const [name, floorKey, target] of [['chat 1/s', null, ''], ['chat 16/s', 16, '<= 1.3x one send()'], ['chat 40/s', 40, '<= 1.0x one send()']]) {
        add(`${name}: deliveries per second`, name, (x) => x.delivered / x.seconds, '/s', '', 0);
        add(`${name}: delivery p50`, name, (x) => x.delivery_ms.p50, 'ms', '', 3);
        add(`${name}: delivery p99`, name, (x) => x.delivery_ms.p99, 'ms', name === 'chat 1/s' ? '<= 1 ms (design: <= 0.5)' : '', 3);
        add(`${name}: delivery p99.9`, name, (x) => x.delivery_ms.p999, 'ms', '', 3);
        add(`${name}: target CPU per delivery`, name, (x) => x.cpu_us_per_delivery, 'us', '');
        if (floorKey && floors[floorKey]) {
            add(`${name}: CPU per delivery / one 150-byte send() paced alike (${fmt(floors[floorKey])} us)`, name,
                (x) => x.cpu_us_per_delivery / floors[floorKey], 'x', target);
        }
        add(`${name}: target CPU, % of a core`, name, (x) => x.cpu_pct, '%', '', 1);
        add(`${name}: loadgen CPU, % of a core`, name, (x) => x.self_cpu_pct, '%', '', 1);
    }
    add('signals: relays per second (1 SDP 4-8 KiB : 3 ICE)', 'signals 2/s', (x) => x.delivered / x.seconds, '/s', '', 0);
    add('signals: relay p99', 'signals 2/s', (x) => x.delivery_ms.p99, 'ms', '', 3);
    add('signals: target CPU per relay', 'signals 2/s', (x) => x.cpu_us_per_delivery, 'us', '');
    // Each scenario on two servers beside the one-server chat at its rate.
    for (const { name, rate } of SCENARIOS.filter((x) => x.nodes > 1)) {
        const alone = `chat ${rate}/s`;
        const slow = rate === 1;
        add(`${name} + Redis: delivery p99`, name, (x) => x.delivery_ms.p99, 'ms', slow ? '<= 2 ms' : '', 3);
        add(`${name} + Redis: CPU per delivery, both servers`, name, (x) => x.cpu_us_per_delivery, 'us', '');
        add(`${name} + Redis: CPU per delivery / one server's (${alone})`, name,
            (x, r) => x.cpu_us_per_delivery / by(alone)[r.huddle === x ? 'huddle' : 'sio']?.cpu_us_per_delivery, 'x', '<= 2x');
        add(`${name} + Redis: Redis CPU per delivery`, name, (x) => (x.side_cpu_us >= 0 ? x.side_cpu_us / x.delivered : null), 'us', '');
    }
    const errors = (k) => results.reduce((a, s) => a + (s[k] ? s[k].errors : 0), 0);
    rows.push({ what: 'errors, all scenarios', huddle: errors('huddle'), node: errors('sio'), unit: '', target: '0', d: 0 });
    return rows;
}

function markdown(m, rows, results) {
    const lines = [
        '# make bench: latest results', '',
        `${m.date}; ${m.cpu}, ${m.cores} cores, ${m.memory_mib} MiB, kernel ${m.kernel}; `
        + `load average at the start ${m.load_average.join(' ')} (the machine is shared).`,
        `huddle ${m.commit}: libwebsockets ${m.libwebsockets}, libuv ${m.libuv}; Node reference: node ${m.node}, `
        + `express ${m.express}, socket.io ${m.socketio} (websocket transport only).`, '',
        'Every figure from bench/loadgen.c in this one run, huddle-sidecar (release build) and the',
        'Node reference driven alike; "huddle / Node" below 1 means huddle needs less (for rates: reaches less).', '',
        '| what | huddle | Node reference | huddle / Node | target |',
        '| --- | --- | --- | --- | --- |',
    ];
    for (const r of rows) {
        lines.push(`| ${r.what} | ${fmt(r.huddle, r.d)} ${r.unit} | ${fmt(r.node, r.d)} ${r.unit} | ${ratio(r.huddle, r.node)} | ${r.target} |`);
    }
    lines.push('', 'Per scenario (loadgen JSON lines in latest.json):', '',
        '| scenario | target | joined | errors | sent/s | delivered/s | CPU us/delivery | CPU % | RSS KiB | loadgen CPU % |',
        '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const s of results) {
        for (const k of ['huddle', 'sio']) {
            const x = s[k];
            if (!x) { lines.push(`| ${s.name} | ${k} | failed | | | | | | | |`); continue; }
            lines.push(`| ${s.name} | ${k === 'sio' ? 'Node' : 'huddle'} | ${x.joined}/${x.conns} | ${x.errors} | `
                + `${fmt(x.sent / x.seconds, 0)} | ${fmt(x.delivered / x.seconds, 0)} | ${fmt(x.cpu_us_per_delivery)} | `
                + `${fmt(x.cpu_pct, 1)} | ${x.rss_kib} | ${fmt(x.self_cpu_pct, 1)} |`);
        }
    }
    return `${lines.join('\n')}\n`;
}

for (const f of [LOADGEN, FLOOR]) if (!fs.existsSync(f)) throw new Error(`${f} missing (make build)`);
installReference();
const m = machine();
console.log(`loadgen: huddle-sidecar beside the Node reference, ${SECS} s windows; load average ${m.load_average.join(' ')}`);
// 250 members at 16 and 40 msg/s, each chat to its 5 (the echo included).
const floors = { 16: sendFloor(250, 20000), 40: sendFloor(250, 50000) };
console.log(`one 150-byte send() paced alike over 250 connections: ${fmt(floors[16])} us at 20,000/s, ${fmt(floors[40])} us at 50,000/s`);
const results = [];
const only = process.env.BENCH_ONLY?.split(',');
for (const s of SCENARIOS) if (!only || only.includes(s.name)) results.push(await runScenario(s));
const rows = summaryRows(results, floors);
fs.mkdirSync(RESULTS, { recursive: true });
fs.writeFileSync(path.join(RESULTS, 'latest.json'), `${JSON.stringify({ machine: m, send_floor_us: floors, summary: rows, scenarios: results }, null, 1)}\n`);
const md = markdown(m, rows, results);
fs.writeFileSync(path.join(RESULTS, 'latest.md'), md);
console.log(md);
