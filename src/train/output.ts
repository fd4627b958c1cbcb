// The output directory of a command that writes a model, a tokenizer or a training run (swat init,
// swat tokenizer train, swat train, the experiments): claimed by one process at a time (its lock), settled
// (an interrupted commit finished or discarded), and described, so that a command can refuse to replace
// work the user did not ask to replace and say what the directory holds.
//
// Not here: what a command does about it (its run function decides, e.g. resume or refuse).

import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InputError } from '../errors.js';
import { recoverDir } from '../io/atomic.js';
import { DirLock } from '../io/lock.js';
import { isWeightsFile } from '../io/sharded.js';
import { GENERATION_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE } from '../model/companions.js';
import { CONFIG_FILE } from '../model/store.js';
import { TOKENIZER_FILE } from '../tokenizer/hf-json.js';
import { METRICS_FILE, PLOT_FILE, PLOT_PNG } from './metrics.js';
import { OPTIMIZER_FILE, STATE_FILE } from './trainer.js';

/** What a directory holds of ours. */
export interface Held {
  /** The files, in the order below. */
  files: string[];
  checkpoint: boolean;
  model: boolean;
  tokenizer: boolean;
}

/** Files of a model or a training run: config, weights (one file, or an index and its shards), tokenizer and
 *  its Hugging Face companions, optimiser and trainer state. */
function isWorkFile(name: string): boolean {
  const named = [CONFIG_FILE, TOKENIZER_FILE, GENERATION_CONFIG_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, OPTIMIZER_FILE, STATE_FILE];
  return named.includes(name) || isWeightsFile(name);
}

/** The work files in `dir`: the model first (config, weights, tokenizer), then the training state. */
function workFiles(dir: string): string[] {
  const order = [CONFIG_FILE, 'model', TOKENIZER_FILE, GENERATION_CONFIG_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, OPTIMIZER_FILE, STATE_FILE];
  const rank = (f: string) => order.findIndex((p) => f.startsWith(p));
  return existsSync(dir) ? readdirSync(dir).filter(isWorkFile).sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : 1)) : [];
}

/** Locks `dir` for `command` (creating it if needed) and settles an interrupted commit. The caller
 *  releases the lock. */
export function claimOutput(dir: string, command: string): DirLock {
  const lock = DirLock.acquire(dir, command);
  try {
    recoverDir(dir);
  } catch (e) {
    lock.release();
    throw e;
  }
  return lock;
}

/** The model, tokenizer and checkpoint files in `dir` (call it holding the lock: claimOutput). */
export function heldWork(dir: string): Held {
  const files = workFiles(dir);
  return {
    files,
    checkpoint: files.includes(STATE_FILE),
    model: files.some((f) => f === CONFIG_FILE || isWeightsFile(f)),
    tokenizer: files.includes(TOKENIZER_FILE),
  };
}

/** "a model and a training checkpoint (config.json, …)". */
export function describeHeld(h: Held): string {
  const kinds = [h.model ? 'a model' : h.tokenizer ? 'a tokenizer' : null, h.checkpoint ? 'a training checkpoint' : null].filter(Boolean);
  // The companions and the shards go with the files named (an index names its shards).
  const named = h.files.filter((f) => ![GENERATION_CONFIG_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE].includes(f) && !/^model-\d{5}-of-\d{5}\./.test(f));
  return `${kinds.join(' and ')} (${named.join(', ')})`;
}

/** The refusal of a command that would replace what `dir` holds: names it and says what to do. */
export function refusal(dir: string, h: Held, consequence = ''): InputError {
  return new InputError(`${dir} already holds ${describeHeld(h)}${consequence}: pass --force to replace it, or choose another --out`);
}

/** Before a model is written over what `dir` holds: removes a training run's state, metrics and plot, the
 *  trainer state (the checkpoint marker) first, so an interruption leaves a plain model, never a checkpoint
 *  with foreign weights; and the model files the new model will not replace (`keep` it will). */
export function clearOutput(dir: string, keep: readonly string[]): void {
  const run = [STATE_FILE, OPTIMIZER_FILE, METRICS_FILE, PLOT_FILE, PLOT_PNG];
  for (const f of [...run, ...workFiles(dir).filter((f) => !run.includes(f) && !keep.includes(f))]) rmSync(join(dir, f), { force: true });
}
