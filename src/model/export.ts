// swat export: a model directory rewritten for the PyTorch / Hugging Face side, in the weight dtype and
// shard size asked for, with the companion files, and a list of the options that the authors' PyTorch class
// would silently ignore. The source is only read; the destination is locked and written as one crash-safe
// set, and a destination that holds a model is replaced only when the caller says so (train/output.ts: its
// stale weight files, and any training state that would no longer match, are removed first).
// Not here: the command line (cli/commands/export.ts), the file formats (io/sharded.ts, companions.ts).

import { existsSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { ReferenceBackend } from '../backend/reference.js';
import { type SwatConfig, swatOnlyOptions } from '../config.js';
import { InputError } from '../errors.js';
import { commitFiles } from '../io/atomic.js';
import { claimOutput, clearOutput, heldWork, refusal } from '../train/output.js';
import { type ModelFileDtype, loadModel, modelFiles } from './store.js';

export interface ExportOptions {
  /** F32, F16 or BF16 (what PyTorch reads), or Q8 (swat's 8-bit blocks, for inference with swat). */
  dtype: ModelFileDtype;
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

export function exportModel(from: string, to: string, o: ExportOptions): ExportResult {
  checkDestination(from, to);
  const lock = claimOutput(to, 'swat export');
  try {
    const held = heldWork(to);
    if (held.files.length > 0 && !o.force) throw refusal(to, held);
    const { model, tokenizer } = loadModel(from, new ReferenceBackend('float32'));
    const files = modelFiles(model, tokenizer, {}, { dtype: o.dtype, ...(o.maxShardBytes !== undefined ? { maxShardBytes: o.maxShardBytes } : {}) });
    clearOutput(to, Object.keys(files));
    commitFiles(to, files);
    return { config: model.config, files: Object.keys(files).sort(), swatOnly: swatOnlyOptions(model.config) };
  } finally {
    lock.release();
  }
}

/** Refuses `to` being a file or `from` itself. */
function checkDestination(from: string, to: string): void {
  if (!existsSync(to)) return;
  if (!statSync(to).isDirectory()) throw new InputError(`--out ${to} is a file, not a directory`);
  if (existsSync(from) && realpathSync(resolve(to)) === realpathSync(resolve(from))) {
    throw new InputError(`--out ${to} is the model directory itself: export writes a new directory`);
  }
}
