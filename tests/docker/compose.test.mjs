// docker-compose.yml for real: the images are built from the Dockerfile on a
// real Docker engine (a private dockerd when none answers, see
// scripts/docker-engine.sh; debian:12-slim made by scripts/docker-base-image.sh
// when no registry can be reached), the stack runs with two sidecars, and
// everything is checked from outside, as a person's browser or an attacker
// would see it: http -> https, the room page and wss with the self-signed
// certificate, the protocol across both sidecars, Redis without a network
// (on a socket only the sidecars share) behind its password, the backup
// of the secrets and the certificate, /metrics not public, a third
// replica reached without touching nginx, a drained replica whose clients
// resume elsewhere unnoticed, a recreate of every sidecar that keeps
// HUDDLE_SIDECARS of them, two Chromium participants over https relayed by
// the stack's own coturn, and every service stopping on SIGTERM.
//
// The stack publishes only on 127.0.0.1 (HUDDLE_BIND) on free ports; coturn
// (host network) listens on 127.0.0.1 only. `down -v` removes containers,
// network and volumes at the end; the built images stay as a cache.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { launch, linkInfo, newParticipant, relayOnly, waitForPlayingVideo } from '../lib/browser.mjs';
import { ROOT, freePort, httpGet, sleep, tmpDir } from '../lib/stack.mjs';
import { connect, uniqueRoom } from '../lib/wsclient.mjs';

const project = `huddletest${process.pid}`;
const env = { ...process.env };
let dockerdPid = null;
let ports;
let ca; // the stack's self-signed certificate (PEM)
const clients = [];

/** Runs a command; resolves stdout, rejects with its output on failure. */
function run(cmd, args, { timeoutMs = 120000 } = {}) {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { env, cwd: ROOT, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr.slice(-4000)}`));
            else resolve(stdout);
        });
    });
}

const compose = (args, opts) => run('docker-compose', ['-p', project, '-f', path.join(ROOT, 'docker-compose.yml'), ...args], opts);
const docker = (args, opts) => run('docker', args, opts);

/** Container ids of a service, in replica order. */
async function containers(service) {
    const out = await compose(['ps', '-q', service]);
    return out.split('\n').filter(Boolean);
}

/** An HTTP request from inside container id to its own port (bash only). */
async function inside(id, port, urlPath) {
    const script = `exec 3<>/dev/tcp/127.0.0.1/${port} && printf 'GET ${urlPath} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && cat <&3`;
    return docker(['exec', id, 'bash', '-c', script]);
}

/** One metric's value from a sidecar's /metrics (0 when absent). */
async function metric(id, name) {
    const text = await inside(id, 8081, '/metrics');
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line ? Number(line.split(' ')[1]) : 0;
}

/** GET on 127.0.0.1 with a given Host, trusting the stack's certificate. */
const get = (scheme, port, urlPath, host = 'localhost') => httpGet(`${scheme}://127.0.0.1:${port}`, { path: urlPath, host, ca });

const wssUrl = () => `wss://localhost:${ports.https}/ws`;
const wsOrigin = () => `https://localhost:${ports.https}`;

async function wssClient() {
    const c = await connect(wssUrl(), { ca, origin: wsOrigin(), protocols: ['huddle.v1'] });
    clients.push(c);
    return c;
}

/**
 * A member that behaves like the page on a drain: when its socket closes
 * with 1012 it reconnects through nginx and joins with its resume token,
 * retrying for up to 15 s, one try at a time. conn is the live Client; log
 * every message seen on it (on each in turn); resumes counts successful
 * resumes.
 */
