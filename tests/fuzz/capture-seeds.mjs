// Records real inputs for the fuzz corpora (tests/fuzz/corpus/): three
// Chromium participants (fake camera and microphone) in one room on two
// sidecars through nginx and Redis, chatting, muting, raising a hand, one
// sidecar drained mid-call (its people resume on the other), one person
// leaving. It keeps:
//   msg      every kind of client message the browsers sent (join, resume,
//            signal with a real SDP offer and answer and ICE candidates,
//            chat, state, leave, ping)
//   bus_url  the Redis URL and envelopes read from the pub/sub connection
//   bus_reply the Lua scripts' replies (join, resume, room) as the RESP
//            bytes redis-server sent, recorded by a TCP tap between the
//            sidecars and Redis
//   cluster  the room- and node-channel messages inside those envelopes
//   tpl      the page templates of views/ with a hostile room and name
// Each file gets the harness's selector byte in front, where it has one
// (see README.md). Not
// part of make test (it needs minutes and a browser); run it by hand after a
// protocol change, review the diff, commit:
//   HUDDLE_BUILD_DIR=build node tests/fuzz/capture-seeds.mjs [outdir]
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort, startFcgi, startNginx, startRedis, startSidecar, stopAll, ROOT } from '../lib/stack.mjs';
import { launch, newParticipant, waitForPlayingVideo, remoteNames } from '../lib/browser.mjs';

const OUT = process.argv[2] || path.join(ROOT, 'tests', 'fuzz', 'seeds');

/** One complete RESP value at buf[off..]: { end, value } or null if cut. */
function resp(buf, off) {
    const eol = buf.indexOf('\r\n', off);
    if (eol < 0) return null;
    const head = buf.toString('latin1', off + 1, eol);
    const t = String.fromCharCode(buf[off]);
    if (t === '+' || t === '-' || t === ':') return { end: eol + 2, value: t === ':' ? Number(head) : head };
    const n = Number(head);
    if (t === '$') {
        if (n < 0) return { end: eol + 2, value: null };
        if (buf.length < eol + 2 + n + 2) return null;
        return { end: eol + 2 + n + 2, value: buf.subarray(eol + 2, eol + 2 + n) };
    }
    if (t === '*') {
        const value = [];
        let at = eol + 2;
        for (let i = 0; i < n; i++) {
            const e = resp(buf, at);
            if (!e) return null;
            value.push(e.value);
            at = e.end;
        }
        return { end: at, value };
    }
    throw new Error(`not RESP at ${off}: ${buf.toString('latin1', off, off + 20)}`);
}

/** Splits a byte stream into its RESP values, each with its raw bytes. */
function frames(buf) {
    const out = [];
    for (let off = 0; off < buf.length;) {
        const e = resp(buf, off);
        if (!e) break;
        out.push({ value: e.value, raw: buf.subarray(off, e.end) });
        off = e.end;
    }
    return out;
}

/** A TCP tap in front of redis-server that keeps both directions. */
async function startTap(redisPort) {
    const port = await freePort();
    const conns = [];
    const server = net.createServer((c) => {
        const rec = { up: [], down: [] };
        conns.push(rec);
        const r = net.connect(redisPort, '127.0.0.1');
        c.on('data', (d) => { rec.up.push(d); r.write(d); });
        r.on('data', (d) => { rec.down.push(d); c.write(d); });
        c.on('close', () => r.destroy());
        r.on('close', () => c.destroy());
        c.on('error', () => r.destroy());
        r.on('error', () => c.destroy());
    });
    await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
    return { port, conns, close: () => new Promise((resolve) => server.close(resolve)) };
}

const kinds = new Map(); // target -> Map(name -> Buffer)
function keep(target, name, bytes) {
    if (!kinds.has(target)) kinds.set(target, new Map());
    const m = kinds.get(target);
    if (!m.has(name)) m.set(name, Buffer.from(bytes));
}
const sel = (b, body) => Buffer.concat([Buffer.from([b]), Buffer.from(body)]);

/** Names a client message by what it is. */
function msgKind(m) {
    if (m.type === 'join') return m.resume ? 'join_resume' : 'join';
    if (m.type !== 'signal') return m.type;
    const d = m.data || {};
    if (d.description) return `signal_${d.description.type}`;
    if (d.candidate) {
        const c = d.candidate.candidate || '';
        if (!c) return 'signal_candidate_end';
        const typ = (c.match(/ typ (\w+)/) || [])[1];
        const proto = (c.match(/^candidate:\S+ \d+ (\w+)/) || [])[1];
        return `signal_candidate_${typ}_${proto}`.toLowerCase();
    }
    return `signal_${Object.keys(d)[0] || 'empty'}`;
}

/** Names a server message (room or node channel) by its type. */
function serverKind(m) {
    if (m.type === 'signal') return msgKind(m).replace(/^signal/, 'signal');
    return m.type;
}

