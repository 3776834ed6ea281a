// One package list (scripts/packages.txt) for the local scripts and the
// images: the Dockerfile (through packages.sh --install, which the compose
// test builds for real) and scripts/deps.sh name no package themselves,
// every role they ask for exists, and each runtime role holds every Debian
// package whose shared library the built binary links (so an image that
// installs only its role can run its program).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../lib/stack.mjs';

// The release build (make test builds it too): what the images ship.
const RELEASE = path.join(ROOT, 'build');

const read = (f) => fs.readFileSync(path.join(ROOT, f), 'utf8');
const packages = (...roles) => execFileSync(path.join(ROOT, 'scripts/packages.sh'), roles, { encoding: 'utf8' })
    .trim().split(/\s+/).filter(Boolean);
const roles = [...new Set(read('scripts/packages.txt').split('\n')
    .filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.split(/\s+/)[0]))];

test('the Dockerfile installs packages only through packages.sh, and every role it asks for exists', () => {
    const dockerfile = read('Dockerfile');
    assert.doesNotMatch(dockerfile, /apt-get/, 'the Dockerfile runs apt-get itself');
    const installs = [...dockerfile.matchAll(/packages\.sh --install ([a-z-]+)/g)].map((m) => m[1]);
    assert.deepEqual(installs.sort(), ['build', 'coturn', 'fcgi', 'nginx', 'redis', 'sidecar']);
    for (const role of installs) assert.ok(roles.includes(role), `no role ${role} in packages.txt`);
});

test('deps.sh reads the same list for make run and make test', () => {
    const deps = read('scripts/deps.sh');
    assert.match(deps, /scripts\/packages\.sh "\$\{roles\[@\]\}"/);
    const used = [...deps.matchAll(/^(run|test)\) roles=\(([^)]*)\)/gm)].map((m) => m[2].split(/\s+/)).flat();
    for (const r of used) assert.ok(roles.includes(r), `deps.sh asks for role ${r}`);
    // Whatever an image installs, make run installs too (same programs locally).
    const runRoles = deps.match(/^run\) roles=\(([^)]*)\)/m)[1].split(/\s+/);
    for (const r of ['build', 'fcgi', 'sidecar', 'nginx', 'redis']) assert.ok(runRoles.includes(r), `make run lacks ${r}`);
    assert.doesNotMatch(deps, /apt-get install[^\n]*\b(nginx|redis|lib[a-z0-9-]+)\b/, 'deps.sh names a package itself');
});

test('packages.sh refuses an unknown role', () => {
    assert.throws(() => execFileSync(path.join(ROOT, 'scripts/packages.sh'), ['no-such-role'], { stdio: 'pipe' }),
        (err) => err.status === 2 && /no role 'no-such-role'/.test(err.stderr.toString()));
});

/** The Debian package that ships the file at path (usrmerge-aware). */
function owner(file) {
    const real = fs.realpathSync(file);
    const candidates = [file, real, real.replace(/^\/usr/, ''), `/usr${real}`];
    for (const c of candidates) {
        try {
            return execFileSync('dpkg', ['-S', c], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
                .split(':')[0];
        } catch { /* try the next spelling */ }
    }
    throw new Error(`no package owns ${file}`);
}

for (const [role, binary] of [['fcgi', 'fcgi/huddle-fcgi'], ['sidecar', 'sidecar/huddle-sidecar']]) {
    test(`the ${role} role holds every library huddle-${role} links`, () => {
        const bin = path.join(RELEASE, binary);
        const ldd = execFileSync('ldd', [bin], { encoding: 'utf8' });
        const libs = [...ldd.matchAll(/=> (\/\S+)/g)].map((m) => m[1]);
        assert.ok(libs.length > 0);
        const have = new Set(packages(role));
        // libc6 and friends are in every Debian image (Essential: yes).
        const essential = new Set(['libc6', 'libgcc-s1', 'zlib1g']);
        const missing = [...new Set(libs.map(owner))].filter((p) => !have.has(p) && !essential.has(p));
        assert.deepEqual(missing, [], `huddle-${role} links libraries from packages its role lacks`);
    });
}

test('the sidecar role brings the libuv event-lib plugin lws loads at run time', () => {
    // Not visible to ldd: libwebsockets dlopens it for LWS_SERVER_OPTION_LIBUV.
    assert.ok(packages('sidecar').includes('libwebsockets-evlib-uv'));
});
