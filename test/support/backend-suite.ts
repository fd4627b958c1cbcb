// The tests every compiled backend (native, wasm) passes against the reference backend: every case of the
// shared op table (forward and backward) at each kernel level and at one and two threads, larger odd shapes
// that cross the C kernels' tile and chunk boundaries, bit-identical results at one and two threads, a whole
// training step of a small SwatModel, and the cache equivalences of SWAT.md §4. A backend's own tests
// (selection, controls, argument checks) stay in its test file.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import type { Backend } from '../../src/backend/backend.js';
import { ReferenceBackend } from '../../src/backend/reference.js';
import { makeConfig, type SwatConfig } from '../../src/config.js';
import { KvCache } from '../../src/model/cache.js';
import { SwatModel } from '../../src/model/model.js';
import { Rng } from '../../src/random.js';
import type { Floats } from '../../src/tensor.js';
import { OP_CASES, maxError, runCase, type Buffers, type OpCase } from './opcases.js';
import { nativeAttentionCases, nativeMatmulCases } from './native-cases.js';

/** A backend with kernel levels and a thread pool. */
export interface CompiledBackend extends Backend {
  readonly threads: number;
  setThreads(n: number): void;
  /** Kernel levels, lowest first; the last is the default. */
  isaLevels(): string[];
  setIsa(level: string): void;
}

const f64 = new ReferenceBackend('float64');

export function outputs(r: { forward: Buffers; backward: Buffers }): [string, Floats][] {
  return [...Object.entries(r.forward), ...Object.entries(r.backward)];
}

/** Runs a case on `be` and on the float64 reference and checks every output within c.tol. */
export function assertParity(be: Backend, c: OpCase): void {
  const a = runCase(be, c);
  const b = runCase(f64, c);
  for (const [name, out] of outputs(a)) {
    const ref = b.forward[name] ?? b.backward[name]!;
    const err = maxError(out, ref);
    assert.ok(err <= c.tol, `${c.name} ${name}: error ${err} > ${c.tol}`);
  }
}

export function tinyConfig(activation: 'sigmoid' | 'softmax'): SwatConfig {
  return makeConfig({ vocabSize: 61, layers: 2, dim: 32, heads: 4, window: 8, intermediateSize: 40, attention: activation });
}

/** The logits of one full forward over `ids` (one sequence), copied. */
export function fullForwardLogits(model: SwatModel, ids: Int32Array): Float32Array {
  model.forward(ids, new Int32Array(ids.length).fill(-1), 1, ids.length);
  return Float32Array.from(model.logits);
}

/** Runs `ids` through a fresh rolling cache in chunks of chunkAt(t) tokens (1: token by token) and checks
 *  every position's logits against `full` (fullForwardLogits) within 1e-5: the cache equivalences of
 *  SWAT.md §4. */
export function assertCachedLogits(model: SwatModel, ids: Int32Array, full: Float32Array, chunkAt: (t: number) => number, what: string): void {
  const V = model.config.vocab_size;
  const cache = new KvCache(model.config, model.backend);
  for (let t = 0; t < ids.length; ) {
    const n = Math.min(chunkAt(t), ids.length - t);
    const logits = model.forwardCached(ids.subarray(t, t + n), 1, cache, 'all');
    const err = maxError(logits, full.subarray(t * V, (t + n) * V));
    assert.ok(err < 1e-5, `${what} at position ${t}: error ${err}`);
    t += n;
  }
}

export function randomIds(rng: Rng, n: number, V: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * V));
}

/** Registers the shared tests of a compiled backend. `get` is called inside tests only (the backend may
 *  be unavailable: then `skip` says why); `levels` lists the kernel levels to test. */
