// The report's PNG charts: the encoder checked against node:zlib's own CRC-32 and inflate (an independent
// decoder), the bitmap font against its hex table, and the chart layout's promises: a linear step axis with whole
// ticks (the old EM-vs-step chart spaced steps 93...1125 evenly on a category axis), axis titles drawn, white margins.
import { strict as assert } from 'node:assert';
import { crc32 as zlibCrc32, inflateSync } from 'node:zlib';
import { crc32, encodePng } from '../../src/runtime/experiment/charts/png';
import { Raster } from '../../src/runtime/experiment/charts/raster';
import { FONT_REGULAR, GLYPH_HEIGHT, GLYPH_WIDTH } from '../../src/runtime/experiment/charts/font9x15';
import { layoutChart, niceTicks, renderLineChart, tickLabel, PALETTE } from '../../src/runtime/experiment/charts/lineChart';

/** A minimal PNG reader for 8-bit RGB, filter 0 (what encodePng writes): chunks, CRCs, pixels. */
function decodePng(png: Buffer): { width: number; height: number; rgb: Buffer; chunks: string[] } {
  assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  const chunks: string[] = [];
  let width = 0, height = 0;
  const idat: Buffer[] = [];
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    const type = png.toString('ascii', off + 4, off + 8);
    const data = png.subarray(off + 8, off + 8 + len);
    assert.equal(png.readUInt32BE(off + 8 + len), zlibCrc32(png.subarray(off + 4, off + 8 + len)), `${type} CRC`);
    chunks.push(type);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([...data.subarray(8)], [8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rgb = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    assert.equal(raw[y * (1 + width * 3)], 0, 'filter type 0');
    raw.copy(rgb, y * width * 3, y * (1 + width * 3) + 1, (y + 1) * (1 + width * 3));
  }
  return { width, height, rgb, chunks };
}

const pixel = (img: { width: number; rgb: Buffer }, x: number, y: number) => [...img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3)];

describe('experiment report charts', () => {
  it('PNG: CRC-32 equals zlib\'s, and an independent inflate gives back every pixel', () => {
    for (const s of ['', 'IEND', 'The quick brown fox']) assert.equal(crc32(Buffer.from(s)), zlibCrc32(Buffer.from(s)));
    const [w, h] = [7, 5];
    const rgb = new Uint8Array(w * h * 3).map((_, i) => (i * 37) % 256);
    const img = decodePng(encodePng(w, h, rgb));
    assert.deepEqual(img.chunks, ['IHDR', 'IDAT', 'IEND']);
    assert.equal(img.width, 7);
    assert.equal(img.height, 5);
    assert.deepEqual([...img.rgb], [...rgb]);
  });

  it('text: each glyph is the font table\'s bits, pixel for pixel', () => {
    const r = new Raster(40, 20, [255, 255, 255]);
    r.text(2, 2 + GLYPH_HEIGHT - 3, 'A7', { color: [0, 0, 0] });
    const out = r.toRgb();
    for (const [i, ch] of ['A', '7'].entries()) {
      const glyph = FONT_REGULAR[ch.charCodeAt(0) - 32]!;
      for (let row = 0; row < GLYPH_HEIGHT; row++) {
        const bits = parseInt(glyph.slice(row * 3, row * 3 + 3), 16);
        for (let col = 0; col < GLYPH_WIDTH; col++) {
          const on = (bits >> (GLYPH_WIDTH - 1 - col)) & 1;
          const v = out[((2 + row) * 40 + 2 + i * GLYPH_WIDTH + col) * 3]!;
          assert.equal(v, on ? 0 : 255, `${ch} row ${row} col ${col}`);
        }
      }
    }
  });

  it('step ticks are whole numbers on a linear axis (93 ... 1125 spaced by their values, not evenly)', () => {
    const steps = [0, 93, 186, 279, 372, 1125];
    const spec = { title: 'EM', xTitle: 'training step', yTitle: 'EM rate (%)', integerX: true, yMin: 0, series: [{ name: 'EM', color: PALETTE.red, points: steps.map((x, i) => ({ x, y: i * 5, low: 0, high: i * 5 + 3 })), line: true, markers: true }] };
    const L = layoutChart(spec);
    assert.ok(L.xTicks.every((t) => Number.isInteger(t)), `ticks ${L.xTicks}`);
    assert.ok(L.xTicks.length >= 4 && L.xTicks.length <= 12);
    const gaps = L.xTicks.slice(1).map((t, i) => t - L.xTicks[i]!);
    assert.ok(gaps.every((g) => g === gaps[0]), 'evenly spaced tick values');
    const perStep = (a: number, b: number) => (L.x(b) - L.x(a)) / (b - a);
    assert.ok(Math.abs(perStep(0, 93) - perStep(372, 1125)) < 1e-9, 'pixels per step are the same everywhere');
    assert.ok(L.x(1125) - L.x(372) > 5 * (L.x(93) - L.x(0)), 'the long gap is drawn long');
    // a short run: 1..6 steps gets ticks 1..6, never 1.5
    assert.deepEqual(niceTicks(1, 6, 8, true), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(niceTicks(0, 3, 8, true), [0, 1, 2, 3]);
    assert.equal(tickLabel(32.25, 0.25), '32.25');
    assert.equal(tickLabel(20, 10), '20');
  });

  it('a rendered chart: white margins, the title and the axis titles are drawn, the series colour is on the plot', () => {
    const spec = { title: 'Training loss', xTitle: 'optimizer step', yTitle: 'loss (nats / supervised token)', integerX: true, width: 600, height: 360, series: [{ name: 'training loss', color: PALETTE.blue, points: [1, 2, 3, 4].map((x) => ({ x, y: 10 - x })), line: true, markers: true }] };
    const img = decodePng(renderLineChart(spec));
    assert.equal(img.width, 600);
    assert.equal(img.height, 360);
    assert.deepEqual(pixel(img, 0, 0), [255, 255, 255]);
    assert.deepEqual(pixel(img, 599, 359), [255, 255, 255]);
    const dark = (x0: number, y0: number, x1: number, y1: number) => {
      let n = 0;
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (pixel(img, x, y)[0]! < 128) n++;
      return n;
    };
    assert.ok(dark(250, 10, 350, 30) > 30, 'title ink at the top centre');
    assert.ok(dark(250, 335, 350, 355) > 30, 'x-axis title ink at the bottom');
    assert.ok(dark(15, 100, 40, 260) > 30, 'y-axis title ink at the left, vertical');
    const L = layoutChart(spec);
    const [r, g, b] = pixel(img, Math.round(L.x(2)), Math.round(L.y(8)));
    assert.ok(Math.abs(r! - PALETTE.blue[0]) < 40 && Math.abs(g! - PALETTE.blue[1]) < 40 && Math.abs(b! - PALETTE.blue[2]) < 40, `marker colour at step 2: ${[r, g, b]}`);
  });
});
