// Zero-shot metrics as lm-evaluation-harness computes them: multiple choice by the log-likelihood of each
// continuation (`acc`: the highest sum of log-probabilities; `acc_norm`: the highest sum divided by the
// continuation's length in bytes), LAMBADA (last-word accuracy under greedy decoding, and perplexity of the
// last word), and perplexity of a long text (per token, per byte, per word; bits per byte), scored in
// constant memory. Every context starts after EOS, as every training document does.
//
// Not here: file formats (tasks.ts); tokenization choices beyond encoding context and continuation apart.

import { DataError, InputError } from '../errors.js';
import { scoreTokens } from '../infer/generate.js';
import type { SwatModel } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { scoreContinuation } from './score.js';
import type { ChoiceItem, LambadaItem } from './tasks.js';

export interface ChoiceResult {
  items: number;
  acc: number;
  accStderr: number;
  accNorm: number;
  accNormStderr: number;
}

export interface EvalOptions {
  /** Score only the first `limit` items. */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
}

const utf8 = new TextEncoder();

/** Standard error of a mean of 0/1 outcomes (sample standard deviation / √n, as the harness reports). */
function stderr(hits: number[]): number {
  const n = hits.length;
  if (n < 2) return NaN;
  const p = hits.reduce((a, b) => a + b, 0) / n;
  return Math.sqrt((p * (1 - p) * n) / (n - 1) / n);
}

function argmax(xs: number[]): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

function context(tokenizer: Tokenizer, text: string): number[] {
  return [tokenizer.eosId, ...tokenizer.encode(text)];
}

function take<T>(items: T[], limit: number | undefined): T[] {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new InputError(`limit must be a positive integer, got ${limit}`);
  if (items.length === 0) throw new DataError('no items to evaluate');
  return limit === undefined ? items : items.slice(0, limit);
}

/** Log-likelihood of every choice of one item: [sum of log-probabilities, continuation bytes]. */
export function scoreChoices(model: SwatModel, tokenizer: Tokenizer, item: ChoiceItem): { logprob: number; bytes: number }[] {
  return item.choices.map((c) => {
    const cont = tokenizer.encode(c.continuation);
    return { logprob: scoreContinuation(model, context(tokenizer, c.context), cont).logprob, bytes: utf8.encode(c.continuation).length };
  });
}

export function evaluateChoices(model: SwatModel, tokenizer: Tokenizer, all: ChoiceItem[], o: EvalOptions = {}): ChoiceResult {
  const items = take(all, o.limit);
  const acc: number[] = [];
  const accNorm: number[] = [];
  items.forEach((item, i) => {
    const s = scoreChoices(model, tokenizer, item);
    acc.push(argmax(s.map((x) => x.logprob)) === item.label ? 1 : 0);
    accNorm.push(argmax(s.map((x) => x.logprob / Math.max(1, x.bytes))) === item.label ? 1 : 0);
    o.onProgress?.(i + 1, items.length);
  });
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { items: items.length, acc: mean(acc), accStderr: stderr(acc), accNorm: mean(accNorm), accNormStderr: stderr(accNorm) };
}

export interface LambadaResult {
  items: number;
  /** Share of passages whose last word greedy decoding reproduces exactly. */
  acc: number;
  accStderr: number;
  /** exp(−mean log-likelihood of the last word), the harness's LAMBADA perplexity. */
  perplexity: number;
}

export function evaluateLambada(model: SwatModel, tokenizer: Tokenizer, all: LambadaItem[], o: EvalOptions = {}): LambadaResult {
  const items = take(all, o.limit);
  const hits: number[] = [];
  let ll = 0;
  items.forEach((item, i) => {
    const s = scoreContinuation(model, context(tokenizer, item.context), tokenizer.encode(item.target));
    hits.push(s.greedy ? 1 : 0);
    ll += s.logprob;
    o.onProgress?.(i + 1, items.length);
  });
  return { items: items.length, acc: hits.reduce((a, b) => a + b, 0) / items.length, accStderr: stderr(hits), perplexity: Math.exp(-ll / items.length) };
}

export interface PerplexityResult {
  /** Tokens each prediction could see at most: null when the text was scored as one sequence (a windowed
   *  model, whose memory is constant anyway), else the length of the disjoint windows a full-attention model
   *  was scored in. */
  context: number | null;
  tokens: number;
  bytes: number;
  words: number;
  tokenPerplexity: number;
  bytePerplexity: number;
  wordPerplexity: number;
  bitsPerByte: number;
}

/** Perplexity of `text` as one document after EOS. A windowed model scores it in one pass in constant
 *  memory. A full-attention model would cost O(N²) and run past the positions it was trained on, so it is
 *  scored in disjoint windows of `context` tokens (default: its max_position_embeddings), each conditioned on
 *  the last token before it, as lm-evaluation-harness's rolling log-likelihood does. `maxBytes` truncates the
 *  text at a line break first (WikiText-2's test split is 1.3 MB). */
export function evaluatePerplexity(model: SwatModel, tokenizer: Tokenizer, text: string, maxBytes?: number, context?: number): PerplexityResult {
  if (context !== undefined && (!Number.isInteger(context) || context < 1)) throw new InputError(`context must be a positive integer, got ${context}`);
  let t = text;
  if (maxBytes !== undefined && utf8.encode(t).length > maxBytes) {
    t = Buffer.from(utf8.encode(t).subarray(0, maxBytes)).toString('utf8');
    const nl = t.lastIndexOf('\n');
    if (nl > 0) t = t.slice(0, nl + 1);
  }
  const ids = tokenizer.encode(t);
  if (ids.length === 0) throw new DataError('perplexity: the text is empty');
  const all = [tokenizer.eosId, ...ids];
  const span = model.config.window_size === null ? context ?? model.config.max_position_embeddings : all.length;
  let nats = 0;
  for (let s = 0; s + 1 < all.length; s += span) nats -= scoreTokens(model, all.slice(s, s + span + 1)).reduce((a, b) => a + b, 0);
  const bytes = utf8.encode(t).length;
  const words = t.split(/\s+/).filter((w) => w !== '').length;
  return {
    context: model.config.window_size === null ? span : null, tokens: ids.length, bytes, words,
    tokenPerplexity: Math.exp(nats / ids.length), bytePerplexity: Math.exp(nats / bytes), wordPerplexity: Math.exp(nats / Math.max(1, words)),
    bitsPerByte: nats / Math.LN2 / bytes,
  };
}
