// Plots: the PNG encoder produces files a standard decoder reads back pixel for pixel, the rasterizer
// draws where it is told (lines, discs, text), and the SVG and PNG of one plot show the same thing.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { inflateSync } from 'node:zlib';
import { glyph, hasGlyph } from '../src/plot/font.js';
import { crc32, encodePng } from '../src/plot/png.js';
import { Raster, parseColor } from '../src/plot/raster.js';
import { lineChart, linePlot, linePlotPng, writePlot } from '../src/plot/svg.js';

/** Decodes an 8-bit RGB PNG with any of the five row filters (independent of the encoder's choice). */
function decodePng(buf: Buffer): { width: number; height: number; rgb: Uint8Array } {
  assert.deepEqual([...buf.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  for (;;) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    assert.equal(buf.readUInt32BE(off + 8 + len), crc32(buf.subarray(off + 4, off + 8 + len)), `CRC of ${type}`);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.deepEqual([...data.subarray(8)], [8, 2, 0, 0, 0]);
    }
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
    if (type === 'IEND') break;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * 3;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= 3 ? rgb[y * stride + x - 3]! : 0;
      const b = y > 0 ? rgb[(y - 1) * stride + x]! : 0;
      const c = x >= 3 && y > 0 ? rgb[(y - 1) * stride + x - 3]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][f]!;
      rgb[y * stride + x] = (v + pred) & 0xff;
    }
  }
  return { width, height, rgb };
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('encodePng round-trips arbitrary pixels through a standard decoder', () => {
  const w = 7;
  const h = 5;
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + 11) % 256);
  const back = decodePng(encodePng(w, h, rgb));
  assert.equal(back.width, w);
  assert.equal(back.height, h);
  assert.deepEqual([...back.rgb], [...rgb]);
  assert.throws(() => encodePng(2, 2, new Uint8Array(5)), /expected 12 bytes/);
});

