// Line plots (loss curves, loss against length, accuracy against distance) as standalone SVG, and the same
// plot as PNG: no dependency, the SVG opens in any browser and diffs as text, the PNG opens anywhere. Not a
// plotting library: linear or log2 x axis, linear y, lines, markers, reference lines and a legend.

import { writeFileSync } from 'node:fs';
import { type Scene, type Shape, sceneToPng, sceneToSvg } from './scene.js';

export interface Series {
  name: string;
  points: [number, number][];
  /** Dashed line (e.g. a baseline next to the measured curves). */
  dashed?: boolean;
}

/** A labelled horizontal (y) or vertical (x) reference line, e.g. chance accuracy or the training length. */
export interface RefLine {
  value: number;
  label: string;
}

export interface PlotSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  /** Log-scale x axis (lengths that double). */
  logX?: boolean;
  /** Fixed y range; points outside are drawn at the edge. Default: the data's range. */
  yMin?: number;
  yMax?: number;
  hLines?: RefLine[];
  vLines?: RefLine[];
}

export const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const W = 720;
const H = 420;
const M = { left: 70, right: 20, top: 40, bottom: 55 };

/** About five round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number): number[] {
  if (lo === hi) return [lo];
  const step0 = (hi - lo) / 5;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= step0)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-2 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(4)));
}

const finite = ([x, y]: [number, number]) => Number.isFinite(x) && Number.isFinite(y);

/** The plot's axes ranges: data (and reference lines) with 5% vertical padding, unless fixed by the spec. */
function ranges(spec: PlotSpec, fx: (x: number) => number): { x0: number; x1: number; y0: number; y1: number } {
  const pts = spec.series.flatMap((s) => s.points).filter(finite).filter(([x]) => !spec.logX || x > 0);
  const xs = [...pts.map((p) => fx(p[0])), ...(spec.vLines ?? []).map((l) => fx(l.value))];
  const ys = [...pts.map((p) => p[1]), ...(spec.hLines ?? []).map((l) => l.value)];
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1];
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (spec.yMin !== undefined) y0 = spec.yMin;
  if (spec.yMax !== undefined) y1 = spec.yMax;
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  if (spec.yMin === undefined) y0 -= pad;
  if (spec.yMax === undefined) y1 += pad;
  return { x0, x1, y0, y1 };
}

