// Picking the next token from one row of logits: greedy (temperature 0), or temperature sampling with
// top-k, top-p (nucleus) and min-p filters, after an optional repetition penalty. Runs once per generated
// token over V values, for every stream of every step, so the filters find their weight threshold with a
// native numeric sort of the few weights that matter and never sort ids with a comparator.
// Not here: log-probabilities for the caller (logprobs.ts), the stream's state (stream.ts).

import { InputError } from '../errors.js';
import type { Rng } from '../random.js';
import { type Floats, firstNonFinite } from '../tensor.js';

export interface SamplingOptions {
  /** Always take the most likely token; temperature 0 means the same (the OpenAI convention). */
  greedy: boolean;
  temperature: number;
  /** Keep only the k most likely tokens; 0 = all. */
  topK: number;
  /** Keep the smallest set of most likely tokens whose probability reaches p; 1 = all. */
  topP: number;
  /** Drop tokens less likely than minP × the most likely one; 0 = off. */
  minP: number;
  /** Logits of recently seen tokens are divided by this when positive and multiplied when negative (the
   *  CTRL / llama.cpp penalty); 1 = off. */
  repetitionPenalty: number;
  /** How many of the latest tokens (prompt and output) the penalty looks at. */
  repeatLastN: number;
}

export const DEFAULT_SAMPLING: SamplingOptions = {
  greedy: false, temperature: 0.8, topK: 0, topP: 0.95, minP: 0, repetitionPenalty: 1, repeatLastN: 64,
};

export function checkSampling(o: SamplingOptions): void {
  if (!(o.temperature >= 0) || !Number.isFinite(o.temperature)) throw new InputError(`temperature must be a number ≥ 0, got ${o.temperature}`);
  if (!Number.isInteger(o.topK) || o.topK < 0) throw new InputError(`top-k must be a non-negative integer, got ${o.topK}`);
  if (!(o.topP > 0 && o.topP <= 1)) throw new InputError(`top-p must be in (0, 1], got ${o.topP}`);
  if (!(o.minP >= 0 && o.minP <= 1)) throw new InputError(`min-p must be in [0, 1], got ${o.minP}`);
  if (!(o.repetitionPenalty > 0) || !Number.isFinite(o.repetitionPenalty)) throw new InputError(`repetition penalty must be a positive number, got ${o.repetitionPenalty}`);
  if (!Number.isInteger(o.repeatLastN) || o.repeatLastN < 0) throw new InputError(`repeat-last-n must be a non-negative integer, got ${o.repeatLastN}`);
}

export function argmax(row: Floats): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/** The row with the repetition penalty applied to each distinct id of `recent` (a copy; the row is kept). */
function penalised(row: Floats, penalty: number, recent: ArrayLike<number>): Floats {
  if (penalty === 1 || recent.length === 0) return row;
  const out = Float32Array.from(row);
  const seen = new Set<number>();
  for (let i = 0; i < recent.length; i++) {
    const id = recent[i]!;
    if (seen.has(id)) continue;
    seen.add(id);
    out[id] = out[id]! > 0 ? out[id]! / penalty : out[id]! * penalty;
  }
  return out;
}

/** The weights of the kept candidates in descending order: all of them (top-k), or (top-p alone) only those
 *  above a falling floor, once those already hold the mass the nucleus needs. Sorting numbers natively,
 *  without a comparator, keeps this cheap for large vocabularies. */
function descending(w: Float64Array, floor: number): Float64Array {
  let n = 0;
  for (let i = 0; i < w.length; i++) if (w[i]! >= floor) n++;
  const out = new Float64Array(n);
  n = 0;
  for (let i = 0; i < w.length; i++) if (w[i]! >= floor) out[n++] = w[i]!;
  return out.sort().reverse();
}

/** The candidates that survive top-k, then top-p among those, then min-p, in id order; null when no
 *  filter is on. The filters keep the most likely tokens, so they amount to a weight threshold: every token
 *  above it, and of those exactly at it the lowest ids, as many as the sorted order takes. */
export function candidates(w: Float64Array, o: SamplingOptions): number[] | null {
  if (o.topK === 0 && o.topP >= 1 && o.minP === 0) return null;
  let threshold = 0;
  let atThreshold = Infinity;
  if (o.topK > 0 || o.topP < 1) {
    let sorted: Float64Array;
    let keep: number;
    if (o.topK > 0) {
      sorted = descending(w, 0);
      keep = Math.min(o.topK, sorted.length);
    } else {
      let total = 0;
      for (let i = 0; i < w.length; i++) total += w[i]!;
      const need = o.topP * total;
      let floor = 1e-3;
      for (;;) {
        sorted = descending(w, floor);
        let mass = 0;
        for (let i = 0; i < sorted.length; i++) mass += sorted[i]!;
        if (mass >= need || sorted.length === w.length || floor < 1e-300) break;
        floor *= 1e-3;
      }
      keep = sorted.length;
    }
    if (o.topP < 1) {
      let need = 0;
      for (let i = 0; i < keep; i++) need += sorted[i]!;
      need *= o.topP;
      let mass = 0;
      let k = 0;
      while (k < keep && mass < need) mass += sorted[k++]!;
      keep = Math.max(1, k);
    }
    threshold = sorted[keep - 1]!;
    atThreshold = keep;
    for (let i = 0; i < keep; i++) if (sorted[i]! > threshold) atThreshold--;
  }
  // min-p: weights are relative to the most likely token (weight 1), so min-p is a weight floor too.
  const floor = Math.max(threshold, o.minP);
  const ids: number[] = [];
  for (let i = 0; i < w.length; i++) {
    if (w[i]! > floor || (w[i] === floor && (w[i]! > threshold || atThreshold-- > 0))) ids.push(i);
  }
  if (ids.length === 0) ids.push(w.indexOf(1));
  return ids;
}

/** The next token. `recent` holds the latest ids the repetition penalty looks at. Candidates are drawn in
 *  id order with their tempered weights. */
export function sampleToken(logits: Floats, o: SamplingOptions, rng: Rng, recent: ArrayLike<number> = []): number {
  checkFiniteOutput(logits, 'logit');
  const row = penalised(logits, o.repetitionPenalty, recent);
  if (o.greedy || o.temperature === 0) return argmax(row);
  const w = temperedWeights(row, o.temperature);
  const ids = candidates(w, o);
  let total = 0;
  if (ids === null) for (let i = 0; i < w.length; i++) total += w[i]!;
  else for (const i of ids) total += w[i]!;
  let u = rng.uniform() * total;
  if (ids === null) {
    for (let i = 0; i < w.length; i++) if ((u -= w[i]!) < 0) return i;
    return w.length - 1;
  }
  for (const i of ids) if ((u -= w[i]!) < 0) return i;
  return ids[ids.length - 1]!;
}

/** exp((row − max) / temperature): each token's probability relative to the most likely one's. */
export function temperedWeights(row: Floats, temperature: number): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  const w = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) w[i] = Math.exp((row[i]! - max) / temperature);
  return w;
}

/** Finite weights can still overflow float32 on the way to the logits (weights near 3e38): a NaN would be
 *  sampled as no token at all and printed as null. Refuse it in one line instead. */
export function checkFiniteOutput(values: ArrayLike<number>, what: string): void {
  const i = firstNonFinite(values);
  if (i >= 0) throw new InputError(`the model computed a non-finite ${what} (${values[i]} at index ${i}): its weights overflow float32`);
}
