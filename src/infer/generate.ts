// Constant-memory inference with the rolling cache of SWAT.md §4: prefill a prompt (in chunks, each seeing
// every key of its window, also those of earlier chunks), then decode token by token; and scoring of a text
// of any length by the same chunked pass.

import type { Floats } from '../tensor.js';
import { InputError } from '../errors.js';
import { KvCache } from '../model/cache.js';
import type { SwatModel } from '../model/model.js';
import { checkIds } from '../model/params.js';
import { type SamplingOptions, DEFAULT_SAMPLING, checkFiniteOutput } from './sample.js';
import { Stream, advance } from './stream.js';

export const DEFAULT_PREFILL_CHUNK = 256;

/** Feeds `ids` through the model in chunks of at most `chunk` tokens; returns the last token's logits (V). */
export function prefill(model: SwatModel, cache: KvCache, ids: readonly number[], chunk = DEFAULT_PREFILL_CHUNK): Floats {
  if (ids.length === 0) throw new InputError('prefill: the prompt is empty');
  let logits: Floats | null = null;
  for (let i = 0; i < ids.length; i += chunk) {
    const part = Int32Array.from(ids.slice(i, i + chunk));
    logits = model.forwardCached(part, 1, cache, 'last');
  }
  return logits!;
}

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  seed: number;
  /** Stop after emitting this token (usually EOS); null = never. */
  stopId: number | null;
  prefillChunk: number;
}

export const DEFAULT_GENERATE: GenerateOptions = {
  ...DEFAULT_SAMPLING, maxNewTokens: 200, seed: 0, stopId: null, prefillChunk: DEFAULT_PREFILL_CHUNK,
};

/** Yields new token ids one at a time, synchronously, through the same decode step as the server's engine.
 *  Memory stays constant however many are generated. */
export function* generate(model: SwatModel, prompt: readonly number[], options: Partial<GenerateOptions> = {}): Generator<number> {
  const { maxNewTokens, stopId, prefillChunk, ...sampling } = { ...DEFAULT_GENERATE, ...options };
  const stream = new Stream(model, prompt, { ...sampling, maxTokens: maxNewTokens, stopIds: stopId === null ? [] : [stopId] });
  while (stream.finish === null) {
    const token = advance(model, [stream], prefillChunk)[0]?.token ?? null;
    if (token !== null) yield token;
  }
}

/** logprobs[i] = log p(ids[i+1] | ids[0..i]) for i < ids.length − 1, computed chunk by chunk in constant
 *  memory. */
export function scoreTokens(model: SwatModel, ids: readonly number[], chunk = DEFAULT_PREFILL_CHUNK): number[] {
  checkIds(ids, model.config.vocab_size);
  const V = model.config.vocab_size;
  const cache = new KvCache(model.config, model.backend, 1);
  const out: number[] = [];
  for (let i = 0; i + 1 < ids.length; i += chunk) {
    const part = Int32Array.from(ids.slice(i, Math.min(i + chunk, ids.length - 1)));
    const targets = Int32Array.from(ids.slice(i + 1, i + 1 + part.length));
    const logits = model.forwardCached(part, 1, cache, 'all');
    const losses = model.backend.alloc(part.length);
    model.backend.crossEntropyForward(losses, logits, targets, part.length, V);
    checkFiniteOutput(losses, 'loss');
    for (const l of losses) out.push(-l);
  }
  return out;
}
