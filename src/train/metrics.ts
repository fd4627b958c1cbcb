// Reading the metrics log back (metrics.jsonl: one JSON object per training step with "loss", one per
// validation with "val_loss"), for the loss plot and the studies' curves. Every line goes through the
// shared JSON reader, so a damaged log is a one-line FormatError naming the line. Not here: writing it
// (the trainer appends), trimming it on resume.

import { readFileSync } from 'node:fs';
import { FormatError, showJson } from '../errors.js';
import { JSON_LIMITS, parseJsonLines } from '../io/json.js';

/** [step, loss] points of the training and validation losses, in log order. */
export interface LossCurve {
  train: [number, number][];
  val: [number, number][];
}

export function readLossCurve(file: string): LossCurve {
  const out: LossCurve = { train: [], val: [] };
  for (const { line, value } of parseJsonLines(readFileSync(file, 'utf8'), file, { maxSize: JSON_LIMITS.line })) {
    const m = (typeof value === 'object' && value !== null ? value : {}) as Record<string, unknown>;
    if (!Number.isSafeInteger(m['step'])) throw new FormatError(`${file} line ${line}: field "step" is ${showJson(m['step'])}, expected an integer`);
    const step = m['step'] as number;
    // A diverged step logs its loss as null (JSON has no NaN): it has no point on the curve.
    if (typeof m['loss'] === 'number') out.train.push([step, m['loss']]);
    if (typeof m['val_loss'] === 'number') out.val.push([step, m['val_loss']]);
  }
  return out;
}
