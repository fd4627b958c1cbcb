// The shared decode step and the engine, in process: a stream batched with others at other positions gets
// exactly what it gets alone (SWAT.md §4's cache equivalence, per stream), the sampler's filters against a
// plain full-sort implementation, text pieces and stop strings, and the engine's slots and flow control.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference.js';
import { makeConfig } from '../src/config.js';
import { Engine, type EngineEvent } from '../src/infer/engine.js';
import { generate } from '../src/infer/generate.js';
import { tokenLogprob } from '../src/infer/logprobs.js';
import { DEFAULT_SAMPLING, type SamplingOptions, candidates, sampleToken, temperedWeights } from '../src/infer/sample.js';
import { Stream, advance } from '../src/infer/stream.js';
import { TextStream } from '../src/infer/text.js';
import { KvCache } from '../src/model/cache.js';
import { SwatModel } from '../src/model/model.js';
import { loadModel } from '../src/model/store.js';
import { Rng } from '../src/random.js';
import { ByteLevelTokenizer } from '../src/tokenizer/byte-level.js';
import { fixtureTree } from './support/files.js';
import { plainKept, plainWeights } from './support/plain-sampler.js';
import { chainModelDir } from './support/models.js';

const f64 = new ReferenceBackend('float64');
const f32 = new ReferenceBackend('float32');
const bytes = new ByteLevelTokenizer();

function tinyModel(backend = f64, window: number | null = 4): SwatModel {
  return SwatModel.create(makeConfig({ vocabSize: 13, layers: 2, dim: 8, heads: 2, window, intermediateSize: 16 }), backend, 3);
}

function ids(n: number, seed: number): number[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => rng.nextUint32() % 13);
}

test('forwardStreams: each stream gets exactly the logits it gets alone, whatever its position and chunk', () => {
  for (const window of [4, null]) {
    const model = tinyModel(f64, window);
    const texts = [ids(17, 1), ids(9, 2), ids(23, 3)];
    // Alone: token by token.
    const alone = texts.map((t) => {
      const cache = new KvCache(model.config, f64);
      return t.map((id) => Array.from(model.forwardCached(Int32Array.of(id), 1, cache, 'last')));
    });
    // Together: stream s starts s·3 steps late, reads its first 6 tokens 2 per step (a prompt), then one
    // per step (decoding; with a full window these share one attention call), so positions, chunk sizes and
    // paths differ within every forward.
    const caches = texts.map(() => new KvCache(model.config, f64, 1, 2));
    const fed = texts.map(() => 0);
    for (let step = 0; fed.some((f, s) => f < texts[s]!.length); step++) {
      const segs = texts.flatMap((t, s) => (step >= 3 * s && fed[s]! < t.length ? [{ s, ids: Int32Array.from(t.slice(fed[s], fed[s]! + (fed[s]! < 6 ? 2 : 1))) }] : []));
      const logits = model.forwardStreams(segs.map((g) => ({ ids: g.ids, cache: caches[g.s]!, logits: 'all' as const })));
      let row = 0;
      for (const g of segs) {
        for (let r = 0; r < g.ids.length; r++, row++) {
          assert.deepEqual(Array.from(logits.subarray(row * 13, (row + 1) * 13)), alone[g.s]![fed[g.s]! + r], `window ${window}, stream ${g.s}, token ${fed[g.s]! + r}`);
        }
        fed[g.s]! += g.ids.length;
      }
    }
  }
});

test('a cache with little slack holds ω − 1 + slack rows and gives the same results', () => {
  const model = tinyModel(f64, 4);
  const small = new KvCache(model.config, f64, 1, 1);
  const usual = new KvCache(model.config, f64);
  for (const id of ids(30, 4)) {
    assert.deepEqual(model.forwardCached(Int32Array.of(id), 1, small, 'last'), model.forwardCached(Int32Array.of(id), 1, usual, 'last'));
  }
  assert.equal(small.bytes, 2 * 2 * (4 - 1 + 1) * 8 * 8); // K and V, 2 layers, ω rows, d = 8, float64
  assert.equal(usual.bytes, 2 * 2 * 2 * 4 * 8 * 8);
});

