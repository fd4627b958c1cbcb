// Tests that pin every backend op on the reference backend: the op table (test/support/opcases.ts) for
// gradient checks, float32/float64 agreement and "writes" semantics, plus hand-written oracles for what a
// table cannot say (dense masked attention, RoPE numbers, AdamW steps, accumulation, stability).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { ReferenceBackend } from '../src/backend/reference.js';
import type { AttentionShape } from '../src/backend/backend.js';
import { InputError } from '../src/errors.js';
import { Rng } from '../src/random.js';
import type { Floats } from '../src/tensor.js';
import {
  OP_CASES, attentionCase, attentionShape, maxError, runCase, toBackend, uniform,
  type AttentionParams, type Buffers, type OpName,
} from './support/opcases.js';
import { gradcheck } from './support/gradcheck.js';

const f64 = new ReferenceBackend('float64');
const f32 = new ReferenceBackend('float32');

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  const err = maxError(actual, expected);
  assert.ok(err <= tol, `${what}: error ${err} > ${tol}`);
}

function assertFinite(x: ArrayLike<number>, what: string): void {
  for (let i = 0; i < x.length; i++) assert.ok(Number.isFinite(x[i]), `${what}[${i}] = ${x[i]}`);
}

/** Forward and backward outputs of a case by name (backward names start with d, so none collide). */
function allOutputs(r: { forward: Buffers; backward: Buffers }): [string, Floats][] {
  return [...Object.entries(r.forward), ...Object.entries(r.backward)];
}

describe('ReferenceBackend basics', () => {
  it('is named reference and allocates zeroed buffers of its dtype', () => {
    assert.equal(f32.name, 'reference');
    assert.equal(new ReferenceBackend().dtype, 'float32');
    assert.ok(f32.alloc(3) instanceof Float32Array);
    assert.ok(f64.alloc(3) instanceof Float64Array);
    assert.deepEqual(Array.from(f64.alloc(4)), [0, 0, 0, 0]);
  });

  it('rejects impossible attention shapes and targets with a one-line InputError', () => {
    const s = attentionShape(f64, { B: 1, Tq: 4, Tk: 3, H: 1, Dh: 2, window: 2, activation: 'sigmoid' });
    const buf = f64.alloc(16);
    assert.throws(() => f64.attentionForward(buf, buf, buf, buf, buf, s), (e: unknown) =>
      e instanceof InputError && /Tq = 4/.test(e.message) && !e.message.includes('\n'));
    const w0: AttentionShape = { ...s, Tq: 3, window: 0 };
    assert.throws(() => f64.attentionForward(buf, buf, buf, buf, buf, w0), /window = 0/);
    assert.throws(() => f64.crossEntropyForward(buf, buf, Int32Array.of(4), 1, 4), InputError);
  });
});

describe('op table', () => {
  for (const c of OP_CASES) {
    it(`float32 agrees with float64: ${c.name}`, () => {
      const a = runCase(f32, c);
      const b = runCase(f64, c);
      for (const [name, out] of allOutputs(a)) {
        const ref = b.forward[name] ?? b.backward[name]!;
        assertClose(out, ref, c.tol, `${c.name} ${name}`);
      }
    });

    it(`writes overwrite NaN-prefilled outputs: ${c.name}`, () => {
      // Every "writes" output in the table starts as NaN (opcases.ts), so a NaN left means a missed element.
      for (const [name, out] of allOutputs(runCase(f64, c))) assertFinite(out, `${c.name} ${name}`);
    });
  }

  for (const c of OP_CASES.filter((x) => x.backward && x.gradcheck)) {
    it(`gradient matches central differences (float64): ${c.name}`, () => {
      for (const g of gradcheck(f64, c)) {
        // An all-zero gradient would prove nothing, unless the case says the shape makes it so.
        const zero = c.zeroGrads?.includes(g.input) ?? false;
        assert.equal(g.scale === 0, zero, `${c.name} d${g.input}: max |numeric| = ${g.scale}`);
        assert.ok(g.error < 1e-6, `${c.name} d${g.input}: relative error ${g.error}`);
      }
    });
  }

  it('covers every op and the required edge shapes', () => {
    const ops = new Set(OP_CASES.map((c) => c.op));
    const every: OpName[] = ['matmul', 'linear', 'embedding', 'rmsnorm', 'rope', 'attention', 'swiglu', 'crossEntropy',
      'add', 'scale', 'sumSquares', 'adamw'];
    for (const op of every) assert.ok(ops.has(op), `no case for ${op}`);
    const names = OP_CASES.map((c) => c.name).join('\n');
    for (const needle of ['matmul 1x1x1 NN', 'matmul 7x13x5 TT acc', 'wnull', 'w1 ', 'kvStride9', 'H1 ', 'Dh2 ',
      'targets[0,6,-1,3]', 'ids[1,3,1,1,0,3]']) assert.ok(names.includes(needle), `no case with ${needle}`);
  });
});

