// The model directory (SWAT.md §2): config.json + model.safetensors with the PyTorch implementation's
// weight names, plus tokenizer.json when the model has a tokenizer. Written as one crash-safe set; loading
// checks every tensor name and shape against the config, so foreign weights either load exactly or fail
// with a line that names the tensor. Reading never writes (readCommitted), so a model can be read while a
// training run is checkpointing into its directory.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { type SwatConfig, configToJson, parseConfig } from '../config.js';
import { FormatError, InputError } from '../errors.js';
import { commitFiles, readCommitted } from '../io/atomic.js';
import { type F32Tensor, decodeSafetensors, encodeSafetensors } from '../io/safetensors.js';
import type { Floats } from '../tensor.js';
import { TOKENIZER_FILE, tokenizerFromJson, tokenizerToJson } from '../tokenizer/hf-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { SwatModel } from './model.js';
import { LM_HEAD } from './params.js';

export const CONFIG_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';

function asF32(x: Floats): Float32Array {
  return x instanceof Float32Array ? x : Float32Array.from(x);
}

/** The files of a model directory, ready for `commitFiles` (alone or with training state beside them). */
export function modelFiles(model: SwatModel, tokenizer: Tokenizer | null, metadata: Record<string, string> = {}): Record<string, Buffer | string> {
  const tensors = new Map<string, F32Tensor>();
  for (const s of model.params.specs) tensors.set(s.name, { data: asF32(model.params.get(s.name)), shape: s.shape });
  const files: Record<string, Buffer | string> = {
    [CONFIG_FILE]: configToJson(model.config),
    [WEIGHTS_FILE]: encodeSafetensors(tensors, { format: 'pt', ...metadata }),
  };
  if (tokenizer) files[TOKENIZER_FILE] = tokenizerToJson(tokenizer);
  return files;
}

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

/** Reads config.json and the tokenizer if any (without writing: see readCommitted). */
export function readModelConfig(dir: string): { config: SwatConfig; tokenizer: Tokenizer | null } {
  return parseModelFiles(dir, readModelFiles(dir, []));
}

/** config.json, tokenizer.json and `names` of the committed set in `dir`, which must exist. */
function readModelFiles(dir: string, names: string[]): Map<string, Buffer> {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`model directory not found: ${dir}`);
  return readCommitted(dir, [CONFIG_FILE, TOKENIZER_FILE, ...names]);
}

function parseModelFiles(dir: string, files: Map<string, Buffer>): { config: SwatConfig; tokenizer: Tokenizer | null } {
  const configPath = join(dir, CONFIG_FILE);
  const configBytes = files.get(CONFIG_FILE);
  if (configBytes === undefined) throw new InputError(`${configPath} not found: not a model directory`);
  const config = parseConfig(configBytes.toString('utf8'), configPath);
  const tokPath = join(dir, TOKENIZER_FILE);
  const tokBytes = files.get(TOKENIZER_FILE);
  const tokenizer = tokBytes !== undefined ? tokenizerFromJson(tokBytes.toString('utf8'), tokPath) : null;
  if (tokenizer && tokenizer.vocabSize > config.vocab_size) {
    throw new FormatError(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} tokens, more than vocab_size ${config.vocab_size} in ${configPath}`);
  }
  return { config, tokenizer };
}

/** Loads the model in `dir`, and `alsoRead` (e.g. training state) from the same committed set. */
export function loadModel(dir: string, backend: Backend, alsoRead: string[] = []): LoadedModel {
  const files = readModelFiles(dir, [WEIGHTS_FILE, ...alsoRead]);
  const { config, tokenizer } = parseModelFiles(dir, files);
  const weightsPath = join(dir, WEIGHTS_FILE);
  const weights = files.get(WEIGHTS_FILE);
  if (weights === undefined) throw new InputError(`${weightsPath} not found`);
  const file = decodeSafetensors(weights, weightsPath);
  const model = new SwatModel(config, backend);
  const expected = new Set(model.params.specs.map((s) => s.name));
  for (const name of file.tensors.keys()) {
    // Tied checkpoints written by PyTorch sometimes carry the head anyway; it is the embedding then.
    if (!expected.has(name) && !(name === LM_HEAD && config.tie_word_embeddings)) {
      throw new FormatError(`${weightsPath}: unexpected tensor "${name}" for this config`);
    }
  }
  for (const s of model.params.specs) {
    const t = file.tensors.get(s.name);
    if (!t) throw new FormatError(`${weightsPath}: missing tensor "${s.name}"`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new FormatError(`${weightsPath}: tensor "${s.name}" has shape [${t.shape.join(', ')}], the config needs [${s.shape.join(', ')}]`);
    }
    model.params.get(s.name).set(t.data);
  }
  return { model, tokenizer, metadata: file.metadata, files };
}
