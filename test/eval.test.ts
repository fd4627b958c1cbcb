// Evaluation primitives against independent computations: continuation scores against full-sequence
// scoring, loss vs length against per-token scores, bits per byte, the evaluation-window override, the sink
// and variance probe against hand-derived values on a model with known attention, and the receptive-field
// bound of SWAT.md §3.2 as an exact zero.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference.js';
import { makeConfig } from '../src/config.js';
import { binCurve, chunkStarts, lossVsLength, tokenByteLengths } from '../src/eval/length.js';
import { influenceProbe, sinkProbe } from '../src/eval/probes.js';
import { logProb, scoreContinuation, withWindow } from '../src/eval/score.js';
import { generate, scoreTokens } from '../src/infer/generate.js';
import { SwatModel } from '../src/model/model.js';
import { EMBEDDINGS, layerNames } from '../src/model/params.js';
import { ByteLevelTokenizer } from '../src/tokenizer/byte-level.js';

const be = new ReferenceBackend('float32');
const tok = new ByteLevelTokenizer();

function model(patch: Partial<Parameters<typeof makeConfig>[0]> = {}, seed = 3): SwatModel {
  return SwatModel.create(makeConfig({ vocabSize: 258, layers: 2, dim: 16, heads: 2, window: 4, intermediateSize: 24, bosId: 256, eosId: 257, ...patch }), be, seed);
}

const text = 'It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness. ';
const stream = Int32Array.from(tok.encode(text.repeat(4)));

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

test('logProb is a normalised log-softmax', () => {
  const row = Float32Array.from([1, 2, 3, -1]);
  const total = [0, 1, 2, 3].reduce((s, i) => s + Math.exp(logProb(row, i)), 0);
  close(total, 1, 1e-12);
  close(logProb(row, 2) - logProb(row, 1), 1, 1e-6);
});

test('scoreContinuation equals the continuation part of full-sequence scoring, across chunk sizes', () => {
  const m = model();
  const ctx = [257, ...tok.encode('The cat sat on the')];
  const cont = tok.encode(' mat, and then it went to sleep.');
  const full = scoreTokens(m, [...ctx, ...cont]);
  const expected = full.slice(ctx.length - 1);
  for (const chunk of [3, 7, 256]) {
    const s = scoreContinuation(m, ctx, cont, chunk);
    assert.equal(s.tokenLogprobs.length, cont.length);
    s.tokenLogprobs.forEach((l, i) => close(l, expected[i]!));
    close(s.logprob, expected.reduce((a, b) => a + b, 0));
  }
  assert.throws(() => scoreContinuation(m, [], cont), /context is empty/);
});

test('scoreContinuation.greedy is true exactly for what greedy decoding produces', () => {
  const m = model();
  const ctx = [257, ...tok.encode('Hello')];
  const greedyIds = [...generate(m, ctx, { greedy: true, maxNewTokens: 6, stopId: null })];
  assert.equal(scoreContinuation(m, ctx, greedyIds).greedy, true);
  const other = [...greedyIds];
  other[3] = (other[3]! + 1) % 256;
  assert.equal(scoreContinuation(m, ctx, other).greedy, false);
});

test('withWindow shares the weights and changes only the window', () => {
  const m = model();
  const full = withWindow(m, null);
  assert.equal(full.config.window_size, null);
  assert.equal(full.params, m.params);
  assert.equal(withWindow(m, 4), m);
  assert.throws(() => withWindow(m, 0), /positive integer/);
});

test('chunkStarts: evenly spread, in range, and non-overlapping when they fit', () => {
  const s = chunkStarts(101, 10, 10);
  assert.equal(s.length, 10);
  assert.equal(s[0], 0);
  assert.ok(s[9]! + 10 + 1 <= 101);
  for (let i = 1; i < s.length; i++) assert.ok(s[i]! - s[i - 1]! >= 10);
  assert.throws(() => chunkStarts(5, 10, 1), /needs 11/);
});

test('lossVsLength: per-position losses are the chunk scored from its start; batching does not change them', () => {
  const m = model();
  const r1 = lossVsLength(m, stream, tok, { lengths: [4, 24], maxTokens: 96, batch: 1, chunk: 5 });
  const r3 = lossVsLength(m, stream, tok, { lengths: [4, 24], maxTokens: 96, batch: 3, chunk: 256 });
  for (const [i, row] of r1.rows.entries()) {
    close(row.loss, r3.rows[i]!.loss);
    assert.equal(row.chunks, Math.min(Math.floor((stream.length - 1) / row.length), Math.floor(96 / row.length)));
    assert.equal(row.tokens, row.chunks * row.length);
  }
  // The first chunk of length 24 starts at 0: its per-token losses are −scoreTokens of those 25 tokens.
  const single = lossVsLength(m, stream.subarray(0, 25), tok, { lengths: [24], maxTokens: 24 });
  const ref = scoreTokens(m, Array.from(stream.subarray(0, 25)));
  single.perPosition.get(24)!.forEach((l, t) => close(l, -ref[t]!));
  close(single.rows[0]!.loss, -ref.reduce((a, b) => a + b, 0) / 24);
  // Byte-level text without EOS: one byte per token, so bits per byte = nats / ln 2.
  close(single.rows[0]!.bitsPerByte!, single.rows[0]!.loss / Math.LN2);
  assert.equal(lossVsLength(m, stream, null, { lengths: [4] }).rows[0]!.bitsPerByte, null);
});