async function main() {
    const procs = [];
    const redis = await startRedis();
    procs.push(redis);
    const tap = await startTap(redis.port);
    const redisUrl = `redis://127.0.0.1:${tap.port}`;
    const fcgi = await startFcgi();
    procs.push(fcgi);
    const scs = [];
    for (const id of ['node1', 'node2']) {
        const s = await startSidecar({ env: { HUDDLE_NODE_ID: id, HUDDLE_REDIS_URL: redisUrl } });
        await s.waitForOutput(/redis up as node/);
        procs.push(s);
        scs.push(s);
    }
    const nginx = await startNginx({ fcgiAddr: fcgi.nginxAddr, sidecarAddrs: scs.map((s) => s.addr) });
    procs.push(nginx);
    const browser = await launch();
    const sent = [];
    try {
        const url = `${nginx.url}/seed-room`;
        const people = [];
        for (const name of ['Ana', 'Bérénice', 'Chidi 😀']) {
            const p = await newParticipant(browser, url, name);
            p.page.on('websocket', (ws) => ws.on('framesent', (f) => sent.push(String(f.payload))));
            await p.join();
            people.push(p);
        }
        for (const p of people) {
            for (const q of people) if (p !== q) await waitForPlayingVideo(p.page, q.name);
        }
        const [a, b, c] = people;
        await a.page.click('#btn-chat');
        await a.page.fill('#chat-input', 'Bonjour à tous — agenda in the doc 📄');
        await a.page.press('#chat-input', 'Enter');
        await b.page.click('#btn-mic');
        await c.page.click('#btn-hand');
        // Drain node1 as a deploy does: its people resume on node2.
        await scs[0].stop();
        for (const p of people) {
            await p.page.waitForFunction((n) => document.querySelectorAll('#grid .tile:not(.local)').length === n, 2,
                { timeout: 30000 });
        }
        await b.page.click('#btn-chat');
        await b.page.fill('#chat-input', 'still here after the restart');
        await b.page.press('#chat-input', 'Enter');
        await c.page.click('#btn-leave');
        await a.page.waitForFunction(() => document.querySelectorAll('#grid .tile:not(.local)').length === 1);
        console.log('roster of Ana at the end:', await remoteNames(a.page));
    } finally {
        await browser.close();
        await stopAll(procs.filter((p) => p.running)).catch((e) => console.error(e.message));
        await tap.close();
    }

    // Client messages from the browsers (plus one ping of the protocol).
    for (const s of sent) {
        let m;
        try { m = JSON.parse(s); } catch { continue; }
        keep('msg', `chromium_${msgKind(m)}`, s);
    }

    // What went through Redis: the URL, replies to the scripts, envelopes.
    keep('bus_url', 'url_tests', sel(0, redisUrl));
    for (const conn of tap.conns) {
        const cmds = frames(Buffer.concat(conn.up));
        const replies = frames(Buffer.concat(conn.down));
        const subscriber = cmds.some((f) => Array.isArray(f.value) && /^p?subscribe$/i.test(String(f.value[0])));
        if (!subscriber) {
            const shaName = new Map();
            cmds.forEach((f, i) => {
                const v = f.value;
                const r = replies[i];
                if (!r || !Array.isArray(v) || String(v[0]).toUpperCase() !== 'EVALSHA') return;
                if (!Array.isArray(r.value) || !Buffer.isBuffer(r.value[0])) return;
                // Told apart by the shape of a seat's answer (bus_lua.h):
                // join {st, members, chat, access}, resume the same and
                // {peer, old node, peer json, moves}, room {st, members, chat}.
                const script = { 4: 'join', 8: 'resume', 3: 'room' }[r.value.length] || `reply${r.value.length}`;
                shaName.set(String(v[1]), script);
                const status = r.value[0].toString();
                const members = Array.isArray(r.value[1]) ? r.value[1].length / 3 : 0;
                keep('bus_reply', `redis_${script}_${status}_${members}members`, r.raw);
            });
            continue;
        }
        for (const f of replies) {
            const v = f.value;
            if (!Array.isArray(v) || String(v[0]) !== 'message') continue;
            const channel = String(v[1]);
            const payload = v[2];
            const origin = payload.toString().match(/^\{"origin":"([^"]*)"/);
            const inner = payload.subarray(payload.indexOf(',"msg":') + 7, payload.length - 1);
            let m;
            try { m = JSON.parse(inner.toString()); } catch { continue; }
            const room = channel.startsWith('huddle:ch:room:');
            const kind = room ? serverKind(m) : `node_${serverKind(m.msg || {})}`;
            keep('bus_url', `redis_envelope_${origin && origin[1] ? 'node' : 'reaper'}_${kind}`, sel(1, payload));
            if (room) keep('cluster', `redis_room_${kind}`, sel(0, inner));
            else if (channel.startsWith('huddle:ch:node:') && m.room) keep('cluster', `redis_${kind}`, sel(1, inner));
        }
    }

    // The templates as fcgi reads them, values split at 0x01 (fuzz_tpl.c).
    for (const page of ['room', '404']) {
        const text = fs.readFileSync(path.join(ROOT, 'views', `${page}.html`));
        keep('tpl', `views_${page}`, Buffer.concat([text, Buffer.from('\0team-standup\x01<b>"Ann" & \'co\'</b>\x01x')]));
    }

    for (const [target, files] of kinds) {
        const dir = path.join(OUT, target);
        fs.mkdirSync(dir, { recursive: true });
        for (const [name, bytes] of files) {
            fs.writeFileSync(path.join(dir, name.replace(/[^A-Za-z0-9_-]/g, '_')), bytes);
        }
        console.log(`${target}: ${[...files.keys()].join(' ')}`);
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
