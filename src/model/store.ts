// The model directory on disk (the files themselves: files.ts). Written as one crash-safe set; reading
// never writes (withCommitted), so a model can be read while a training run checkpoints into its directory:
// config, tokenizer, weights and any training state come from one committed set.

import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Backend } from '../backend/backend.js';
import type { SwatConfig } from '../config.js';
import { InputError } from '../errors.js';
import { commitFiles, withCommitted } from '../io/atomic.js';
import { dirSource } from '../io/files.js';
import { WEIGHTS_FILE, WEIGHTS_INDEX_FILE, weightFileNames } from '../io/sharded.js';
import { TOKENIZER_FILE } from '../tokenizer/hf-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { CONFIG_FILE, type LoadModelOptions, modelFiles, openModel, readModelConfigFrom } from './files.js';
import type { SwatModel } from './model.js';

export { CONFIG_FILE, WEIGHTS_FILE, type LoadModelOptions, type ModelFileDtype, type ModelLayout, checkpointName, modelFiles, q8ScaleName } from './files.js';

export function saveModel(dir: string, model: SwatModel, tokenizer: Tokenizer | null): void {
  commitFiles(dir, modelFiles(model, tokenizer));
}

export interface LoadedModel {
  model: SwatModel;
  tokenizer: Tokenizer | null;
  /** The weights file's __metadata__ (training state checks its step). */
  metadata: Record<string, string>;
  /** The other files asked for, read from the same committed set (absent ones are missing). */
  files: Map<string, Buffer>;
}

/** Reads config.json and the tokenizer if any. */
export function readModelConfig(dir: string): { config: SwatConfig; tokenizer: Tokenizer | null } {
  checkModelDir(dir);
  return withCommitted(dir, [CONFIG_FILE, TOKENIZER_FILE], (open) => readModelConfigFrom(dirSource(dir, open)));
}

function checkModelDir(dir: string): void {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`model directory not found: ${dir}`);
}

/** Loads the model in `dir` (one weights file or shards) in `options.dtype`, and the bytes of `alsoRead`
 *  (e.g. training state), all from one committed set. */
export function loadModel(dir: string, backend: Backend, alsoRead: string[] = [], options: LoadModelOptions = {}): LoadedModel {
  checkModelDir(dir);
  // The shards to open with the rest are named by the index: look at it first (openDir checks it again).
  const weights = withCommitted(dir, [WEIGHTS_FILE, WEIGHTS_INDEX_FILE], (open) => weightFileNames(dirSource(dir, open)));
  return withCommitted(dir, [CONFIG_FILE, TOKENIZER_FILE, ...weights, ...alsoRead], (open) => {
    const loaded = openModel(dirSource(dir, open), backend, options);
    const files = new Map<string, Buffer>();
    for (const name of alsoRead) {
      const f = open.get(name);
      if (f !== undefined) files.set(name, readFileSync(f.fd));
    }
    return { ...loaded, files };
  });
}
