// A real coturn for the tests: Debian's turnserver configured by
// scripts/render-coturn.sh on 127.0.0.1, with a shared secret for the
// REST-API credentials a sidecar hands out (HUDDLE_TURN_SECRET) and a
// relay port range of its own.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import path from 'node:path';
import { Proc, ROOT, freePort, tmpDir, waitForConnect } from './stack.mjs';

/** A free UDP port range of n ports (checked by binding each). */
async function freeUdpRange(n) {
    for (let tries = 0; tries < 20; tries++) {
        const base = 40000 + Math.floor(Math.random() * 8000);
        const socks = [];
        let ok = true;
        for (let p = base; p < base + n && ok; p++) {
            const s = dgram.createSocket('udp4');
            ok = await new Promise((resolve) => {
                s.once('error', () => resolve(false));
                s.bind(p, '127.0.0.1', () => resolve(true));
            });
            socks.push(s);
        }
        for (const s of socks) { try { s.close(); } catch { /* not bound */ } }
        if (ok) return base;
    }
    throw new Error('no free UDP port range');
}

/**
 * Runs scripts/render-coturn.sh (the one generator of coturn's
 * configuration) with env and PATH only, into a file in a directory of its
 * own. Returns { status, stderr, file, lines: the file's lines, or null
 * when it left none }.
 */
export function renderCoturn(env) {
    const file = path.join(tmpDir('coturn-conf'), 'turnserver.conf');
    const r = spawnSync(path.join(ROOT, 'scripts', 'render-coturn.sh'), [file], {
        encoding: 'utf8', env: { PATH: process.env.PATH, ...env },
    });
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : null;
    return { status: r.status, stderr: r.stderr, file, lines };
}

/** turnserver with the configuration file conf; resolves once it accepts TCP on port. */
export async function runCoturn(conf, port) {
    const proc = new Proc('coturn', 'turnserver', ['-c', conf]);
    await Promise.race([waitForConnect({ port }), proc.exited.then(() => {
        throw new Error(`turnserver exited at start:\n${proc.tail()}`);
    })]);
    return proc;
}

// The tests' relay range: room for several pages' allocations and their UDP checks.
const RELAY_PORTS = 200;

/**
 * coturn on 127.0.0.1 with secret; resolves once it accepts TCP. The Proc
 * also gives port, urls (for HUDDLE_TURN_URLS) and relayPorts ([lo, hi], the
 * ports of its relayed candidates).
 */
export async function startCoturn(secret) {
    const port = await freePort();
    const min = await freeUdpRange(RELAY_PORTS);
    const max = min + RELAY_PORTS - 1;
    const r = renderCoturn({
        TURN_SECRET: secret, TURN_LISTEN_IP: '127.0.0.1', TURN_RELAY_IP: '127.0.0.1',
        TURN_PORT: String(port), TURN_MIN_PORT: String(min), TURN_MAX_PORT: String(max),
        TURN_ALLOW_LOOPBACK: '1', TURN_PIDFILE: path.join(tmpDir('coturn'), 'turnserver.pid'),
    });
    assert.equal(r.status, 0, r.stderr);
    const proc = await runCoturn(r.file, port);
    proc.port = port;
    proc.urls = `turn:127.0.0.1:${port}?transport=udp,turn:127.0.0.1:${port}?transport=tcp`;
    proc.relayPorts = [min, max];
    return proc;
}
