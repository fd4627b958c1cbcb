// Next-token training (SWAT.md §5): random windows of T tokens from the training stream, AdamW with warm-up
// and cosine decay, gradient clipping and accumulation, periodic validation on held-out documents, a JSON
// lines metrics log, a loss-curve plot, and checkpoints that resume exactly: weights, optimiser moments,
// step, random state (which is also the data position) are written as one crash-safe set.
//
// Not here: terminal output (the caller gets events), data loading (the caller passes token streams).

import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { FormatError, InputError, showJson } from '../errors.js';
import { commitFiles } from '../io/atomic.js';
import { JSON_LIMITS, parseJson, readTextFile } from '../io/json.js';
import { type F32Tensor, encodeSafetensors, readSafetensorsFile } from '../io/safetensors.js';
import type { SwatModel } from '../model/model.js';
import type { ParamBuffer } from '../model/params.js';
import { loadModel, modelFiles } from '../model/store.js';
import { writePlot } from '../plot/svg.js';
import { Rng } from '../random.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { readLossCurve } from './metrics.js';
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

export interface TrainData {
  train: TokenStream;
  val: TokenStream;
}

export type TrainEvent =
  | { kind: 'step'; step: number; maxSteps: number; loss: number; lr: number; gradNorm: number; tokens: number; tokensPerSecond: number; elapsed: number }
  | { kind: 'eval'; step: number; valLoss: number }
  | { kind: 'checkpoint'; step: number; dir: string };

export const STATE_FILE = 'trainer_state.json';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
export const METRICS_FILE = 'metrics.jsonl';
/** The loss curve, written as loss.svg and loss.png. */
export const PLOT_FILE = 'loss.svg';

interface TrainerState {
  format: 'swat-trainer-state';
  version: 1;
  step: number;
  rng: number[];
  options: TrainOptions;
  tokens: number;
  elapsed: number;
  trainTokens: number;
  valTokens: number;
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

export class Trainer {
  readonly model: SwatModel;
  readonly tokenizer: Tokenizer | null;
  readonly options: TrainOptions;
  readonly outDir: string;
  step = 0;
  private rng: Rng;
  private readonly optimizer: AdamW;
  private readonly grads: ParamBuffer;
  private readonly data: TrainData;
  private readonly valBatches: Batch[];
  private tokens = 0;
  private elapsed = 0;

  private constructor(model: SwatModel, tokenizer: Tokenizer | null, data: TrainData, options: TrainOptions, outDir: string, rng: Rng, optimizer: AdamW) {
    checkTrainOptions(options);
    this.model = model;
    this.tokenizer = tokenizer;
    this.data = data;
    this.options = options;
    this.outDir = outDir;
    this.rng = rng;
    this.optimizer = optimizer;
    this.grads = model.zerosLike();
    this.valBatches = validationBatches(data.val, options.batchSize, options.seqLen, options.evalBatches);
    checkLength(data.train, options.seqLen, 'training data');
  }

  /** A new run from a model (freshly initialised or loaded). */
  static start(model: SwatModel, tokenizer: Tokenizer | null, data: TrainData, options: TrainOptions, outDir: string): Trainer {
    const opt = new AdamW(model.backend, model.zerosLike(), model.zerosLike(), { beta1: options.beta1, beta2: options.beta2, eps: options.adamEps, weightDecay: options.weightDecay });
    return new Trainer(model, tokenizer, data, options, outDir, new Rng(options.seed), opt);
  }

  static hasCheckpoint(dir: string): boolean {
    return existsSync(join(dir, STATE_FILE));
  }