export function compiledBackendSuite(label: string, get: () => CompiledBackend, levels: () => string[], skip: false | string): void {
  const best = () => get().setIsa(get().isaLevels().at(-1)!);

  describe(`${label}: op table parity with the reference`, { skip }, () => {
    after(best);
    for (const isa of levels()) {
      for (const threads of [1, 2]) {
        describe(`isa ${isa}, ${threads} thread(s)`, () => {
          for (const c of OP_CASES) {
            it(c.name, () => {
              get().setIsa(isa);
              get().setThreads(threads);
              assertParity(get(), c);
            });
          }
        });
      }
    }
  });

  describe(`${label}: large and odd shapes`, { skip }, () => {
    after(best);
    const cases = [...nativeMatmulCases(), ...nativeAttentionCases()];
    for (const isa of levels()) {
      for (const c of cases) {
        it(`${isa}: ${c.name}`, () => {
          get().setIsa(isa);
          get().setThreads(2);
          assertParity(get(), c);
        });
      }
    }

    it('gives bit-identical results at 1 and 2 threads (work splits never change a sum)', () => {
      for (const c of [...cases.slice(0, 8), ...nativeAttentionCases().slice(0, 3)]) {
        get().setThreads(1);
        const one = runCase(get(), c);
        get().setThreads(2);
        const two = runCase(get(), c);
        for (const [name, out] of outputs(one)) {
          assert.deepEqual(Array.from(out), Array.from(two.forward[name] ?? two.backward[name]!), `${c.name} ${name}`);
        }
      }
    });
  });

  describe(`${label}: whole model`, { skip }, () => {
    for (const activation of ['sigmoid', 'softmax'] as const) {
      it(`a training step (${activation}) gives the reference's loss, gradients and updated weights`, () => {
        const config = tinyConfig(activation);
        const B = 2;
        const T = 4 * config.window_size!;
        const rng = new Rng(7);
        const inputs = randomIds(rng, B * T, config.vocab_size);
        const targets = randomIds(rng, B * T, config.vocab_size);
        targets[5] = -1; // an ignored position
        const run = (be: Backend) => {
          const model = SwatModel.create(config, be, 3);
          const grads = model.zerosLike();
          const loss = model.forward(inputs, targets, B, T);
          model.backward(targets, grads);
          const m = model.zerosLike();
          const v = model.zerosLike();
          be.adamw(model.params.flat, grads.flat, m.flat, v.flat, model.parameterCount,
            { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1 });
          return { loss, grads, after: model.forward(inputs, targets, B, T) };
        };
        const ref = run(new ReferenceBackend('float32'));
        get().setThreads(2);
        const got = run(get());
        // Float32 everywhere, different summation orders: agreement to ~1e-6 relative on a loss of ~4.
        assert.ok(Math.abs(got.loss - ref.loss) < 1e-5 * ref.loss, `loss ${got.loss} vs ${ref.loss}`);
        for (const spec of ref.grads.specs) {
          const err = maxError(got.grads.get(spec.name), ref.grads.get(spec.name));
          // Gradients pass through up to a dozen float32 ops; 1e-4 of each tensor's scale is a few ulp each.
          assert.ok(err < 1e-4, `d${spec.name}: error ${err}`);
        }
        // The weights after AdamW are compared through the loss they give, not element by element: a first
        // Adam step moves each weight by ±lr·sign(g), so a gradient that is ~0 up to rounding may flip sign.
        assert.ok(Math.abs(got.after - ref.after) < 1e-4 * ref.after, `loss after a step ${got.after} vs ${ref.after}`);
      });
    }
  });

  describe(`${label}: cache equivalences (SWAT.md §4)`, { skip }, () => {
    for (const activation of ['sigmoid', 'softmax'] as const) {
      it(`token-by-token decoding and a long prefill reproduce the full forward far past ω (${activation})`, () => {
        const be = get();
        const config = tinyConfig(activation);
        const N = 3 * config.window_size! + 5;
        const V = config.vocab_size;
        const model = SwatModel.create(config, be, 11);
        const ids = randomIds(new Rng(5), N, V);
        const full = fullForwardLogits(model, ids);
        const row = (t: number) => full.subarray(t * V, (t + 1) * V);
        assertCachedLogits(model, ids, full, () => 1, 'decode');

        const prefill = 2 * config.window_size! + 3; // longer than ω, in one call
        const cache = new KvCache(config, be);
        const first = model.forwardCached(ids.subarray(0, prefill), 1, cache, 'all');
        assert.ok(maxError(first, full.subarray(0, prefill * V)) < 1e-5, 'prefill logits');
        for (let t = prefill; t < N; t++) {
          const logits = model.forwardCached(ids.subarray(t, t + 1), 1, cache, 'last');
          assert.ok(maxError(logits, row(t)) < 1e-5, `decode after prefill, position ${t}`);
        }
      });
    }
  });
}
