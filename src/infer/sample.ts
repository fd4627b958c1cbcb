// Picking the next token from one row of logits: greedy (temperature 0), or temperature sampling with
// top-k, top-p (nucleus) and min-p filters, after an optional repetition penalty. Runs once per generated
// token over V values, for every stream of every step, so it reads the row twice (finite check and maximum,
// then one exp per token that can matter) into a compact list of the tokens with a non-zero weight, and
// works on that list from then on: the filters find their weight threshold in O(list) (weights bucketed by
// their bits, the bucket where the cut falls sorted only as far as the cut) and the draw walks the kept
// tokens once.
// Every sum is taken in the same order and arithmetic as before these shortcuts (in id order; bucket by
// bucket for a cut), so a seeded draw is the same token. Not here: log-probabilities for the caller
// (logprobs.ts), the stream's state (stream.ts).

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

/** Tokens with their weights, compact and in id order; grown, never shrunk, and reused by every draw
 *  (one thread samples at a time), so the hot path allocates nothing. */
class WeightList {
  ids = new Int32Array(0);
  w = new Float64Array(0);
  /** The high 32 bits of each weight's float64 form (sign, exponent, top of the mantissa). */
  hi = new Uint32Array(0);
  n = 0;
  /** The weights' sum, in id order. */
  total = 0;
  /** Whether the buckets (below) hold this list's weights, counted as they were added. */
  bucketed = false;

  /** Empties the list, making room for `size` entries. */
  reset(size: number): this {
    if (this.w.length < size) {
      this.ids = new Int32Array(size);
      this.w = new Float64Array(size);
      this.hi = new Uint32Array(this.w.buffer);
    }
    this.n = 0;
    this.total = 0;
    this.bucketed = false;
    return this;
  }

  push(id: number, weight: number): void {
    this.ids[this.n] = id;
    this.w[this.n++] = weight;
    this.total += weight;
  }
}

/** The row's tokens with a non-zero tempered weight; the kept ones of a top-k cut (for top-p after it);
 *  the ones a draw chooses from. */
const nonZero = new WeightList();
const topKept = new WeightList();
const drawable = new WeightList();

/** Below e^-80 of the most likely token's weight a token is never drawn; it counts as 0, which also keeps
 *  the sums away from subnormal numbers (slow on x86). */
const NEGLIGIBLE = -80;

/** Buckets of weights in (0, 1] by the top bits of their float64 form (sign, exponent, two mantissa bits),
 *  whose order is the values' order: 4096 of them cover every positive double up to 1. */
const BUCKETS = 4096;
const bucketMass = new Float64Array(BUCKETS);
const bucketCount = new Uint32Array(BUCKETS);

function bucketOf(hi: number): number {
  return Math.min(hi >>> 18, BUCKETS - 1);
}

/** Counts weight x, whose float64 form has high word `hi`, into its bucket. */
function addToBucket(hi: number, x: number): void {
  const b = bucketOf(hi);
  bucketMass[b]! += x;
  bucketCount[b]!++;
}

/** The largest value of `values`, after refusing a non-finite one (the message names `what` and the first
 *  such index). One pass. */
function finiteMax(values: ArrayLike<number>, what: string): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    // v − v is 0 for every finite v and NaN for NaN and ±Infinity: one subtraction, no call.
    if (v - v !== 0) nonFinite(values, what, i);
    if (v > max) max = v;
  }
  return max;
}

/** exp((row − max) / temperature), each token's probability relative to the most likely one's, into
 *  `out` for the tokens whose weight is not 0: a token under max + NEGLIGIBLE · temperature costs no exp.
 *  With `bucket`, the weights are also counted into the buckets for a cut, in the same pass. */
