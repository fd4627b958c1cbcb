// swat export: a model directory rewritten for the PyTorch / Hugging Face side, in the weight dtype and
// shard size asked for, with the companion files, and a list of the options that the authors' PyTorch class
// would silently ignore. The source is only read; the destination is written as one crash-safe set, and a
// destination that holds a model is replaced only when the caller says so (its stale weight files, and any
// training state that would no longer match, are removed first, so an interruption leaves no mix).
// Not here: the command line (cli/commands/export.ts), the file formats (io/sharded.ts, companions.ts).

import { existsSync, readdirSync, realpathSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ReferenceBackend } from '../backend/reference.js';
import { type SwatConfig, swatOnlyOptions } from '../config.js';
import { InputError } from '../errors.js';
import { commitFiles, recoverDir } from '../io/atomic.js';
import type { WritableDtype } from '../io/safetensors.js';
import { isWeightsFile } from '../io/sharded.js';
import { TOKENIZER_FILE } from '../tokenizer/hf-json.js';
import { OPTIMIZER_FILE, STATE_FILE } from '../train/trainer.js';
import { GENERATION_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE } from './companions.js';
import { CONFIG_FILE, loadModel, modelFiles } from './store.js';

export interface ExportOptions {
  dtype: WritableDtype;
  /** Most bytes of tensor data per shard; undefined: one file. */
  maxShardBytes?: number;
  /** Replace a model the destination already holds. */
  force: boolean;
}

export interface ExportResult {
  config: SwatConfig;
  /** The files written, sorted. */
  files: string[];
  /** What a PyTorch loader must understand to compute this model (config.ts: swatOnlyOptions). */
  swatOnly: string[];
}

/** Files of a model directory or a training run in it, which an export replaces. */
function isModelFile(name: string): boolean {
  const model = [CONFIG_FILE, TOKENIZER_FILE, GENERATION_CONFIG_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, STATE_FILE, OPTIMIZER_FILE];
  return model.includes(name) || isWeightsFile(name);
}

export function exportModel(from: string, to: string, o: ExportOptions): ExportResult {
  const held = destination(from, to);
  if (held.length > 0 && !o.force) {
    throw new InputError(`${to} already holds a model (${held.join(', ')}): pass --force to replace it, or choose another --out`);
  }
  const { model, tokenizer } = loadModel(from, new ReferenceBackend('float32'));
  const files = modelFiles(model, tokenizer, {}, { dtype: o.dtype, ...(o.maxShardBytes !== undefined ? { maxShardBytes: o.maxShardBytes } : {}) });
  // The training state first: without it what remains is never taken for a checkpoint to resume.
  for (const name of [STATE_FILE, OPTIMIZER_FILE, ...held]) if (!(name in files)) rmSync(join(to, name), { force: true });
  commitFiles(to, files);
  return { config: model.config, files: Object.keys(files).sort(), swatOnly: swatOnlyOptions(model.config) };
}

/** The model files `to` holds (settling an interrupted commit first); refuses `to` being `from` or a file. */
function destination(from: string, to: string): string[] {
  if (!existsSync(to)) return [];
  if (!statSync(to).isDirectory()) throw new InputError(`--out ${to} is a file, not a directory`);
  if (existsSync(from) && realpathSync(resolve(to)) === realpathSync(resolve(from))) {
    throw new InputError(`--out ${to} is the model directory itself: export writes a new directory`);
  }
  recoverDir(to);
  return readdirSync(to).filter(isModelFile).sort();
}