  /** Continues the run checkpointed in `dir`. `maxSteps`, if given, extends or shortens the schedule. */
  static resume(dir: string, backend: Backend, data: TrainData, overrides: Partial<Pick<TrainOptions, 'maxSteps'>> = {}): Trainer {
    const { model, tokenizer, metadata } = loadModel(dir, backend);
    const statePath = join(dir, STATE_FILE);
    const state = parseState(readTextFile(statePath, JSON_LIMITS.trainerState), statePath);
    const optPath = join(dir, OPTIMIZER_FILE);
    const opt = readSafetensorsFile(optPath, { finite: true });
    for (const [file, meta] of [[join(dir, 'model.safetensors'), metadata], [optPath, opt.metadata]] as const) {
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
    adam.step = state.step;
    const t = new Trainer(model, tokenizer, data, options, dir, new Rng(state.rng), adam);
    t.step = state.step;
    t.tokens = state.tokens;
    t.elapsed = state.elapsed;
    trimMetrics(join(dir, METRICS_FILE), state.step);
    return t;
  }

  /** One optimisation step (gradAccum micro-batches); returns the mean training loss. */
  trainStep(): { loss: number; lr: number; gradNorm: number } {
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
    this.optimizer.update(this.model.params, this.grads, lr);
    this.step++;
    this.tokens += o.batchSize * o.seqLen * o.gradAccum;
    return { loss, lr, gradNorm };
  }

  /** Mean loss over the fixed validation batches. */
  validate(): number {
    let sum = 0;
    for (const b of this.valBatches) sum += this.model.forward(b.inputs, b.targets, this.options.batchSize, this.options.seqLen);
    return sum / this.valBatches.length;
  }

  /** Trains until maxSteps, evaluating, logging and checkpointing on the way; returns the last val loss. */
  run(onEvent: (e: TrainEvent) => void = () => {}): number {
    const o = this.options;
    mkdirSync(this.outDir, { recursive: true });
    const metrics = join(this.outDir, METRICS_FILE);
    let valLoss = NaN;
    let windowStart = performance.now();
    let windowTokens = 0;
    while (this.step < o.maxSteps) {
      const t0 = performance.now();
      const r = this.trainStep();
      this.elapsed += (performance.now() - t0) / 1000;
      windowTokens += o.batchSize * o.seqLen * o.gradAccum;
      const now = performance.now();
      const tokensPerSecond = (windowTokens * 1000) / Math.max(1, now - windowStart);
      if (now - windowStart > 5000) [windowStart, windowTokens] = [now, 0];
      const event = { kind: 'step' as const, step: this.step, maxSteps: o.maxSteps, ...r, tokens: this.tokens, tokensPerSecond, elapsed: this.elapsed };
      appendFileSync(metrics, JSON.stringify({ step: this.step, loss: r.loss, lr: r.lr, grad_norm: r.gradNorm, tokens: this.tokens, tokens_per_s: Math.round(tokensPerSecond), elapsed_s: round3(this.elapsed) }) + '\n');
      onEvent(event);
      const last = this.step === o.maxSteps;
      if ((o.evalInterval > 0 && this.step % o.evalInterval === 0) || last) {
        valLoss = this.validate();
        appendFileSync(metrics, JSON.stringify({ step: this.step, val_loss: valLoss }) + '\n');
        onEvent({ kind: 'eval', step: this.step, valLoss });
      }
      if ((o.checkpointInterval > 0 && this.step % o.checkpointInterval === 0) || last) {
        this.checkpoint();
        onEvent({ kind: 'checkpoint', step: this.step, dir: this.outDir });
      }
    }
    if (Number.isNaN(valLoss)) valLoss = this.validate();
    return valLoss;
  }

  /** Writes model, tokenizer, optimiser and trainer state as one crash-safe set, and the loss plot. */
  checkpoint(): void {
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
    };
    commitFiles(this.outDir, {
      ...modelFiles(this.model, this.tokenizer, meta),
      [OPTIMIZER_FILE]: encodeSafetensors(moments, meta),
      [STATE_FILE]: JSON.stringify(state, null, 2) + '\n',
    });
    writeLossPlot(this.outDir);
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

/** Drops metric lines past the checkpoint, so a resumed run's log reads as one run. */
function trimMetrics(file: string, step: number): void {
  if (!existsSync(file)) return;
  const keep = readFileSync(file, 'utf8').split('\n').filter((line) => {
    if (!line.trim()) return false;
    try {
      return (parseJson(line, file, { maxSize: JSON_LIMITS.line }) as { step: number }).step <= step;
    } catch {
      return false;
    }
  });
  writeFileSync(file, keep.map((l) => l + '\n').join(''));
}

/** Renders metrics.jsonl as loss.svg and loss.png: training loss (smoothed over ~2% of the run) and validation loss. */
export function writeLossPlot(dir: string): void {
  const file = join(dir, METRICS_FILE);
  if (!existsSync(file)) return;
  const { train, val } = readLossCurve(file);
  const k = Math.max(1, Math.round(train.length / 50));
  const smooth = train.map(([s], i) => {
    const w = train.slice(Math.max(0, i - k + 1), i + 1);
    return [s, w.reduce((a, p) => a + p[1], 0) / w.length] as [number, number];
  });
  writePlot(join(dir, 'loss'), {
    title: 'Training', xLabel: 'step', yLabel: 'loss (nats/token)',
    series: [{ name: 'train (smoothed)', points: smooth }, { name: 'validation', points: val }],
  });
}
