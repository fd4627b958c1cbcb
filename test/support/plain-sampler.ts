// The sampling filters as they are defined, written out plainly for tests to hold the sampler
// (src/infer/sample.ts) against: every weight computed over the whole row, the vocabulary fully sorted
// (ties by id), the filters cut in that order.

import type { SamplingOptions } from '../../src/infer/sample.js';

/** exp((x − max) · (1 / T)) for every token, 0 under e^-80 of the largest: the definition of the weights. */
export function plainWeights(row: Float32Array, temperature: number): Float64Array {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  const inv = 1 / temperature;
  return Float64Array.from(row, (x) => ((x - max) * inv < -80 ? 0 : Math.exp((x - max) * inv)));
}

/** The kept ids in id order: sort everything (ties by id), keep the top k, then the smallest prefix whose
 *  mass reaches p of theirs, then those at least min-p of the largest. */
export function plainKept(w: Float64Array, o: SamplingOptions): number[] {
  let order = Array.from(w.keys()).sort((a, b) => w[b]! - w[a]! || a - b);
  if (o.topK > 0) order = order.slice(0, o.topK);
  if (o.topP < 1) {
    const need = o.topP * [...order].sort((a, b) => a - b).reduce((sum, i) => sum + w[i]!, 0);
    let mass = 0;
    let keep = 0;
    while (keep < order.length && mass < need) mass += w[order[keep++]!]!;
    order = order.slice(0, keep);
  }
  if (o.minP > 0) order = order.filter((i) => w[i]! >= o.minP);
  return order.sort((a, b) => a - b);
}
