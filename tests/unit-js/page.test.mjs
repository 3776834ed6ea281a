// views/room.html, the modules of public/ and their bundle in public/dist/
// (scripts/assets.sh, run by make): the page loads the bundle and nothing
// else, every module is part of it, and the bundle on disk was built from
// the modules as they are now, so a page test never runs stale code; its
// compressed copies hold the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
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

test('room.html loads the bundle, one stylesheet and one script', () => {
    const html = read('views/room.html');
    const refs = [...html.matchAll(/<(?:link|script)\b[^>]*\b(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
    assert.deepEqual(refs, ['/assets/favicon.svg', '/assets/dist/app.css', '/assets/dist/app.js']);
    assert.match(html, /<script type="module" src="\/assets\/dist\/app\.js"><\/script>/);
});

test('the error pages use the bundle\'s stylesheet', () => {
    const pages = ['views/404.html', ...fs.readdirSync(path.join(ROOT, 'public/errors')).map((f) => `public/errors/${f}`)];
    for (const p of pages) assert.match(read(p), /<link rel="stylesheet" href="\/assets\/dist\/app\.css">/, p);
});

/** The files of public/ a map of public/dist/ was built from, each with
 * the text it had then: [[relative path, text]]. */
function mapped(mapFile) {
    const map = JSON.parse(read(`public/dist/${mapFile}`));
    return map.sources.map((s, i) => [path.relative(path.join(ROOT, 'public'), path.resolve(ROOT, 'public/dist', s)), map.sourcesContent[i]]);
}

/** The catalogues other than English's, each a chunk of the bundle. */
const LANG_FILES = fs.readdirSync(path.join(ROOT, 'public/i18n')).filter((f) => f !== 'en.js');

test('the bundle on disk holds every module of the page, as each is now (make builds it)', () => {
    assert.ok(fs.existsSync(path.join(ROOT, 'public/dist/app.js')), 'public/dist/app.js missing: run make');
    const [js, css] = [mapped('app.js.map'), mapped('app.css.map')];
    assert.deepEqual(js.map(([f]) => f).sort(), [...closure('app.js'), 'app.js'].sort());
    assert.deepEqual(css.map(([f]) => f), ['app.css']);
    const built = [...js, ...css, ...LANG_FILES.flatMap((f) => mapped(`${f}.map`))];
    for (const [f, text] of built) assert.ok(text === read(`public/${f}`), `public/${f} changed since the bundle was built: run make`);
});

test('each script and stylesheet of the bundle has its compressed copy, of the same bytes (nginx sends it as it is)', () => {
    const files = fs.readdirSync(path.join(ROOT, 'public/dist')).filter((f) => /\.(js|css)$/.test(f));
    assert.ok(files.includes('app.js') && files.includes('app.css'), 'public/dist/ without app.js or app.css: run make');
    for (const f of files) {
        const gz = path.join(ROOT, 'public/dist', `${f}.gz`);
        assert.ok(fs.existsSync(gz), `public/dist/${f}.gz missing: run make`);
        assert.ok(zlib.gunzipSync(fs.readFileSync(gz)).equals(fs.readFileSync(path.join(ROOT, 'public/dist', f))), `public/dist/${f}.gz is not ${f}: run make`);
    }
});

test('each language but English is a file of its own in the bundle, loaded only by its page', () => {
    const chunks = fs.readdirSync(path.join(ROOT, 'public/dist')).filter((f) => f.endsWith('.js') && f !== 'app.js');
    assert.deepEqual(chunks.sort(), [...LANG_FILES].sort());
    const app = read('public/dist/app.js');
    for (const c of chunks) assert.ok(app.includes(`import("./${c}")`), `app.js does not load ${c} lazily`);
    assert.doesNotMatch(app, /(?:^|[;}])import\s*["{*]|^import\s/m, 'the bundle imports a file at load time');
});

// Modules written before the page code that uses them (tested on their
// own in tests/unit-js/): each leaves this list in the change that imports it.
const NOT_YET_IMPORTED = new Set();

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
