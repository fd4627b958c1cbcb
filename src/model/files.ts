// A model directory's files, host-neutral (SWAT.md §2): config.json + the weights (model.safetensors, or
// Hugging Face shards with their index) with the PyTorch implementation's weight names, plus tokenizer.json
// when the model has a tokenizer, and the Hugging Face companion files (companions.ts). `modelFiles` gives
// them as bytes; `openModel` reads them from a DirSource, checking every tensor name and shape against the
// config before the parameter buffer is allocated (a config claiming a huge model next to a small file
// fails fast), reading tensors straight into it, and refusing a weight that is not finite (one NaN would
// silently turn every output into NaN). So foreign weights either load exactly or fail with a line that
// names the tensor, whether the files are on disk (store.ts) or were handed to a web page.

import type { Backend } from '../backend/backend.js';
import { type SwatConfig, configToJson, parseConfig } from '../config.js';
import { ConfigError, FormatError, InputError, showJson } from '../errors.js';
import { type DirSource, readText } from '../io/bytes.js';
import { JSON_LIMITS } from '../io/json.js';
import { type F32Tensor, checkFinite } from '../io/safetensors.js';
import { type WeightLayout, WeightFiles, WEIGHTS_FILE, weightFiles } from '../io/sharded.js';
import type { Floats } from '../tensor.js';
import { TOKENIZER_FILE, tokenizerFromJson } from '../tokenizer/hf-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { companionFiles } from './companions.js';
import { SwatModel } from './model.js';
import { LM_HEAD, type ParamSpec, paramSpecs } from './params.js';

export const CONFIG_FILE = 'config.json';
export { WEIGHTS_FILE };

function asF32(x: Floats): Float32Array {
  return x instanceof Float32Array ? x : Float32Array.from(x);
}

/** A parameter's name in the checkpoint: the authors' norm_first layout keeps each block's two norms
 *  inside its attention and MLP modules (same computation, other names). */
export function checkpointName(config: SwatConfig, name: string): string {
  if (!config.norm_first) return name;
  return name.replace(/^(model\.layers\.\d+)\.(attn|mlp)_norm\.weight$/, '$1.$2.norm.weight');
}

/** The files of a model directory, ready for `commitFiles` (alone or with training state beside them):
 *  config.json, the weights in `layout` (F32 in one file unless asked otherwise), and the tokenizer and
 *  companion files. */
export function modelFiles(model: SwatModel, tokenizer: Tokenizer | null, metadata: Record<string, string> = {}, layout: WeightLayout = {}): Record<string, Uint8Array | string> {
  const tensors = new Map<string, F32Tensor>();
  for (const s of model.params.specs) tensors.set(checkpointName(model.config, s.name), { data: asF32(model.params.get(s.name)), shape: s.shape });
  return {
    [CONFIG_FILE]: configToJson(model.config, layout.dtype),
    ...weightFiles(tensors, { format: 'pt', ...metadata }, layout),
    ...companionFiles(model.config, tokenizer),
  };
}

/** Reads config.json and the tokenizer if any, and checks that they agree. */
export function readModelConfigFrom(dir: DirSource): { config: SwatConfig; tokenizer: Tokenizer | null } {
  const configPath = dir.path(CONFIG_FILE);
  const config = parseConfig(readFile(dir, CONFIG_FILE, JSON_LIMITS.config, ConfigError) ?? missingConfig(configPath), configPath);
  const tokPath = dir.path(TOKENIZER_FILE);
  const tokText = readFile(dir, TOKENIZER_FILE, JSON_LIMITS.tokenizer);
  const tokenizer = tokText !== undefined ? tokenizerFromJson(tokText, tokPath) : null;
  if (tokenizer && tokenizer.vocabSize > config.vocab_size) {
    throw new FormatError(`${tokPath}: the tokenizer has ${tokenizer.vocabSize} tokens, more than vocab_size ${config.vocab_size} in ${configPath}`);
  }
  for (const field of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) {
    const id = config[field];
    if (tokenizer && id !== null && id >= tokenizer.vocabSize) {
      throw new ConfigError(`${configPath}: field "${field}" is ${id}, outside the ${tokenizer.vocabSize} tokens of ${tokPath}`);
    }
  }
  return { config, tokenizer };
}

function missingConfig(path: string): never {
  throw new InputError(`${path} not found: not a model directory`);
}

/** The text of file `name`, refused past `maxBytes`; undefined when the directory has none. */
function readFile(dir: DirSource, name: string, maxBytes: number, error?: typeof ConfigError): string | undefined {
  const source = dir.open(name);
  if (source === undefined) return undefined;
  try {
    return readText(source, dir.path(name), maxBytes, error);
  } finally {
    source.close();
  }
}

/** The model of a directory on `backend`, its tokenizer and the weights' __metadata__. */
export function openModel(dir: DirSource, backend: Backend): { model: SwatModel; tokenizer: Tokenizer | null; metadata: Record<string, string> } {
  const { config, tokenizer } = readModelConfigFrom(dir);
  const file = WeightFiles.openDir(dir);
  try {
    const specs = paramSpecs(config);
    checkTensors(file, specs, config);
    const model = new SwatModel(config, backend);
    for (const s of specs) {
      const name = checkpointName(config, s.name);
      const values = model.params.get(s.name);
      file.readInto(name, values);
      checkFinite(values, file.entries.get(name)!.file, name);
    }
    return { model, tokenizer, metadata: file.metadata };
  } finally {
    file.close();
  }
}

/** The headers' tensor names and shapes against the config's parameter table, before anything is allocated. */
function checkTensors(file: WeightFiles, specs: readonly ParamSpec[], config: SwatConfig): void {
  const expected = new Set(specs.map((s) => checkpointName(config, s.name)));
  for (const [name, t] of file.entries) {
    // Tied checkpoints written by PyTorch sometimes carry the head anyway; it is the embedding then.
    if (!expected.has(name) && !(name === LM_HEAD && config.tie_word_embeddings)) {
      throw new FormatError(`${t.file}: unexpected tensor ${showJson(name)} for this config`);
    }
  }
  for (const s of specs) {
    const name = checkpointName(config, s.name);
    const t = file.entries.get(name);
    if (!t && name === LM_HEAD) {
      const why = 'config.json has tie_word_embeddings false (also what its absence means to the authors\' SWATConfig); set it to true if the head is the embedding';
      throw new FormatError(`${file.path}: missing tensor "${LM_HEAD}": ${why}`);
    }
    if (!t) throw new FormatError(`${file.path}: missing tensor "${name}"`);
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new FormatError(`${t.file}: tensor "${name}" has shape ${showShape(t.shape)}, the config needs ${showShape(s.shape)}`);
    }
  }
}

/** "[258, 16]"; a shape of absurd rank (from a hostile header) is cut short. */
function showShape(shape: readonly number[]): string {
  return `[${shape.slice(0, 8).join(', ')}${shape.length > 8 ? ', …' : ''}]`;
}
