// scripts/render-coturn.sh, the one place coturn's configuration is made
// (make run's coturn, the compose stack's, the tests'): its defaults, which
// a real coturn starts with, and a clear error and no file for bad input.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { Proc, ROOT, freePort, tmpDir, waitForConnect } from '../lib/stack.mjs';

const SCRIPT = path.join(ROOT, 'scripts', 'render-coturn.sh');

/** Runs the script with env (and PATH) only; returns its status, stderr and the lines it wrote. */
function render(env) {
    const file = path.join(tmpDir('coturn-conf'), 'turnserver.conf');
    const r = spawnSync(SCRIPT, [file], { encoding: 'utf8', env: { PATH: process.env.PATH, ...env } });
    const lines = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').split('\n') : null;
    return { status: r.status, stderr: r.stderr, lines, file };
}

test('by default the relay range is coturn\'s own, 49152-65535, wide enough for many meetings', () => {
    const r = render({ TURN_SECRET: 'north-wind' });
    assert.equal(r.status, 0, r.stderr);
    for (const line of ['min-port=49152', 'max-port=65535', 'total-quota=16384', 'user-quota=128',
        'use-auth-secret', 'static-auth-secret=north-wind', 'no-tcp-relay', 'no-tls', 'no-dtls',
        'denied-peer-ip=10.0.0.0-10.255.255.255', 'denied-peer-ip=169.254.0.0-169.254.255.255']) {
        assert.ok(r.lines.includes(line), `${line} missing`);
    }
    assert.equal(r.lines.includes('allow-loopback-peers'), false);
    assert.equal(fs.statSync(r.file).mode & 0o777, 0o600, 'the file holds the secret');
});

test('a real coturn starts with the default relay range', async () => {
    const dir = tmpDir('coturn-default');
    const port = await freePort();
    const conf = path.join(dir, 'turnserver.conf');
    const r = spawnSync(SCRIPT, [conf], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, TURN_SECRET: 'north-wind', TURN_LISTEN_IP: '127.0.0.1', TURN_RELAY_IP: '127.0.0.1',
            TURN_PORT: String(port), TURN_PIDFILE: path.join(dir, 'turnserver.pid') },
    });
    assert.equal(r.status, 0, r.stderr);
    const coturn = new Proc('coturn', 'turnserver', ['-c', conf]);
    try {
        await Promise.race([waitForConnect({ port }), coturn.exited.then(() => {
            throw new Error(`turnserver exited:\n${coturn.tail()}`);
        })]);
        assert.doesNotMatch(coturn.output, /ERROR|CONFIG ERROR|Bad configuration/i, coturn.tail());
    } finally {
        await coturn.stop();
    }
});

test('bad settings are refused with the setting named, and no file is left', () => {
    const cases = [
        [{}, /TURN_SECRET is not set/],
        [{ TURN_SECRET: 'a b' }, /TURN_SECRET: use letters/],
        [{ TURN_SECRET: 's', TURN_MIN_PORT: '50000', TURN_MAX_PORT: '40000' }, /TURN_MIN_PORT=50000 is above TURN_MAX_PORT=40000/],
        [{ TURN_SECRET: 's', TURN_PORT: '0' }, /TURN_PORT=0 is not a port/],
        [{ TURN_SECRET: 's', TURN_MAX_PORT: '70000' }, /TURN_MAX_PORT=70000 is not a port/],
        [{ TURN_SECRET: 's', TURN_USER_QUOTA: 'many' }, /TURN_USER_QUOTA and TURN_TOTAL_QUOTA must be numbers/],
        [{ TURN_SECRET: 's', TURN_REALM: 'a/b' }, /TURN_REALM=a\/b/],
        [{ TURN_SECRET: 's', TURN_CERT: '/nonexistent.pem', TURN_KEY: '/nonexistent.key' }, /TURN_CERT=\/nonexistent.pem is not readable/],
    ];
    for (const [env, message] of cases) {
        const r = render(env);
        assert.equal(r.status, 2, JSON.stringify(env));
        assert.match(r.stderr, message);
        assert.match(r.stderr, /^render-coturn: /);
        assert.equal(r.lines, null, `${JSON.stringify(env)} left a file`);
    }
});
