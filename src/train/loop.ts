// The computation of a training run, without files (SWAT.md §5): the model, AdamW with its moments, the
// gradient buffer, the random state (which is also the data position) and the step: gradAccum micro-batches
// of random windows, forward and backward, global-norm clipping, the learning-rate schedule, and an update
// that a loss or gradient that is not finite skips (the weights untouched). It counts skipped steps and
// says when a run has diverged. The trainer (trainer.ts) adds a directory to it: lock, checkpoints, metrics
// log, plot; a web page drives it alone, between messages of its worker.

import { InputError } from '../errors.js';
import type { SwatModel } from '../model/model.js';
import type { ParamBuffer } from '../model/params.js';
import { Rng } from '../random.js';
import type { Floats } from '../tensor.js';
import { AdamW, clipGradients } from './optimizer.js';
import { type Batch, type TokenStream, checkLength, sampleBatch, validationBatches } from './sampler.js';
import { learningRate } from './schedule.js';

export interface TrainOptions {
  seqLen: number;
  batchSize: number;
  gradAccum: number;
  maxSteps: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  beta1: number;
  beta2: number;
  adamEps: number;
  gradClip: number;
  evalInterval: number;
  evalBatches: number;
  checkpointInterval: number;
  seed: number;
}

/** The token streams a run trains and validates on. */
export interface TokenData {
  train: TokenStream;
  val: TokenStream;
}

export interface StepResult {
  /** Mean training loss of the step's micro-batches. */
  loss: number;
  lr: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Why the update was skipped (a loss or gradient that is not finite), or null. */
  skipped: string | null;
}

/** Steps in a row whose loss or gradient is not finite after which a run stops as diverged. */
export const MAX_SKIPPED_IN_A_ROW = 10;

export function checkTrainOptions(o: TrainOptions): void {
  const posInt = ['seqLen', 'batchSize', 'gradAccum', 'maxSteps', 'evalBatches'] as const;
  for (const k of posInt) if (!Number.isInteger(o[k]) || o[k] < 1) throw new InputError(`${k} must be a positive integer, got ${o[k]}`);
  const nonNegInt = ['warmupSteps', 'evalInterval', 'checkpointInterval'] as const;
  for (const k of nonNegInt) if (!Number.isInteger(o[k]) || o[k] < 0) throw new InputError(`${k} must be a non-negative integer, got ${o[k]}`);
  const nonNeg = ['lr', 'minLr', 'weightDecay', 'gradClip', 'adamEps'] as const;
  for (const k of nonNeg) if (!(o[k] >= 0) || !Number.isFinite(o[k])) throw new InputError(`${k} must be a non-negative number, got ${o[k]}`);
  for (const k of ['beta1', 'beta2'] as const) if (!(o[k] >= 0 && o[k] < 1)) throw new InputError(`${k} must be in [0, 1), got ${o[k]}`);
}

export class TrainingLoop {
  readonly model: SwatModel;
  readonly data: TokenData;
  readonly options: TrainOptions;
  readonly optimizer: AdamW;
  rng: Rng;
  /** Steps taken, tokens trained on, and steps skipped (all of the run, across resumes). */
  step = 0;
  tokens = 0;
  skippedSteps = 0;
  private skippedInARow = 0;
  private readonly grads: ParamBuffer;
  private readonly valBatches: Batch[];

  constructor(model: SwatModel, data: TokenData, options: TrainOptions, rng: Rng, optimizer: AdamW) {
    checkTrainOptions(options);
    this.model = model;
    this.data = data;
    this.options = options;
    this.rng = rng;
    this.optimizer = optimizer;
    this.grads = model.zerosLike();
    this.valBatches = validationBatches(data.val, options.batchSize, options.seqLen, options.evalBatches);
    checkLength(data.train, options.seqLen, 'training data');
  }

  /** A new run of `model` (freshly initialised or loaded): fresh moments, the options' seed. */
  static start(model: SwatModel, data: TokenData, options: TrainOptions): TrainingLoop {
    const opt = new AdamW(model.backend, model.zerosLike(), model.zerosLike(), { beta1: options.beta1, beta2: options.beta2, eps: options.adamEps, weightDecay: options.weightDecay });
    return new TrainingLoop(model, data, options, new Rng(options.seed), opt);
  }

  /** Tokens one step trains on. */
  get tokensPerStep(): number {
    const o = this.options;
    return o.batchSize * o.seqLen * o.gradAccum;
  }

  /** One optimisation step (gradAccum micro-batches). */
  trainStep(): StepResult {
    const o = this.options;
    this.grads.flat.fill(0);
    let loss = 0;
    for (let micro = 0; micro < o.gradAccum; micro++) {
      const batch = sampleBatch(this.data.train, o.batchSize, o.seqLen, this.rng);
      loss += this.model.forward(batch.inputs, batch.targets, o.batchSize, o.seqLen) / o.gradAccum;
      this.model.backward(batch.targets, this.grads, 1 / o.gradAccum);
    }
    const gradNorm = clipGradients(this.model.backend, this.grads, o.gradClip);
    const lr = learningRate(this.step, o);
    const skipped = !Number.isFinite(loss) ? `loss is ${loss}` : !Number.isFinite(gradNorm) ? `gradient norm is ${gradNorm}` : null;
    if (skipped === null) this.optimizer.update(this.model.params, this.grads, lr);
    this.step++;
    this.tokens += this.tokensPerStep;
    return { loss, lr, gradNorm, skipped };
  }

  /** Mean loss over the fixed validation batches. */
  validate(): number {
    let sum = 0;
    for (const b of this.valBatches) sum += this.model.forward(b.inputs, b.targets, this.options.batchSize, this.options.seqLen);
    return sum / this.valBatches.length;
  }

  /** Counts a step's skip; after a skipped step, what makes the run diverged (weights that are no longer
   *  finite, which nothing can recover, or skipping that goes on), else null. */
  divergence(r: StepResult): string | null {
    if (r.skipped === null) {
      this.skippedInARow = 0;
      return null;
    }
    this.skippedSteps++;
    this.skippedInARow++;
    if (!this.finiteState()) return `the ${r.skipped} and the weights are no longer finite`;
    if (this.skippedInARow >= MAX_SKIPPED_IN_A_ROW) return `${this.skippedInARow} steps in a row were skipped (the last: ${r.skipped})`;
    return null;
  }

  /** What to do about a diverged run, for the end of its message. */
  advice(): string {
    const o = this.options;
    return `lower the learning rate (peak ${o.lr}${o.gradClip === 0 ? ', gradient clipping off' : ''})`;
  }

  /** Whether every weight and optimiser moment is a finite float32 (what a saved model must hold). */
  finiteState(): boolean {
    return [this.model.params, this.optimizer.m, this.optimizer.v].every((b) => allFiniteF32(b.flat));
  }
}

const F32_MAX = 3.4028234663852886e38;

function allFiniteF32(x: Floats): boolean {
  for (let i = 0; i < x.length; i++) if (!(Math.abs(x[i]!) <= F32_MAX)) return false; // NaN fails too
  return true;
}
