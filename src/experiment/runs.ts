// One trained model of a study: a checkpointed `Trainer` run in its own directory, named after what it
// varies (activation, ALiBi preset, RoPE, window, training length), so studies that need the same model
// share it and re-running a study continues each unfinished run from its last checkpoint. Evaluation
// results are cached next to the checkpoint, keyed by the step they were computed at.
//
// Not here: what to train (studies/), how to train (train/trainer.ts).

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AttentionActivation, Backend } from '../backend/backend.js';
import { makeConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { documentTokenIds } from '../model/companions.js';
import { readJsonFile } from '../io/files.js';
import { JSON_LIMITS } from '../io/json.js';
import { writeFileAtomic } from '../io/atomic.js';
import { DirLock } from '../io/lock.js';
import { SwatModel } from '../model/model.js';
import { loadModel } from '../model/store.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type TrainData, type TrainOptions, Trainer, readTrainerState } from '../train/trainer.js';
import type { Preset } from './presets.js';

export interface RunSpec {
  /** Short name for tables and legends. */
  label: string;
  attention: AttentionActivation;
  /** ALiBi preset (SWAT.md §3.1). */
  alibi: string;
  rope: boolean;
  /** Training window; null = full causal attention. */
  window: number | null;
  /** Training length T. */
  seqLen: number;
}

export const RUN_FILE = 'run.json';
const EVAL_CACHE = 'eval-cache.json';

/** Directory name of a run: everything that makes two runs different (the preset names the parent). */
export function runId(s: RunSpec): string {
  return `${s.attention}-alibi_${s.alibi.replace(/[^a-z0-9]+/gi, '_')}-${s.rope ? 'rope' : 'norope'}-w${s.window ?? 'full'}-T${s.seqLen}`;
}

export function runDir(outDir: string, p: Preset, s: RunSpec): string {
  return join(outDir, 'runs', p.name, runId(s));
}

export function trainOptions(p: Preset, s: RunSpec): TrainOptions {
  const batchSize = Math.max(1, Math.round(p.tokensPerStep / s.seqLen));
  return {
    seqLen: s.seqLen, batchSize, gradAccum: 1, maxSteps: p.steps, lr: p.lr, minLr: p.minLr, warmupSteps: p.warmup,
    weightDecay: p.weightDecay, beta1: 0.9, beta2: 0.95, adamEps: 1e-8, gradClip: p.gradClip,
    evalInterval: p.evalInterval, evalBatches: Math.max(1, Math.round(16384 / (batchSize * s.seqLen))),
    checkpointInterval: p.checkpointInterval, seed: p.seed,
  };
}

function newModel(p: Preset, s: RunSpec, tokenizer: Tokenizer, backend: Backend): SwatModel {
  const config = makeConfig({
    vocabSize: tokenizer.vocabSize, layers: p.layers, dim: p.dim, heads: p.heads, window: s.window,
    attention: s.attention, alibi: s.alibi, rope: s.rope, intermediateSize: p.intermediate,
    ...documentTokenIds(tokenizer), maxPositionEmbeddings: s.seqLen,
  });
  return SwatModel.create(config, backend, p.seed);
}

/** What a run directory was made for; a directory made for something else is never silently reused. */
function identity(p: Preset, s: RunSpec): string {
  // The step count may change (it extends the run); evaluation settings do not affect training.
  const { layers, dim, heads, intermediate, tokensPerStep, lr, minLr, warmup, weightDecay, gradClip, seed } = p;
  const { attention, alibi, rope, window, seqLen } = s;
  return JSON.stringify({ attention, alibi, rope, window, seqLen, layers, dim, heads, intermediate, tokensPerStep, lr, minLr, warmup, weightDecay, gradClip, seed }) + '\n';
}

export interface TrainedRun {
  spec: RunSpec;
  dir: string;
  model: SwatModel;
  step: number;
  /** Training seconds summed over all sessions of the run. */
  trainSeconds: number;
}

export interface RunContext {
  outDir: string;
  preset: Preset;
  backend: Backend;
  tokenizer: Tokenizer;
  data: () => TrainData;
  log: (line: string) => void;
  progress: (done: number, total: number, text: string) => void;
}

/** Trains the run to the preset's step count, starting it or resuming its checkpoint; a finished run is
 *  only loaded. */
export function ensureRun(ctx: RunContext, s: RunSpec): TrainedRun {
  const { preset: p, backend } = ctx;
  const dir = runDir(ctx.outDir, p, s);
  const id = identity(p, s);
  const runFile = join(dir, RUN_FILE);
  const state = readTrainerState(dir);
  if (state !== null) {
    if (existsSync(runFile) && readFileSync(runFile, 'utf8') !== id) {
      throw new ConfigError(`${runFile}: this run directory was made with other settings; use another --out or remove it`);
    }
    if (state.step >= p.steps) {
      const { model } = loadModel(dir, backend);
      return { spec: s, dir, model, step: state.step, trainSeconds: state.elapsed };
    }
  }
  const lock = DirLock.acquire(dir, 'swat experiment');
  try {
    let trainer: Trainer;
    if (Trainer.hasCheckpoint(dir)) {
      trainer = Trainer.resume(lock, backend, ctx.data(), { maxSteps: p.steps });
      ctx.log(`${s.label}: resuming ${dir} at step ${trainer.step} of ${p.steps}`);
    } else {
      trainer = Trainer.start(newModel(p, s, ctx.tokenizer, backend), ctx.tokenizer, ctx.data(), trainOptions(p, s), lock);
      ctx.log(`${s.label}: training ${dir} (${p.steps} steps of ${trainer.options.batchSize} × ${s.seqLen} tokens)`);
    }
    writeFileAtomic(runFile, id);
    let lastLoss = 0;
    trainer.run((e) => {
      if (e.kind === 'step') {
        lastLoss = e.loss;
        ctx.progress(e.step, e.maxSteps, `${s.label}: loss ${e.loss.toFixed(3)} ${Math.round(e.tokensPerSecond)} tok/s`);
      } else if (e.kind === 'eval') {
        ctx.log(`${s.label}: step ${e.step} validation loss ${e.valLoss.toFixed(4)} (train ${lastLoss.toFixed(4)})`);
      }
    });
    return { spec: s, dir, model: trainer.model, step: trainer.step, trainSeconds: readTrainerState(dir)!.elapsed };
  } finally {
    lock.release();
  }
}

export { type Curve, readCurve } from '../train/metrics.js';

/** `compute()`'s result, cached in the run directory for this step and key (evaluations are deterministic
 *  for a given checkpoint, so a re-run of a study only evaluates what is new). */
export function cachedEval<T>(run: TrainedRun, key: string, compute: () => T): T {
  const file = join(run.dir, EVAL_CACHE);
  let cache: { step: number; results: Record<string, unknown> } = { step: run.step, results: {} };
  if (existsSync(file)) {
    try {
      const c = readJsonFile(file, { maxSize: JSON_LIMITS.results }) as typeof cache;
      if (c.step === run.step) cache = c;
    } catch {
      // A damaged cache is only a lost speed-up: recompute.
    }
  }
  if (key in cache.results) return cache.results[key] as T;
  const value = compute();
  cache.results[key] = value;
  writeFileAtomic(file, JSON.stringify(cache));
  return value;
}
