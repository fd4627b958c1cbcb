// Probes of SWAT.md §7.4–7.5, read from the model's own activations:
// - attention sink: per layer and head, the mean attention weight on position 0 against the mean weight on
//   the other keys a query sees, and for sigmoid also position 0's share of the row sum; and the variance
//   (over the hidden dimension) of the residual stream at each position, per layer, where a sink shows as a
//   first-token spike;
// - receptive field: how far back a change of one token can move the last position's logits. Beyond
//   (ω − 1)·L positions nothing can flow (§3.2), so the change there must be exactly zero.
// Not here: the trained retrieval task (retrieval.ts) and plotting.

import { DataError, InputError } from '../errors.js';
import { type SwatConfig, headDim, receptiveField } from '../config.js';
import { KvCache } from '../model/cache.js';
import type { SwatModel } from '../model/model.js';
import type { Floats } from '../tensor.js';
import { chunkStarts } from './length.js';

export interface SinkHead {
  layer: number;
  head: number;
  /** Mean attention weight on position 0 over the queries m ≥ 1 that see it. */
  first: number;
  /** Mean weight on the other keys those queries see. */
  others: number;
  /** first / others: about 1 without a sink, ≫ 1 with one. */
  ratio: number;
  /** Position 0's share of each row's total weight (softmax: equals `first`). */
  share: number;
  /** Mean score (pre-activation logit) on position 0 minus the mean score the same head gives a later,
   *  ordinary key at the same distance: ALiBi favours or penalises distance by design, so only this
   *  difference isolates a preference for the first token itself. For softmax e^boost multiplies the
   *  attention weight (the row normalisation cancels); for sigmoid it multiplies the odds σ/(1 − σ). */
  boost: number;
}

export interface VarianceLayer {
  /** Residual stream index: 0 = embeddings, l = output of layer l. */
  layer: number;
  /** Variance over the hidden dimension at position 0, averaged over sequences. */
  first: number;
  /** The same, averaged over positions 1 … T − 1. */
  rest: number;
  ratio: number;
}

export interface SinkResult {
  activation: string;
  sequences: number;
  length: number;
  heads: SinkHead[];
  variance: VarianceLayer[];
  /** Per residual stream, the variance at each position (for plots). */
  variancePerPosition: number[][];
}

interface HeadAccumulator {
  first: number;
  others: number;
  othersCount: number;
  share: number;
  boost: number;
  queries: number;
}

/** Score z[h, m, n] of SWAT.md §3, recomputed from the saved q and k (after RoPE) of sequence b. */
function score(c: SwatConfig, q: Floats, k: Floats, b: number, T: number, h: number, m: number, n: number): number {
  const D = c.hidden_size;
  const Dh = headDim(c);
  const qo = (b * T + m) * D + h * Dh;
  const ko = (b * T + n) * D + h * Dh;
  let dot = 0;
  for (let i = 0; i < Dh; i++) dot += q[qo + i]! * k[ko + i]!;
  return dot / Math.sqrt(Dh) + (c.alibi_slopes[h] ?? 0) * (m - n) + c.sigmoid_bias;
}

/** Attention weights of query m of (sequence b, head h) over keys lo … m, with the model's activation. */
function attentionRow(c: SwatConfig, q: Floats, k: Floats, b: number, T: number, h: number, m: number, lo: number): Float64Array {
  const z = new Float64Array(m - lo + 1);
  for (let n = lo; n <= m; n++) z[n - lo] = score(c, q, k, b, T, h, m, n);
  if (c.attention_activation === 'sigmoid') return z.map((v) => 1 / (1 + Math.exp(-v)));
  const max = Math.max(...z);
  const e = z.map((v) => Math.exp(v - max));
  const s = e.reduce((a, x) => a + x, 0);
  return e.map((v) => v / s);
}

/** Runs the sink and variance probe on `sequences` chunks of `length` tokens from held-out `stream`. The
 *  queries probed are those that see position 0: m = 1 … min(length, ω) − 1. */