describe('matmul', () => {
  it('computes a small product by hand in every layout', () => {
    // op(A) = [[1, 2], [3, 4]], op(B) = [[5, 6], [7, 8]] → [[19, 22], [43, 50]]
    const A = { N: [1, 2, 3, 4], T: [1, 3, 2, 4] };
    const B = { N: [5, 6, 7, 8], T: [5, 7, 6, 8] };
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        const C = f64.alloc(4).fill(NaN);
        f64.matmul(C, Float64Array.from(ta ? A.T : A.N), Float64Array.from(tb ? B.T : B.N), 2, 2, 2, ta, tb, false);
        assert.deepEqual(Array.from(C), [19, 22, 43, 50], `transA ${ta} transB ${tb}`);
      }
    }
  });
});

describe('accumulation semantics', () => {
  for (const be of [f32, f64]) {
    it(`a second parameter-gradient backward exactly doubles it (${be.dtype})`, () => {
      const rng = new Rng(7);
      const twice = (call: (dst: Floats) => void, n: number): void => {
        const once = be.alloc(n);
        call(once);
        const two = be.alloc(n);
        call(two);
        call(two);
        for (let i = 0; i < n; i++) assert.equal(two[i], 2 * once[i]!, `element ${i}`);
        assert.ok(once.some((x) => x !== 0), 'the gradient is not all zero');
      };
      const [N, D, V] = [4, 5, 6];
      const dOut = toBackend(be, uniform(rng, N * D, 1));
      const ids = Int32Array.of(5, 0, 3, 2); // distinct: one addition per element per call
      twice((dT) => be.embeddingBackward(dT, dOut, ids, N, D), V * D);

      const x = toBackend(be, uniform(rng, N * D, 2));
      const g = toBackend(be, uniform(rng, D, 1));
      const out = be.alloc(N * D);
      const rstd = be.alloc(N);
      be.rmsnormForward(out, rstd, x, g, N, D, 1e-6);
      twice((dg) => be.rmsnormBackward(be.alloc(N * D), dg, dOut, x, g, rstd, N, D), D);
      twice((dx) => be.rmsnormBackward(dx, be.alloc(D), dOut, x, g, rstd, N, D), N * D);

      const A = toBackend(be, uniform(rng, 7 * 5, 1));
      const B = toBackend(be, uniform(rng, 5 * 13, 1));
      twice((C) => be.matmul(C, A, B, 7, 13, 5, false, false, true), 7 * 13);
      twice((C) => be.matmul(C, A, B, 5, 13, 7, true, false, true), 5 * 13);
      twice((C) => be.matmul(C, B, A, 13, 7, 5, true, true, true), 13 * 7);
    });
  }

  it('repeated embedding ids add every row they came from', () => {
    const dT = f64.alloc(2 * 2);
    f64.embeddingBackward(dT, Float64Array.of(1, 2, 10, 20, 100, 200), Int32Array.of(1, 1, 0), 3, 2);
    assert.deepEqual(Array.from(dT), [100, 200, 11, 22]);
  });

  it('attention backward zeroes dk and dv rows past Tk', () => {
    const p: AttentionParams = { B: 2, Tq: 2, Tk: 3, kvStride: 5, H: 1, Dh: 2, window: 2, activation: 'sigmoid' };
    const { backward } = runCase(f64, attentionCase(p));
    for (const name of ['dk', 'dv']) {
      const buf = backward[name]!;
      for (let b = 0; b < 2; b++) {
        for (let j = 3; j < 5; j++) assert.deepEqual(Array.from(buf.subarray((b * 5 + j) * 2, (b * 5 + j + 1) * 2)), [0, 0]);
      }
    }
  });
});

