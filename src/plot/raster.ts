// A small anti-aliased rasterizer for plot scenes: lines and polylines of any width, filled rectangles and
// discs, and text in the bitmap font of font.ts (horizontal or rotated a quarter turn). Coverage is the
// distance from each pixel centre to the shape, so edges are smooth without supersampling. Not a general
// 2-D library: no curves, no gradients, no clipping paths; exactly what scene.ts draws.

import { GLYPH_ADVANCE, GLYPH_HEIGHT, glyph } from './font.js';
import { encodePng } from './png.js';

export type Rgb = [number, number, number];

/** '#rrggbb' or '#rgb' to 0–255 channels. */
export function parseColor(c: string): Rgb {
  const m6 = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(c);
  if (m6) return [parseInt(m6[1]!, 16), parseInt(m6[2]!, 16), parseInt(m6[3]!, 16)];
  const m3 = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(c);
  if (m3) return [parseInt(m3[1]! + m3[1]!, 16), parseInt(m3[2]! + m3[2]!, 16), parseInt(m3[3]! + m3[3]!, 16)];
  throw new Error(`parseColor: expected #rrggbb, got '${c}'`);
}

export type TextAnchor = 'start' | 'middle' | 'end';

export class Raster {
  readonly width: number;
  readonly height: number;
  /** (height, width, 3) channels in 0–255, as floats so blending does not round twice. */
  private readonly px: Float32Array;
  /** Coverage of the shape being drawn: one blend per shape, so a polyline's joints are not drawn twice. */
  private readonly mask: Float32Array;
  private box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };

  constructor(width: number, height: number, background: string = '#ffffff') {
    this.width = width;
    this.height = height;
    this.px = new Float32Array(width * height * 3);
    this.mask = new Float32Array(width * height);
    const [r, g, b] = parseColor(background);
    for (let i = 0; i < width * height; i++) this.px.set([r, g, b], i * 3);
  }

  /** The colour at pixel (x, y), rounded to 0–255. */
  pixel(x: number, y: number): Rgb {
    const i = (y * this.width + x) * 3;
    return [Math.round(this.px[i]!), Math.round(this.px[i + 1]!), Math.round(this.px[i + 2]!)];
  }

  private cover(x: number, y: number, c: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height || c <= 0) return;
    const i = y * this.width + x;
    if (c > this.mask[i]!) this.mask[i] = Math.min(1, c);
    const b = this.box;
    if (x < b.x0) b.x0 = x;
    if (y < b.y0) b.y0 = y;
    if (x > b.x1) b.x1 = x;
    if (y > b.y1) b.y1 = y;
  }

  /** Blends the accumulated coverage in `color` and clears it. */
  private paint(color: string): void {
    const rgb = parseColor(color);
    const b = this.box;
    for (let y = b.y0; y <= b.y1; y++) {
      for (let x = b.x0; x <= b.x1; x++) {
        const i = y * this.width + x;
        const a = this.mask[i]!;
        if (a === 0) continue;
        for (let ch = 0; ch < 3; ch++) this.px[i * 3 + ch] = this.px[i * 3 + ch]! * (1 - a) + rgb[ch]! * a;
        this.mask[i] = 0;
      }
    }
    this.box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
  }

  private segment(x1: number, y1: number, x2: number, y2: number, width: number): void {
    const r = width / 2;
    const dx = x2 - x1;
    const dy = y2 - y1;
    const len2 = dx * dx + dy * dy;
    const xa = Math.floor(Math.min(x1, x2) - r - 1);
    const xb = Math.ceil(Math.max(x1, x2) + r + 1);
    const ya = Math.floor(Math.min(y1, y2) - r - 1);
    const yb = Math.ceil(Math.max(y1, y2) + r + 1);
    for (let y = Math.max(0, ya); y <= Math.min(this.height - 1, yb); y++) {
      for (let x = Math.max(0, xa); x <= Math.min(this.width - 1, xb); x++) {
        const px = x + 0.5;
        const py = y + 0.5;
        const t = len2 > 0 ? Math.max(0, Math.min(1, ((px - x1) * dx + (py - y1) * dy) / len2)) : 0;
        const d = Math.hypot(px - (x1 + t * dx), py - (y1 + t * dy));
        this.cover(x, y, r + 0.5 - d);
      }
    }
  }

  polyline(points: readonly [number, number][], width: number, color: string): void {
    if (points.length === 1) this.segment(points[0]![0], points[0]![1], points[0]![0], points[0]![1], width);
    for (let i = 1; i < points.length; i++) this.segment(points[i - 1]![0], points[i - 1]![1], points[i]![0], points[i]![1], width);
    this.paint(color);
  }

  line(x1: number, y1: number, x2: number, y2: number, width: number, color: string): void {
    this.polyline([[x1, y1], [x2, y2]], width, color);
  }

  /** Axis-aligned filled rectangle; partly covered edge pixels get partial coverage. */
  fillRect(x: number, y: number, w: number, h: number, color: string): void {
    for (let py = Math.max(0, Math.floor(y)); py < Math.min(this.height, Math.ceil(y + h)); py++) {
      const cy = Math.min(py + 1, y + h) - Math.max(py, y);
      for (let px = Math.max(0, Math.floor(x)); px < Math.min(this.width, Math.ceil(x + w)); px++) {
        this.cover(px, py, cy * (Math.min(px + 1, x + w) - Math.max(px, x)));
      }
    }
    this.paint(color);
  }

  disc(cx: number, cy: number, r: number, color: string): void {
    for (let y = Math.max(0, Math.floor(cy - r - 1)); y <= Math.min(this.height - 1, Math.ceil(cy + r + 1)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r - 1)); x <= Math.min(this.width - 1, Math.ceil(cx + r + 1)); x++) {
        this.cover(x, y, r + 0.5 - Math.hypot(x + 0.5 - cx, y + 0.5 - cy));
      }
    }
    this.paint(color);
  }

  /** Width in pixels of `text` at font scale `s` (each font pixel is s×s). */
  static textWidth(text: string, s: number): number {
    const n = [...text].length;
    return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * s;
  }

  /** Text whose baseline starts (anchor 'start'), centres or ends at (x, y). `rotate: -90` runs it upwards,
   *  as a y-axis label. */
  text(x: number, y: number, text: string, s: number, anchor: TextAnchor, color: string, rotate: 0 | -90 = 0): void {
    const w = Raster.textWidth(text, s);
    const u0 = anchor === 'start' ? 0 : anchor === 'middle' ? -w / 2 : -w;
    // (u, v): position along and below the baseline; rotation by −90° maps it to (x + v, y − u).
    const put = (u: number, v: number) => {
      const [X, Y] = rotate === 0 ? [x + u, y + v] : [x + v, y - u - s];
      for (let dy = 0; dy < s; dy++) for (let dx = 0; dx < s; dx++) this.cover(Math.round(X) + dx, Math.round(Y) + dy, 1);
    };
    [...text].forEach((ch, i) => {
      glyph(ch).forEach((row, r) => row.forEach((ink, c) => {
        if (ink) put(u0 + (i * GLYPH_ADVANCE + c) * s, (r - GLYPH_HEIGHT) * s);
      }));
    });
    this.paint(color);
  }

  toPng(): Buffer {
    const rgb = new Uint8Array(this.width * this.height * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(this.px[i]!)));
    return encodePng(this.width, this.height, rgb);
  }
}