test('raster: a thick line covers its pixels and nothing far from it; discs are round', () => {
  const r = new Raster(40, 20);
  r.line(5, 10, 35, 10, 3, '#000000');
  assert.deepEqual(r.pixel(20, 10), [0, 0, 0]);
  assert.deepEqual(r.pixel(20, 2), [255, 255, 255]);
  assert.deepEqual(r.pixel(38, 10), [255, 255, 255]);
  const edge = r.pixel(20, 11)[0]; // half-width 1.5 around y = 10: pixel centre 11.5 is at distance 1.5
  assert.ok(edge > 0 && edge < 255, `anti-aliased edge, got ${edge}`);
  r.disc(10, 4, 2, '#ff0000');
  assert.deepEqual(r.pixel(9, 3), [255, 0, 0]);
  assert.deepEqual(r.pixel(14, 4), [255, 255, 255]);
  assert.deepEqual(parseColor('#1f77b4'), [0x1f, 0x77, 0xb4]);
  assert.throws(() => parseColor('red'), /#rrggbb/);
});

test('raster: a polyline blends once at its joints (no darker dots where segments meet)', () => {
  const r = new Raster(30, 30);
  r.polyline([[5, 15], [15, 15], [25, 15]], 2, '#808080');
  assert.deepEqual(r.pixel(15, 15), r.pixel(10, 15));
});

test('raster text: glyph ink lands where the font says, and rotated text runs upwards', () => {
  const r = new Raster(20, 20);
  r.text(2, 12, 'L', 1, 'start', '#000000');
  // 'L' is a vertical bar in column 0 (rows 0-6) and a bottom row; baseline y = 12 → rows at y 5…11.
  for (let y = 5; y <= 11; y++) assert.deepEqual(r.pixel(2, y), [0, 0, 0], `column at y ${y}`);
  for (let x = 2; x <= 6; x++) assert.deepEqual(r.pixel(x, 11), [0, 0, 0], `bottom row at x ${x}`);
  assert.deepEqual(r.pixel(4, 7), [255, 255, 255]);
  const v = new Raster(20, 20);
  v.text(10, 15, 'L', 1, 'start', '#000000', -90);
  // Rotated: the bar of 'L' becomes a horizontal run at the top, left of x = 10 … 10 − 7.
  let ink = 0;
  for (let y = 0; y < 20; y++) for (let x = 0; x < 20; x++) if (v.pixel(x, y)[0] === 0) ink++;
  assert.equal(ink, 7 + 4); // same number of ink pixels as upright
  assert.equal(Raster.textWidth('ab', 2), (2 * 6 - 1) * 2);
  assert.ok(hasGlyph('ω') && hasGlyph('σ') && hasGlyph('µ') && !hasGlyph('€'));
  assert.equal(glyph('g').length, 9);
  assert.equal(glyph('€').flat().filter(Boolean).length, 5 * 2 + 5 * 2);
});

const spec = {
  title: 'Loss vs length', xLabel: 'tokens', yLabel: 'nats',
  series: [{ name: 'SWAT', points: [[32, 2.1], [128, 2.0], [512, 1.95]] as [number, number][] }, { name: 'softmax', points: [[32, 2.0], [128, 2.4], [512, 3.1]] as [number, number][], dashed: true }],
  logX: true, hLines: [{ value: 2.5, label: 'chance' }], vLines: [{ value: 128, label: 'T' }],
};

test('linePlot: SVG with every series, its legend and the reference lines; log x ticks at powers of two', () => {
  const svg = linePlot(spec);
  assert.ok(svg.startsWith('<svg'));
  assert.match(svg, />SWAT</);
  assert.match(svg, />softmax</);
  assert.match(svg, />chance</);
  assert.match(svg, /stroke-dasharray/);
  for (const t of ['32', '64', '128', '256', '512']) assert.match(svg, new RegExp(`>${t}</text>`));
  assert.equal((svg.match(/<polyline/g) ?? []).length, 1); // the dashed series is drawn as dashed lines
  // Legend drawn after the data.
  const scene = lineChart(spec);
  const lastData = scene.shapes.map((s) => s.kind).lastIndexOf('circle');
  const legendBox = scene.shapes.findIndex((s) => s.kind === 'rect' && s.fill === '#ffffff');
  assert.ok(legendBox > lastData);
});

test('linePlotPng: decodes, is twice the SVG size, and has each series colour in it', () => {
  const png = decodePng(linePlotPng(spec));
  assert.equal(png.width, 1440);
  assert.equal(png.height, 840);
  const has = (c: [number, number, number]) => {
    for (let i = 0; i < png.rgb.length; i += 3) if (png.rgb[i] === c[0] && png.rgb[i + 1] === c[1] && png.rgb[i + 2] === c[2]) return true;
    return false;
  };
  assert.ok(has([0x1f, 0x77, 0xb4]), 'first series colour');
  assert.ok(has([0xd6, 0x27, 0x28]), 'second series colour');
  assert.ok(has([0, 0, 0]), 'black text');
});

test('writePlot writes both files; an empty plot still renders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'swat-plot-'));
  const { svg, png } = writePlot(join(dir, 'p'), { title: 'empty', xLabel: 'x', yLabel: 'y', series: [] });
  assert.ok(readFileSync(svg, 'utf8').includes('empty'));
  assert.equal(decodePng(readFileSync(png)).width, 1440);
});

test('the legend goes to the corner where it hides the fewest data points', () => {
  const legendAt = (points: [number, number][]) => {
    const box = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a curve', points }] }).shapes.find((s) => s.kind === 'rect' && s.fill === '#ffffff');
    assert.ok(box && box.kind === 'rect');
    return { right: box.x > 360, top: box.y < 210 };
  };
  assert.deepEqual(legendAt([[0, 0], [1, 0.1], [2, 0.2]]), { right: true, top: true }); // low curve: top right is free
  assert.deepEqual(legendAt([[0, 0], [1, 1], [2, 2], [3, 3], [4, 4], [5, 5], [6, 6], [7, 7], [8, 8], [9, 9], [10, 10]]), { right: true, top: false });
});