/** The plain O(Tq·Tk) definition of SWAT.md §3 with the window as a mask: test-only. */
function denseAttention(q: Floats, k: Floats, v: Floats, s: AttentionShape): { out: Float64Array; lse: Float64Array } {
  const { B, Tq, Tk, kvStride, H, Dh } = s;
  const out = new Float64Array(B * Tq * H * Dh);
  const lse = new Float64Array(B * H * Tq);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < H; h++) {
      for (let i = 0; i < Tq; i++) {
        const m = i + Tk - Tq;
        const z: number[] = [];
        const allowed: boolean[] = [];
        for (let j = 0; j < Tk; j++) {
          let dot = 0;
          for (let d = 0; d < Dh; d++) dot += q[((b * Tq + i) * H + h) * Dh + d]! * k[((b * kvStride + j) * H + h) * Dh + d]!;
          z.push(dot / Math.sqrt(Dh) + s.slopes[h]! * (m - j) + s.bias);
          allowed.push(m - j >= 0 && (s.window === null || m - j < s.window));
        }
        let w: number[];
        if (s.activation === 'sigmoid') {
          w = z.map((x, j) => (allowed[j] ? 1 / (1 + Math.exp(-x)) : 0));
        } else {
          const e = z.map((x, j) => (allowed[j] ? Math.exp(x) : 0));
          const sum = e.reduce((a, c) => a + c, 0);
          lse[(b * H + h) * Tq + i] = Math.log(sum);
          w = e.map((x) => x / sum);
        }
        for (let j = 0; j < Tk; j++) {
          for (let d = 0; d < Dh; d++) out[((b * Tq + i) * H + h) * Dh + d] += w[j]! * v[((b * kvStride + j) * H + h) * Dh + d]!;
        }
      }
    }
  }
  return { out, lse };
}

describe('attention equals a dense masked computation', () => {
  const slopeSets: [string, number[]][] = [['no ALiBi', [0, 0]], ['balanced ALiBi', [0.5, -0.25]]];
  for (const activation of ['sigmoid', 'softmax'] as const) {
    for (const [label, slopes] of slopeSets) {
      it(`${activation}, ${label}, N = 1 … 4ω+1, windows 1, 3 and none`, () => {
        const rng = new Rng(3);
        for (const window of [1, 3, null]) {
          for (let N = 1; N <= 13; N++) {
            const s = attentionShape(f64, { B: 2, Tq: N, H: 2, Dh: 4, window, activation, slopes, bias: 0.25 });
            const n = 2 * N * 2 * 4;
            const [q, k, v] = [uniform(rng, n, 2), uniform(rng, n, 2), uniform(rng, n, 1)];
            const out = f64.alloc(n);
            const stats = f64.alloc(2 * 2 * N);
            f64.attentionForward(out, stats, q, k, v, s);
            const dense = denseAttention(q, k, v, s);
            assertClose(out, dense.out, 1e-12, `out window ${window} N ${N}`);
            if (activation === 'softmax') assertClose(stats, dense.lse, 1e-12, `lse window ${window} N ${N}`);
          }
        }
      });
    }
  }

  it('decode and chunked prefill (Tq < Tk, kvStride > Tk) see the cached keys', () => {
    const rng = new Rng(4);
    for (const activation of ['sigmoid', 'softmax'] as const) {
      for (const [Tq, Tk, window] of [[1, 9, 4], [3, 9, 4], [2, 6, null], [4, 4, 2]] as const) {
        const s = attentionShape(f64, { B: 2, Tq, Tk, kvStride: 11, H: 2, Dh: 4, window, activation, slopes: [-0.3, 0.6] });
        const q = uniform(rng, 2 * Tq * 8, 2);
        const k = uniform(rng, 2 * 11 * 8, 2);
        const v = uniform(rng, 2 * 11 * 8, 1);
        const out = f64.alloc(q.length);
        f64.attentionForward(out, f64.alloc(2 * 2 * Tq), q, k, v, s);
        assertClose(out, denseAttention(q, k, v, s).out, 1e-12, `${activation} Tq ${Tq} Tk ${Tk}`);
      }
    }
  });

  it('never builds a Tq × Tk matrix: 200k tokens with window 2 run in a blink', () => {
    const T = 200_000;
    const s = attentionShape(f32, { B: 1, Tq: T, H: 1, Dh: 2, window: 2, activation: 'sigmoid' });
    const x = f32.alloc(2 * T).fill(0.5);
    const start = performance.now();
    f32.attentionForward(f32.alloc(2 * T), f32.alloc(T), x, x, x, s);
    assert.ok(performance.now() - start < 2000, 'banded attention took too long');
  });
});

