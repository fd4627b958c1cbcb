// Next-token training (SWAT.md §5): random windows of T tokens from the training stream, AdamW with warm-up
// and cosine decay, gradient clipping and accumulation, periodic validation on held-out documents, a JSON
// lines metrics log, a loss-curve plot, and checkpoints that resume exactly: weights, optimiser moments,
// step, random state (which is also the data position) are written as one crash-safe set.
//
// A run never loses what it has: it writes into a directory whose lock (src/io/lock.ts) it holds; a new
// run commits its step-0 checkpoint before the first step, so the directory always holds a checkpoint of
// the run its metrics log describes; a step whose loss or gradient is not finite is skipped (logged, the
// weights untouched), a run whose weights stop being finite, or that keeps skipping, stops with a
// TrainingError, and no checkpoint with a non-finite number is ever written. `runUntilStopped` yields to
// the event loop between steps, so a caller's signal handlers can ask for a checkpoint and a clean stop.
//
// Not here: terminal output (the caller gets events), data loading (the caller passes token streams),
// signals (the caller decides what stops a run).

import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { FormatError, InputError, TrainingError, showJson } from '../errors.js';
import { commitFiles, readCommitted, recoverDir } from '../io/atomic.js';
import type { DirLock } from '../io/lock.js';
import { JSON_LIMITS, parseJson } from '../io/json.js';
import { type F32Tensor, checkFinite, decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import type { SwatModel } from '../model/model.js';
import type { ParamBuffer } from '../model/params.js';
import { WEIGHTS_FILE, loadModel, modelFiles } from '../model/store.js';
import { Rng } from '../random.js';
import type { Floats } from '../tensor.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { appendMetrics, trimMetrics, writeLossPlot } from './metrics.js';
import { AdamW, clipGradients } from './optimizer.js';
import { type Batch, type TokenStream, checkLength, sampleBatch, validationBatches } from './sampler.js';
import { learningRate } from './schedule.js';

export { METRICS_FILE, PLOT_FILE } from './metrics.js';

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

/** What the token streams were made from, recorded in the checkpoint so a resume can tell whether it is
 *  given the same data. */
export interface TrainSource {
  /** The data paths, resolved; [] for the built-in corpus. */
  paths: string[];
  valFraction: number;
  /** When the tokenizer was learned from these data (a byte-level BPE): the vocabulary size asked for
   *  (null: sized to the corpus). */
  learnedVocab?: number | null;
}

export interface TrainData {
  train: TokenStream;
  val: TokenStream;
  source?: TrainSource;
}

export type TrainEvent =
  | { kind: 'step'; step: number; maxSteps: number; loss: number; lr: number; gradNorm: number; tokens: number; tokensPerSecond: number; elapsed: number; skipped: string | null }
  | { kind: 'eval'; step: number; valLoss: number }
  | { kind: 'checkpoint'; step: number; dir: string };

export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
/** Steps in a row whose loss or gradient is not finite after which a run stops as diverged. */
export const MAX_SKIPPED_IN_A_ROW = 10;
/** The loss plot is redrawn at a checkpoint at most this often, and at the end of a run. */
const PLOT_INTERVAL_MS = 30_000;

export interface TrainerState {
  format: 'swat-trainer-state';
  version: 1;
  step: number;
  rng: number[];
  options: TrainOptions;
  tokens: number;
  elapsed: number;
  trainTokens: number;
  valTokens: number;
  /** Updates AdamW applied (steps minus skipped ones); absent in checkpoints from before skipping: = step. */
  optimizerStep?: number;
  skippedSteps?: number;
  data?: TrainSource;
}

export function checkTrainOptions(o: TrainOptions): void {
  const posInt = ['seqLen', 'batchSize', 'gradAccum', 'maxSteps', 'evalBatches'] as const;
  for (const k of posInt) if (!Number.isInteger(o[k]) || o[k] < 1) throw new InputError(`${k} must be a positive integer, got ${o[k]}`);
  const nonNegInt = ['warmupSteps', 'evalInterval', 'checkpointInterval'] as const;
  for (const k of nonNegInt) if (!Number.isInteger(o[k]) || o[k] < 0) throw new InputError(`${k} must be a non-negative integer, got ${o[k]}`);
  const nonNeg = ['lr', 'minLr', 'weightDecay', 'gradClip', 'adamEps'] as const;
  for (const k of nonNeg) if (!(o[k] >= 0) || !Number.isFinite(o[k])) throw new InputError(`${k} must be a non-negative number, got ${o[k]}`);
  for (const k of ['beta1', 'beta2'] as const) if (!(o[k] >= 0 && o[k] < 1)) throw new InputError(`${k} must be in [0, 1), got ${o[k]}`);
}

/** The trainer state of the checkpoint in `dir`, read without writing; null if `dir` holds none. */
export function readTrainerState(dir: string): TrainerState | null {
  const bytes = readCommitted(dir, [STATE_FILE]).get(STATE_FILE);
  return bytes === undefined ? null : parseState(bytes.toString('utf8'), join(dir, STATE_FILE));
}

export class Trainer {
  readonly model: SwatModel;
  readonly tokenizer: Tokenizer | null;
  readonly options: TrainOptions;
  readonly outDir: string;
  step = 0;
  /** The step of the checkpoint of this run in outDir; null until the first one is written. */
  lastCheckpoint: number | null = null;
  private rng: Rng;
  private readonly optimizer: AdamW;
  private readonly grads: ParamBuffer;
  readonly data: TrainData;
  private readonly valBatches: Batch[];
  private readonly lock: DirLock;
  private tokens = 0;
  private elapsed = 0;
  private skippedSteps = 0;
  private skippedInARow = 0;
  private valLoss = NaN;
  private window = { start: 0, tokens: 0 };
  private plottedAt = -Infinity;

  private constructor(model: SwatModel, tokenizer: Tokenizer | null, data: TrainData, options: TrainOptions, lock: DirLock, rng: Rng, optimizer: AdamW) {
    checkTrainOptions(options);
    this.model = model;
    this.tokenizer = tokenizer;
    this.data = data;
    this.options = options;
    this.lock = lock;
    this.outDir = lock.dir;
    this.rng = rng;
    this.optimizer = optimizer;
    this.grads = model.zerosLike();
    this.valBatches = validationBatches(data.val, options.batchSize, options.seqLen, options.evalBatches);
    checkLength(data.train, options.seqLen, 'training data');
  }

  /** A new run from a model (freshly initialised or loaded) into the directory `lock` holds. Nothing is
   *  written until `run`, which first replaces whatever run the directory held with this one's step 0. */
  static start(model: SwatModel, tokenizer: Tokenizer | null, data: TrainData, options: TrainOptions, lock: DirLock): Trainer {
    const opt = new AdamW(model.backend, model.zerosLike(), model.zerosLike(), { beta1: options.beta1, beta2: options.beta2, eps: options.adamEps, weightDecay: options.weightDecay });
    return new Trainer(model, tokenizer, data, options, lock, new Rng(options.seed), opt);
  }

  /** Whether `dir` holds a training checkpoint (read without writing). */
  static hasCheckpoint(dir: string): boolean {
    return readCommitted(dir, [STATE_FILE]).has(STATE_FILE);
  }

  /** Continues the run checkpointed in the directory `lock` holds. `overrides` may lengthen or shorten the
   *  schedule (maxSteps) and change what does not affect the weights (evaluation and checkpoint intervals). */
  static resume(lock: DirLock, backend: Backend, data: TrainData, overrides: Partial<Pick<TrainOptions, 'maxSteps' | 'evalInterval' | 'evalBatches' | 'checkpointInterval'>> = {}): Trainer {
    const dir = lock.dir;
    recoverDir(dir); // this process owns the directory now: settle an interrupted commit
    const { model, tokenizer, metadata, files } = loadModel(dir, backend, [STATE_FILE, OPTIMIZER_FILE]);
    const statePath = join(dir, STATE_FILE);
    const optPath = join(dir, OPTIMIZER_FILE);
    const [stateBytes, optBytes] = [files.get(STATE_FILE), files.get(OPTIMIZER_FILE)];
    if (stateBytes === undefined) throw new InputError(`${statePath} not found: ${dir} holds no training checkpoint`);
    if (optBytes === undefined) throw new FormatError(`${optPath} not found: the checkpoint in ${dir} is incomplete`);
    const state = parseState(stateBytes.toString('utf8'), statePath);
    const opt = decodeSafetensors(optBytes, optPath);
    for (const [name, t] of opt.tensors) checkFinite(t.data, optPath, name);
    for (const [file, meta] of [[join(dir, WEIGHTS_FILE), metadata], [optPath, opt.metadata]] as const) {
      if (meta['step'] !== String(state.step)) {
        throw new FormatError(`${file}: written at step ${meta['step']}, ${statePath} is at step ${state.step}: the checkpoint is inconsistent`);
      }
    }
    const options = { ...state.options, ...overrides };
    const m = model.zerosLike();
    const v = model.zerosLike();
    for (const [buf, prefix] of [[m, 'exp_avg'], [v, 'exp_avg_sq']] as const) {
      for (const s of buf.specs) {
        const t = opt.tensors.get(`${prefix}.${s.name}`);
        if (!t || t.data.length !== s.size) throw new FormatError(`${optPath}: missing or mis-shaped tensor "${prefix}.${s.name}"`);
        buf.get(s.name).set(t.data);
      }
    }
    const adam = new AdamW(backend, m, v, { beta1: options.beta1, beta2: options.beta2, eps: options.adamEps, weightDecay: options.weightDecay });
    adam.step = state.optimizerStep ?? state.step;
    const t = new Trainer(model, tokenizer, data, options, lock, new Rng(state.rng), adam);
    t.step = state.step;
    t.lastCheckpoint = state.step;
    t.tokens = state.tokens;
    t.elapsed = state.elapsed;
    t.skippedSteps = state.skippedSteps ?? 0;
    return t;
  }

  /** One optimisation step (gradAccum micro-batches): the mean training loss, and why the update was
   *  skipped (a loss or gradient that is not finite) or null. */
  trainStep(): { loss: number; lr: number; gradNorm: number; skipped: string | null } {
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
    this.tokens += o.batchSize * o.seqLen * o.gradAccum;
    return { loss, lr, gradNorm, skipped };
  }

  /** Mean loss over the fixed validation batches. */
  validate(): number {
    let sum = 0;
    for (const b of this.valBatches) sum += this.model.forward(b.inputs, b.targets, this.options.batchSize, this.options.seqLen);
    return sum / this.valBatches.length;
  }

  /** Trains until maxSteps, evaluating, logging and checkpointing on the way; returns the last val loss. */
  run(onEvent: (e: TrainEvent) => void = () => {}): number {
    this.begin();
    while (this.step < this.options.maxSteps) this.advance(onEvent);
    return this.finish();
  }

  /** `run`, but between steps it lets the event loop run and asks `stop`: when that says yes, it writes a
   *  checkpoint of the current step (unless there is one) and returns null instead of the val loss. */
  async runUntilStopped(stop: () => boolean, onEvent: (e: TrainEvent) => void = () => {}): Promise<number | null> {
    this.begin();
    while (this.step < this.options.maxSteps) {
      await new Promise((resolve) => setImmediate(resolve)); // a few microseconds, against steps of milliseconds
      if (stop()) {
        if (this.lastCheckpoint !== this.step) this.checkpointAndTell(onEvent, true);
        return null;
      }
      this.advance(onEvent);
    }
    return this.finish();
  }

  /** Makes the directory hold this run: a new run commits its current step, replacing what was there;
   *  the metrics log and plot are cut back to the checkpoint. */
  private begin(): void {
    if (this.lastCheckpoint === null) this.commitCheckpoint();
    trimMetrics(this.outDir, this.lastCheckpoint!);
    this.plottedAt = performance.now();
    this.window = { start: performance.now(), tokens: 0 };
  }

  private advance(onEvent: (e: TrainEvent) => void): void {
    const o = this.options;
    const t0 = performance.now();
    const r = this.trainStep();
    this.elapsed += (performance.now() - t0) / 1000;
    this.window.tokens += o.batchSize * o.seqLen * o.gradAccum;
    const now = performance.now();
    const tokensPerSecond = (this.window.tokens * 1000) / Math.max(1, now - this.window.start);
    if (now - this.window.start > 5000) this.window = { start: now, tokens: 0 };
    appendMetrics(this.outDir, {
      step: this.step, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm, tokens: this.tokens,
      tokens_per_s: Math.round(tokensPerSecond), elapsed_s: round3(this.elapsed), ...(r.skipped !== null ? { skipped: r.skipped } : {}),
    });
    onEvent({ kind: 'step', step: this.step, maxSteps: o.maxSteps, ...r, tokens: this.tokens, tokensPerSecond, elapsed: this.elapsed });
    if (r.skipped !== null) this.checkDivergence(r.skipped);
    else this.skippedInARow = 0;
    const last = this.step === o.maxSteps;
    if ((o.evalInterval > 0 && this.step % o.evalInterval === 0) || last) {
      this.valLoss = this.validate();
      appendMetrics(this.outDir, { step: this.step, val_loss: this.valLoss });
      onEvent({ kind: 'eval', step: this.step, valLoss: this.valLoss });
    }
    if ((o.checkpointInterval > 0 && this.step % o.checkpointInterval === 0) || last) this.checkpointAndTell(onEvent, last);
  }

  /** After a skipped step: stops the run when the weights are no longer finite (nothing can recover them)
   *  or when skipping goes on. */
  private checkDivergence(why: string): void {
    this.skippedSteps++;
    this.skippedInARow++;
    if (!this.finiteState()) throw this.diverged(`the ${why} and the weights are no longer finite`);
    if (this.skippedInARow >= MAX_SKIPPED_IN_A_ROW) throw this.diverged(`${this.skippedInARow} steps in a row were skipped (the last: ${why})`);
  }

  private diverged(what: string): TrainingError {
    const o = this.options;
    const kept = this.lastCheckpoint === null ? 'holds no checkpoint of this run' : `keeps the last finite checkpoint (step ${this.lastCheckpoint})`;
    const clip = o.gradClip === 0 ? ', gradient clipping off' : '';
    return new TrainingError(`training diverged at step ${this.step}: ${what}; ${this.outDir} ${kept}; lower the learning rate (peak ${o.lr}${clip})`);
  }

  private finish(): number {
    if (Number.isNaN(this.valLoss)) this.valLoss = this.validate();
    return this.valLoss;
  }

  /** A checkpoint, and the loss plot when it is the run's last or the plot is old: drawing it costs
   *  about as much as a small model's checkpoint, which may come every step. */
  private checkpointAndTell(onEvent: (e: TrainEvent) => void, last: boolean): void {
    this.commitCheckpoint();
    if (last || performance.now() - this.plottedAt > PLOT_INTERVAL_MS) this.plot();
    onEvent({ kind: 'checkpoint', step: this.step, dir: this.outDir });
  }

  private plot(): void {
    writeLossPlot(this.outDir);
    this.plottedAt = performance.now();
  }

  /** Whether every weight and optimiser moment is a finite float32 (what a checkpoint stores). */
  private finiteState(): boolean {
    return [this.model.params, this.optimizer.m, this.optimizer.v].every((b) => allFiniteF32(b.flat));
  }

  /** Writes model, tokenizer, optimiser and trainer state as one crash-safe set, and the loss plot. Refuses
   *  (TrainingError) when a number is not finite, and (LockError) when this process lost the directory. */
  checkpoint(): void {
    this.commitCheckpoint();
    this.plot();
  }

  private commitCheckpoint(): void {
    if (!this.finiteState()) throw this.diverged('the weights are not finite, so no checkpoint is written');
    this.lock.assertHeld();
    const meta = { step: String(this.step) };
    const moments = new Map<string, F32Tensor>();
    for (const [buf, prefix] of [[this.optimizer.m, 'exp_avg'], [this.optimizer.v, 'exp_avg_sq']] as const) {
      for (const s of buf.specs) {
        const d = buf.get(s.name);
        moments.set(`${prefix}.${s.name}`, { data: d instanceof Float32Array ? d : Float32Array.from(d), shape: s.shape });
      }
    }
    const state: TrainerState = {
      format: 'swat-trainer-state', version: 1, step: this.step, rng: this.rng.state(), options: this.options,
      tokens: this.tokens, elapsed: round3(this.elapsed), trainTokens: this.data.train.length, valTokens: this.data.val.length,
      optimizerStep: this.optimizer.step, skippedSteps: this.skippedSteps, ...(this.data.source ? { data: this.data.source } : {}),
    };
    commitFiles(this.outDir, {
      ...modelFiles(this.model, this.tokenizer, meta),
      [OPTIMIZER_FILE]: encodeSafetensors(moments, meta),
      [STATE_FILE]: JSON.stringify(state, null, 2) + '\n',
    });
    this.lastCheckpoint = this.step;
  }
}

const F32_MAX = 3.4028234663852886e38;

function allFiniteF32(x: Floats): boolean {
  for (let i = 0; i < x.length; i++) if (!(Math.abs(x[i]!) <= F32_MAX)) return false; // NaN fails too
  return true;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

function parseState(text: string, file: string): TrainerState {
  const s = parseJson(text, file, { maxSize: JSON_LIMITS.trainerState }) as TrainerState;
  if (s?.format !== 'swat-trainer-state' || s.version !== 1) throw new FormatError(`${file}: not a swat trainer state (format/version)`);
  if (!Number.isInteger(s.step) || s.step < 0) throw new FormatError(`${file}: field "step" is ${showJson(s.step)}`);
  if (!Array.isArray(s.rng) || s.rng.length !== 4) throw new FormatError(`${file}: field "rng" is not a random state`);
  if (typeof s.options !== 'object' || s.options === null) throw new FormatError(`${file}: field "options" is missing`);
  return s;
}
