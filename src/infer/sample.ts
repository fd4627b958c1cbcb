// Picking the next token from one row of logits: greedy (temperature 0), or temperature sampling with
// top-k, top-p (nucleus) and min-p filters, after an optional repetition penalty. Runs once per generated
// token over V values, for every stream of every step, so the filters find their weight threshold in
// O(V) (weights bucketed by their bits, one bucket sorted) and never sort the vocabulary.
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

/** Buckets of weights in (0, 1] by the top bits of their float64 form (sign, exponent, two mantissa bits),
 *  whose order is the values' order: 4096 of them cover every positive double up to 1. */
const BUCKETS = 4096;
const bucketMass = new Float64Array(BUCKETS);
const bucketCount = new Uint32Array(BUCKETS);

/** The cut of the largest weights: the smallest set of them, taken largest first, for which
 *  `enough(count, mass)` holds. Returns the smallest kept weight and how many weights equal to it are kept
 *  (ties go to the lowest ids); everything is kept (threshold 0) when no set is enough. Exact, in O(V): one
 *  pass buckets the weights, and only the bucket where the cut falls is sorted. */
export function cutOf(w: Float64Array, enough: (count: number, mass: number) => boolean): { threshold: number; ties: number } {
  const hi = new Uint32Array(w.buffer, w.byteOffset, w.length * 2);
  let top = 0;
  for (let i = 0; i < w.length; i++) {
    const b = Math.min(hi[2 * i + 1]! >>> 18, BUCKETS - 1);
    bucketMass[b]! += w[i]!;
    bucketCount[b]!++;
    if (b > top) top = b;
  }
  let count = 0;
  let mass = 0;
  let cut = -1;
  for (let b = top; b >= 0 && cut < 0; b--) {
    if (enough(count + bucketCount[b]!, mass + bucketMass[b]!)) cut = b;
    else {
      count += bucketCount[b]!;
      mass += bucketMass[b]!;
    }
  }
  bucketMass.fill(0, 0, top + 1);
  bucketCount.fill(0, 0, top + 1);
  if (cut < 0) return { threshold: 0, ties: Infinity };
  const inCut: number[] = [];
  for (let i = 0; i < w.length; i++) if (Math.min(hi[2 * i + 1]! >>> 18, BUCKETS - 1) === cut) inCut.push(w[i]!);
  const sorted = Float64Array.from(inCut).sort().reverse();
  let k = 0;
  while (k < sorted.length && !enough(count, mass)) {
    count++;
    mass += sorted[k++]!;
  }
  const threshold = sorted[Math.max(0, k - 1)]!;
  let ties = 0;
  for (let j = 0; j < k; j++) if (sorted[j] === threshold) ties++;
  return { threshold, ties };
}

/** The weights of the ids that a cut keeps, in id order. */
function kept(w: Float64Array, threshold: number, ties: number): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < w.length; i++) if (w[i]! > threshold || (w[i] === threshold && ties-- > 0)) out.push(w[i]!);
  return Float64Array.from(out);
}

/** What the filters keep: the weights above `threshold`, the first `ties` (lowest ids) equal to it, and
 *  none below `floor` (min-p). */
interface Keep {
  threshold: number;
  ties: number;
  floor: number;
}

/** The rule of top-k, then top-p among those, then min-p; null when no filter is on. The filters keep the
 *  most likely tokens, so they amount to a weight threshold: every token above it, and of those exactly at
 *  it the lowest ids, as many as a stable sort would take. */
function keepRule(w: Float64Array, o: SamplingOptions): Keep | null {
  if (o.topK === 0 && o.topP >= 1 && o.minP === 0) return null;
  let cut = { threshold: 0, ties: Infinity };
  if (o.topK > 0) cut = cutOf(w, (count) => count >= o.topK);
  if (o.topP < 1) {
    const pool = o.topK > 0 ? kept(w, cut.threshold, cut.ties) : w;
    let total = 0;
    for (let i = 0; i < pool.length; i++) total += pool[i]!;
    const need = o.topP * total;
    // The nucleus lies within the top-k set, whose ties were the lowest ids: so are the nucleus's.
    cut = cutOf(pool, (_count, mass) => mass >= need);
  }
  // min-p: weights are relative to the most likely token (weight 1), so min-p is a weight floor too.
  return { ...cut, floor: Math.max(cut.threshold, o.minP) };
}

/** Whether the weight x of the next id in id order is kept; `ties` counts down the ties still kept. */
function keeps(x: number, k: Keep, ties: { left: number }): boolean {
  return x > k.floor || (x === k.floor && (x > k.threshold || ties.left-- > 0));
}

/** The ids the filters let a draw choose from, in id order; null when no filter is on. */
export function candidates(w: Float64Array, o: SamplingOptions): number[] | null {
  const k = keepRule(w, o);
  if (k === null) return null;
  const ties = { left: k.ties };
  const ids: number[] = [];
  for (let i = 0; i < w.length; i++) if (keeps(w[i]!, k, ties)) ids.push(i);
  return ids;
}

/** Scratch for the tempered weights of one row, reused by every draw (one thread samples at a time). */
let scratch = new Float64Array(0);

/** The next token. `recent` holds the latest ids the repetition penalty looks at. The kept tokens are
 *  walked in id order with their tempered weights, twice (their total, then the draw); no list of them is
 *  built. */
export function sampleToken(logits: Floats, o: SamplingOptions, rng: Rng, recent: ArrayLike<number> = []): number {
  checkFiniteOutput(logits, 'logit');
  const row = penalised(logits, o.repetitionPenalty, recent);
  if (o.greedy || o.temperature === 0) return argmax(row);
  if (scratch.length !== row.length) scratch = new Float64Array(row.length);
  const w = temperedWeights(row, o.temperature, scratch);
  const k = keepRule(w, o) ?? { threshold: 0, ties: Infinity, floor: 0 };
  let total = 0;
  let last = -1;
  let ties = { left: k.ties };
  for (let i = 0; i < w.length; i++) {
    if (!keeps(w[i]!, k, ties)) continue;
    total += w[i]!;
    last = i;
  }
  let u = rng.uniform() * total;
  ties = { left: k.ties };
  for (let i = 0; i < w.length; i++) if (keeps(w[i]!, k, ties) && (u -= w[i]!) < 0) return i;
  // Rounding can leave u ≥ 0 after the last subtraction: the last kept token takes it.
  return last >= 0 ? last : argmax(row);
}

/** Below e^-80 of the most likely token's weight a token is never drawn; it counts as 0, which also keeps
 *  the sums away from subnormal numbers (slow on x86). */
const NEGLIGIBLE = -80;

/** exp((row − max) / temperature): each token's probability relative to the most likely one's (in `out`
 *  when given). */
export function temperedWeights(row: Floats, temperature: number, out?: Float64Array): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  const w = out ?? new Float64Array(row.length);
  const inv = 1 / temperature;
  for (let i = 0; i < row.length; i++) {
    const z = (row[i]! - max) * inv;
    w[i] = z < NEGLIGIBLE ? 0 : Math.exp(z);
  }
  return w;
}

/** Finite weights can still overflow float32 on the way to the logits (weights near 3e38): a NaN would be
 *  sampled as no token at all and printed as null. Refuse it in one line instead. */
export function checkFiniteOutput(values: ArrayLike<number>, what: string): void {
  const i = firstNonFinite(values);
  if (i >= 0) throw new InputError(`the model computed a non-finite ${what} (${values[i]} at index ${i}): its weights overflow float32`);
}