describe('attention stability', () => {
  for (const activation of ['sigmoid', 'softmax'] as const) {
    it(`${activation}: scores of ±1e4 give finite outputs and gradients`, () => {
      for (const sign of [1, -1]) {
        // <q, k>/sqrt(Dh) = 4·1e2·(±1e2)/2 = ±2e4, plus a bias of ±1e4.
        const p: AttentionParams = { B: 1, Tq: 5, H: 1, Dh: 4, window: 3, activation, bias: sign * 1e4 };
        const s = attentionShape(f64, p);
        const q = f64.alloc(20).fill(100);
        const k = f64.alloc(20).fill(sign * 100);
        const v = toBackend(f64, uniform(new Rng(5), 20, 1));
        const out = f64.alloc(20);
        const stats = f64.alloc(5);
        f64.attentionForward(out, stats, q, k, v, s);
        assertFinite(out, 'out');
        const grads = [f64.alloc(20), f64.alloc(20), f64.alloc(20)] as const;
        f64.attentionBackward(...grads, f64.alloc(20).fill(1), q, k, v, out, stats, s);
        for (const g of grads) assertFinite(g, 'gradient');
        // Saturated sigmoid weights are 1 (or 0): out is the window's sum of values (or 0).
        if (activation === 'sigmoid') {
          const expect = sign > 0 ? v[0]! + v[4]! + v[8]! : 0;
          assert.ok(Math.abs(out[8]! - expect) < 1e-12);
        }
      }
    });
  }

  it('swiglu with gates of ±1e4 stays finite', () => {
    const gu = Float64Array.of(1e4, -1e4, 2, 3);
    const out = f64.alloc(2);
    f64.swigluForward(out, gu, 1, 2);
    assertClose(out, [2e4, 0], 0, 'silu(±1e4)·b');
    const dGu = f64.alloc(4);
    f64.swigluBackward(dGu, Float64Array.of(1, 1), gu, 1, 2);
    assertFinite(dGu, 'dGu');
  });
});

