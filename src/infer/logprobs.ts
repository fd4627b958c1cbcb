// Log-probabilities of tokens under one row of logits, for scoring (echo), for the caller's view of what
// was sampled, and for the most likely alternatives (OpenAI's top_logprobs). Computed in float64 from the
// raw logits, before any sampling filter, as lm-evaluation-harness expects.

import type { Floats } from '../tensor.js';

export interface TokenLogprob {
  id: number;
  /** log p(id | everything before it); null for the first token of a text, which nothing predicts. */
  logprob: number | null;
  /** The most likely tokens at this position with their log-probabilities, most likely first. */
  top?: { id: number; logprob: number }[];
}

/** log Σ exp(row), computed stably in float64: log softmax(row)[i] = row[i] − logNormaliser(row). */
export function logNormaliser(row: Floats): number {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  return max + Math.log(sum);
}

/** log softmax(row)[id], computed stably in float64. */
export function logProb(row: Floats, id: number): number {
  return row[id]! - logNormaliser(row);
}

/** The log-probability of `id` under `row`, with the `top` most likely alternatives when top > 0. */
export function tokenLogprob(row: Floats, id: number, top: number): TokenLogprob {
  const norm = logNormaliser(row);
  const out: TokenLogprob = { id, logprob: row[id]! - norm };
  if (top > 0) {
    const best: number[] = [];
    for (let i = 0; i < row.length; i++) {
      if (best.length === top && row[i]! <= row[best[top - 1]!]!) continue;
      let j = Math.min(best.length, top - 1);
      best[j] = i;
      while (j > 0 && row[best[j - 1]!]! < row[i]!) {
        best[j] = best[j - 1]!;
        best[--j] = i;
      }
    }
    out.top = best.map((i) => ({ id: i, logprob: row[i]! - norm }));
  }
  return out;
}
