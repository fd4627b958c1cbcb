// Pins the model of SWAT.md §2–4 on the reference backend: the whole loss's gradient against finite
// differences (float64), the receptive-field bound of §3.2, and the cache equivalences of §4.

import assert from 'node:assert/strict';
import { totalmem } from 'node:os';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference.js';
import { type SwatConfig, makeConfig, receptiveField } from '../src/config.js';
import { prefill } from '../src/infer/generate.js';
import { KvCache } from '../src/model/cache.js';
import { SwatModel } from '../src/model/model.js';
import { Rng } from '../src/random.js';
import type { Floats } from '../src/tensor.js';

const f64 = new ReferenceBackend('float64');
const f32 = new ReferenceBackend('float32');

function tiny(patch: Partial<Parameters<typeof makeConfig>[0]> = {}, std = 0.3): SwatConfig {
  const c = makeConfig({ vocabSize: 13, layers: 2, dim: 8, heads: 2, window: 3, intermediateSize: 12, ...patch });
  c.initializer_range = std; // large enough that every path of the network matters to the loss
  return c;
}

function randomIds(n: number, V: number, seed: number): Int32Array {
  const rng = new Rng(seed);
  return Int32Array.from({ length: n }, () => rng.int(V));
}

/** Full forward logits (B·T, V) of a sequence, through the training path. */
function fullLogits(model: SwatModel, ids: Int32Array): Floats {
  const targets = new Int32Array(ids.length).fill(-1);
  model.forward(ids, targets, 1, ids.length);
  return model.logits.slice();
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const variants: [string, Partial<Parameters<typeof makeConfig>[0]>][] = [
  ['SWAT: sigmoid, balanced ALiBi, RoPE, window 3', {}],
  ['softmax, negative ALiBi, window 3', { attention: 'softmax', alibi: 'negative' }],
  ['sigmoid, no RoPE, bias −1, untied head', { rope: false, sigmoidBias: -1, tieEmbeddings: false }],
  ['full attention (window none)', { window: null }],
];

for (const [name, patch] of variants) {
  test(`whole-model loss gradient equals finite differences (${name})`, () => {
    const model = SwatModel.create(tiny(patch), f64, 7);
    const B = 2;
    const T = 7;
    const inputs = randomIds(B * T, 13, 1);
    const targets = randomIds(B * T, 13, 2);
    targets[3] = -1; // an ignored position must not count
    const grads = model.zerosLike();
    model.forward(inputs, targets, B, T);
    model.backward(targets, grads);
    const rng = new Rng(3);
    const h = 1e-6;
    for (const spec of model.params.specs) {
      const w = model.params.get(spec.name);
      const g = grads.get(spec.name);
      for (let probe = 0; probe < 4; probe++) {
        const i = rng.int(w.length);
        const saved = w[i]!;
        w[i] = saved + h;
        const up = model.forward(inputs, targets, B, T);
        w[i] = saved - h;
        const down = model.forward(inputs, targets, B, T);
        w[i] = saved;
        const numeric = (up - down) / (2 * h);
        const err = Math.abs(g[i]! - numeric) / (Math.abs(numeric) + 1e-7);
        assert.ok(err < 1e-5, `${spec.name}[${i}]: analytic ${g[i]} vs numeric ${numeric}`);
      }
    }
  });
}

test('a second backward exactly doubles the parameter gradients (they accumulate)', () => {
  // Untied head and distinct ids: then every gradient element receives one addition per backward, so
  // float rounding cannot hide in the order of several additions.
  const model = SwatModel.create(tiny({ tieEmbeddings: false }), f64, 1);
  const inputs = Int32Array.from({ length: 12 }, (_, i) => (i * 5) % 13);
  const targets = randomIds(12, 13, 5);
  const once = model.zerosLike();
  const twice = model.zerosLike();
  model.forward(inputs, targets, 1, 12);
  model.backward(targets, once);
  for (let k = 0; k < 2; k++) {
    model.forward(inputs, targets, 1, 12);
    model.backward(targets, twice);
  }
  for (let i = 0; i < once.flat.length; i++) assert.equal(twice.flat[i], 2 * once.flat[i]!);
  assert.throws(() => model.backward(targets, twice), /no forward/);
});

for (const attention of ['sigmoid', 'softmax'] as const) {
  test(`receptive field (SWAT.md §3.2, ${attention}): a token farther than (ω−1)·L cannot change a logit, one at that distance does`, () => {
    const config = tiny({ layers: 3, window: 4, attention });
    const model = SwatModel.create(config, f32, 2);
    const reach = receptiveField(config)! - 1; // farthest distance that can still flow: (ω − 1)·L = 9
    const N = reach + 8;
    const ids = randomIds(N, 13, 6);
    const m = N - 1;
    const base = fullLogits(model, ids).slice(m * 13, (m + 1) * 13);
    const changedAt = (n: number) => {
      const other = ids.slice();
      other[n] = (other[n]! + 1) % 13;
      return fullLogits(model, other).slice(m * 13, (m + 1) * 13);
    };
    for (let d = reach + 1; d <= reach + 6; d++) assert.deepEqual(changedAt(m - d), base, `distance ${d} leaked into the logits`);
    assert.notDeepEqual(changedAt(m - reach), base, `distance ${reach} should reach the last token`);
    assert.notDeepEqual(changedAt(m - 1), base);
  });
}

for (const [name, patch] of variants) {
  test(`cache equivalences of SWAT.md §4 with N ≥ 3ω (${name})`, () => {
    const config = tiny({ ...patch, window: patch.window === null ? null : 5 });
    for (const [be, tol] of [[f64, 1e-12], [f32, 2e-5]] as const) {
      const model = SwatModel.create(config, be, 3);
      const N = 3 * 5 + 7;
      const ids = randomIds(N, 13, 8);
      const full = fullLogits(model, ids);
      const V = 13;
      // 1. token by token reproduces the full forward, far past ω.
      const cache = new KvCache(config, be);
      const stepwise = new Float64Array(N * V);
      for (let t = 0; t < N; t++) stepwise.set(model.forwardCached(ids.subarray(t, t + 1), 1, cache, 'last'), t * V);
      assert.ok(maxDiff(stepwise, full) < tol, `token-by-token differs by ${maxDiff(stepwise, full)}`);
      // 2. a prompt longer than ω, prefilled in one call or in chunks, then decoded, matches too.
      for (const chunk of [N - 4, 3, 6, 11]) {
        const c2 = new KvCache(config, be);
        const last = prefill(model, c2, Array.from(ids.subarray(0, N - 4)), chunk);
        assert.ok(maxDiff(last, full.subarray((N - 5) * V, (N - 4) * V)) < tol, `prefill chunk ${chunk}`);
        for (let t = N - 4; t < N; t++) {
          const row = model.forwardCached(ids.subarray(t, t + 1), 1, c2, 'last');
          assert.ok(maxDiff(row, full.subarray(t * V, (t + 1) * V)) < tol, `decode after prefill chunk ${chunk}, position ${t}`);
        }
        const c3 = new KvCache(config, be);
        const all = new Float64Array(N * V);
        for (let t = 0; t < N; t += chunk) all.set(model.forwardCached(ids.subarray(t, Math.min(N, t + chunk)), 1, c3, 'all'), t * V);
        assert.ok(maxDiff(all, full) < tol, `all-rows chunked pass, chunk ${chunk}`);
      }
    }
  });
}

test('a window at least as long as the text equals full attention (banded = dense at model level)', () => {
  const N = 9;
  const ids = randomIds(N, 13, 9);
  const windowed = SwatModel.create(tiny({ window: N }), f64, 4);
  const dense = SwatModel.create(tiny({ window: null }), f64, 4);
  assert.ok(maxDiff(fullLogits(windowed, ids), fullLogits(dense, ids)) < 1e-12);
});

test('batched decoding keeps sequences apart and equals decoding each alone', () => {
  const config = tiny({ window: 4 });
  const model = SwatModel.create(config, f64, 5);
  const a = randomIds(14, 13, 10);
  const b = randomIds(14, 13, 11);
  const both = new KvCache(config, f64, 2);
  const solo = [new KvCache(config, f64), new KvCache(config, f64)];
  for (let t = 0; t < 14; t++) {
    const rows = model.forwardCached(Int32Array.of(a[t]!, b[t]!), 2, both, 'last');
    const ra = model.forwardCached(a.subarray(t, t + 1), 1, solo[0]!, 'last');
    const rb = model.forwardCached(b.subarray(t, t + 1), 1, solo[1]!, 'last');
    assert.ok(maxDiff(rows.subarray(0, 13), ra) < 1e-12 && maxDiff(rows.subarray(13), rb) < 1e-12, `position ${t}`);
  }
});

test('decode memory is constant: the cache never grows with the number of tokens', () => {
  const config = tiny({ window: 8 });
  const model = SwatModel.create(config, f32, 6);
  const cache = new KvCache(config, f32);
  const sizes = new Set<number>();
  const id = new Int32Array(1);
  for (let t = 0; t < 200; t++) {
    id[0] = t % 13;
    model.forwardCached(id, 1, cache, 'last');
    sizes.add(cache.bytes);
  }
  assert.deepEqual([...sizes], [2 * 2 * 2 * 8 * 8 * 4]); // K and V, 2 layers, 2ω rows, d = 8, 4 bytes
  prefill(model, cache, Array.from(randomIds(100, 13, 12)), 100); // a long prefill grows it for one call …
  assert.equal(cache.bytes, 2 * 2 * 2 * 8 * 8 * 4); // … and gives the memory back
});

test('ids outside the vocabulary are refused with the offending id', () => {
  const model = SwatModel.create(tiny(), f32, 0);
  assert.throws(() => model.forwardCached(Int32Array.of(1, 13), 1, new KvCache(model.config, f32), 'last'), {
    name: 'InputError', message: 'token id 13 at index 1 is outside the vocabulary [0, 13)',
  });
  assert.throws(() => model.forward(Int32Array.of(-1), Int32Array.of(0), 1, 1), { name: 'InputError' });
});

test('the decode cache checks its size before allocating: one buffer per layer, all of them against memory', () => {
  // A valid config (29.5M parameters) whose window of a million tokens needs 1 TiB of keys and values.
  const deep = makeConfig({ vocabSize: 13, layers: 1024, dim: 64, heads: 2, window: 2 ** 20, intermediateSize: 64 });
  assert.throws(() => new KvCache(deep, f32), {
    name: 'InputError',
    message: `decode cache: 1 × 2097152 rows × width 64 × 1024 layers × keys and values = 1099511627776 bytes, more than this machine's memory (${totalmem()})`,
  });
  const wide = { ...tiny(), hidden_size: 2 ** 16, window_size: 2 ** 20 };
  assert.throws(() => new KvCache(wide, f32), {
    name: 'InputError',
    message: 'decode cache: 1 × 2097152 rows × width 65536 = 137438953472 values per layer, more than one buffer holds (4294967296)',
  });
  // Full attention grows with the text: the growth is checked too.
  const full = new KvCache({ ...tiny(), window_size: null, hidden_size: 2 ** 16 }, f32);
  assert.throws(() => full.reserve(2 ** 17), { name: 'InputError', message: /^decode cache: 1 × 131072 rows × width 65536 = 8589934592 values per layer/ });
});