describe('RoPE (SWAT.md §3)', () => {
  it('rotates Dh = 4 at position 3, theta 10000 to hand-computed values', () => {
    // θ_0 = 1, θ_1 = 10000^(−2/4) = 0.01; angles 3 and 0.03; pairs (x0, x2) and (x1, x3).
    // cos 3 = −0.9899924966004454, sin 3 = 0.1411200080598672,
    // cos 0.03 = 0.9995500337489875, sin 0.03 = 0.02999550020249566.
    const expected = [
      1 * -0.9899924966004454 - 3 * 0.1411200080598672, // x0' = −1.413352520780047
      2 * 0.9995500337489875 - 4 * 0.02999550020249566, // x1' = 1.8791180666879925
      3 * -0.9899924966004454 + 1 * 0.1411200080598672, // x2' = −2.828857481741469
      4 * 0.9995500337489875 + 2 * 0.02999550020249566, // x3' = 4.058191135400942
    ];
    const x = Float64Array.of(1, 2, 3, 4);
    f64.rope(x, 1, 1, 1, 4, 3, 10000, false);
    assertClose(x, expected, 1e-15, 'pos0 = 3');
    // The same token as row 3 of a sequence starting at 0.
    const seq = f64.alloc(16);
    seq.set([1, 2, 3, 4], 12);
    f64.rope(seq, 1, 4, 1, 4, 0, 10000, false);
    assertClose(seq.subarray(12), expected, 1e-15, 'row 3');
    assertClose(seq.subarray(0, 12), new Array<number>(12).fill(0), 0, 'zero rows stay zero');
  });

  it('position 0 is the identity and inverse undoes the rotation, in float32 too', () => {
    for (const be of [f64, f32]) {
      const x = toBackend(be, uniform(new Rng(8), 2 * 5 * 3 * 8, 1));
      const y = Float64Array.from(x);
      be.rope(y, 1, 1, 2 * 5 * 3, 8, 0, 10000, false); // every row at position 0
      assertClose(y, x, 0, 'position 0');
      const z = toBackend(be, x);
      be.rope(z, 2, 5, 3, 8, 1000, 10000, false);
      assert.ok(maxError(z, x) > 0.1, 'the rotation moved something');
      be.rope(z, 2, 5, 3, 8, 1000, 10000, true);
      assertClose(z, x, be.dtype === 'float64' ? 1e-14 : 1e-6, `${be.dtype} round trip`);
    }
  });

  it('preserves norms and makes <R(m)q, R(n)k> depend only on m − n', () => {
    const rng = new Rng(9);
    const Dh = 8;
    const q = uniform(rng, Dh, 1);
    const k = uniform(rng, Dh, 1);
    const rotated = (x: Float64Array, pos: number): Float64Array => {
      const y = Float64Array.from(x);
      f64.rope(y, 1, 1, 1, Dh, pos, 10000, false);
      return y;
    };
    const dot = (a: Float64Array, b: Float64Array): number => a.reduce((s, v, i) => s + v * b[i]!, 0);
    for (const pos of [1, 17, 123456]) {
      assert.ok(Math.abs(dot(rotated(q, pos), rotated(q, pos)) - dot(q, q)) < 1e-12, `norm at ${pos}`);
    }
    const base = dot(rotated(q, 5), rotated(k, 2));
    for (const shift of [1, 40, 10000]) {
      assert.ok(Math.abs(dot(rotated(q, 5 + shift), rotated(k, 2 + shift)) - base) < 1e-10, `shift ${shift}`);
    }
    assert.ok(Math.abs(dot(rotated(q, 6), rotated(k, 2)) - base) > 1e-3, 'a different distance changes it');
  });
});

describe('cross-entropy', () => {
  it('matches log-sum-exp minus the target logit, by hand', () => {
    // logits [0, ln 2, ln 5]: Σ exp = 1 + 2 + 5 = 8; target 1 → ln 8 − ln 2 = ln 4.
    const logits = Float64Array.of(0, Math.log(2), Math.log(5));
    const losses = f64.alloc(1);
    f64.crossEntropyForward(losses, logits, Int32Array.of(1), 1, 3);
    assert.ok(Math.abs(losses[0]! - Math.log(4)) < 1e-15);
    const d = f64.alloc(3);
    f64.crossEntropyBackward(d, logits, Int32Array.of(1), 2, 1, 3);
    assertClose(d, [2 / 8, 2 * (2 / 8 - 1), 2 * (5 / 8)], 1e-15, 'dLogits');
  });

  it('rows with target −1 give loss 0 and zero gradient', () => {
    const logits = toBackend(f32, uniform(new Rng(10), 3 * 4, 3));
    const losses = f32.alloc(3).fill(NaN);
    const targets = Int32Array.of(2, -1, 0);
    f32.crossEntropyForward(losses, logits, targets, 3, 4);
    assert.equal(losses[1], 0);
    assert.ok(losses[0]! > 0 && losses[2]! > 0);
    const d = f32.alloc(12).fill(NaN);
    f32.crossEntropyBackward(d, logits, targets, 1, 3, 4);
    assert.deepEqual(Array.from(d.subarray(4, 8)), [0, 0, 0, 0]);
  });

  for (const be of [f32, f64]) {
    it(`in-place backward equals out-of-place (${be.dtype})`, () => {
      const [N, V] = [5, 9];
      const logits = toBackend(be, uniform(new Rng(11), N * V, 4));
      const targets = Int32Array.of(0, 8, -1, 4, 4);
      const separate = be.alloc(N * V);
      be.crossEntropyBackward(separate, logits, targets, 0.2, N, V);
      be.crossEntropyBackward(logits, logits, targets, 0.2, N, V);
      assert.deepEqual(Array.from(logits), Array.from(separate));
    });
  }

  it('huge logits (±1e4) stay finite', () => {
    for (const be of [f32, f64]) {
      const logits = toBackend(be, [1e4, -1e4, 0, -1e4, 1e4, 1e4]);
      const targets = Int32Array.of(1, 0);
      const losses = be.alloc(2);
      be.crossEntropyForward(losses, logits, targets, 2, 3);
      assertClose(losses, [2e4, 2e4 + Math.log(2)], 1e-7, `${be.dtype} losses`);
      be.crossEntropyBackward(logits, logits, targets, 1, 2, 3);
      assertFinite(logits, `${be.dtype} dLogits`);
      assertClose(logits, [1, -1, 0, -1, 0.5, 0.5], 1e-7, `${be.dtype} dLogits`);
    }
  });
});