function nonZeroWeights(row: Floats, max: number, temperature: number, out: WeightList, bucket: boolean): WeightList {
  const { ids, w, hi } = out.reset(row.length);
  const inv = 1 / temperature;
  let n = 0;
  let total = 0;
  for (let i = 0; i < row.length; i++) {
    const z = (row[i]! - max) * inv;
    if (z < NEGLIGIBLE) continue;
    const x = Math.exp(z);
    ids[n] = i;
    w[n] = x;
    total += x;
    if (bucket) addToBucket(hi[2 * n + 1]!, x);
    n++;
  }
  out.n = n;
  out.total = total;
  out.bucketed = bucket;
  return out;
}

/** exp((row − max) / temperature) for every token (0 below the NEGLIGIBLE cutoff), as a full row. */
export function temperedWeights(row: Floats, temperature: number): Float64Array {
  const list = nonZeroWeights(row, finiteMax(row, 'logit'), temperature, nonZero, false);
  const w = new Float64Array(row.length);
  for (let j = 0; j < list.n; j++) w[list.ids[j]!] = list.w[j]!;
  return w;
}

/** What a cut keeps: the weights above `threshold` and the first `ties` (lowest ids) equal to it. */
interface Cut {
  threshold: number;
  ties: number;
}

const NO_CUT: Cut = { threshold: 0, ties: Infinity };

/** The cut of the largest weights of `list` and `zeros` more weights of 0: the smallest set of them, taken
 *  largest first, that holds `limit` weights (`byCount`) or else `limit` mass. Returns the smallest kept
 *  weight and how many weights equal to it are kept (ties go to the lowest ids); everything is kept when
 *  no set is enough. Exact, in O(list): one pass buckets the weights (the masses summed in id order within
 *  a bucket, buckets added largest first), and the bucket where the cut falls is sorted only as far as
 *  the cut, one sub-bucket at a time. */
function cutOf(list: WeightList, zeros: number, byCount: boolean, limit: number): Cut {
  const { w, hi, n } = list;
  if (!list.bucketed) {
    for (let j = 0; j < n; j++) addToBucket(hi[2 * j + 1]!, w[j]!);
  }
  list.bucketed = false;
  // The largest weight is 1 (bucket 4092) unless the temperature is so small that it came out NaN.
  let top = BUCKETS - 1;
  while (top > 0 && bucketCount[top] === 0) top--;
  // A weight of 0 falls in bucket 0 and adds no mass.
  bucketCount[0]! += zeros;
  let count = 0;
  let mass = 0;
  let cut = -1;
  for (let b = top; b >= 0 && cut < 0; b--) {
    if (byCount ? count + bucketCount[b]! >= limit : mass + bucketMass[b]! >= limit) cut = b;
    else {
      count += bucketCount[b]!;
      mass += bucketMass[b]!;
    }
  }
  bucketMass.fill(0, 0, top + 1);
  bucketCount.fill(0, 0, top + 1);
  if (cut < 0) return NO_CUT;
  const grouped = groupedCut(list, cut, zeros);
  // The bucket's weights one at a time, largest first, until the set is enough: the mass is summed in
  // exactly that order. A sub-bucket is sorted (ascending, walked from its end) when the walk reaches it.
  let threshold = 0;
  let ties = 0;
  let taken = false;
  walk: for (let sub = SUB_BUCKETS - 1; sub >= 0; sub--) {
    const from = subStart[sub]!;
    const to = subStart[sub + 1]!;
    sortRange(grouped, from, to);
    for (let j = to - 1; j >= from; j--) {
      if (byCount ? count >= limit : mass >= limit) {
        // Enough before any weight of the bucket: its largest is the threshold, none of it kept.
        if (!taken) threshold = grouped[j]!;
        break walk;
      }
      const x = grouped[j]!;
      count++;
      mass += x;
      if (taken && x === threshold) ties++;
      else {
        threshold = x;
        ties = 1;
        taken = true;
      }
    }
  }
  return { threshold, ties };
}

/** Sub-buckets of the bucket where a cut falls, by the next 11 bits of the float64 form: when one bucket
 *  holds most of the row (a flat distribution, as from an untrained model) each sub-bucket is small, so
 *  grouping by them and sorting each one only when the walk reaches it costs about a pass, where sorting
 *  the whole bucket cost V log V. */
