// views/room.html and the modules of public/: the page preloads exactly the
// modules app.js pulls in, so adding a module without its preload (an extra
// round trip before Join works) or leaving a stale preload fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p) => fs.readFileSync(path.join(ROOT, p), 'utf8');

/** The relative modules file imports, e.g. ['./signal.js']. */
function importsOf(file) {
    return [...read(`public/${file}`).matchAll(/^import\s[^'"]*['"](\.\/[^'"]+)['"]/gm)].map((m) => m[1].slice(2));
}

/** Every module reachable from entry through imports (entry left out). */
function closure(entry) {
    const seen = new Set();
    const queue = [entry];
    while (queue.length) {
        for (const dep of importsOf(queue.shift())) {
            if (!seen.has(dep)) {
                seen.add(dep);
                queue.push(dep);
            }
        }
    }
    return seen;
}

test('room.html preloads every module app.js imports, and nothing else', () => {
    const html = read('views/room.html');
    const preloaded = [...html.matchAll(/<link rel="modulepreload" href="\/assets\/([^"]+)">/g)].map((m) => m[1]);
    assert.equal(new Set(preloaded).size, preloaded.length, 'a module preloaded twice');
    assert.deepEqual([...preloaded].sort(), [...closure('app.js')].sort());
    assert.match(html, /<script type="module" src="\/assets\/app\.js"><\/script>/);
});

// Modules written before the page code that uses them (tested on their
// own in tests/unit-js/): each leaves this list in the change that imports it.
const NOT_YET_IMPORTED = new Set(['governor.js']);

test('every script in public/ is part of the page', () => {
    const used = closure('app.js');
    used.add('app.js');
    const scripts = fs.readdirSync(path.join(ROOT, 'public')).filter((f) => f.endsWith('.js'));
    assert.deepEqual(scripts.filter((f) => !used.has(f) && !NOT_YET_IMPORTED.has(f)), []);
    for (const f of NOT_YET_IMPORTED) {
        assert.ok(scripts.includes(f), `${f} is not in public/: take it off NOT_YET_IMPORTED`);
        assert.ok(!used.has(f), `the page imports ${f} now: take it off NOT_YET_IMPORTED`);
    }
});
