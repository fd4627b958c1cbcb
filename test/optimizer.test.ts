// The trainer's optimiser code above the kernels, against expectations computed here in float64 and not by
// the code under test: global-norm gradient clipping (the norm as a plain float64 sum of squares), and
// AdamW over a model's whole parameter buffer (the textbook update, step by step, with weight decay on
// every matrix and the embeddings and none on norm gains, decided from the shapes). On every backend.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Backend } from '../src/backend/backend.js';
import { NativeBackend } from '../src/backend/native.js';
import { ReferenceBackend } from '../src/backend/reference.js';
import { makeConfig } from '../src/config.js';
import { type ParamBuffer, ParamBuffer as Params, paramSpecs } from '../src/model/params.js';
import { Rng } from '../src/random.js';
import { AdamW, clipGradients } from '../src/train/optimizer.js';

// Untied, so the output head is a separate matrix that must decay as well.
const CONFIG = makeConfig({ vocabSize: 19, layers: 2, dim: 8, heads: 2, window: 3, intermediateSize: 12, tieEmbeddings: false });

const BACKENDS: [string, () => Backend][] = [
  ['reference float64', () => new ReferenceBackend('float64')],
  ['reference float32', () => new ReferenceBackend('float32')],
  ['native', () => new NativeBackend({ threads: 2 })],
];

/** A parameter-shaped buffer on `be` with values uniform in [−scale, scale] (exact in float32). */
function randomBuffer(be: Backend, rng: Rng, scale: number): ParamBuffer {
  const specs = paramSpecs(CONFIG);
  const flat = be.alloc(specs.reduce((a, s) => a + s.size, 0));
  for (let i = 0; i < flat.length; i++) flat[i] = Math.fround((2 * rng.uniform() - 1) * scale);
  return new Params(specs, flat);
}

function float64Norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  return Math.sqrt(sum);
}

/** Relative error tolerated in a float32 result (a few ulp); float64 results must be essentially exact. */
const tolerance = (be: Backend) => (be.dtype === 'float64' ? 1e-12 : 1e-6);

for (const [label, backend] of BACKENDS) {
  describe(`gradient clipping on ${label}`, () => {
    it('scales every gradient by maxNorm / ‖g‖ when the norm is above maxNorm, and returns ‖g‖', () => {
      const be = backend();
      const g = randomBuffer(be, new Rng(1), 1);
      const before = Float64Array.from(g.flat);
      const norm = float64Norm(before);
      const maxNorm = norm / 7;
      const returned = clipGradients(be, g, maxNorm);
      assert.ok(Math.abs(returned - norm) <= 1e-12 * norm, `norm ${returned}, float64 ${norm}`);
      const factor = maxNorm / norm;
      for (let i = 0; i < before.length; i++) {
        const want = before[i]! * factor;
        assert.ok(Math.abs(g.flat[i]! - want) <= tolerance(be) * Math.abs(want) + 1e-30, `g[${i}] = ${g.flat[i]}, expected ${want}`);
      }
      const after = float64Norm(g.flat);
      assert.ok(Math.abs(after - maxNorm) <= tolerance(be) * maxNorm, `clipped norm ${after}, maxNorm ${maxNorm}`);
    });

    it('leaves gradients bit for bit when the norm is within maxNorm, or when maxNorm is 0 (no clipping)', () => {
      const be = backend();
      const g = randomBuffer(be, new Rng(2), 1);
      const before = Array.from(g.flat);
      const norm = float64Norm(before);
      assert.ok(Math.abs(clipGradients(be, g, norm * 1.01) - norm) <= 1e-12 * norm);
      assert.ok(Math.abs(clipGradients(be, g, 0) - norm) <= 1e-12 * norm);
      assert.deepEqual(Array.from(g.flat), before);
    });
  });

  describe(`AdamW over the parameter buffer on ${label}`, () => {
    it('takes three textbook AdamW steps; matrices and embeddings decay, norm gains do not', () => {
      const be = backend();
      const rng = new Rng(3);
      const params = randomBuffer(be, rng, 1);
      const hyper = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
      const adam = new AdamW(be, new Params(params.specs, be.alloc(params.flat.length)), new Params(params.specs, be.alloc(params.flat.length)), hyper);
      const lrs = [1e-2, 5e-3, 2e-2];

      // The expectation, per element in float64 from the same starting values and gradients.
      const p = Float64Array.from(params.flat);
      const m = new Float64Array(p.length);
      const v = new Float64Array(p.length);
      const decays = new Float64Array(p.length);
      for (const s of params.specs) decays.fill(s.shape.length >= 2 ? hyper.weightDecay : 0, s.offset, s.offset + s.size);
      for (const [i, lr] of lrs.entries()) {
        const t = i + 1;
        const g = randomBuffer(be, rng, 0.5);
        for (let j = 0; j < p.length; j++) {
          const gj = g.flat[j]!;
          p[j]! -= lr * decays[j]! * p[j]!;
          m[j] = hyper.beta1 * m[j]! + (1 - hyper.beta1) * gj;
          v[j] = hyper.beta2 * v[j]! + (1 - hyper.beta2) * gj * gj;
          const mHat = m[j]! / (1 - hyper.beta1 ** t);
          const vHat = v[j]! / (1 - hyper.beta2 ** t);
          p[j]! -= (lr * mHat) / (Math.sqrt(vHat) + hyper.eps);
        }
        adam.update(params, g, lr);
      }

      // Weights are about 1, steps about lr = 1e-2: float32 rounds each weight to 6e-8, six times here. A
      // missing or misplaced decay is off by lr·wd·|p|, about 1e-3; a wrong bias correction by more.
      const tol = be.dtype === 'float64' ? 1e-14 : 1e-6;
      for (const s of params.specs) {
        const got = params.get(s.name);
        for (let k = 0; k < s.size; k++) {
          const err = Math.abs(got[k]! - p[s.offset + k]!);
          assert.ok(err <= tol, `${s.name}[${k}]: ${got[k]}, expected ${p[s.offset + k]} (error ${err})`);
        }
      }
      const decayed = params.specs.filter((s) => s.shape.length >= 2).map((s) => s.name);
      assert.equal(decayed.length, 2 + 6 * CONFIG.num_hidden_layers, 'embeddings, lm head, and six matrices per layer');
    });
  });
}