const SUB_BUCKETS = 2048;
/** Where each sub-bucket starts in the grouped weights (and the end, at SUB_BUCKETS). */
const subStart = new Uint32Array(SUB_BUCKETS + 1);
const subNext = new Uint32Array(SUB_BUCKETS);
let gathered = new Float64Array(0);
let gatheredHi = new Uint32Array(0);
let grouped = new Float64Array(0);

/** Sorts a[from..to) ascending, as `TypedArray.prototype.sort` does (NaN last): by insertion when short
 *  (most sub-buckets hold a few weights, and a call to the built-in costs more than sorting them). */
function sortRange(a: Float64Array, from: number, to: number): void {
  if (to - from > 32) {
    a.subarray(from, to).sort();
    return;
  }
  for (let i = from + 1; i < to; i++) {
    const x = a[i]!;
    if (x !== x) continue; // NaN stays after everything, as it came
    let j = i - 1;
    while (j >= from && !(a[j]! <= x)) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = x;
  }
}

function subBucketOf(hi: number): number {
  return (hi >>> 7) & (SUB_BUCKETS - 1);
}

/** The weights of `list` in bucket `cut` (with `zeros` weights of 0 when it is bucket 0), grouped by
 *  sub-bucket in ascending order; `subStart` gives the groups. */
function groupedCut(list: WeightList, cut: number, zeros: number): Float64Array {
  const { w, hi, n } = list;
  if (gathered.length < n + zeros) {
    gathered = new Float64Array(n + zeros);
    gatheredHi = new Uint32Array(gathered.buffer);
    grouped = new Float64Array(n + zeros);
  }
  subStart.fill(0);
  let size = 0;
  for (let j = 0; j < n; j++) {
    const h = hi[2 * j + 1]!;
    if (bucketOf(h) !== cut) continue;
    gathered[size++] = w[j]!;
    subStart[subBucketOf(h) + 1]!++;
  }
  if (cut === 0) {
    gathered.fill(0, size, size + zeros);
    size += zeros;
    subStart[subBucketOf(0) + 1]! += zeros;
  }
  for (let sub = 0; sub < SUB_BUCKETS; sub++) subStart[sub + 1]! += subStart[sub]!;
  subNext.set(subStart.subarray(0, SUB_BUCKETS));
  for (let j = 0; j < size; j++) grouped[subNext[subBucketOf(gatheredHi[2 * j + 1]!)]!++] = gathered[j]!;
  return grouped;
}

/** What the filters keep: a cut, and none below `floor` (min-p). */
interface Keep extends Cut {
  floor: number;
}

const KEEP_ALL: Keep = { ...NO_CUT, floor: 0 };

/** The rule of top-k, then top-p among those, then min-p, over the non-zero weights of a row of V; null when
 *  no filter is on. The filters keep the most likely tokens, so they amount to a weight threshold: every
 *  token above it, and of those exactly at it the lowest ids, as many as a stable sort would take. */
function keepRule(list: WeightList, V: number, o: SamplingOptions): Keep | null {
  if (o.topK === 0 && o.topP >= 1 && o.minP === 0) return null;
  let cut = NO_CUT;
  if (o.topK > 0) cut = cutOf(list, V - list.n, true, o.topK);
  if (o.topP < 1) {
    let pool = list;
    if (o.topK > 0) {
      // The top-k set's non-zero weights: its weights of 0 add no mass, so top-p never cuts among them.
      pool = topKept.reset(list.n);
      let ties = cut.ties;
      for (let j = 0; j < list.n; j++) {
        const x = list.w[j]!;
        if (x > cut.threshold || (x === cut.threshold && ties-- > 0)) pool.push(list.ids[j]!, x);
      }
    }
    // The nucleus lies within the top-k set, whose ties were the lowest ids: so are the nucleus's.
    cut = cutOf(pool, 0, false, o.topP * pool.total);
  }
  // min-p: weights are relative to the most likely token (weight 1), so min-p is a weight floor too.
  return { ...cut, floor: Math.max(cut.threshold, o.minP) };
}