async function member(room, name) {
    const m = { name, log: [], resumes: 0, closes: [], conn: null, id: null, token: null };
    const attach = (c) => {
        m.conn = c;
        // Only the live connection counts: one given up on is the page's
        // closed socket, whatever reaches it late.
        c.ws.on('message', (d) => {
            if (m.conn !== c) return;
            try { m.log.push(JSON.parse(d.toString())); } catch { /* not JSON */ }
        });
        c.closedPromise.then((info) => {
            if (m.conn !== c || m.stopped) return;
            m.closes.push(info.code);
            // One resume at a time, as the page has one socket: a try
            // closed 1012 (it found a replica still draining) is retried
            // by the resume under way.
            if (info.code === 1012 && !m.resumingNow) m.resuming = resume();
        });
    };
    const resume = async () => {
        m.resumingNow = true;
        try {
            const deadline = Date.now() + 15000;
            for (let i = 0; Date.now() < deadline; i++) {
                let c = null;
                try {
                    c = await wssClient();
                    attach(c);
                    const w = await c.join(room, name, { resume: m.token });
                    assert.equal(w.id, m.id, `${name} resumed under a new id`);
                    m.token = w.resume;
                    m.resumes++;
                    return;
                } catch (err) {
                    m.lastError = err;
                    c?.terminate();
                    await sleep(Math.min(2000, 200 * 2 ** i));
                }
            }
            throw new Error(`${name} did not resume: ${m.lastError}`);
        } finally {
            m.resumingNow = false;
        }
    };
    const c = await wssClient();
    attach(c);
    const w = await c.join(room, name);
    m.id = w.id;
    m.token = w.resume;
    return m;
}

before(async () => {
    const engine = execFileSync(path.join(ROOT, 'scripts/docker-engine.sh'), ['start'], { env, encoding: 'utf8' });
    for (const line of engine.split('\n')) {
        const [k, v] = line.split('=');
        if (k === 'DOCKER_HOST') env.DOCKER_HOST = v;
        if (k === 'DOCKERD_PID') dockerdPid = Number(v);
    }
    await run(path.join(ROOT, 'scripts/docker-base-image.sh'), [], { timeoutMs: 600000 });
    // A run that was cut short (its engine stopped under it) leaves its
    // project behind, and with it the edge network's fixed subnet: take
    // down every earlier test project first (only ones this test makes).
    const names = await docker(['network', 'ls', '--format', '{{.Name}}']);
    const stale = new Set([...names.matchAll(/^(huddletest\d+)_/gm)].map((m) => m[1]));
    for (const p of stale) {
        await run('docker-compose', ['-p', p, '-f', path.join(ROOT, 'docker-compose.yml'), 'down', '-v', '-t', '1'], { timeoutMs: 120000 })
            .catch((e) => console.error(`could not take down ${p}: ${e.message}`));
    }
    ports = { http: await freePort(), https: await freePort(), turn: await freePort(), turns: await freePort() };
    // Containers cannot raise nofile above the engine's own hard limit.
    const hard = Number(execFileSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }));
    Object.assign(env, {
        HUDDLE_NOFILE: String(Number.isFinite(hard) ? Math.min(hard, 65536) : 65536),
        HUDDLE_BIND: '127.0.0.1',
        HUDDLE_PORT: String(ports.http),
        HUDDLE_HTTPS_PORT: String(ports.https),
        HUDDLE_PUBLIC_HOST: '127.0.0.1',
        HUDDLE_ALLOWED_ORIGINS: `${wsOrigin()},https://127.0.0.1:${ports.https}`,
        HUDDLE_TURN_PORT: String(ports.turn),
        HUDDLE_TURNS_PORT: String(ports.turns),
        HUDDLE_TURN_LISTEN_IP: '127.0.0.1',
        // Test only: both browsers relay through 127.0.0.1, a loopback peer.
        HUDDLE_TURN_ALLOW_LOOPBACK: '1',
        // Two sidecars, from the compose file's scale: every plain `up`
        // below (as docs/deploy.md's upgrade runs it) keeps two.
        HUDDLE_SIDECARS: '2',
    });
    await compose(['build', '-q'], { timeoutMs: 1200000 });
    await compose(['up', '-d'], { timeoutMs: 300000 });
    assert.equal((await containers('sidecar')).length, 2, 'HUDDLE_SIDECARS=2 started two sidecars');
    const deadline = Date.now() + 90000;
    for (;;) {
        const r = await get('http', ports.http, '/healthz').catch((e) => ({ status: 0, body: String(e) }));
        if (r.status === 200) break;
        if (Date.now() > deadline) throw new Error(`the stack did not come up: ${r.status} ${r.body}\n${await compose(['logs', '--tail', '50']).catch(String)}`);
        await sleep(500);
    }
    const [nginx] = await containers('nginx');
    ca = await docker(['exec', nginx, 'cat', '/var/lib/huddle/tls/fullchain.pem']);
    // Wait until both sidecars answer (their healthz) before the tests spread clients.
    for (const id of await containers('sidecar')) {
        for (let t = 0; !(await inside(id, 8081, '/healthz').catch(() => '')).includes(' 200 '); t++) {
            if (t > 100) throw new Error(`sidecar ${id} never became healthy`);
            await sleep(200);
        }
    }
});