describe('AdamW', () => {
  it('one and two steps equal the PyTorch formula worked by hand', () => {
    const h = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 };
    const p = Float64Array.of(0.5);
    const m = f64.alloc(1);
    const v = f64.alloc(1);
    f64.adamw(p, Float64Array.of(0.2), m, v, 1, { ...h, step: 1 });
    // decay: 0.5·(1 − 0.1·0.01) = 0.4995; m = 0.1·0.2 = 0.02; v = 0.01·0.04 = 0.0004;
    // m̂ = 0.02/0.1 = 0.2; v̂ = 0.0004/0.01 = 0.04; p = 0.4995 − 0.1·0.2/(0.2 + 1e-8).
    const p1 = 0.4995 - 0.02 / (0.2 + 1e-8);
    assert.ok(Math.abs(m[0]! - 0.02) < 1e-16 && Math.abs(v[0]! - 0.0004) < 1e-18);
    assert.ok(Math.abs(p[0]! - p1) < 1e-15, `step 1: ${p[0]} vs ${p1}`);
    f64.adamw(p, Float64Array.of(-0.1), m, v, 1, { ...h, step: 2 });
    // m = 0.9·0.02 − 0.1·0.1 = 0.008; v = 0.99·0.0004 + 0.01·0.01 = 0.000496;
    // m̂ = 0.008/(1 − 0.81); v̂ = 0.000496/(1 − 0.9801).
    const p2 = p1 * 0.999 - (0.1 * (0.008 / 0.19)) / (Math.sqrt(0.000496 / 0.0199) + 1e-8);
    assert.ok(Math.abs(m[0]! - 0.008) < 1e-16 && Math.abs(v[0]! - 0.000496) < 1e-18);
    assert.ok(Math.abs(p[0]! - p2) < 1e-14, `step 2: ${p[0]} vs ${p2}`);
  });

  it('a zero gradient only decays the parameter', () => {
    const p = Float64Array.of(2, -4);
    f64.adamw(p, f64.alloc(2), f64.alloc(2), f64.alloc(2), 2, {
      lr: 0.5, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step: 1,
    });
    assert.deepEqual(Array.from(p), [2 * 0.95, -4 * 0.95]);
  });
});

describe('elementwise helpers', () => {
  it('add may alias, scale is in place, sumSquares accumulates in float64', () => {
    const a = Float32Array.of(1, 2, 3);
    f32.add(a, a, Float32Array.of(10, 20, 30), 3);
    assert.deepEqual(Array.from(a), [11, 22, 33]);
    f32.scale(a, 2, 2);
    assert.deepEqual(Array.from(a), [22, 44, 33]);
    // 2^24 + 1000·1: a float32 running sum would stay at 2^24, since 2^24 + 1 rounds back to 2^24.
    const x = new Float32Array(1001).fill(1);
    x[0] = 4096;
    assert.equal(f32.sumSquares(x, x.length), 2 ** 24 + 1000);
  });
});
