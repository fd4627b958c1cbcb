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
// Not here: the step itself (loop.ts, which a web page also runs without files), terminal output (the
// caller gets events), data loading (the caller passes token streams), signals (the caller decides what
// stops a run).

import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { FormatError, InputError, TrainingError, showJson } from '../errors.js';
import { commitFiles, readCommitted, recoverDir } from '../io/atomic.js';
import type { DirLock } from '../io/lock.js';
import { JSON_LIMITS, parseJson } from '../io/json.js';
import { type F32Tensor, checkFinite, decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import type { SwatModel } from '../model/model.js';
import { WEIGHTS_FILE, loadModel, modelFiles } from '../model/store.js';
import { Rng } from '../random.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type StepResult, type TokenData, type TrainOptions, TrainingLoop } from './loop.js';
import { appendMetrics, trimMetrics, writeLossPlot } from './metrics.js';
import { AdamW } from './optimizer.js';

export { METRICS_FILE, PLOT_FILE } from './metrics.js';
export { MAX_SKIPPED_IN_A_ROW, type TrainOptions, checkTrainOptions } from './loop.js';

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

export interface TrainData extends TokenData {
  source?: TrainSource;
}

export type TrainEvent =
  | { kind: 'step'; step: number; maxSteps: number; loss: number; lr: number; gradNorm: number; tokens: number; tokensPerSecond: number; elapsed: number; skipped: string | null }
  | { kind: 'eval'; step: number; valLoss: number }
  | { kind: 'checkpoint'; step: number; dir: string };

export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
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

/** The trainer state of the checkpoint in `dir`, read without writing; null if `dir` holds none. */
export function readTrainerState(dir: string): TrainerState | null {
  const bytes = readCommitted(dir, [STATE_FILE]).get(STATE_FILE);
  return bytes === undefined ? null : parseState(bytes.toString('utf8'), join(dir, STATE_FILE));
}

export class Trainer {
  readonly tokenizer: Tokenizer | null;
  readonly outDir: string;
  readonly data: TrainData;
  /** The step of the checkpoint of this run in outDir; null until the first one is written. */
  lastCheckpoint: number | null = null;
  private readonly loop: TrainingLoop;
  private readonly lock: DirLock;
  private elapsed = 0;
  private valLoss = NaN;
  private window = { start: 0, tokens: 0 };
  private plottedAt = -Infinity;

  private constructor(loop: TrainingLoop, tokenizer: Tokenizer | null, data: TrainData, lock: DirLock) {
    this.loop = loop;
    this.tokenizer = tokenizer;
    this.data = data;
    this.lock = lock;
    this.outDir = lock.dir;
  }

  get model(): SwatModel {
    return this.loop.model;
  }

  get options(): TrainOptions {
    return this.loop.options;
  }

  get step(): number {
    return this.loop.step;
  }

  /** A new run from a model (freshly initialised or loaded) into the directory `lock` holds. Nothing is
   *  written until `run`, which first replaces whatever run the directory held with this one's step 0. */
  static start(model: SwatModel, tokenizer: Tokenizer | null, data: TrainData, options: TrainOptions, lock: DirLock): Trainer {
    return new Trainer(TrainingLoop.start(model, data, options), tokenizer, data, lock);
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
    const loop = new TrainingLoop(model, data, options, new Rng(state.rng), adam);
    loop.step = state.step;
    loop.tokens = state.tokens;
    loop.skippedSteps = state.skippedSteps ?? 0;
    const t = new Trainer(loop, tokenizer, data, lock);
    t.lastCheckpoint = state.step;
    t.elapsed = state.elapsed;
    return t;
  }

  /** One optimisation step (gradAccum micro-batches): the mean training loss, and why the update was
   *  skipped (a loss or gradient that is not finite) or null. */
  trainStep(): StepResult {
    return this.loop.trainStep();
  }

  /** Mean loss over the fixed validation batches. */
  validate(): number {
    return this.loop.validate();
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
    this.window.tokens += this.loop.tokensPerStep;
    const now = performance.now();
    const tokensPerSecond = (this.window.tokens * 1000) / Math.max(1, now - this.window.start);
    if (now - this.window.start > 5000) this.window = { start: now, tokens: 0 };
    appendMetrics(this.outDir, {
      step: this.step, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm, tokens: this.loop.tokens,
      tokens_per_s: Math.round(tokensPerSecond), elapsed_s: round3(this.elapsed), ...(r.skipped !== null ? { skipped: r.skipped } : {}),
    });
    onEvent({ kind: 'step', step: this.step, maxSteps: o.maxSteps, ...r, tokens: this.loop.tokens, tokensPerSecond, elapsed: this.elapsed });
    const diverged = this.loop.divergence(r);
    if (diverged !== null) throw this.diverged(diverged);
    const last = this.step === o.maxSteps;
    if ((o.evalInterval > 0 && this.step % o.evalInterval === 0) || last) {
      this.valLoss = this.validate();
      appendMetrics(this.outDir, { step: this.step, val_loss: this.valLoss });
      onEvent({ kind: 'eval', step: this.step, valLoss: this.valLoss });
    }
    if ((o.checkpointInterval > 0 && this.step % o.checkpointInterval === 0) || last) this.checkpointAndTell(onEvent, last);
  }

  private diverged(what: string): TrainingError {
    const kept = this.lastCheckpoint === null ? 'holds no checkpoint of this run' : `keeps the last finite checkpoint (step ${this.lastCheckpoint})`;
    return new TrainingError(`training diverged at step ${this.step}: ${what}; ${this.outDir} ${kept}; ${this.loop.advice()}`);
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

  /** Writes model, tokenizer, optimiser and trainer state as one crash-safe set, and the loss plot. Refuses
   *  (TrainingError) when a number is not finite, and (LockError) when this process lost the directory. */
  checkpoint(): void {
    this.commitCheckpoint();
    this.plot();
  }

  private commitCheckpoint(): void {
    if (!this.loop.finiteState()) throw this.diverged('the weights are not finite, so no checkpoint is written');
    this.lock.assertHeld();
    const meta = { step: String(this.step) };
    const moments = new Map<string, F32Tensor>();
    const { optimizer } = this.loop;
    for (const [buf, prefix] of [[optimizer.m, 'exp_avg'], [optimizer.v, 'exp_avg_sq']] as const) {
      for (const s of buf.specs) {
        const d = buf.get(s.name);
        moments.set(`${prefix}.${s.name}`, { data: d instanceof Float32Array ? d : Float32Array.from(d), shape: s.shape });
      }
    }
    const state: TrainerState = {
      format: 'swat-trainer-state', version: 1, step: this.step, rng: this.loop.rng.state(), options: this.options,
      tokens: this.loop.tokens, elapsed: round3(this.elapsed), trainTokens: this.data.train.length, valTokens: this.data.val.length,
      optimizerStep: optimizer.step, skippedSteps: this.loop.skippedSteps, ...(this.data.source ? { data: this.data.source } : {}),
    };
    commitFiles(this.outDir, {
      ...modelFiles(this.model, this.tokenizer, meta),
      [OPTIMIZER_FILE]: encodeSafetensors(moments, meta),
      [STATE_FILE]: JSON.stringify(state, null, 2) + '\n',
    });
    this.lastCheckpoint = this.step;
  }
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
