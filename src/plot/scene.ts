// A plot as a list of simple shapes in one coordinate system, rendered two ways: SVG text (crisp, diffable)
// and PNG (via raster.ts). Layout code builds one scene, so the two files always show the same plot. Not a
// drawing library: the shapes are the ones line plots need.

import { Raster, type TextAnchor } from './raster.js';

export type Shape =
  | { kind: 'rect'; x: number; y: number; w: number; h: number; fill?: string; stroke?: string }
  | { kind: 'line'; x1: number; y1: number; x2: number; y2: number; stroke: string; width: number; dash?: boolean }
  | { kind: 'polyline'; points: [number, number][]; stroke: string; width: number }
  | { kind: 'circle'; cx: number; cy: number; r: number; fill: string }
  | { kind: 'text'; x: number; y: number; text: string; size: number; anchor: TextAnchor; fill?: string; rotate?: -90 };

export interface Scene {
  width: number;
  height: number;
  background: string;
  shapes: Shape[];
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const r1 = (v: number) => Number(v.toFixed(1));

function svgShape(s: Shape): string {
  switch (s.kind) {
    case 'rect':
      return `<rect x="${r1(s.x)}" y="${r1(s.y)}" width="${r1(s.w)}" height="${r1(s.h)}" fill="${s.fill ?? 'none'}"${s.stroke ? ` stroke="${s.stroke}"` : ''}/>`;
    case 'line':
      return `<line x1="${r1(s.x1)}" y1="${r1(s.y1)}" x2="${r1(s.x2)}" y2="${r1(s.y2)}" stroke="${s.stroke}" stroke-width="${s.width}"${s.dash ? ' stroke-dasharray="5 4"' : ''}/>`;
    case 'polyline':
      return `<polyline fill="none" stroke="${s.stroke}" stroke-width="${s.width}" stroke-linejoin="round" points="${s.points.map(([x, y]) => `${r1(x)},${r1(y)}`).join(' ')}"/>`;
    case 'circle':
      return `<circle cx="${r1(s.cx)}" cy="${r1(s.cy)}" r="${s.r}" fill="${s.fill}"/>`;
    case 'text': {
      const pos = s.rotate ? `transform="translate(${r1(s.x)} ${r1(s.y)}) rotate(${s.rotate})"` : `x="${r1(s.x)}" y="${r1(s.y)}"`;
      return `<text ${pos} text-anchor="${s.anchor}" font-size="${s.size}"${s.fill ? ` fill="${s.fill}"` : ''}>${esc(s.text)}</text>`;
    }
  }
}

export function sceneToSvg(scene: Scene): string {
  const { width: W, height: H } = scene;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="${scene.background}"/>`,
    ...scene.shapes.map(svgShape),
    '</svg>',
  ].join('\n') + '\n';
}

/** Dashes of a line from (x1, y1) to (x2, y2), `on` pixels drawn then `off` skipped. */
function dashes(x1: number, y1: number, x2: number, y2: number, on: number, off: number): [number, number, number, number][] {
  const len = Math.hypot(x2 - x1, y2 - y1);
  const out: [number, number, number, number][] = [];
  for (let t = 0; t < len; t += on + off) {
    const e = Math.min(len, t + on);
    out.push([x1 + ((x2 - x1) * t) / len, y1 + ((y2 - y1) * t) / len, x1 + ((x2 - x1) * e) / len, y1 + ((y2 - y1) * e) / len]);
  }
  return out;
}

/** The scene as a PNG, `scale` device pixels per scene unit (2 gives sharp lines on high-density screens).
 *  Text uses the built-in bitmap font at the nearest whole-pixel size. */
export function sceneToPng(scene: Scene, scale = 2): Buffer {
  const k = scale;
  const img = new Raster(Math.round(scene.width * k), Math.round(scene.height * k), scene.background);
  for (const s of scene.shapes) {
    switch (s.kind) {
      case 'rect':
        if (s.fill && s.fill !== 'none') img.fillRect(s.x * k, s.y * k, s.w * k, s.h * k, s.fill);
        if (s.stroke) {
          const [x0, y0, x1, y1] = [s.x * k, s.y * k, (s.x + s.w) * k, (s.y + s.h) * k];
          img.polyline([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], k, s.stroke);
        }
        break;
      case 'line':
        if (s.dash) for (const [a, b, c, d] of dashes(s.x1 * k, s.y1 * k, s.x2 * k, s.y2 * k, 5 * k, 4 * k)) img.line(a, b, c, d, s.width * k, s.stroke);
        else img.line(s.x1 * k, s.y1 * k, s.x2 * k, s.y2 * k, s.width * k, s.stroke);
        break;
      case 'polyline':
        img.polyline(s.points.map(([x, y]) => [x * k, y * k] as [number, number]), s.width * k, s.stroke);
        break;
      case 'circle':
        img.disc(s.cx * k, s.cy * k, s.r * k, s.fill);
        break;
      case 'text':
        // A 7-pixel-high glyph at font size 12 matches the cap height of a 12 px sans-serif roughly.
        img.text(s.x * k, s.y * k, s.text, Math.max(1, Math.round((s.size * k) / 10)), s.anchor, s.fill ?? '#000000', s.rotate ?? 0);
        break;
    }
  }
  return img.toPng();
}
