// A model directory's files, host-neutral (SWAT.md §2): config.json + the weights (model.safetensors, or
// Hugging Face shards with their index) with the PyTorch implementation's weight names, plus tokenizer.json
// when the model has a tokenizer, and the Hugging Face companion files (companions.ts). `modelFiles` gives
// them as bytes; `openModel` reads them from a DirSource, checking every tensor name and shape against the
// config before the parameter buffer is allocated (a config claiming a huge model next to a small file
// fails fast), reading tensors straight into it, and refusing a weight that is not finite (one NaN would
// silently turn every output into NaN). So foreign weights either load exactly or fail with a line that
// names the tensor, whether the files are on disk (store.ts) or were handed to a web page.
//
// For inference a model may be loaded in bf16, f16 or q8 (backend/weight.ts) instead of f32: a tensor stored
// in that format is read straight into its matrix, bytes as they are; one stored otherwise is read a few MB
// at a time and converted, so loading never holds more than the model plus one such chunk. q8 weights are
// written (swat export --dtype q8) as an I8 tensor of the matrix's name and an F32 tensor `<name>_scale` of
// one scale per 32 columns; such a file loads in any dtype.

import type { Backend } from '../backend/backend.js';
import { PLAIN_ARRAYS, Q8_BLOCK, type WeightDtype, allocWeightWith, encodeRows, firstNonFiniteStored, q8Blocks, weightRows } from '../backend/weight.js';
import { type SwatConfig, configToJson, parseConfig } from '../config.js';
import { ConfigError, FormatError, InputError, showJson } from '../errors.js';
import { type DirSource, readText } from '../io/bytes.js';
import { JSON_LIMITS } from '../io/json.js';
import { type EncodedTensor, type F32Tensor, type WritableDtype, checkFinite } from '../io/safetensors.js';
import { WeightFiles, WEIGHTS_FILE, weightFiles } from '../io/sharded.js';
import type { Floats } from '../tensor.js';
import { TOKENIZER_FILE, tokenizerFromJson } from '../tokenizer/hf-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { companionFiles } from './companions.js';
import { SwatModel } from './model.js';
import { LM_HEAD, type ParamSpec, paramSpecs } from './params.js';
import { ModelWeights } from './weights.js';

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

/** The dtypes a model directory's weights can be written in: the three of safetensors and PyTorch, and
 *  swat's q8 (matrices as I8 values and F32 block scales, norm gains F32). */
export type ModelFileDtype = WritableDtype | 'Q8';

/** How a model directory's weights are written: dtype (default F32) and the most bytes per shard. */
export interface ModelLayout {
  dtype?: ModelFileDtype;
  maxShardBytes?: number;
}

/** The scale tensor of a q8 matrix stored under `name`. */
export function q8ScaleName(name: string): string {
  return `${name}_scale`;
}

/** The files of a model directory, ready for `commitFiles` (alone or with training state beside them):
 *  config.json, the weights in `layout` (F32 in one file unless asked otherwise), and the tokenizer and
 *  companion files. */
export function modelFiles(model: SwatModel, tokenizer: Tokenizer | null, metadata: Record<string, string> = {}, layout: ModelLayout = {}): Record<string, Uint8Array | string> {
  const q8 = layout.dtype === 'Q8';
  const dtype: WritableDtype = layout.dtype === 'Q8' || layout.dtype === undefined ? 'F32' : layout.dtype;
  const tensors = new Map<string, F32Tensor | EncodedTensor>();
  for (const s of model.params.specs) {
    const name = checkpointName(model.config, s.name);
    const data = asF32(model.params.get(s.name));
    if (q8 && s.shape.length === 2) {
      const [rows, cols] = s.shape as [number, number];
      const w = allocWeightWith(PLAIN_ARRAYS, 'q8', rows, cols);
      encodeRows(w, 0, data, `tensor ${name}`);
      tensors.set(name, { dtype: 'I8', shape: s.shape, bytes: bytesOf(w.data) });
      tensors.set(q8ScaleName(name), { dtype: 'F32', shape: [rows, q8Blocks(cols)], bytes: bytesOf(w.scales!) });
    } else {
      tensors.set(name, { data, shape: s.shape });
    }
  }
  return {
    [CONFIG_FILE]: configToJson(model.config, dtype),
    ...weightFiles(tensors, { format: 'pt', ...metadata }, { dtype, ...(layout.maxShardBytes !== undefined ? { maxShardBytes: layout.maxShardBytes } : {}) }),
    ...companionFiles(model.config, tokenizer),
  };
}

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
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

export interface LoadModelOptions {
  /** The dtype the forward computes with: f32 (the default, and what training and saving need), or bf16,
   *  f16 or q8 for inference only. */
  dtype?: WeightDtype;
}

/** The model of a directory on `backend`, its tokenizer and the weights' __metadata__. */
export function openModel(dir: DirSource, backend: Backend, options: LoadModelOptions = {}): { model: SwatModel; tokenizer: Tokenizer | null; metadata: Record<string, string> } {
  const dtype = options.dtype ?? 'f32';
  const { config, tokenizer } = readModelConfigFrom(dir);
  const file = WeightFiles.openDir(dir);
  try {
    const specs = paramSpecs(config);
    checkTensors(file, specs, config);
    const model = dtype === 'f32' ? new SwatModel(config, backend) : new SwatModel(config, backend, ModelWeights.alloc(config, backend, dtype));
    for (const s of specs) {
      const name = checkpointName(config, s.name);
      if (dtype === 'f32') readFloats(file, name, s, 0, model.params.get(s.name));
      else readTarget(file, name, s, model.weights);
    }
    return { model, tokenizer, metadata: file.metadata };
  } finally {
    file.close();
  }
}