test('sampling filters keep what a full sort keeps, and draw only from it; temperature 0 is greedy; the penalty demotes recent tokens', () => {
  const rng = new Rng(5);
  const row = Float32Array.from({ length: 300 }, () => (rng.uniform() - 0.5) * 8);
  row[17] = row[18] = row[19]; // ties at the cut are taken lowest id first
  const cases: Partial<SamplingOptions>[] = [{ topP: 0.9 }, { topP: 0.3 }, { topK: 7 }, { topK: 20, topP: 0.5 }, { minP: 0.2, topP: 1 }, { minP: 0.05, topP: 0.8 }, { temperature: 0.3, topP: 0.95 }, { topP: 0.001 }];
  for (const c of cases) {
    const o = { ...DEFAULT_SAMPLING, ...c };
    const kept = candidates(temperedWeights(row, o.temperature), o);
    assert.deepEqual(kept, plainKept(plainWeights(row, o.temperature), o), JSON.stringify(c));
    const draws = new Set(Array.from({ length: 300 }, (_, i) => sampleToken(row, o, new Rng(i))));
    assert.ok([...draws].every((id) => kept!.includes(id)), JSON.stringify(c));
    if (kept!.length > 1) assert.ok(draws.size > 1, `${JSON.stringify(c)}: always the same draw`);
  }
  assert.equal(candidates(temperedWeights(row, 1), { ...DEFAULT_SAMPLING, topP: 1 }), null);
  // Ties at the cut go to the lowest ids, as a stable sort would take them.
  const tied = Float32Array.of(0, 2, 1, 2, 2, 1, 3);
  for (const c of [{ topK: 3 }, { topK: 2 }, { topK: 5, topP: 0.6 }, { topP: 0.5 }, { topP: 0.7 }]) {
    const o = { ...DEFAULT_SAMPLING, temperature: 1, ...c };
    assert.deepEqual(candidates(temperedWeights(tied, 1), o), plainKept(plainWeights(tied, 1), o), JSON.stringify(c));
  }
  const best = row.indexOf(Math.max(...row));
  assert.equal(sampleToken(row, { ...DEFAULT_SAMPLING, temperature: 0 }, new Rng(1)), best);
  const penalised = sampleToken(row, { ...DEFAULT_SAMPLING, temperature: 0, repetitionPenalty: 1e6 }, new Rng(1), [best]);
  assert.notEqual(penalised, best);
  assert.equal(row[best], Math.max(...row), 'the caller’s logits are not modified');
});

test('tokenLogprob: log-softmax of the row and the most likely alternatives in order', () => {
  const row = Float32Array.of(1, 3, 2, 3);
  const t = tokenLogprob(row, 2, 3);
  const lse = Math.log(Math.exp(1) + 2 * Math.exp(3) + Math.exp(2));
  assert.ok(Math.abs(t.logprob! - (2 - lse)) < 1e-6);
  assert.deepEqual(t.top!.map((x) => x.id), [1, 3, 2]);
});

test('text pieces never split a character, and stop strings spanning tokens end the text before them', () => {
  const text = 'né€😀 ok';
  const pieces = [...Buffer.from(text)].map(((s) => (id: number) => s.push(id))(new TextStream(bytes)));
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')), JSON.stringify(pieces));
  assert.equal(pieces.join(''), text);
  assert.ok(pieces.filter((p) => p === '').length >= 6, 'the bytes inside characters produce no text');

  const stopping = new TextStream(bytes, ['€😀', 'zz']);
  const out = [...Buffer.from(text)].map((id) => stopping.push(id));
  assert.equal(out.join(''), 'né');
  assert.equal(stopping.stopped, true);
  // Held back while it could be a stop string, released once it cannot.
  const held = new TextStream(bytes, ['ab']);
  assert.deepEqual([...Buffer.from('xaay')].map((id) => held.push(id)), ['x', '', 'a', 'ay']);
  assert.equal(held.end(), '');
  // An unfinished character at the end becomes U+FFFD once.
  const cut = new TextStream(bytes);
  assert.equal(cut.push(0xe2) + cut.push(0x82) + cut.end(), '\uFFFD');
});

test('generate (synchronous) and a stream read its prompt in chunks and sample the same tokens', () => {
  const model = tinyModel(f32, 4);
  const prompt = ids(11, 6);
  const a = [...generate(model, prompt, { maxNewTokens: 12, seed: 4, prefillChunk: 3 })];
  const s = new Stream(model, prompt, { maxTokens: 12, seed: 4 });
  const b: number[] = [];
  while (s.finish === null) {
    const out = advance(model, [s], 5)[0]!;
    if (out.token !== null) b.push(out.token);
  }
  assert.deepEqual(b, a);
  assert.equal(s.finish, 'length');
});

