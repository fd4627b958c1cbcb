// Picking the next token from one row of logits: greedy (temperature 0), or temperature sampling with
// top-k, top-p (nucleus) and min-p filters, after an optional repetition penalty. Runs once per generated
// token over V values; the filters sort only the candidates that can survive, never the whole vocabulary.
// Not here: log-probabilities for the caller (logprobs.ts), the stream's state (stream.ts).

import { InputError } from '../errors.js';
import type { Rng } from '../random.js';
import type { Floats } from '../tensor.js';

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

/** The ids whose tempered probability is at least `floor` × the largest, most likely first (ties by id). */
function above(row: Floats, max: number, temperature: number, floor: number): number[] {
  const cut = max + temperature * Math.log(floor);
  const ids: number[] = [];
  for (let i = 0; i < row.length; i++) if (row[i]! >= cut) ids.push(i);
  return ids.sort((a, b) => row[b]! - row[a]! || a - b);
}

/** The surviving candidates of top-k, then top-p among those, then min-p, most likely first; or null when
 *  no filter is on (then every id is a candidate, in id order). A nucleus is a prefix of the sorted order,
 *  so without top-k it is searched among the tokens above a falling probability floor until their mass
 *  reaches p, without sorting the rest of the vocabulary. */
function candidates(row: Floats, max: number, o: SamplingOptions, weight: (id: number) => number, total: () => number): number[] | null {
  if (o.topK === 0 && o.topP >= 1 && o.minP === 0) return null;
  let ids: number[];
  const nucleus = (sorted: number[], need: number) => {
    let mass = 0;
    let keep = 0;
    while (keep < sorted.length && mass < need) mass += weight(sorted[keep++]!);
    return { mass, keep };
  };
  if (o.topK > 0) {
    ids = above(row, max, o.temperature, 0).slice(0, o.topK);
    if (o.topP < 1) ids.length = nucleus(ids, o.topP * ids.reduce((a, id) => a + weight(id), 0)).keep;
  } else if (o.topP < 1) {
    const need = o.topP * total();
    for (let floor = 1e-3; ; floor *= 1e-3) {
      ids = above(row, max, o.temperature, floor);
      const { mass, keep } = nucleus(ids, need);
      if (mass >= need || ids.length === row.length || floor < 1e-300) {
        ids.length = keep;
        break;
      }
    }
  } else {
    ids = above(row, max, o.temperature, o.minP);
  }
  if (o.minP > 0) {
    let keep = 0;
    while (keep < ids.length && weight(ids[keep]!) >= o.minP) keep++;
    ids.length = Math.max(1, keep);
  }
  return ids;
}

/** The next token. `recent` holds the latest ids the repetition penalty looks at. */
export function sampleToken(logits: Floats, o: SamplingOptions, rng: Rng, recent: ArrayLike<number> = []): number {
  const row = penalised(logits, o.repetitionPenalty, recent);
  if (o.greedy || o.temperature === 0) return argmax(row);
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  // Tempered probability of id relative to the most likely token (1 for it).
  const weight = (id: number) => Math.exp((row[id]! - max) / o.temperature);
  let sum: number | null = null;
  const total = () => {
    if (sum === null) {
      sum = 0;
      for (let i = 0; i < row.length; i++) sum += weight(i);
    }
    return sum;
  };
  const ids = candidates(row, max, o, weight, total);
  if (ids === null) {
    let u = rng.uniform() * total();
    for (let i = 0; i < row.length; i++) {
      u -= weight(i);
      if (u < 0) return i;
    }
    return row.length - 1;
  }
  const probs = ids.map(weight);
  let u = rng.uniform() * probs.reduce((a, b) => a + b, 0);
  for (let j = 0; j < ids.length; j++) {
    u -= probs[j]!;
    if (u < 0) return ids[j]!;
  }
  return ids[ids.length - 1]!;
}
