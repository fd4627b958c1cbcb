// Picking the next token from one row of logits: greedy, or temperature + top-k + top-p (nucleus) sampling.
// Runs once per generated token over V values; the model's own work per token is O(V·d) and dominates.

import { InputError } from '../errors.js';
import type { Rng } from '../random.js';
import { type Floats, firstNonFinite } from '../tensor.js';

export interface SamplingOptions {
  greedy: boolean;
  temperature: number;
  /** Keep only the k most likely tokens; 0 = all. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = all. */
  topP: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = { greedy: false, temperature: 0.8, topK: 0, topP: 0.95 };

export function checkSampling(o: SamplingOptions): void {
  if (!(o.temperature > 0) || !Number.isFinite(o.temperature)) throw new InputError(`temperature must be a positive number, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new InputError(`top-k must be a non-negative integer, got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new InputError(`top-p must be in (0, 1], got ${o.topP}`);
}

export function argmax(row: Floats): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

export function sampleToken(row: Floats, o: SamplingOptions, rng: Rng): number {
  checkFiniteOutput(row, 'logit');
  if (o.greedy) return argmax(row);
  const V = row.length;
  let ids = Array.from({ length: V }, (_, i) => i);
  if (o.topK > 0 || o.topP < 1) {
    ids.sort((a, b) => row[b]! - row[a]!);
    if (o.topK > 0) ids = ids.slice(0, o.topK);
  }
  let max = -Infinity;
  for (const i of ids) max = Math.max(max, row[i]!);
  const probs = ids.map((i) => Math.exp((row[i]! - max) / o.temperature));
  let total = probs.reduce((a, b) => a + b, 0);
  if (o.topP < 1) {
    // ids are sorted by probability: keep the shortest prefix whose mass reaches topP.
    let mass = 0;
    let keep = 0;
    while (keep < ids.length && mass < o.topP * total) mass += probs[keep++]!;
    ids = ids.slice(0, keep);
    probs.length = keep;
    total = mass;
  }
  let u = rng.uniform() * total;
  for (let j = 0; j < ids.length; j++) {
    u -= probs[j]!;
    if (u < 0) return ids[j]!;
  }
  return ids[ids.length - 1]!;
}

/** Finite weights can still overflow float32 on the way to the logits (weights near 3e38): a NaN would be
 *  sampled as no token at all and printed as null. Refuse it in one line instead. */
export function checkFiniteOutput(values: ArrayLike<number>, what: string): void {
  const i = firstNonFinite(values);
  if (i >= 0) throw new InputError(`the model computed a non-finite ${what} (${values[i]} at index ${i}): its weights overflow float32`);
}