/** Values [start, start + out.length) of parameter `name` (spec `s`) as floats: converted from the file's
 *  dtype (a q8 matrix dequantized), and all finite. */
function readFloats(file: WeightFiles, name: string, s: ParamSpec, start: number, out: Floats): void {
  const e = file.entries.get(name)!;
  if (e.dtype !== 'I8') {
    file.readRange(name, start, out);
    checkFinite(out, e.file, name, start);
    return;
  }
  // A q8 matrix: its int8 values, then each times its block's scale (the scales of these rows only).
  const cols = s.shape[1]!;
  const nb = q8Blocks(cols);
  const r0 = Math.floor(start / cols);
  const scales = new Float32Array((Math.ceil((start + out.length) / cols) - r0) * nb);
  file.readRange(q8ScaleName(name), r0 * nb, scales);
  checkFinite(scales, e.file, q8ScaleName(name), r0 * nb);
  file.readRange(name, start, out);
  for (let i = 0; i < out.length; i++) {
    const at = start + i;
    out[i] = Math.fround(out[i]! * scales[(Math.floor(at / cols) - r0) * nb + Math.floor((at % cols) / Q8_BLOCK)]!);
  }
}

/** Values converted per chunk while loading in another dtype: a few MB beside the model, never a copy. */
const CONVERT_CHUNK = 1 << 20;

/** Parameter `name` into its place in inference weights: bytes as they are when the file stores it in the
 *  weights' format, else converted chunk by chunk. */
function readTarget(file: WeightFiles, name: string, s: ParamSpec, weights: ModelWeights): void {
  const target = weights.target(s.name);
  const e = file.entries.get(name)!;
  if ('gain' in target) {
    readFloats(file, name, s, 0, target.gain);
    return;
  }
  const w = target.weight;
  const cols = s.shape[1]!;
  const rows = s.shape[0]!;
  const stored = { BF16: 'bf16', F16: 'f16', I8: 'q8' }[e.dtype as string];
  if (stored === w.dtype) {
    const part = weightRows(w, target.row, target.row + rows);
    file.readBytes(name, bytesOf(part.data));
    if (w.dtype === 'q8') file.readInto(q8ScaleName(name), part.scales!);
    const bad = firstNonFiniteStored(part);
    if (bad) throw new FormatError(`${e.file}: tensor ${showJson(bad.scale ? q8ScaleName(name) : name)} has a non-finite value at index ${bad.index}`);
    return;
  }
  const chunkRows = Math.max(1, Math.floor(CONVERT_CHUNK / cols));
  const chunk = new Float32Array(Math.min(rows, chunkRows) * cols);
  for (let r = 0; r < rows; r += chunkRows) {
    const n = Math.min(chunkRows, rows - r);
    const values = chunk.subarray(0, n * cols);
    readFloats(file, name, s, r * cols, values);
    encodeRows(w, target.row + r, values, `${e.file}: tensor ${showJson(name)} in ${w.dtype}, row ${r}`);
  }
}

/** The headers' tensor names, shapes and dtypes against the config's parameter table, before anything is
 *  allocated. */
function checkTensors(file: WeightFiles, specs: readonly ParamSpec[], config: SwatConfig): void {
  const expected = new Set(specs.map((s) => checkpointName(config, s.name)));
  for (const [name, t] of file.entries) {
    // Tied checkpoints written by PyTorch sometimes carry the head anyway; it is the embedding then.
    if (!expected.has(name) && !(name === LM_HEAD && config.tie_word_embeddings) && !isQ8Scale(file, name)) {
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
    if (t.dtype === 'I8') checkQ8(file, name, s);
  }
}

/** An I8 tensor is a q8 matrix: it needs its F32 scales, one per block of 32 columns of each row. */
function checkQ8(file: WeightFiles, name: string, s: ParamSpec): void {
  const t = file.entries.get(name)!;
  if (s.shape.length !== 2) throw new FormatError(`${t.file}: tensor ${showJson(name)} is I8, but only matrices are stored in q8`);
  const scaleName = q8ScaleName(name);
  const scale = file.entries.get(scaleName);
  const shape = [s.shape[0]!, q8Blocks(s.shape[1]!)];
  if (!scale) throw new FormatError(`${t.file}: tensor ${showJson(name)} is I8 (q8) but its scales ${showJson(scaleName)} are missing`);
  if (scale.dtype !== 'F32' || scale.shape.length !== 2 || scale.shape.some((d, i) => d !== shape[i])) {
    throw new FormatError(`${scale.file}: tensor ${showJson(scaleName)} is ${scale.dtype} ${showShape(scale.shape)}, q8 scales of ${showJson(name)} must be F32 ${showShape(shape)}`);
  }
}

/** Whether `name` is the scale tensor of an I8 tensor of the file. */
function isQ8Scale(file: WeightFiles, name: string): boolean {
  return name.endsWith('_scale') && file.entries.get(name.slice(0, -'_scale'.length))?.dtype === 'I8';
}

/** "[258, 16]"; a shape of absurd rank (from a hostile header) is cut short. */
function showShape(shape: readonly number[]): string {
  return `[${shape.slice(0, 8).join(', ')}${shape.length > 8 ? ', …' : ''}]`;
}
