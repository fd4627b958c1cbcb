// The native backend against the reference: every case of the shared op table (forward and backward) at
// one and two threads under every instruction-set level this CPU supports, larger odd shapes that cross
// the C kernels' tile and chunk boundaries, a whole training step of a small SwatModel, the cache
// equivalences of SWAT.md §4, backend selection, and the argument checks of the C glue.
// Never skipped: `npm test` first rebuilds the addon from the sources in the tree (native/install.mjs
// --strict), and the first test fails unless the loaded addon is that build, so edited C is never tested
// against an old binary. What happens without an addon is test/native-build.test.ts.

import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { selectBackend } from '../src/backend/index.js';
import { NativeBackend, nativeAddon, nativeUnavailableReason, type IsaLevel } from '../src/backend/native.js';
import { ReferenceBackend } from '../src/backend/reference.js';
import type { Backend } from '../src/backend/backend.js';
import { makeConfig, type SwatConfig } from '../src/config.js';
import { InputError } from '../src/errors.js';
import { KvCache } from '../src/model/cache.js';
import { SwatModel } from '../src/model/model.js';
import { Rng } from '../src/random.js';
import type { Floats } from '../src/tensor.js';
import { OP_CASES, maxError, runCase, type Buffers, type OpCase } from './support/opcases.js';
import { nativeAttentionCases, nativeMatmulCases } from './support/native-cases.js';

const unavailable = nativeUnavailableReason();
const f64 = new ReferenceBackend('float64');

/** The hash of the native sources in this tree (dist/test/ → the package root). */
const { sourceHash } = (await import(new URL('../../native/source-hash.mjs', import.meta.url).href)) as { sourceHash(): string };

describe('native backend: the addon under test', () => {
  it('loads, and was built from the C sources in this tree', () => {
    assert.equal(unavailable, null, `the native backend does not load: ${unavailable} (npm test rebuilds it)`);
    assert.equal(nativeAddon().sourceHash(), sourceHash(), 'the addon was built from other sources than native/*.c, *.h and binding.gyp');
  });
});

let native: NativeBackend | null = null;
function nat(): NativeBackend {
  native ??= new NativeBackend({ threads: 2 });
  return native;
}

function outputs(r: { forward: Buffers; backward: Buffers }): [string, Floats][] {
  return [...Object.entries(r.forward), ...Object.entries(r.backward)];
}

/** Runs a case on the native backend and the float64 reference and checks every output within c.tol. */
function assertParity(c: OpCase): void {
  const a = runCase(nat(), c);
  const b = runCase(f64, c);
  for (const [name, out] of outputs(a)) {
    const ref = b.forward[name] ?? b.backward[name]!;
    const err = maxError(out, ref);
    assert.ok(err <= c.tol, `${c.name} ${name}: error ${err} > ${c.tol}`);
  }
}

function levels(): IsaLevel[] {
  return unavailable === null ? nat().isaLevels() : ['portable'];
}

describe('native backend: op table parity with the reference', () => {
  after(() => nat().setIsa(nat().isaLevels().at(-1)!));
  for (const isa of levels()) {
    for (const threads of [1, 2]) {
      describe(`isa ${isa}, ${threads} thread(s)`, () => {
        for (const c of OP_CASES) {
          it(c.name, () => {
            nat().setIsa(isa);
            nat().setThreads(threads);
            assertParity(c);
          });
        }
      });
    }
  }
});

describe('native backend: large and odd shapes', () => {
  after(() => nat().setIsa(nat().isaLevels().at(-1)!));
  const cases = [...nativeMatmulCases(), ...nativeAttentionCases()];
  for (const isa of levels()) {
    for (const c of cases) {
      it(`${isa}: ${c.name}`, () => {
        nat().setIsa(isa);
        nat().setThreads(2);
        assertParity(c);
      });
    }
  }

  it('gives bit-identical results at 1 and 2 threads (work splits never change a sum)', () => {
    for (const c of [...cases.slice(0, 8), ...nativeAttentionCases().slice(0, 3)]) {
      nat().setThreads(1);
      const one = runCase(nat(), c);
      nat().setThreads(2);
      const two = runCase(nat(), c);
      for (const [name, out] of outputs(one)) {
        assert.deepEqual(Array.from(out), Array.from(two.forward[name] ?? two.backward[name]!), `${c.name} ${name}`);
      }
    }
  });
});

function tinyConfig(activation: 'sigmoid' | 'softmax'): SwatConfig {
  return makeConfig({ vocabSize: 61, layers: 2, dim: 32, heads: 4, window: 8, intermediateSize: 40, attention: activation });
}

function randomIds(rng: Rng, n: number, V: number): Int32Array {
  return Int32Array.from({ length: n }, () => Math.floor(rng.uniform() * V));
}

