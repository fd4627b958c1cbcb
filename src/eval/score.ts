// Scoring primitives shared by every evaluation: a model seen through a different attention window, the
// log-probability of a continuation given a context (chunked through the rolling cache of SWAT.md §4, so
// memory stays constant whatever the context length), and log-softmax of one row of logits.
// Not here: task formats (tasks.ts), aggregation into metrics (choice.ts, length.ts).

import { InputError } from '../errors.js';
import { KvCache } from '../model/cache.js';
import { SwatModel } from '../model/model.js';
import { logProb } from '../infer/logprobs.js';
import type { Floats } from '../tensor.js';

export const DEFAULT_CHUNK = 256;

/** The same weights evaluated with attention window `window` (null = full causal attention). The
 *  parameters are shared, not copied. Table 2 of the paper evaluates at the training window; this is how a
 *  different one is chosen. */
export function withWindow(model: SwatModel, window: number | null): SwatModel {
  if (window !== null && (!Number.isInteger(window) || window < 1)) {
    throw new InputError(`evaluation window must be a positive integer or none, got ${window}`);
  }
  if (window === model.config.window_size) return model;
  return new SwatModel({ ...model.config, window_size: window }, model.backend, model.params);
}

export { logProb };

function isArgmax(row: Floats, id: number): boolean {
  const v = row[id]!;
  for (let i = 0; i < row.length; i++) if (row[i]! > v) return false;
  return true;
}

export interface ContinuationScore {
  /** Σ log p(continuation token | everything before it). */
  logprob: number;
  /** Per continuation token. */
  tokenLogprobs: number[];
  /** Whether greedy decoding from the context would produce exactly the continuation. */
  greedy: boolean;
}

/** Scores `cont` after `ctx` (both token ids; ctx non-empty). The context is prefilled computing only its
 *  last row's logits; the continuation's rows are computed in chunks of `chunk` tokens. */
export function scoreContinuation(model: SwatModel, ctx: readonly number[], cont: readonly number[], chunk = DEFAULT_CHUNK): ContinuationScore {
  if (ctx.length === 0) throw new InputError('scoreContinuation: the context is empty (start it with EOS or BOS)');
  if (cont.length === 0) throw new InputError('scoreContinuation: the continuation is empty');
  const V = model.config.vocab_size;
  const cache = new KvCache(model.config, model.backend, 1);
  for (let i = 0; i < ctx.length - 1; i += chunk) {
    model.forwardCached(Int32Array.from(ctx.slice(i, Math.min(i + chunk, ctx.length - 1))), 1, cache, 'last');
  }
  // Inputs whose next-token predictions score the continuation: the last context token, then all but the
  // last continuation token.
  const inputs = [ctx[ctx.length - 1]!, ...cont.slice(0, -1)];
  const tokenLogprobs: number[] = [];
  let greedy = true;
  for (let i = 0; i < inputs.length; i += chunk) {
    const part = inputs.slice(i, i + chunk);
    const logits = model.forwardCached(Int32Array.from(part), 1, cache, 'all');
    for (let r = 0; r < part.length; r++) {
      const row = logits.subarray(r * V, (r + 1) * V);
      const target = cont[i + r]!;
      tokenLogprobs.push(logProb(row, target));
      if (!isArgmax(row, target)) greedy = false;
    }
  }
  return { logprob: tokenLogprobs.reduce((a, b) => a + b, 0), tokenLogprobs, greedy };
}
