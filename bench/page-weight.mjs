#!/usr/bin/env node
// Page weight: fetches a room page through nginx with Accept-Encoding: gzip,
// then every asset it loads (HTML src/href, JS static imports, CSS url()),
// and prints the bytes on the wire for each and the total. Target: <= 60 KB
// in total, and no third-party URL. Files the page imports lazily (import("…"):
// the catalogue of a language other than English) are fetched and printed
// apart, each with what it adds to a page in that language.
//
//   node bench/page-weight.mjs             # starts its own stack (HUDDLE_BUILD_DIR or build/)
//   node bench/page-weight.mjs http://127.0.0.1:8080/some-room
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import { startStack } from '../tests/lib/stack.mjs';

function get(url) {
    return new Promise((resolve, reject) => {
        const lib = url.startsWith('https:') ? https : http;
        const req = lib.get(url, { headers: { 'Accept-Encoding': 'gzip' } }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const raw = Buffer.concat(chunks);
                const gz = res.headers['content-encoding'] === 'gzip';
                resolve({ status: res.statusCode, wire: raw.length, gz, body: (gz ? zlib.gunzipSync(raw) : raw).toString('utf8') });
            });
        });
        req.on('error', reject);
    });
}

/** What body (at path) loads: { now, lazy }, each a list of references. */
function references(path, body) {
    const now = [];
    const lazy = [];
    if (path.endsWith('.js')) {
        for (const m of body.matchAll(/\b(?:import|export)\b[^'"(]*?from\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]/g)) now.push(m[1] || m[2]);
        for (const m of body.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) lazy.push(m[1]);
    } else if (path.endsWith('.css')) {
        for (const m of body.matchAll(/url\(\s*['"]?([^'")]+)['"]?\s*\)/g)) now.push(m[1]);
    } else {
        for (const m of body.matchAll(/\b(?:src|href)\s*=\s*"([^"]*)"/g)) if (m[1]) now.push(m[1]);
    }
    const keep = (r) => !r.startsWith('data:') && !r.startsWith('#');
    return { now: now.filter(keep), lazy: lazy.filter(keep) };
}

async function main() {
    let stack = null;
    let page = process.argv[2];
    if (!page) {
        stack = await startStack({ sidecars: 1 });
        page = `${stack.url}/page-weight-room`;
    }
    const origin = new URL(page).origin;
    const seen = new Set();
    const queue = [page];
    const rows = [];
    const lazyRows = [];
    const lazy = new Set();
    const foreign = [];
    const fetchRow = async (url) => {
        const r = await get(url);
        return { path: new URL(url).pathname, status: r.status, wire: r.wire, gz: r.gz, raw: Buffer.byteLength(r.body), body: r.body };
    };
    try {
        while (queue.length) {
            const url = queue.shift();
            if (seen.has(url)) continue;
            seen.add(url);
            if (new URL(url).origin !== origin) {
                foreign.push(url);
                continue;
            }
            const row = await fetchRow(url);
            rows.push(row);
            const refs = references(row.path, row.body);
            for (const ref of refs.now) {
                const abs = new URL(ref, url).href;
                if (abs.startsWith(origin) && new URL(abs).pathname === '/') continue; // "New meeting" link, not an asset
                if (!seen.has(abs)) queue.push(abs);
            }
            for (const ref of refs.lazy) lazy.add(new URL(ref, url).href);
        }
        for (const url of lazy) {
            if (seen.has(url)) continue;
            if (new URL(url).origin !== origin) foreign.push(url);
            else lazyRows.push(await fetchRow(url));
        }
    } finally {
        if (stack) await stack.stop();
    }
    const line = (r) => `${String(r.wire).padStart(7)} B ${r.gz ? 'gzip' : 'raw '}  (${String(r.raw).padStart(6)} B plain)  ${r.status}  ${r.path}`;
    let total = 0;
    for (const r of rows) {
        total += r.wire;
        console.log(line(r));
    }
    console.log(`total: ${total} B on the wire (${(total / 1024).toFixed(1)} KiB) in ${rows.length} responses; target <= 60 KB`);
    if (lazyRows.length) console.log('loaded only by a page in another language, each adding to the total above:');
    for (const r of lazyRows) console.log(line(r));
    console.log(`third-party URLs: ${foreign.length ? foreign.join(' ') : 'none'}`);
    const bad = [...rows, ...lazyRows].filter((r) => r.status !== 200);
    if (bad.length) console.log(`not 200: ${bad.map((r) => r.path).join(' ')}`);
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