test('echo: the prompt log-probabilities equal scoring it token by token', () => {
  const model = tinyModel(f64, 4);
  const prompt = ids(14, 7);
  const s = new Stream(model, prompt, { maxTokens: 0, echo: true, logprobs: 2 });
  const got = [];
  while (s.finish === null) got.push(...advance(model, [s], 4)[0]!.promptLogprobs);
  assert.equal(got.length, prompt.length);
  assert.equal(got[0]!.logprob, null);
  const cache = new KvCache(model.config, f64);
  for (let i = 0; i + 1 < prompt.length; i++) {
    const row = model.forwardCached(Int32Array.of(prompt[i]!), 1, cache, 'last');
    assert.ok(Math.abs(got[i + 1]!.logprob! - tokenLogprob(row, prompt[i + 1]!, 0).logprob!) < 1e-12);
    assert.equal(got[i + 1]!.top!.length, 2);
  }
});

function runEngine(engine: Engine): Map<number, EngineEvent[]> {
  const byId = new Map<number, EngineEvent[]>();
  for (let i = 0; engine.ready && i < 10_000; i++) for (const e of engine.step().events) byId.set(e.id, [...(byId.get(e.id) ?? []), e]);
  return byId;
}

const tokensOf = (events: EngineEvent[] | undefined) => (events ?? []).flatMap((e) => (e.kind === 'out' && e.out.token !== null ? [e.out.token] : []));

test('engine: greedy output is the same alone and batched with 15 others; slots are reused in order', () => {
  const model = tinyModel(f32, 4);
  const alone = new Engine(model, null, { maxStreams: 1, prefillChunk: 4 });
  alone.submit(0, ids(9, 100), { maxTokens: 20, temperature: 0 });
  const expected = tokensOf(runEngine(alone).get(0));
  assert.equal(expected.length, 20);

  const many = new Engine(model, null, { maxStreams: 6, prefillChunk: 7 });
  for (let i = 1; i <= 15; i++) many.submit(i, ids(5 + i, i), { maxTokens: 5 + i, temperature: 0 });
  many.submit(0, ids(9, 100), { maxTokens: 20, temperature: 0 });
  assert.equal(many.queued, 16);
  const events = runEngine(many);
  assert.deepEqual(tokensOf(events.get(0)), expected);
  for (let i = 1; i <= 15; i++) assert.equal(tokensOf(events.get(i)).length, 5 + i);
  assert.equal(many.active + many.queued, 0);
});

test('engine: a stream without credit waits; a cancel ends it before the next step', () => {
  const model = tinyModel(f32, 4);
  const engine = new Engine(model, null, { maxStreams: 2, prefillChunk: 64 });
  engine.submit(1, [1, 2, 3], { maxTokens: 50 }, 2);
  let produced = tokensOf(runEngine(engine).get(1)).length;
  assert.equal(produced, 2);
  assert.equal(engine.ready, false);
  engine.credit(1, 3);
  produced += tokensOf(runEngine(engine).get(1)).length;
  assert.equal(produced, 5);
  engine.credit(1, 10);
  assert.equal(engine.cancel(1), true);
  assert.equal(engine.ready, false);
  assert.equal(engine.active, 0);
});

test('engine: a bad request fails alone, with its message', () => {
  const model = tinyModel(f32, 4);
  const engine = new Engine(model, null, { maxStreams: 4 });
  engine.submit(1, [1, 99], { maxTokens: 3 });
  engine.submit(2, 'text', { maxTokens: 3 });
  engine.submit(3, [1, 2], { maxTokens: 3 });
  const events = runEngine(engine);
  assert.deepEqual(events.get(1), [{ id: 1, kind: 'error', error: { name: 'InputError', message: 'token id 99 at index 1 is outside the vocabulary [0, 13)' } }]);
  assert.deepEqual(events.get(2), [{ id: 2, kind: 'error', error: { name: 'InputError', message: 'the model has no tokenizer (raw token ids): give the prompt as token ids' } }]);
  assert.equal(tokensOf(events.get(3)).length, 3);
});

test('the chain model writes its text: multi-byte characters arrive whole, a stop string ends it', () => {
  const { root } = fixtureTree('swat-chain-');
  const { model, tokenizer } = loadModel(chainModelDir(root, 'né€😀'), f32);
  const engine = new Engine(model, tokenizer, { maxStreams: 2 });
  engine.submit(1, '', { maxTokens: 44, temperature: 0, stopIds: [] });
  engine.submit(2, '', { maxTokens: 40, temperature: 0.8, stop: ['😀n'] });
  const events = runEngine(engine);
  const text = (id: number) => events.get(id)!.map((e) => (e.kind === 'out' ? e.out.text : '')).join('');
  assert.equal(text(1), 'né€😀'.repeat(4));
  assert.equal(text(2), 'né€');
});
