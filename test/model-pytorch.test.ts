// The whole model against an independent implementation: SWAT.md written in plain PyTorch
// (tools/pytorch/swat_torch.py: dense masked attention, autograd, float64), whose logits, loss and
// parameter gradients for small models of every variant are kept in test/fixtures/pytorch, together with
// the weights and token ids they came from. Compared here without PyTorch, on the reference backend (in
// float64) and on the native backend (float32); one case also pins a clipped AdamW step against
// torch.optim.AdamW. Regenerate the fixtures with
//
//   python3 tools/pytorch/make_fixtures.py test/fixtures/pytorch

import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { Backend } from '../src/backend/backend.js';
import { NativeBackend } from '../src/backend/native.js';
import { ReferenceBackend } from '../src/backend/reference.js';
import { type SwatConfig, alibiSlopes, parseConfig } from '../src/config.js';
import { readSafetensorsFile } from '../src/io/files.js';
import type { DecodedTensor } from '../src/io/safetensors.js';
import { SwatModel } from '../src/model/model.js';
import { AdamW, clipGradients } from '../src/train/optimizer.js';
import { maxError } from './support/opcases.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/pytorch/', import.meta.url));

/** Every variant of the fixture generator; a fixture that goes missing fails here rather than passing. */
const CASES = [
  'explicit-slopes', 'full-attention', 'negative-alibi', 'no-alibi', 'no-rope', 'sigmoid-bias', 'softmax', 'swat',
  'transformer-pp', 'untied',
];

interface Fixture {
  file: string;
  config: SwatConfig;
  meta: Record<string, string>;
  B: number;
  T: number;
  inputs: Int32Array;
  targets: Int32Array;
  tensor(name: string): DecodedTensor;
}

function fixture(name: string): Fixture {
  const file = `${DIR}${name}.safetensors`;
  const { tensors, metadata } = readSafetensorsFile(file);
  const tensor = (t: string) => {
    const x = tensors.get(t);
    if (!x) throw new Error(`${file}: no tensor "${t}"`);
    return x;
  };
  return {
    file, meta: metadata, config: parseConfig(metadata['config']!, file), B: Number(metadata['B']), T: Number(metadata['T']),
    inputs: Int32Array.from(tensor('inputs').data), targets: Int32Array.from(tensor('targets').data), tensor,
  };
}

/** A model of the fixture's config holding its weights; every parameter must be in the file with the
 *  config's shape, and the file must hold no other weights. */
function modelOf(f: Fixture, be: Backend): SwatModel {
  const model = new SwatModel(f.config, be);
  for (const s of model.params.specs) {
    const t = f.tensor(`param.${s.name}`);
    assert.deepEqual(t.shape, s.shape, `${f.file}: param.${s.name}`);
    model.params.get(s.name).set(t.data);
  }
  const names = [...readSafetensorsFile(f.file).tensors.keys()].filter((n) => n.startsWith('param.'));
  assert.equal(names.length, model.params.specs.length, `${f.file}: weights beyond the config's`);
  return model;
}

/** Loss, logits and parameter gradients of the fixture's batch on `be`. */
function run(f: Fixture, be: Backend) {
  const model = modelOf(f, be);
  const loss = model.forward(f.inputs, f.targets, f.B, f.T);
  const logits = Float64Array.from(model.logits);
  const grads = model.zerosLike();
  model.backward(f.targets, grads);
  return { model, loss, logits, grads };
}

// Fixture values are float64 results stored as float32 (relative rounding 6e-8). The reference backend
// computes in float64 and agrees to that storage precision (worst measured 5e-8); the native backend
// computes in float32 through a dozen ops per gradient (worst measured 1.2e-6). Tolerances leave 4-8x.
const BACKENDS: [string, () => Backend, number][] = [
  ['reference (float64)', () => new ReferenceBackend('float64'), 2e-7],
  ['native (float32)', () => new NativeBackend({ threads: 2 }), 1e-5],
];

describe('model against the PyTorch implementation of SWAT.md', () => {
  it('has a fixture for every variant', () => {
    assert.deepEqual(readdirSync(DIR).filter((f) => f.endsWith('.safetensors')).map((f) => f.replace(/\.safetensors$/, '')).sort(), CASES);
  });

  for (const name of CASES) {
    it(`${name}: the config's ALiBi slopes are the preset's, and T is longer than the window`, () => {
      const f = fixture(name);
      const H = f.config.num_heads;
      const expected = alibiSlopes(f.meta['alibi']!, H);
      for (let h = 0; h < H; h++) assert.ok(Math.abs(f.config.alibi_slopes[h]! - expected[h]!) <= 1e-15, `${f.meta['alibi']} head ${h}`);
      assert.ok(f.config.window_size === null || f.T > f.config.window_size);
    });

    for (const [label, backend, tol] of BACKENDS) {
      it(`${name}: logits, loss and every parameter gradient on ${label}`, () => {
        const f = fixture(name);
        const r = run(f, backend());
        const loss = f.tensor('loss').data[0]!;
        assert.ok(Math.abs(r.loss - loss) <= tol * loss, `loss ${r.loss}, PyTorch ${loss}`);
        const logitsError = maxError(r.logits, f.tensor('logits').data);
        assert.ok(logitsError <= tol, `logits: error ${logitsError}`);
        for (const s of r.grads.specs) {
          const err = maxError(r.grads.get(s.name), f.tensor(`grad.${s.name}`).data);
          assert.ok(err <= tol, `d${s.name}: error ${err}`);
        }
      });
    }
  }

  it('swat: gradient clipping and one AdamW step give torch.optim.AdamW\'s weights (reference, float64)', () => {
    const f = fixture('swat');
    const o = JSON.parse(f.meta['optimizer']!) as { lr: number; beta1: number; beta2: number; eps: number; weight_decay: number; max_norm: number; grad_norm: number };
    const be = new ReferenceBackend('float64');
    const { model, grads } = run(f, be);
    const norm = clipGradients(be, grads, o.max_norm);
    assert.ok(Math.abs(norm - o.grad_norm) <= 1e-7 * o.grad_norm, `gradient norm ${norm}, PyTorch ${o.grad_norm}`);
    const adam = new AdamW(be, model.zerosLike(), model.zerosLike(), { beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weight_decay });
    adam.update(model.params, grads, o.lr);
    for (const s of model.params.specs) {
      const expected = f.tensor(`after_step.${s.name}`).data;
      const before = f.tensor(`param.${s.name}`).data;
      // Compared as the step taken (after − before), which is ~lr: the weights themselves would hide it.
      const step = Float64Array.from(model.params.get(s.name), (p, i) => p - before[i]!);
      const torchStep = Float64Array.from(expected, (p, i) => p - before[i]!);
      const err = maxError(step, torchStep);
      assert.ok(err <= 1e-4, `${s.name}: step error ${err}`);
    }
  });
});
