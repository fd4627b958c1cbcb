// The training step the benchmarks time, on random tokens of the anchor configuration: the trainer's step
// (forward, backward, clipping at 1, AdamW) and its timing. Host-neutral, so `swat bench train` in Node and
// the web app's benchmark worker in a browser (src/web/app/bench-worker.ts) time the very same step.
//
// Not here: peaks, profiles, baselines and ratios (suites.ts, browser.ts).

import type { Backend } from '../backend/backend.js';
import { type SwatConfig, makeConfig } from '../config.js';
import { SwatModel } from '../model/model.js';
import { Rng } from '../random.js';
import { AdamW, clipGradients } from '../train/optimizer.js';

/** The anchor configuration of the native-backend issue. */
export interface AnchorOptions {
  layers: number;
  dim: number;
  heads: number;
  vocabSize: number;
  seqLen: number;
  batch: number;
  window: number | null;
}

export const ANCHOR: AnchorOptions = { layers: 4, dim: 256, heads: 4, vocabSize: 8192, seqLen: 512, batch: 8, window: 128 };

export function anchorConfig(a: AnchorOptions): SwatConfig {
  return makeConfig({ vocabSize: a.vocabSize, layers: a.layers, dim: a.dim, heads: a.heads, window: a.window });
}

export interface RandomTrainingStep {
  model: SwatModel;
  /** Tokens of one step: batch × sequence length. */
  tokens: number;
  step(): void;
}

/** A model of the anchor configuration on `be` and the trainer's step (and the PyTorch baseline's) on a fixed
 *  batch of random tokens: forward, backward, clipping at 1, AdamW. */
export function randomTrainingStep(be: Backend, a: AnchorOptions): RandomTrainingStep {
  const model = SwatModel.create(anchorConfig(a), be, 0);
  const grads = model.zerosLike();
  const adam = new AdamW(model.backend, model.zerosLike(), model.zerosLike(), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 });
  const rng = new Rng(1);
  const tokens = a.batch * a.seqLen;
  const inputs = Int32Array.from({ length: tokens }, () => rng.int(a.vocabSize));
  const targets = Int32Array.from({ length: tokens }, () => rng.int(a.vocabSize));
  const step = () => {
    grads.flat.fill(0);
    model.forward(inputs, targets, a.batch, a.seqLen);
    model.backward(targets, grads);
    clipGradients(model.backend, grads, 1);
    adam.update(model.params, grads, 1e-4);
  };
  return { model, tokens, step };
}

/** Seconds per step over `steps` steps, after one warm-up step (allocations, page faults, thread start);
 *  `afterWarmUp` runs between the two. */
export function secondsPerStep(step: () => void, steps: number, afterWarmUp: () => void = () => {}): number {
  step();
  afterWarmUp();
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  return (performance.now() - t0) / 1000 / steps;
}