after(async () => {
    for (const c of clients) c.terminate();
    if (ports) {
        await compose(['logs', '--no-color', '--tail', '200'])
            .then((logs) => { process.stdout.write(`# compose logs (tail)\n${logs.replace(/^/gm, '# ')}\n`); })
            .catch(() => {});
        await compose(['down', '-v', '--remove-orphans', '-t', '5'], { timeoutMs: 180000 }).catch((e) => console.error(e.message));
    }
    if (dockerdPid) execFileSync(path.join(ROOT, 'scripts/docker-engine.sh'), ['stop', String(dockerdPid)], { env });
});

const MiB = 1024 * 1024;
const MEMORY_LIMITS = { nginx: 512 * MiB, fcgi: 256 * MiB, sidecar: 1024 * MiB, redis: 512 * MiB, coturn: 512 * MiB };

test('every service runs as the unprivileged huddle user, healthy, with nofile raised', async () => {
    for (const service of ['nginx', 'fcgi', 'sidecar', 'redis', 'coturn']) {
        const ids = await containers(service);
        assert.ok(ids.length > 0, `${service} has no container`);
        for (const id of ids) {
            // Every process of the container, seen from the host (uid 10001 = huddle).
            const uids = (await docker(['top', id, '-eo', 'pid,uid'])).split('\n').slice(1)
                .filter(Boolean).map((l) => l.trim().split(/\s+/)[1]);
            assert.ok(uids.length > 0);
            for (const u of uids) assert.equal(u.trim(), '10001', `${service} runs a process as uid ${u}`);
            assert.equal((await docker(['exec', id, 'bash', '-c', 'ulimit -n'])).trim(), env.HUDDLE_NOFILE, `${service} nofile`);
            const policy = (await docker(['inspect', '-f', '{{.HostConfig.RestartPolicy.Name}}', id])).trim();
            assert.equal(policy, 'unless-stopped', `${service} restart policy`);
            // The out-of-memory policy (docs/hardening.md): a limit on each, and
            // the host's OOM killer takes a sidecar first.
            const [memory, adj] = (await docker(['inspect', '-f', '{{.HostConfig.Memory}} {{.HostConfig.OomScoreAdj}}', id])).trim().split(' ').map(Number);
            assert.equal(memory, MEMORY_LIMITS[service], `${service} memory limit`);
            assert.equal(adj, service === 'sidecar' ? 500 : 0, `${service} oom_score_adj`);
        }
    }
    // Health: docker's own verdict, once each service had time to be checked.
    const deadline = Date.now() + 60000;
    for (;;) {
        const states = [];
        for (const service of ['nginx', 'fcgi', 'sidecar', 'redis', 'coturn']) {
            for (const id of await containers(service)) {
                states.push(`${service}:${(await docker(['inspect', '-f', '{{.State.Health.Status}}', id])).trim()}`);
            }
        }
        if (states.every((s) => s.endsWith(':healthy'))) break;
        if (Date.now() > deadline) assert.fail(`not all healthy: ${states.join(' ')}`);
        await sleep(1000);
    }
});

test('plain http redirects to https for a real host name and stays http for localhost', async () => {
    const far = await get('http', ports.http, '/team-standup?x=1', 'meet.example.test');
    assert.equal(far.status, 301);
    assert.equal(far.headers.location, `https://meet.example.test:${ports.https}/team-standup?x=1`);
    const near = await get('http', ports.http, '/', 'localhost');
    assert.equal(near.status, 302);
    assert.match(near.headers.location, /^\/[0-9a-f-]{36}$/);
});

test('the room page over https with the self-signed certificate, security headers on', async () => {
    const r = await get('https', ports.https, '/team-standup');
    assert.equal(r.status, 200);
    assert.match(r.body, /team-standup/);
    assert.match(r.headers['content-security-policy'], /default-src 'none'/);
    assert.equal(r.headers['cache-control'], 'no-store');
    // The page's bundle, built inside the image (scripts/assets.sh).
    const bundle = await get('https', ports.https, '/assets/dist/app.js');
    assert.equal(bundle.status, 200);
    assert.match(bundle.body, /huddle\.v1/);
    assert.equal((await get('https', ports.https, '/assets/dist/app.css')).status, 200);
});

