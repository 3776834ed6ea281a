// scripts/render-coturn.sh, the one place coturn's configuration is made
// (make run's coturn, the compose stack's, the tests'): its defaults, which
// a real coturn starts with, and a clear error and no file for bad input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { renderCoturn as render, runCoturn } from '../lib/coturn.mjs';
import { freePort, tmpDir } from '../lib/stack.mjs';

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

test('with a certificate TLS and DTLS listen on TURNS_PORT; TURNS_PORT=0 turns them off, as the sidecars\' HUDDLE_TURNS_PORT=0 drops turns:', () => {
    const dir = tmpDir('coturn-cert');
    const [cert, key] = [path.join(dir, 'c.pem'), path.join(dir, 'k.pem')];
    fs.writeFileSync(cert, 'x');
    fs.writeFileSync(key, 'x');
    let r = render({ TURN_SECRET: 's', TURN_CERT: cert, TURN_KEY: key, TURNS_PORT: '5350' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.lines.includes('tls-listening-port=5350'));
    assert.equal(r.lines.includes('no-tls'), false);
    r = render({ TURN_SECRET: 's', TURN_CERT: cert, TURN_KEY: key, TURNS_PORT: '0' });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.lines.includes('no-tls') && r.lines.includes('no-dtls'));
    assert.equal(r.lines.some((l) => l.startsWith('tls-listening-port')), false);
});

test('a real coturn starts with the default relay range', async () => {
    const port = await freePort();
    const r = render({ TURN_SECRET: 'north-wind', TURN_LISTEN_IP: '127.0.0.1', TURN_RELAY_IP: '127.0.0.1',
        TURN_PORT: String(port), TURN_PIDFILE: path.join(tmpDir('coturn-default'), 'turnserver.pid') });
    assert.equal(r.status, 0, r.stderr);
    assert.ok(r.lines.includes('min-port=49152') && r.lines.includes('max-port=65535'));
    const coturn = await runCoturn(r.file, port);
    try {
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
        [{ TURN_SECRET: 's', TURNS_PORT: '-1' }, /TURNS_PORT=-1 is not a port/],
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
