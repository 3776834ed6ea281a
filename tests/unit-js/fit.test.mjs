// fit from public/ui.js (the grid's layout) and bitrateFor from public/encoding.js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fit, strip } from '../../public/ui.js';
import { bitrateFor } from '../../public/encoding.js';

const WIDE = 16 / 9;

test('fit gives one tile the whole box when its shape is allowed', () => {
    assert.deepEqual(fit(1, 1600, 900, 4 / 3, WIDE, 12), { cols: 1, width: 1600, height: 900 });
});

test('fit narrows a tile wider than the widest shape', () => {
    assert.deepEqual(fit(1, 2000, 900, 4 / 3, WIDE, 0), { cols: 1, width: 1600, height: 900 });
});

test('fit shortens a tile taller than the narrowest shape (portrait)', () => {
    assert.deepEqual(fit(1, 900, 1600, 3 / 4, WIDE, 0), { cols: 1, width: 900, height: 1200 });
});

test('fit puts two side by side on a landscape stage', () => {
    assert.deepEqual(fit(2, 1600, 900, 4 / 3, WIDE, 10), { cols: 2, width: 795, height: 596 });
});

test('fit lays an odd count out in the columns that give the largest tiles', () => {
    assert.deepEqual(fit(3, 1200, 800, 4 / 3, WIDE, 0), { cols: 2, width: 600, height: 400 });
    assert.deepEqual(fit(5, 375, 700, 3 / 4, WIDE, 8), { cols: 2, width: 183, height: 228 });
    assert.deepEqual(fit(7, 1920, 1080, 4 / 3, WIDE, 12), { cols: 3, width: 625, height: 352 });
});

test('fit stacks tiles on a tall narrow stage', () => {
    assert.equal(fit(3, 400, 2000, 3 / 4, WIDE, 8).cols, 1);
});

test('fit of no tiles is an empty layout', () => {
    assert.deepEqual(fit(0, 1600, 900, 4 / 3, WIDE, 12), { cols: 1, width: 0, height: 0 });
});

test('fit always stays inside the box and within the allowed shapes', () => {
    const boxes = [[1600, 900], [900, 1600], [375, 667], [3000, 200], [200, 3000], [1280, 1280], [641, 359]];
    for (const [w, h] of boxes) {
        const gap = w < 600 ? 8 : 12;
        const minAr = w < h ? 3 / 4 : 4 / 3;
        for (let n = 1; n <= 9; n++) {
            const { cols, width, height } = fit(n, w, h, minAr, WIDE, gap);
            const rows = Math.ceil(n / cols);
            const at = `${n} tiles in ${w}x${h}: ${cols} cols of ${width}x${height}`;
            assert.ok(cols >= 1 && cols <= n, at);
            assert.ok(width > 0 && height > 0, at);
            assert.ok(cols * width + gap * (cols - 1) <= w, at);
            assert.ok(rows * height + gap * (rows - 1) <= h, at);
            // Rounding down may move the shape by a pixel's worth.
            assert.ok(width / (height + 1) <= WIDE && (width + 1) / height >= minAr, at);
        }
    }
});

test('bitrateFor caps each video sender by room size', () => {
    assert.equal(bitrateFor(1), 2500000);
    assert.equal(bitrateFor(2), 2500000);
    assert.equal(bitrateFor(3), 1200000);
    assert.equal(bitrateFor(4), 900000);
    assert.equal(bitrateFor(5), 600000);
    assert.equal(bitrateFor(6), 600000);
    assert.equal(bitrateFor(7), 450000);
    assert.equal(bitrateFor(8), 450000);
    assert.equal(bitrateFor(50), 450000);
});

test('bitrateFor never grows as the room grows', () => {
    for (let n = 1; n < 20; n++) assert.ok(bitrateFor(n + 1) <= bitrateFor(n), String(n));
});

test('strip keeps a few tiles beside the stage on one line, as wide as before', () => {
    assert.deepEqual(strip(2, 1200, 700, 12, false), { lines: 1, perLine: 2, width: 240, height: 135 });
    assert.deepEqual(strip(2, 344, 560, 8, true), { lines: 1, perLine: 2, width: 160, height: 120 });
});

test('strip takes more lines where one would make the tiles too small for a name and Pin', () => {
    // Five beside a shared screen on a phone on its side: one column would
    // give tiles 35 px high, under the 44 px Pin.
    const side = strip(5, 716, 226, 8, false);
    assert.deepEqual([side.lines, side.perLine], [2, 3]);
    assert.ok(side.width >= 96 && side.height >= 64, JSON.stringify(side));
    // The same upright: one row would give tiles 59 px wide.
    const up = strip(5, 344, 560, 8, true);
    assert.deepEqual([up.lines, up.perLine], [2, 3]);
    assert.ok(up.width >= 96 && up.height >= 64, JSON.stringify(up));
});

test('strip stops at three lines, and then gives the largest tiles it can', () => {
    // Eleven on a phone: no count of lines reaches 96 x 64; three give the most.
    assert.deepEqual(strip(11, 716, 226, 8, false), { lines: 3, perLine: 4, width: 96, height: 46 });
    assert.deepEqual(strip(11, 344, 560, 8, true), { lines: 3, perLine: 4, width: 67, height: 50 });
});
