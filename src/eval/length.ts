// Loss against evaluation length, the protocol of the paper's Table 2 (SWAT.md §7.1): contiguous chunks of
// each requested length from held-out text, each scored from its first token with a chosen evaluation
// window; mean next-token loss in nats per token and bits per byte, and the loss at every position of the
// chunk (is the end of a long chunk predicted as well as its start?). Chunks run B at a time through the
// rolling cache, so memory is O(B·(chunk + ω)·d) whatever the length for a windowed model.
//
// Not here: choosing the held-out text (the caller passes a token stream), plotting.

import { DataError, InputError } from '../errors.js';
import { KvCache } from '../model/cache.js';
import type { SwatModel } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { DEFAULT_CHUNK, withWindow } from './score.js';

export interface LengthEvalOptions {
  /** Chunk lengths: tokens scored per chunk (each chunk reads length + 1 tokens). */
  lengths: number[];
  /** Evaluation window; undefined = the model's own. */
  window?: number | null;
  /** Tokens scored per length at most (chunks = tokens / length, at least one). */
  maxTokens: number;
  /** Sequences per forward call. */
  batch: number;
  /** Tokens per forward call and sequence. */
  chunk: number;
  /** Receives (chunks done, chunks in all) for progress display. */
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_LENGTH_EVAL: Omit<LengthEvalOptions, 'lengths'> = { maxTokens: 65536, batch: 8, chunk: DEFAULT_CHUNK };

export interface LengthRow {
  length: number;
  chunks: number;
  tokens: number;
  /** Mean next-token cross-entropy, nats per token. */
  loss: number;
  /** Same total, in bits per byte of the predicted text; null without a tokenizer. */
  bitsPerByte: number | null;
}

export interface LengthResult {
  window: number | null;
  rows: LengthRow[];
  /** Mean loss at each position 0 … length − 1 of the chunks of each length. */
  perPosition: Map<number, Float64Array>;
}

/** Start offsets of `k` chunks of `len + 1` tokens spread evenly over a stream of `n` tokens; they do not
 *  overlap when k · len ≤ n − 1. */
export function chunkStarts(n: number, len: number, k: number): number[] {
  const span = n - 1 - len;
  if (span < 0) throw new DataError(`held-out text has ${n} tokens, a chunk of length ${len} needs ${len + 1}`);
  return Array.from({ length: k }, (_, i) => (k === 1 ? 0 : Math.floor((i * span) / (k - 1))));
}

/** Bytes of text each token id stands for (0 for special tokens), for bits per byte. */
export function tokenByteLengths(tokenizer: Tokenizer, vocabSize: number): Int32Array {
  const out = new Int32Array(vocabSize);
  for (let id = 0; id < Math.min(vocabSize, tokenizer.vocabSize); id++) out[id] = tokenizer.decodeBytes([id]).length;
  return out;
}

/** Per-position losses (B, len) of B chunks read from `stream` at `starts`. */
function scoreChunks(model: SwatModel, stream: ArrayLike<number>, starts: number[], len: number, chunk: number): Float64Array[] {
  const B = starts.length;
  const V = model.config.vocab_size;
  const cache = new KvCache(model.config, model.backend, B);
  const out = starts.map(() => new Float64Array(len));
  const losses = model.backend.alloc(B * Math.min(chunk, len));
  for (let p = 0; p < len; p += chunk) {
    const c = Math.min(chunk, len - p);
    const ids = new Int32Array(B * c);
    const targets = new Int32Array(B * c);
    starts.forEach((s, b) => {
      for (let t = 0; t < c; t++) {
        ids[b * c + t] = stream[s + p + t]!;
        targets[b * c + t] = stream[s + p + t + 1]!;
      }
    });
    const logits = model.forwardCached(ids, B, cache, 'all');
    const l = losses.subarray(0, B * c);
    model.backend.crossEntropyForward(l, logits, targets, B * c, V);
    for (let b = 0; b < B; b++) for (let t = 0; t < c; t++) out[b]![p + t] = l[b * c + t]!;
  }
  return out;
}

/** Loss at each requested length over held-out `stream`. */
export function lossVsLength(model: SwatModel, stream: ArrayLike<number>, tokenizer: Tokenizer | null, options: Partial<LengthEvalOptions> & { lengths: number[] }): LengthResult {
  const o = { ...DEFAULT_LENGTH_EVAL, ...options };
  for (const len of o.lengths) if (!Number.isInteger(len) || len < 1) throw new InputError(`evaluation length must be a positive integer, got ${len}`);
  for (const k of ['maxTokens', 'batch', 'chunk'] as const) if (!Number.isInteger(o[k]) || o[k] < 1) throw new InputError(`${k} must be a positive integer, got ${o[k]}`);
  const m = o.window === undefined ? model : withWindow(model, o.window);
  const bytes = tokenizer ? tokenByteLengths(tokenizer, model.config.vocab_size) : null;
  const plan = o.lengths.map((len) => {
    const fit = Math.floor((stream.length - 1) / len);
    if (fit < 1) throw new DataError(`held-out text has ${stream.length} tokens, too few for evaluation length ${len}`);
    return { len, starts: chunkStarts(stream.length, len, Math.max(1, Math.min(fit, Math.floor(o.maxTokens / len)))) };
  });
  const total = plan.reduce((a, p) => a + p.starts.length, 0);
  let done = 0;
  const rows: LengthRow[] = [];
  const perPosition = new Map<number, Float64Array>();
  for (const { len, starts } of plan) {
    const pos = new Float64Array(len);
    let nats = 0;
    let nBytes = 0;
    for (let i = 0; i < starts.length; i += o.batch) {
      const group = starts.slice(i, i + o.batch);
      const losses = scoreChunks(m, stream, group, len, o.chunk);
      group.forEach((s, b) => {
        for (let t = 0; t < len; t++) {
          pos[t] += losses[b]![t]!;
          nats += losses[b]![t]!;
          if (bytes) nBytes += bytes[stream[s + t + 1]!]!;
        }
      });
      done += group.length;
      o.onProgress?.(done, total);
    }
    for (let t = 0; t < len; t++) pos[t] /= starts.length;
    perPosition.set(len, pos);
    const tokens = starts.length * len;
    rows.push({ length: len, chunks: starts.length, tokens, loss: nats / tokens, bitsPerByte: bytes && nBytes > 0 ? nats / Math.LN2 / nBytes : null });
  }
  return { window: m.config.window_size, rows, perPosition };
}

/** Averages a per-position curve into `bins` equal ranges of positions: [first position, mean loss]. */
export function binCurve(curve: ArrayLike<number>, bins: number): [number, number][] {
  const n = curve.length;
  const k = Math.max(1, Math.min(bins, n));
  const out: [number, number][] = [];
  for (let b = 0; b < k; b++) {
    const lo = Math.floor((b * n) / k);
    const hi = Math.floor(((b + 1) * n) / k);
    let s = 0;
    for (let i = lo; i < hi; i++) s += curve[i]!;
    out.push([lo, s / (hi - lo)]);
  }
  return out;
}