export function sinkProbe(model: SwatModel, stream: ArrayLike<number>, opts: { length: number; sequences: number }): SinkResult {
  const c = model.config;
  const { length: T, sequences: B } = opts;
  if (!Number.isInteger(T) || T < 2) throw new InputError(`sink probe: length must be an integer ≥ 2, got ${T}`);
  if (!Number.isInteger(B) || B < 1) throw new InputError(`sink probe: sequences must be a positive integer, got ${B}`);
  if (stream.length < T + 1) throw new DataError(`sink probe: held-out text has ${stream.length} tokens, needs ${T + 1}`);
  const starts = chunkStarts(stream.length, T, B);
  const inputs = new Int32Array(B * T);
  starts.forEach((s, b) => { for (let t = 0; t < T; t++) inputs[b * T + t] = stream[s + t]!; });
  model.forward(inputs, new Int32Array(B * T).fill(-1), B, T);
  const acts = model.activations;
  const lastQuery = Math.min(T, c.window_size ?? T) - 1;
  const heads: SinkHead[] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    for (let h = 0; h < c.num_heads; h++) {
      const a: HeadAccumulator = { first: 0, others: 0, othersCount: 0, share: 0, boost: 0, queries: 0 };
      const [q, k] = [acts.q[l]!, acts.k[l]!];
      for (let b = 0; b < B; b++) {
        for (let m = 1; m <= lastQuery; m++) {
          const w = attentionRow(c, q, k, b, T, h, m, 0);
          const sum = w.reduce((x, y) => x + y, 0);
          a.first += w[0]!;
          a.share += w[0]! / sum;
          for (let n = 1; n < w.length; n++) a.others += w[n]!;
          a.othersCount += w.length - 1;
          a.boost += firstTokenBoost(c, q, k, b, T, h, m);
          a.queries++;
        }
      }
      const first = a.first / a.queries;
      const others = a.others / a.othersCount;
      heads.push({ layer: l, head: h, first, others, ratio: first / others, share: a.share / a.queries, boost: a.boost / a.queries });
    }
  }
  const { variance, perPosition } = residualVariance(acts.xs, B, T, c.hidden_size);
  return { activation: c.attention_activation, sequences: B, length: T, heads, variance, variancePerPosition: perPosition };
}

/** z(m, 0) minus the mean of z(m', m' − m) over the later queries m' = m + 1 … T − 1: the first token's
 *  score against ordinary keys at the same distance (0 when no later query exists). */
function firstTokenBoost(c: SwatConfig, q: Floats, k: Floats, b: number, T: number, h: number, m: number): number {
  if (m + 1 >= T) return 0;
  let s = 0;
  for (let m2 = m + 1; m2 < T; m2++) s += score(c, q, k, b, T, h, m2, m2 - m);
  return score(c, q, k, b, T, h, m, 0) - s / (T - 1 - m);
}

function residualVariance(xs: Floats[], B: number, T: number, D: number): { variance: VarianceLayer[]; perPosition: number[][] } {
  const perPosition = xs.map((x) => {
    const v = new Array<number>(T).fill(0);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * D;
        let s = 0;
        let s2 = 0;
        for (let i = 0; i < D; i++) {
          s += x[o + i]!;
          s2 += x[o + i]! * x[o + i]!;
        }
        v[t]! += (s2 / D - (s / D) ** 2) / B;
      }
    }
    return v;
  });
  const variance = perPosition.map((v, layer) => {
    const rest = v.slice(1).reduce((a, x) => a + x, 0) / (T - 1);
    return { layer, first: v[0]!, rest, ratio: v[0]! / rest };
  });
  return { variance, perPosition };
}

export interface InfluenceResult {
  /** (ω − 1)·L: the farthest distance that can influence a token; null for full attention. */
  bound: number | null;
  /** For each probed distance δ, the largest change of the last position's logits when the token δ
   *  positions before it is replaced. */
  rows: { distance: number; maxChange: number }[];
  /** The farthest probed distance with a non-zero change. */
  farthest: number;
}

/** Replaces the token δ positions before the last of `ids` by `replacement` for each δ in `distances`
 *  and measures how much the last position's logits move. Runs through the rolling cache, so it also
 *  checks that chunked inference respects the bound. */
export function influenceProbe(model: SwatModel, ids: readonly number[], distances: number[], replacement: number): InfluenceResult {
  const c = model.config;
  const last = ids.length - 1;
  const logitsOf = (seq: readonly number[]) => {
    const cache = new KvCache(c, model.backend, 1);
    let out: Floats | null = null;
    for (let i = 0; i < seq.length; i += 256) out = model.forwardCached(Int32Array.from(seq.slice(i, i + 256)), 1, cache, 'last');
    return out!;
  };
  const base = logitsOf(ids);
  const rows = distances.map((distance) => {
    if (!Number.isInteger(distance) || distance < 0 || distance > last) {
      throw new InputError(`influence probe: distance ${distance} is outside the sequence of ${ids.length} tokens`);
    }
    const changed = [...ids];
    changed[last - distance] = replacement === changed[last - distance] ? (replacement + 1) % c.vocab_size : replacement;
    const after = logitsOf(changed);
    let maxChange = 0;
    for (let i = 0; i < base.length; i++) maxChange = Math.max(maxChange, Math.abs(after[i]! - base[i]!));
    return { distance, maxChange };
  });
  const rf = receptiveField(c);
  return { bound: rf === null ? null : rf - 1, rows, farthest: Math.max(-1, ...rows.filter((r) => r.maxChange > 0).map((r) => r.distance)) };
}