test('/metrics is never public, over http or https', async () => {
    for (const [scheme, port] of [['http', ports.http], ['https', ports.https]]) {
        const r = await get(scheme, port, '/metrics');
        assert.equal(r.status, 404, `${scheme} /metrics answered ${r.status}`);
        assert.doesNotMatch(r.body, /huddle_sidecar_/);
    }
    // ...while each sidecar serves it inside the network.
    const [id] = await containers('sidecar');
    assert.match(await inside(id, 8081, '/metrics'), /^huddle_sidecar_\w+ /m);
});

test('Redis has no network: the sidecars reach it on its socket, with the password', async () => {
    const [redis] = await containers('redis');
    const [sidecar] = await containers('sidecar');
    const [nginx] = await containers('nginx');
    assert.equal((await docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', redis])).trim(), 'none');
    assert.equal((await docker(['port', redis])).trim(), '');
    // Not by name over the network, even from a sidecar...
    await assert.rejects(docker(['exec', sidecar, 'bash', '-c', 'exec 3<>/dev/tcp/redis/6379']));
    // ...but through the socket in the volume only Redis and the sidecars mount.
    const socket = '/run/huddle-redis/redis.sock';
    const modes = await docker(['exec', redis, 'stat', '-c', '%F %a %U', '/run/huddle-redis', socket]);
    assert.deepEqual(modes.trim().split('\n'), ['directory 700 huddle', 'socket 700 huddle']);
    await assert.rejects(docker(['exec', nginx, 'test', '-e', socket]));
    assert.match(await compose(['logs', '--no-color', 'sidecar']), new RegExp(`bus: connected to redis ${socket} as node`));
    assert.match(await docker(['exec', redis, 'redis-cli', '-s', socket, 'ping']), /NOAUTH/);
    const pw = (await docker(['exec', redis, 'cat', '/var/lib/huddle/secrets/redis-password'])).trim();
    assert.match(pw, /^[0-9a-f]{64}$/);
    const authed = await docker(['exec', '-e', `REDISCLI_AUTH=${pw}`, redis, 'redis-cli', '-s', socket, 'ping']);
    assert.equal(authed.trim(), 'PONG');
});

test('the backup of docs/deploy.md: the secrets and tls volumes leave and come back through the stack\'s own images', async () => {
    const dir = tmpDir('backup');
    const dc = `docker-compose -p ${project} -f ${path.join(ROOT, 'docker-compose.yml')}`;
    const [redis] = await containers('redis');
    const [nginx] = await containers('nginx');
    const password = () => docker(['exec', redis, 'cat', '/var/lib/huddle/secrets/redis-password']);
    const certificate = () => docker(['exec', nginx, 'cat', '/var/lib/huddle/tls/fullchain.pem']);
    const pw = await password();
    assert.equal(await certificate(), ca);
    try {
        const listed = {};
        for (const [service, volume] of [['redis', 'secrets'], ['nginx', 'tls']]) {
            const tarball = path.join(dir, `${volume}.tar`);
            await run('bash', ['-c', `${dc} run --rm --no-deps -T ${service} tar -C /var/lib/huddle/${volume} -cf - . > ${tarball}`]);
            listed[volume] = (await run('tar', ['-tf', tarball])).split('\n').filter(Boolean).sort();
            // The restore, into the volume emptied (the services read these
            // files at start only, and get them back at once).
            await compose(['run', '--rm', '--no-deps', '-T', service, 'bash', '-c', `rm -f /var/lib/huddle/${volume}/*`]);
            await run('bash', ['-c', `${dc} run --rm --no-deps -T ${service} tar -C /var/lib/huddle/${volume} -xf - < ${tarball}`]);
        }
        assert.deepEqual(listed, {
            secrets: ['./', './redis-password', './turn-secret'],
            tls: ['./', './fullchain.pem', './privkey.pem'],
        });
        // The backup holds what the services use, and the restore put it back.
        assert.equal(await run('tar', ['-xOf', path.join(dir, 'secrets.tar'), './redis-password']), pw);
        assert.equal(await run('tar', ['-xOf', path.join(dir, 'tls.tar'), './fullchain.pem']), ca);
        assert.equal(await password(), pw, 'the restore lost the password');
        assert.equal(await certificate(), ca, 'the restore lost the certificate');
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test('a TURN secret coturn could not hold as written is refused by the sidecar and coturn alike, with the rule', async () => {
    for (const service of ['sidecar', 'coturn']) {
        const [id] = await containers(service);
        const err = await docker(['exec', '-e', 'HUDDLE_TURN_SECRET=pass word!', id, 'huddle-entrypoint', service]).then(() => null, (e) => e);
        assert.ok(err, `${service} started with a secret coturn cannot hold`);
        assert.match(err.message, /entrypoint: HUDDLE_TURN_SECRET must be made of A-Z a-z 0-9 \. _ ~ \+ \/ = -/, service);
    }
});

test('the protocol over wss with members on both sidecars: presence, chat, signal, state, TURN', async () => {
    const room = uniqueRoom('compose');
    const people = [];
    const welcomes = [];
    const counts = async () => {
        const out = [];
        for (const id of await containers('sidecar')) out.push(await metric(id, 'huddle_sidecar_peers'));
        return out;
    };
    // nginx sends every websocket to the first address of Docker's DNS
    // answer and keeps that answer 5 s (docs/deploy.md, "Scaling"); Docker
    // shuffles the order between answers. Members who join within one
    // window share a sidecar, so a newcomer tries again, one window later,
    // until both sidecars hold some; one that lands where everyone is
    // leaves again, so the room stays under its cap (at most 8 windows:
    // 1 in 256 to fail by chance).
    const add = async () => {
        const p = await wssClient();
        welcomes.push(await p.join(room, `p${people.length}`));
        people.push(p);
    };
    for (let i = 0; i < 3; i++) await add();
    for (let round = 0; round < 8 && !(await counts()).every((n) => n > 0); round++) {
        await new Promise((r) => setTimeout(r, 5500));
        await add();
        if ((await counts()).every((n) => n > 0)) break;
        const extra = people.pop();
        const gone = welcomes.pop().id;
        extra.send({ type: 'leave' });
        for (const p of people) await p.next((m) => m.type === 'peer-left' && m.id === gone);
        extra.terminate();
    }
    while (people.length < 6) await add();
    assert.equal(welcomes.at(-1).peers.length, people.length - 1);
    for (let i = 0; i < people.length - 1; i++) {
        for (let j = i + 1; j < people.length; j++) {
            await people[i].next((m) => m.type === 'peer-joined' && m.peer.id === welcomes[j].id);
        }
    }
    const held = await counts();
    assert.equal(held.reduce((a, b) => a + b, 0) >= people.length, true, `peers per sidecar: ${held}`);
    assert.ok(held.every((n) => n > 0), `a sidecar holds nobody: ${held}`);

    people[0].send({ type: 'chat', text: 'hello everyone' });
    for (const p of people) assert.equal((await p.next('chat')).text, 'hello everyone');
    for (let j = 1; j < people.length; j++) {
        people[0].send({ type: 'signal', to: welcomes[j].id, data: { n: j } });
        const s = await people[j].next('signal');
        assert.deepEqual([s.from, s.data], [welcomes[0].id, { n: j }]);
    }
    people.at(-1).send({ type: 'state', audio: false, hand: true });
    for (const p of people.slice(0, -1)) {
        const s = await p.next('peer-state');
        assert.equal(s.peer.hand, true);
    }
    const ice = welcomes[0].iceServers.flatMap((s) => [].concat(s.urls).map((u) => ({ u, s })));
    const turn = ice.find(({ u }) => u === `turn:127.0.0.1:${ports.turn}?transport=udp`);
    assert.ok(turn, `no TURN url for the public host: ${JSON.stringify(welcomes[0].iceServers)}`);
    assert.match(turn.s.username, new RegExp(`^\\d+:${welcomes[0].id}$`));
    assert.ok(ice.some(({ u }) => u === `turns:127.0.0.1:${ports.turns}?transport=tcp`));
    for (const p of people) p.terminate();
});

test('the sidecars take nginx, and only the edge network, as their proxy', async () => {
    // Per-address limits must count people, not nginx: the sidecars trust
    // X-Forwarded-For from the edge network, which holds nginx and nothing
    // that is not ours (fcgi and Redis have no network at all).
    const subnet = '10.213.42.';
    const [nginx] = await containers('nginx');
    const nets = JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', nginx]));
    const edge = Object.entries(nets).filter(([name]) => name.endsWith('_edge'));
    assert.equal(Object.keys(nets).length, 1, `nginx is on ${Object.keys(nets)}`);
    assert.ok(edge[0][1].IPAddress.startsWith(subnet), edge[0][1].IPAddress);
    for (const id of await containers('sidecar')) {
        const sidecarNets = Object.keys(JSON.parse(await docker(['inspect', '-f', '{{json .NetworkSettings.Networks}}', id])));
        assert.deepEqual(sidecarNets.map((n) => n.replace(/^.*_/, '')), ['edge']);
    }
    for (const service of ['fcgi', 'redis']) {
        const [id] = await containers(service);
        assert.equal((await docker(['inspect', '-f', '{{.HostConfig.NetworkMode}}', id])).trim(), 'none', service);
    }
    const logs = await compose(['logs', '--no-color', 'sidecar']);
    assert.match(logs, /HUDDLE_TRUSTED_PROXIES=10\.213\.42\.0\/24/);
});

test('a third replica gets connections within seconds, nginx untouched', async () => {
    const [nginx] = await containers('nginx');
    const started = (await docker(['inspect', '-f', '{{.State.StartedAt}}', nginx])).trim();
    await compose(['up', '-d', '--no-recreate', '--scale', 'sidecar=3'], { timeoutMs: 120000 });
    const ids = await containers('sidecar');
    assert.equal(ids.length, 3);
    const newest = [];
    for (const id of ids) newest.push([(await docker(['inspect', '-f', '{{.Created}}', id])).trim(), id]);
    newest.sort();
    const fresh = newest.at(-1)[1];
    const deadline = Date.now() + 30000;
    let n = 0;
    let room;
    while ((await metric(fresh, 'huddle_sidecar_connections')) === 0) {
        assert.ok(Date.now() < deadline, `the new replica got no connection in 30 s (${n} tried)`);
        if (n % 6 === 0) room = uniqueRoom('scale'); // rooms hold 8 at most
        const c = await wssClient();
        await c.join(room, `s${n++}`);
        await sleep(200);
    }
    assert.equal((await docker(['inspect', '-f', '{{.State.StartedAt}}', nginx])).trim(), started, 'nginx was restarted');
    for (const c of clients.splice(0)) c.terminate();
});

/**
 * Once every member has seen every later one join, where each member's log
 * stands: settle() returns what came after.
 */
async function mark(members) {
    for (let i = 0; i < members.length; i++) {
        for (const later of members.slice(i + 1)) {
            await members[i].conn.next((x) => x.type === 'peer-joined' && x.peer.id === later.id);
        }
    }
    return members.map((m) => m.log.length);
}

/** Waits for every member's pending resume; returns the messages all saw since marks. */
async function settle(members, marks) {
    for (const m of members) if (m.resuming) await m.resuming;
    // One chat through everyone proves the room works again after the drain.
    members[0].conn.send({ type: 'chat', text: 'still here' });
    for (const m of members) await m.conn.next((x) => x.type === 'chat' && x.text === 'still here', 10000);
    return members.flatMap((m, i) => m.log.slice(marks[i]).map((x) => ({ ...x, seenBy: m.name })));
}

test('draining a replica: its members are closed 1012 and resume elsewhere, nobody sees a leave', async () => {
    const room = uniqueRoom('drain');
    const members = [];
    for (let i = 0; i < 8; i++) members.push(await member(room, `d${i}`));
    // The replica with the most members of this room is stopped (SIGTERM).
    let victim = null;
    let most = 0;
    for (const id of await containers('sidecar')) {
        const n = await metric(id, 'huddle_sidecar_peers');
        if (n > most) [victim, most] = [id, n];
    }
    assert.ok(most > 0);
    const marks = await mark(members);
    await docker(['stop', '-t', '10', victim], { timeoutMs: 60000 });
    const seen = await settle(members, marks);
    const drained = members.filter((m) => m.closes.includes(1012));
    assert.ok(drained.length > 0, 'nobody was on the stopped replica');
    for (const m of drained) assert.equal(m.resumes, 1, `${m.name} resumed ${m.resumes} times`);
    const noise = seen.filter((x) => x.type === 'peer-left' || x.type === 'peer-joined');
    assert.deepEqual(noise, [], 'someone saw a leave or a join during the drain');
    for (const m of members) { m.stopped = true; m.conn.terminate(); }
    await compose(['up', '-d', '--no-recreate'], { timeoutMs: 120000 }); // back to HUDDLE_SIDECARS
    assert.equal((await containers('sidecar')).length, 2);
});

test('a recreate of every sidecar (an upgrade, as docs/deploy.md runs it) keeps two and loses no meeting', async () => {
    const room = uniqueRoom('upgrade');
    const members = [];
    for (let i = 0; i < 6; i++) members.push(await member(room, `u${i}`));
    const before = await containers('sidecar');
    const marks = await mark(members);
    await compose(['up', '-d', '--no-deps', '--force-recreate', 'sidecar'], { timeoutMs: 180000 });
    const now = await containers('sidecar');
    assert.equal(now.length, 2, 'the upgrade kept HUDDLE_SIDECARS sidecars');
    assert.equal(now.filter((id) => before.includes(id)).length, 0, 'a sidecar was not recreated');
    const seen = await settle(members, marks);
    // Compose stops the replicas together (each drains) and starts the new
    // ones: a member resumes once a new one answers, maybe more than once
    // (a first try may find an old one still draining): same id each time.
    for (const m of members) assert.ok(m.resumes >= 1, `${m.name} never resumed (closes ${m.closes})`);
    const noise = seen.filter((x) => x.type === 'peer-left' || x.type === 'peer-joined');
    assert.deepEqual(noise, [], 'someone saw a leave or a join during the upgrade');
    for (const m of members) { m.stopped = true; m.conn.terminate(); }
});

test('Redis recreated (an upgrade): the sidecars reconnect on its socket, the meeting goes on, and the room stays locked', async () => {
    const room = uniqueRoom('redis');
    const members = [];
    for (let i = 0; i < 5; i++) members.push(await member(room, `r${i}`));
    // The first one in is the host, and locks the room: the lock is in
    // Redis' append-only file (the redis-data volume), so the new Redis
    // has it too.
    const host = members[0].conn;
    await host.send({ type: 'lock', locked: true });
    await host.next((m) => m.type === 'access' && m.locked === true);
    const marks = await mark(members);
    const sidecars = await containers('sidecar');
    const since = (await run('date', ['-u', '+%Y-%m-%dT%H:%M:%S.%NZ'])).trim();
    // The new Redis finds the old one's socket file in the volume and
    // replaces it; the sidecars see Redis gone and connect again.
    await compose(['up', '-d', '--no-deps', '--force-recreate', 'redis'], { timeoutMs: 120000 });
    const deadline = Date.now() + 60000;
    for (const id of sidecars) {
        // (The sidecar logs to stderr.)
        while (!/bus: connected to redis \/run\/huddle-redis\/redis\.sock/.test(await run('bash', ['-c', `docker logs --since ${since} ${id} 2>&1`]))) {
            if (Date.now() > deadline) assert.fail(`sidecar ${id} did not reconnect to the new Redis`);
            await sleep(500);
        }
    }
    // Joins work again (unavailable until the sidecars are back on Redis),
    // and the room is still locked: the newcomer knocks, the host admits
    // them, and they are told of everyone.
    let newcomer;
    let knock;
    for (let t = 0; !knock; t++) {
        newcomer = await wssClient();
        await newcomer.send({ type: 'join', room, name: 'newcomer' });
        const m = await newcomer.next((x) => x.type === 'knocking' || x.type === 'welcome' || x.type === 'error');
        assert.notEqual(m.type, 'welcome', 'the newcomer walked in: the new Redis lost the lock');
        if (m.type === 'knocking') {
            knock = m;
        } else {
            newcomer.terminate();
            if (t > 20) assert.fail(`the newcomer's join was answered ${JSON.stringify(m)}`);
            await sleep(500);
        }
    }
    await host.send({ type: 'admit', id: knock.id });
    const welcome = await newcomer.next('welcome');
    assert.deepEqual(welcome.peers.map((p) => p.id).sort(), members.map((m) => m.id).sort());
    const seen = await settle(members, marks);
    // The sidecars re-assert every member on the new Redis, and the
    // others may get that as a peer-joined for someone they list, which is
    // an update (docs/protocol.md, "roster"); nobody may be seen leaving,
    // and nobody but the newcomer is new.
    const ids = new Set([...members.map((m) => m.id), welcome.id]);
    const noise = seen.filter((x) => x.type === 'peer-left' || (x.type === 'peer-joined' && !ids.has(x.peer.id)));
    assert.deepEqual(noise, [], 'someone saw a leave or a stranger while Redis was recreated');
    newcomer.terminate();
    for (const m of members) { m.stopped = true; m.conn.terminate(); }
});

test('a sidecar killed as the OOM killer kills (SIGKILL) comes back by itself and takes members again', async () => {
    const room = uniqueRoom('oom');
    let a = await wssClient();
    await a.join(room, 'before');
    const [victim] = await containers('sidecar');
    const pid = Number((await docker(['inspect', '-f', '{{.State.Pid}}', victim])).trim());
    const restarts = Number((await docker(['inspect', '-f', '{{.RestartCount}}', victim])).trim());
    const comm = (await run('ps', ['-o', 'comm=', '-p', String(pid)])).trim();
    assert.equal(comm, 'huddle-sidecar', 'the container\'s first process is the sidecar itself');
    process.kill(pid, 'SIGKILL');
    const deadline = Date.now() + 60000;
    for (;;) {
        const [n, health] = (await docker(['inspect', '-f', '{{.RestartCount}} {{.State.Health.Status}}', victim])).trim().split(' ');
        if (Number(n) > restarts && health === 'healthy') break;
        if (Date.now() > deadline) assert.fail(`the killed sidecar is not back: restarts ${n}, ${health}`);
        await sleep(500);
    }
    // The member may have been on the killed replica, and nginx need not have
    // noticed yet (the page would by its pings): it joins afresh.
    a.terminate();
    a = await wssClient();
    await a.join(room, 'watcher');
    // Both replicas take joins again: 10 newcomers through nginx are spread
    // over both, and a member of the room hears of each who joins it.
    const before = await metric(victim, 'huddle_sidecar_peers');
    const joined = [];
    // (Half of them in a second room: the first may still count the seat of
    // a member of the killed replica until the reaper ends it.)
    const room2 = uniqueRoom('oom');
    for (let i = 0; i < 10; i++) {
        const c = await wssClient();
        await c.join(i < 5 ? room : room2, `after${i}`);
        joined.push(c);
        if (i < 5) await a.next((m) => m.type === 'peer-joined' && m.peer.name === `after${i}`);
    }
    assert.ok((await metric(victim, 'huddle_sidecar_peers')) > before, 'the restarted replica got no member');
    for (const c of [a, ...joined]) c.terminate();
});

test('two Chromium participants over https, relayed by the stack\'s coturn, see each other', async () => {
    const browser = await launch();
    try {
        const url = `https://localhost:${ports.https}/${uniqueRoom('browser')}`;
        // Relay every candidate through TURN (a test-only init script), so
        // video flowing proves coturn accepts the sidecar's credentials,
        // made with the secret generated at first start.
        const opts = { context: { ignoreHTTPSErrors: true }, init: relayOnly };
        const ann = await newParticipant(browser, url, 'Ann', opts);
        const bob = await newParticipant(browser, url, 'Bob', opts);
        await ann.join();
        await bob.join();
        await waitForPlayingVideo(ann.page, 'Bob', 45000);
        await waitForPlayingVideo(bob.page, 'Ann', 45000);
        for (const p of [ann, bob]) {
            const [s] = await linkInfo(p.page);
            assert.equal(s.policy, 'relay');
            assert.deepEqual([s.localType, s.remoteType], ['relay', 'relay'], `${p.name}: ${JSON.stringify(s)}`);
            assert.ok(s.turnUrls.includes(`turn:127.0.0.1:${ports.turn}?transport=udp`), JSON.stringify(s.turnUrls));
        }
        assert.deepEqual(ann.errors(), []);
        assert.deepEqual(bob.errors(), []);
    } finally {
        await browser.close();
    }
});

test('every service stops on SIGTERM, coturn too (Docker\'s init passes it on): none is killed at the stop timeout', async () => {
    // Last: it stops the stack. Before, coturn (turnserver as PID 1, which
    // has no SIGTERM handler) ignored the signal and was killed (137).
    await compose(['stop', '-t', '20'], { timeoutMs: 180000 });
    for (const service of ['nginx', 'fcgi', 'sidecar', 'redis', 'coturn']) {
        for (const id of await containers(service)) {
            const code = Number((await docker(['inspect', '-f', '{{.State.ExitCode}}', id])).trim());
            assert.notEqual(code, 137, `${service} was killed`);
        }
    }
});
