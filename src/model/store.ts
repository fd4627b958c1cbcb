// The model directory (SWAT.md §2): config.json + model.safetensors with the PyTorch implementation's
// weight names, plus tokenizer.json when the model has a tokenizer. Written as one crash-safe set; loading
// checks every tensor name and shape against the config, so foreign weights either load exactly or fail
// with a line that names the tensor. The weights file's header is checked before the parameter buffer is
// allocated (a config claiming a huge model next to a small file fails fast), tensors are read straight
// into it, and every weight must be finite (one NaN would silently turn every output into NaN). Reading
// never writes (withCommitted), so a model can be read while a training run checkpoints into its directory.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { type SwatConfig, configToJson, parseConfig } from '../config.js';
import { ConfigError, FormatError, InputError, showJson } from '../errors.js';
import { type CommittedFile, commitFiles, withCommitted } from '../io/atomic.js';
import { JSON_LIMITS, readTextFd } from '../io/json.js';
import { type F32Tensor, SafetensorsReader, checkFinite, encodeSafetensors } from '../io/safetensors.js';
import type { Floats } from '../tensor.js';
import { TOKENIZER_FILE, tokenizerFromJson, tokenizerToJson } from '../tokenizer/hf-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { SwatModel } from './model.js';
import { LM_HEAD, type ParamSpec, paramSpecs } from './params.js';

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

/** Reads config.json and the tokenizer if any. */
export function readModelConfig(dir: string): { config: SwatConfig; tokenizer: Tokenizer | null } {
  return withModelFiles(dir, [], (open) => parseModelFiles(dir, open));
}

/** Opens config.json, tokenizer.json and `names` of the committed set in `dir`, which must exist. */
function withModelFiles<T>(dir: string, names: string[], use: (open: Map<string, CommittedFile>) => T): T {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`model directory not found: ${dir}`);
  return withCommitted(dir, [CONFIG_FILE, TOKENIZER_FILE, ...names], use);
}

function parseModelFiles(dir: string, open: Map<string, CommittedFile>): { config: SwatConfig; tokenizer: Tokenizer | null } {
  const configPath = join(dir, CONFIG_FILE);
  const configFile = open.get(CONFIG_FILE);
  if (configFile === undefined) throw new InputError(`${configPath} not found: not a model directory`);
  const config = parseConfig(readTextFd(configFile.fd, configPath, JSON_LIMITS.config, ConfigError), configPath);
  const tokPath = join(dir, TOKENIZER_FILE);
  const tokFile = open.get(TOKENIZER_FILE);
  const tokenizer = tokFile !== undefined ? tokenizerFromJson(readTextFd(tokFile.fd, tokPath, JSON_LIMITS.tokenizer), tokPath) : null;
  if (tokenizer && tokenizer.vocabSize > config.vocab_size) {
    throw new FormatError(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} tokens, more than vocab_size ${config.vocab_size} in ${configPath}`);
  }
  for (const field of ['bos_token_id', 'eos_token_id'] as const) {
    const id = config[field];
    if (tokenizer && id !== null && id >= tokenizer.vocabSize) {
      throw new ConfigError(`${configPath}: field "${field}" is ${id}, outside the ${tokenizer.vocabSize} tokens of ${tokPath}`);
    }
  }
  return { config, tokenizer };
}

/** Loads the model in `dir`, and the bytes of `alsoRead` (e.g. training state) from the same committed set. */
export function loadModel(dir: string, backend: Backend, alsoRead: string[] = []): LoadedModel {
  return withModelFiles(dir, [WEIGHTS_FILE, ...alsoRead], (open) => {
    const { config, tokenizer } = parseModelFiles(dir, open);
    const weightsPath = join(dir, WEIGHTS_FILE);
    const weights = open.get(WEIGHTS_FILE);
    if (weights === undefined) throw new InputError(`${weightsPath} not found`);
    const file = new SafetensorsReader(weightsPath, weights.fd);
    const specs = paramSpecs(config);
    checkTensors(file, specs, config);
    const model = new SwatModel(config, backend);
    for (const s of specs) {
      const values = model.params.get(s.name);
      file.readInto(s.name, values);
      checkFinite(values, weightsPath, s.name);
    }
    const files = new Map<string, Buffer>();
    for (const name of alsoRead) {
      const f = open.get(name);
      if (f !== undefined) files.set(name, readFileSync(f.fd));
    }
    return { model, tokenizer, metadata: file.metadata, files };
  });
}

/** The header's tensor names and shapes against the config's parameter table, before anything is allocated. */
function checkTensors(file: SafetensorsReader, specs: readonly ParamSpec[], config: SwatConfig): void {
  const expected = new Set(specs.map((s) => s.name));
  for (const name of file.entries.keys()) {
    // Tied checkpoints written by PyTorch sometimes carry the head anyway; it is the embedding then.
    if (!expected.has(name) && !(name === LM_HEAD && config.tie_word_embeddings)) {
      throw new FormatError(`${file.path}: unexpected tensor ${showJson(name)} for this config`);
    }
  }
  for (const s of specs) {
    const t = file.entries.get(s.name);
    if (!t) throw new FormatError(`${file.path}: missing tensor "${s.name}"`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new FormatError(`${file.path}: tensor "${s.name}" has shape ${showShape(t.shape)}, the config needs ${showShape(s.shape)}`);
    }
  }
}

/** "[258, 16]"; a shape of absurd rank (from a hostile header) is cut short. */
function showShape(shape: readonly number[]): string {
  return `[${shape.slice(0, 8).join(', ')}${shape.length > 8 ? ', …' : ''}]`;
}