test('lossVsLength: the evaluation window matters only past it', () => {
  const m = model(); // trained window 4
  const own = lossVsLength(m, stream, tok, { lengths: [4, 32], maxTokens: 128 });
  const full = lossVsLength(m, stream, tok, { lengths: [4, 32], maxTokens: 128, window: null });
  assert.equal(full.window, null);
  assert.equal(own.window, 4);
  close(own.rows[0]!.loss, full.rows[0]!.loss); // length 4 ≤ ω: identical attention
  assert.notEqual(own.rows[1]!.loss, full.rows[1]!.loss);
  assert.throws(() => lossVsLength(m, stream.subarray(0, 10), tok, { lengths: [32] }), /too few/);
});

test('tokenByteLengths and binCurve', () => {
  const b = tokenByteLengths(tok, 258);
  assert.equal(b[65], 1);
  assert.equal(b[256], 0);
  assert.equal(b[257], 0);
  assert.deepEqual(binCurve([1, 3, 5, 7], 2), [[0, 2], [2, 6]]);
  assert.deepEqual(binCurve([1, 2], 8), [[0, 1], [1, 2]]);
});

/** A model whose queries are zero, so every score is s_h·(m − n) + b and the weights are known exactly. */
function knownAttention(activation: 'sigmoid' | 'softmax', slope: number): SwatModel {
  const m = model({ attention: activation, alibi: `${slope},${-slope}`, layers: 1, window: 6 });
  m.params.get(layerNames(0).q).fill(0);
  return m;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

test('sinkProbe: weights on position 0 match the hand-computed values of a known attention pattern', () => {
  const s = 0.5;
  const r = sinkProbe(knownAttention('sigmoid', s), stream, { length: 10, sequences: 2 });
  // Queries m = 1 … 5 (window 6) see key 0 at distance m: head 0 favours old keys (+s), head 1 recent (−s).
  for (const [h, sign] of [[0, 1], [1, -1]] as const) {
    const head = r.heads.find((x) => x.head === h)!;
    const first = [1, 2, 3, 4, 5].map((m) => sigmoid(sign * s * m));
    close(head.first, first.reduce((a, b) => a + b, 0) / 5, 1e-5);
    const others = [1, 2, 3, 4, 5].flatMap((m) => Array.from({ length: m }, (_, n) => sigmoid(sign * s * (m - n - 1))));
    close(head.others, others.reduce((a, b) => a + b, 0) / others.length, 1e-5);
    const share = [1, 2, 3, 4, 5].map((m) => sigmoid(sign * s * m) / Array.from({ length: m + 1 }, (_, n) => sigmoid(sign * s * (m - n))).reduce((a, b) => a + b, 0));
    close(head.share, share.reduce((a, b) => a + b, 0) / 5, 1e-5);
  }
  assert.ok(r.heads[0]!.ratio > 1 && r.heads[1]!.ratio < 1);
  // Scores depend on distance only: the first token gets no boost over other keys at the same distance,
  // although head 0's raw ratio favours it (it is the oldest key).
  for (const head of r.heads) close(head.boost, 0, 1e-9);
  const soft = sinkProbe(knownAttention('softmax', s), stream, { length: 10, sequences: 2 });
  for (const h of soft.heads) close(h.share, h.first, 1e-9); // softmax rows sum to one
});

test('sinkProbe: residual-stream variance per position is the variance of the embedding rows at layer 0', () => {
  const m = model();
  const r = sinkProbe(m, stream, { length: 8, sequences: 1 });
  const E = m.params.get(EMBEDDINGS);
  const D = m.config.hidden_size;
  const row = (id: number) => Array.from(E.subarray(id * D, (id + 1) * D));
  const v = (x: number[]) => x.reduce((a, y) => a + y * y, 0) / x.length - (x.reduce((a, y) => a + y, 0) / x.length) ** 2;
  close(r.variancePerPosition[0]![0]!, v(row(stream[0]!)), 1e-4);
  close(r.variancePerPosition[0]![5]!, v(row(stream[5]!)), 1e-4);
  assert.equal(r.variance.length, m.config.num_hidden_layers + 1);
  close(r.variance[0]!.ratio, r.variance[0]!.first / r.variance[0]!.rest, 1e-12);
});

test('influenceProbe: a token more than (ω − 1)·L back changes nothing, exactly; full attention sees everything', () => {
  const m = model({ layers: 3, window: 4 }); // bound (4 − 1)·3 = 9
  const ids = Array.from(stream.subarray(0, 40));
  const r = influenceProbe(m, ids, Array.from({ length: 16 }, (_, i) => i), 88);
  assert.equal(r.bound, 9);
  for (const row of r.rows) {
    if (row.distance > 9) assert.equal(row.maxChange, 0, `distance ${row.distance}`);
  }
  assert.equal(r.farthest, 9);
  const full = influenceProbe(withWindow(m, null), ids, [20, 39], 88);
  assert.equal(full.bound, null);
  assert.ok(full.rows.every((x) => x.maxChange > 0));
});