/** The line plot as a scene (see scene.ts for the two renderers). */
export function lineChart(spec: PlotSpec): Scene {
  const fx = (x: number) => (spec.logX ? Math.log2(x) : x);
  const { x0, x1, y0, y1 } = ranges(spec, fx);
  const px = (x: number) => M.left + ((fx(x) - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number) => H - M.bottom - ((Math.min(y1, Math.max(y0, y)) - y0) / (y1 - y0)) * (H - M.top - M.bottom);
  const grey = '#444444';
  const shapes: Shape[] = [
    { kind: 'text', x: W / 2, y: 22, text: spec.title, size: 15, anchor: 'middle' },
    { kind: 'text', x: W / 2, y: H - 12, text: spec.xLabel, size: 12, anchor: 'middle' },
    { kind: 'text', x: 18, y: H / 2, text: spec.yLabel, size: 12, anchor: 'middle', rotate: -90 },
  ];
  // Log axis: every power of two when there are few, else the round exponents ticks() picks.
  const exps = x1 - x0 <= 12 ? Array.from({ length: Math.floor(x1) - Math.ceil(x0) + 1 }, (_, i) => Math.ceil(x0) + i) : ticks(x0, x1).filter(Number.isInteger);
  const xTicks = spec.logX ? exps.map((e) => 2 ** e) : ticks(x0, x1);
  for (const t of xTicks) {
    shapes.push({ kind: 'line', x1: px(t), x2: px(t), y1: H - M.bottom, y2: H - M.bottom + 5, stroke: grey, width: 1 });
    shapes.push({ kind: 'text', x: px(t), y: H - M.bottom + 18, text: fmt(t), size: 12, anchor: 'middle' });
  }
  for (const t of ticks(y0, y1)) {
    shapes.push({ kind: 'line', x1: M.left, x2: W - M.right, y1: py(t), y2: py(t), stroke: '#dddddd', width: 1 });
    shapes.push({ kind: 'text', x: M.left - 6, y: py(t) + 4, text: fmt(t), size: 12, anchor: 'end' });
  }
  for (const l of spec.hLines ?? []) {
    shapes.push({ kind: 'line', x1: M.left, x2: W - M.right, y1: py(l.value), y2: py(l.value), stroke: '#888888', width: 1, dash: true });
    shapes.push({ kind: 'text', x: M.left + 4, y: py(l.value) - 4, text: l.label, size: 11, anchor: 'start', fill: '#555555' });
  }
  for (const l of spec.vLines ?? []) {
    shapes.push({ kind: 'line', x1: px(l.value), x2: px(l.value), y1: M.top, y2: H - M.bottom, stroke: '#888888', width: 1, dash: true });
    shapes.push({ kind: 'text', x: px(l.value) + 4, y: H - M.bottom - 6, text: l.label, size: 11, anchor: 'start', fill: '#555555' });
  }
  shapes.push({ kind: 'rect', x: M.left, y: M.top, w: W - M.left - M.right, h: H - M.top - M.bottom, stroke: grey });
  // The legend is drawn last, on a white box, in the corner where it hides the fewest data points.
  const legend: Shape[] = [];
  const projected = spec.series.map((s) => s.points.filter(finite).filter(([x]) => !spec.logX || x > 0).map(([x, y]) => [px(x), py(y)] as [number, number]));
  const legendWidth = 30 + 6.5 * Math.max(0, ...spec.series.map((s) => s.name.length));
  const legendHeight = spec.series.length * 16 + 6;
  const { lx, ly0 } = legendCorner(projected, legendWidth + 6, legendHeight);
  if (spec.series.length) {
    legend.push({ kind: 'rect', x: lx - 4, y: ly0, w: legendWidth + 6, h: legendHeight, fill: '#ffffff', stroke: '#cccccc' });
  }
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!;
    const pts = projected[i]!;
    if (s.dashed) {
      for (let j = 1; j < pts.length; j++) shapes.push({ kind: 'line', x1: pts[j - 1]![0], y1: pts[j - 1]![1], x2: pts[j]![0], y2: pts[j]![1], stroke: color, width: 1.8, dash: true });
    } else if (pts.length) {
      shapes.push({ kind: 'polyline', points: pts, stroke: color, width: 1.8 });
    }
    if (pts.length < 40) for (const [cx, cy] of pts) shapes.push({ kind: 'circle', cx, cy, r: 2.5, fill: color });
    const ly = ly0 + 14 + i * 16;
    legend.push({ kind: 'line', x1: lx, x2: lx + 20, y1: ly - 4, y2: ly - 4, stroke: color, width: 2, ...(s.dashed ? { dash: true } : {}) });
    legend.push({ kind: 'text', x: lx + 25, y: ly, text: s.name, size: 12, anchor: 'start' });
  });
  return { width: W, height: H, background: '#ffffff', shapes: [...shapes, ...legend] };
}

/** Top-left corner of the legend box: the plot corner (top right first) whose box covers the fewest
 *  points sampled along the curves. */
function legendCorner(curves: [number, number][][], w: number, h: number): { lx: number; ly0: number } {
  const samples = curves.flatMap((c) => c.flatMap((p, i) => (i === 0 ? [p] : Array.from({ length: 8 }, (_, k) => {
    const q = c[i - 1]!;
    const t = (k + 1) / 8;
    return [q[0] + (p[0] - q[0]) * t, q[1] + (p[1] - q[1]) * t] as [number, number];
  }))));
  const right = W - M.right - w - 2;
  const left = M.left + 6;
  const top = M.top + 4;
  const bottom = H - M.bottom - h - 4;
  const corners = [[right, top], [right, bottom], [left, top], [left, bottom]] as const;
  const hidden = corners.map(([x, y]) => samples.filter(([sx, sy]) => sx >= x && sx <= x + w && sy >= y && sy <= y + h).length);
  const best = hidden.indexOf(Math.min(...hidden));
  return { lx: corners[best]![0] + 4, ly0: corners[best]![1] };
}

/** SVG text of a line plot. */
export function linePlot(spec: PlotSpec): string {
  return sceneToSvg(lineChart(spec));
}

/** PNG bytes of the same plot (twice the SVG's pixel size). */
export function linePlotPng(spec: PlotSpec, scale = 2): Buffer {
  return sceneToPng(lineChart(spec), scale);
}

/** Writes `<base>.svg` and `<base>.png`; returns the two paths. */
export function writePlot(base: string, spec: PlotSpec): { svg: string; png: string } {
  const scene = lineChart(spec);
  writeFileSync(`${base}.svg`, sceneToSvg(scene));
  writeFileSync(`${base}.png`, sceneToPng(scene));
  return { svg: `${base}.svg`, png: `${base}.png` };
}
