// A training run's metrics log, metrics.jsonl (one JSON object per step, per validation), and the loss
// plot drawn from it. The log is appended step by step; a run that resumes cuts it back to its checkpoint,
// so the log and the plot always describe the run the checkpoint holds. A line cut short by a kill is
// skipped when read and dropped when cut back.
//
// Not here: what is logged when (trainer.ts).

import { appendFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { asWriteError, writeFileAtomic } from '../io/atomic.js';
import { JSON_LIMITS, parseJson } from '../io/json.js';
import { linePlot, linePlotPng } from '../plot/svg.js';

export const METRICS_FILE = 'metrics.jsonl';
/** The loss curve, written as loss.svg and loss.png. */
export const PLOT_FILE = 'loss.svg';
export const PLOT_PNG = 'loss.png';

/** One line of the log: a training step (loss, or null with `skipped` when it was not finite), or a
 *  validation (val_loss). */
export interface MetricsLine {
  step: number;
  loss?: number | null;
  val_loss?: number;
  skipped?: string;
  [field: string]: unknown;
}

export function appendMetrics(dir: string, line: MetricsLine): void {
  const file = join(dir, METRICS_FILE);
  try {
    appendFileSync(file, JSON.stringify(line) + '\n');
  } catch (e) {
    throw asWriteError(e, file, 'the run stops; its last checkpoint is intact');
  }
}

/** The complete lines of the log, in order ([] without a log). */
export function readMetrics(dir: string): MetricsLine[] {
  const file = join(dir, METRICS_FILE);
  if (!existsSync(file)) return [];
  const lines: MetricsLine[] = [];
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (!text.trim()) continue;
    try {
      const m = parseJson(text, file, { maxSize: JSON_LIMITS.line }) as MetricsLine;
      if (Number.isInteger(m?.step)) lines.push(m);
    } catch {
      // cut short by a kill: not a step that happened as far as the checkpoint knows
    }
  }
  return lines;
}

/** Drops every line past `step` (the checkpoint a run resumes from) and redraws the plot. */
export function trimMetrics(dir: string, step: number): void {
  const file = join(dir, METRICS_FILE);
  const before = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const kept = readMetrics(dir).filter((m) => m.step <= step).map((m) => JSON.stringify(m) + '\n').join('');
  if (kept !== before) writeFileAtomic(file, kept);
  writeLossPlot(dir);
}

export interface Curve {
  train: [number, number][];
  val: [number, number][];
}

/** Training and validation loss by step (skipped steps have none). */
export function readCurve(dir: string): Curve {
  const out: Curve = { train: [], val: [] };
  for (const m of readMetrics(dir)) {
    if (typeof m.loss === 'number') out.train.push([m.step, m.loss]);
    if (typeof m.val_loss === 'number') out.val.push([m.step, m.val_loss]);
  }
  return out;
}

/** Renders the log as loss.svg and loss.png: training loss (smoothed over ~2% of the run) and validation
 *  loss. */
export function writeLossPlot(dir: string): void {
  const { train, val } = readCurve(dir);
  if (train.length === 0 && val.length === 0) {
    // Nothing to draw (a run at step 0): no plot of an earlier run may stay behind.
    for (const name of [PLOT_FILE, PLOT_PNG]) rmSync(join(dir, name), { force: true });
    return;
  }
  const k = Math.max(1, Math.round(train.length / 50));
  const smooth = train.map(([s], i) => {
    const w = train.slice(Math.max(0, i - k + 1), i + 1);
    return [s, w.reduce((a, p) => a + p[1], 0) / w.length] as [number, number];
  });
  const spec = {
    title: 'Training', xLabel: 'step', yLabel: 'loss (nats/token)',
    series: [{ name: 'train (smoothed)', points: smooth }, { name: 'validation', points: val }],
  };
  writeFileAtomic(join(dir, PLOT_FILE), linePlot(spec));
  writeFileAtomic(join(dir, PLOT_PNG), linePlotPng(spec));
}