describe('native backend: whole model', () => {
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
      nat().setThreads(2);
      const got = run(nat());
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

describe('native backend: cache equivalences (SWAT.md §4)', () => {
  for (const activation of ['sigmoid', 'softmax'] as const) {
    it(`token-by-token decoding and a long prefill reproduce the full forward far past ω (${activation})`, () => {
      const config = tinyConfig(activation);
      const N = 3 * config.window_size! + 5;
      const V = config.vocab_size;
      const model = SwatModel.create(config, nat(), 11);
      const ids = randomIds(new Rng(5), N, V);
      model.forward(ids, new Int32Array(N).fill(-1), 1, N);
      const full = Float32Array.from(model.logits);
      const row = (t: number) => full.subarray(t * V, (t + 1) * V);

      const step = new KvCache(config, nat());
      for (let t = 0; t < N; t++) {
        const logits = model.forwardCached(ids.subarray(t, t + 1), 1, step, 'all');
        assert.ok(maxError(logits, row(t)) < 1e-5, `decode position ${t}: error ${maxError(logits, row(t))}`);
      }

      const prefill = 2 * config.window_size! + 3; // longer than ω, in one call
      const cache = new KvCache(config, nat());
      const first = model.forwardCached(ids.subarray(0, prefill), 1, cache, 'all');
      assert.ok(maxError(first, full.subarray(0, prefill * V)) < 1e-5, 'prefill logits');
      for (let t = prefill; t < N; t++) {
        const logits = model.forwardCached(ids.subarray(t, t + 1), 1, cache, 'last');
        assert.ok(maxError(logits, row(t)) < 1e-5, `decode after prefill, position ${t}`);
      }
    });
  }
});

describe('native backend: selection and controls', () => {
  it('selectBackend picks native by default and by name, reference by name, and rejects unknown names', () => {
    assert.equal(selectBackend(undefined, { threads: 1 }).name, 'native');
    assert.equal(selectBackend('native', { threads: 2 }).name, 'native');
    assert.equal(selectBackend('reference').name, 'reference');
    assert.throws(() => selectBackend('cuda'), (e: unknown) => e instanceof InputError && /unknown backend 'cuda'/.test(e.message));
  });

  it('takes the thread count from options or SWAT_THREADS and rejects bad values in one line', () => {
    const saved = process.env['SWAT_THREADS'];
    try {
      process.env['SWAT_THREADS'] = '1';
      assert.equal((selectBackend('native') as NativeBackend).threads, 1);
      process.env['SWAT_THREADS'] = 'two';
      assert.throws(() => selectBackend('native'), (e: unknown) => e instanceof InputError && /SWAT_THREADS = two/.test(e.message));
      assert.equal((selectBackend('native', { threads: 2 }) as NativeBackend).threads, 2);
    } finally {
      if (saved === undefined) delete process.env['SWAT_THREADS'];
      else process.env['SWAT_THREADS'] = saved;
    }
  });

  it('lists its instruction-set levels, switches between them and refuses unknown ones', () => {
    const be = nat();
    const lv = be.isaLevels();
    assert.equal(lv[0], 'portable');
    be.setIsa('portable');
    assert.equal(be.isa, 'portable');
    be.setIsa(lv.at(-1)!);
    assert.equal(be.isa, lv.at(-1));
    assert.throws(() => be.setIsa('sse9'), InputError);
    if (!lv.includes('avx512')) assert.throws(() => new NativeBackend({ isa: 'avx512' }), /not supported/);
  });

  it('measures a positive FMA peak', () => {
    const g = nat().peakFlops(0.05, 1);
    assert.ok(Number.isFinite(g) && g > 0.1, `peak ${g} GFLOP/s`);
  });
});

describe('native backend: argument checks throw instead of crashing', () => {
  const oneLine = (re: RegExp) => (e: unknown) => e instanceof InputError && re.test(e.message) && !e.message.includes('\n');

  it('rejects Float64Array buffers: it computes in float32 only', () => {
    const be = nat();
    assert.throws(() => be.add(new Float64Array(4), new Float64Array(4), new Float64Array(4), 4), oneLine(/Float64Array/));
  });

  it('rejects buffers too short for the dimensions', () => {
    const be = nat();
    const a = new Float32Array(6);
    assert.throws(() => be.matmul(new Float32Array(5), a, a, 2, 3, 2, false, false, false), oneLine(/native\.matmul: C has 5 elements, the dimensions need 6/));
    assert.throws(() => be.rmsnormForward(a, a, a, a, 2, 4, 1e-6), oneLine(/out has 6 elements/));
    const s = { B: 1, Tq: 2, Tk: 2, kvStride: 2, H: 1, Dh: 4, window: 2, activation: 'sigmoid' as const, slopes: new Float32Array(1), bias: 0 };
    assert.throws(() => be.attentionForward(new Float32Array(8), new Float32Array(2), new Float32Array(8), new Float32Array(7), new Float32Array(8), s), oneLine(/k has 7 elements/));
  });

  it('rejects impossible shapes, ids and targets', () => {
    const be = nat();
    const buf = new Float32Array(64);
    const s = { B: 1, Tq: 4, Tk: 3, kvStride: 3, H: 1, Dh: 2, window: 2, activation: 'sigmoid' as const, slopes: new Float32Array(1), bias: 0 };
    assert.throws(() => be.attentionForward(buf, buf, buf, buf, buf, s), oneLine(/Tq = 4/));
    assert.throws(() => be.attentionForward(buf, buf, buf, buf, buf, { ...s, Tq: 3, window: 0 }), oneLine(/window = 0/));
    assert.throws(() => be.crossEntropyForward(buf, buf, Int32Array.of(4), 1, 4), oneLine(/targets\[0\] = 4/));
    assert.throws(() => be.embeddingForward(buf, new Float32Array(6), Int32Array.of(0, 2), 2, 3), oneLine(/ids\[1\] = 2/));
    assert.throws(() => be.rope(buf, 1, 1, 1, 3, 0, 10000, false), oneLine(/Dh = 3/));
    assert.throws(() => be.matmul(buf, buf, buf, 1.5, 1, 1, false, false, false), oneLine(/M = 1\.5/));
  });
});