/** The entries of `list` that rule `k` keeps, into `out` (in id order); returns their total weight, summed
 *  in id order. Weights of 0 are never in `list`: a kept 0 adds nothing to the total or the draw. */
function keptOf(list: WeightList, k: Keep, out: WeightList): number {
  const { ids, w, n } = list;
  const { floor, threshold } = k;
  const keptIds = out.reset(n).ids;
  const keptW = out.w;
  let ties = k.ties;
  let total = 0;
  let m = 0;
  for (let j = 0; j < n; j++) {
    const x = w[j]!;
    if (x > floor || (x === floor && (x > threshold || ties-- > 0))) {
      keptIds[m] = ids[j]!;
      keptW[m++] = x;
      total += x;
    }
  }
  out.n = m;
  return total;
}

/** The largest id rule `k` keeps over a row of V whose non-zero weights are `list`, counting the weights of
 *  0 it keeps (the first `ties` of them when the floor is 0); -1 when none. */
function lastKept(list: WeightList, kept: WeightList, V: number, k: Keep): number {
  let last = kept.n > 0 ? kept.ids[kept.n - 1]! : -1;
  if (k.floor !== 0) return last;
  let ties = k.ties;
  for (let id = 0, j = 0; id < V && ties > 0; id++) {
    if (j < list.n && list.ids[j] === id) j++;
    else {
      ties--;
      last = Math.max(last, id);
    }
  }
  return last;
}

/** The ids the filters let a draw choose from, in id order, given the row's weights `w`; null when no filter
 *  is on. */
export function candidates(w: Float64Array, o: SamplingOptions): number[] | null {
  const list = nonZero.reset(w.length);
  for (let i = 0; i < w.length; i++) if (w[i] !== 0) list.push(i, w[i]!);
  const k = keepRule(list, w.length, o);
  if (k === null) return null;
  const ids: number[] = [];
  let ties = k.ties;
  for (let i = 0; i < w.length; i++) {
    const x = w[i]!;
    if (x > k.floor || (x === k.floor && (x > k.threshold || ties-- > 0))) ids.push(i);
  }
  return ids;
}

/** The next token. `recent` holds the latest ids the repetition penalty looks at. One `rng.uniform()` per
 *  draw, over the kept tokens in id order. */
export function sampleToken(logits: Floats, o: SamplingOptions, rng: Rng, recent: ArrayLike<number> = []): number {
  let max = finiteMax(logits, 'logit');
  const row = penalised(logits, o.repetitionPenalty, recent);
  if (o.greedy || o.temperature === 0) return argmax(row);
  // A penalised logit may overflow float32 to -Infinity: its weight is 0, as any below the cutoff.
  if (row !== logits) max = row[argmax(row)]!;
  // Bucketed while the weights are made when the first cut (top-k, else top-p) is over all of them.
  const list = nonZeroWeights(row, max, o.temperature, nonZero, o.topK > 0 || o.topP < 1);
  const k = keepRule(list, row.length, o) ?? KEEP_ALL;
  const total = keptOf(list, k, drawable);
  let u = rng.uniform() * total;
  const { ids, w, n } = drawable;
  for (let j = 0; j < n; j++) if ((u -= w[j]!) < 0) return ids[j]!;
  // Rounding can leave u ≥ 0 after the last subtraction: the last kept token takes it.
  const last = lastKept(list, drawable, row.length, k);
  return last >= 0 ? last : argmax(row);
}

/** Finite weights can still overflow float32 on the way to the logits (weights near 3e38): a NaN would be
 *  sampled as no token at all and printed as null. Refuse it in one line instead. */
export function checkFiniteOutput(values: ArrayLike<number>, what: string): void {
  const i = firstNonFinite(values);
  if (i >= 0) nonFinite(values, what, i);
}

function nonFinite(values: ArrayLike<number>, what: string, i: number): never {
  throw new InputError(`the model computed a non-finite ${what} (${values[i]} at index ${i}): its weights overflow float32`);
}
