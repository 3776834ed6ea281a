// The hardening flags of CMakeLists.txt reached the binaries: each program
// is a position-independent executable, binds every symbol at start with its
// relocations read-only afterwards (full RELRO), has a non-executable stack,
// and the release build calls the stack protector and the fortified libc
// functions (_FORTIFY_SOURCE). Read with readelf from the ELF headers, the
// dynamic section and the dynamic symbols.
//
// The release build is build/ (what make builds and the images ship;
// HUDDLE_RELEASE_DIR picks another); the sanitizer build ($HUDDLE_BUILD_DIR,
// what the other tests run) has the same link-time properties but no
// _FORTIFY_SOURCE (see CMakeLists.txt).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { BUILD, ROOT } from '../lib/stack.mjs';

const RELEASE = process.env.HUDDLE_RELEASE_DIR || path.join(ROOT, 'build');
const PROGRAMS = ['fcgi/huddle-fcgi', 'sidecar/huddle-sidecar'];

const readelf = (...args) => execFileSync('readelf', ['-W', ...args], { encoding: 'utf8' });

/** What readelf says about the ELF file at bin. */
function inspect(bin) {
    assert.ok(fs.existsSync(bin), `${bin} is missing: run make`);
    const type = readelf('-h', bin).match(/^\s*Type:\s+(\S+)/m)?.[1];
    const dynamic = readelf('-d', bin);
    const segments = readelf('-l', bin);
    const stack = segments.match(/^\s*GNU_STACK\s.*\s([RWE ]{3})\s+0x[0-9a-f]+$/m)?.[1];
    const symbols = readelf('--dyn-syms', bin).split('\n')
        .map((l) => l.trim().split(/\s+/)[7]).filter(Boolean).map((s) => s.replace(/@.*/, ''));
    return {
        type,
        bindNow: /\(FLAGS\)\s+.*\bBIND_NOW\b/.test(dynamic) || /\(FLAGS_1\)\s+Flags:.*\bNOW\b/.test(dynamic),
        relro: /^\s*GNU_RELRO\s/m.test(segments),
        stack,
        symbols,
    };
}

/** The link-time properties every build must have. */
function checkLinked(bin, e) {
    assert.equal(e.type, 'DYN', `${bin}: ELF type ${e.type}, not a position-independent executable`);
    assert.ok(e.bindNow, `${bin}: no BIND_NOW / FLAGS_1 NOW (lazy binding: partial RELRO only)`);
    assert.ok(e.relro, `${bin}: no GNU_RELRO segment`);
    assert.ok(e.stack, `${bin}: no GNU_STACK segment (the stack would be executable)`);
    assert.doesNotMatch(e.stack, /E/, `${bin}: executable stack (GNU_STACK ${e.stack})`);
}

for (const prog of PROGRAMS) {
    test(`release ${path.basename(prog)}: PIE, full RELRO, no executable stack, stack protector, fortified calls`, () => {
        const bin = path.join(RELEASE, prog);
        const e = inspect(bin);
        checkLinked(bin, e);
        assert.ok(e.symbols.includes('__stack_chk_fail'), `${bin}: no __stack_chk_fail (no -fstack-protector-strong)`);
        const chk = e.symbols.filter((s) => /^__\w+_chk$/.test(s) && s !== '__stack_chk_fail');
        assert.ok(chk.length > 0, `${bin}: no fortified libc call (*_chk): no _FORTIFY_SOURCE`);
        console.log(`${prog}: type ${e.type}, BIND_NOW, GNU_RELRO, GNU_STACK ${e.stack}, ${chk.sort().join(' ')}`);
    });
}

for (const prog of PROGRAMS) {
    test(`sanitizer-build ${path.basename(prog)}: PIE, full RELRO, no executable stack`, () => {
        const bin = path.join(BUILD, prog);
        checkLinked(bin, inspect(bin));
    });
}
