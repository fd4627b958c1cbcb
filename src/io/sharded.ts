// The weights of a model directory as Hugging Face stores them: one `model.safetensors`, or, for a large
// model, shards `model-00001-of-0000N.safetensors` listed by `model.safetensors.index.json`
//   {"metadata": {"total_size": <bytes of tensor data>}, "weight_map": {tensor name: shard file name}}.
// Reading (openWeights) prefers the single file, as `transformers` does, and checks the index against the
// shards' headers before any tensor is read: shard names are plain file names in the directory, every
// tensor the index names is in its shard, and every tensor of a shard is in the index, in that shard.
// Writing (weightFiles) splits tensors greedily in order, starting a new shard when the next tensor would
// pass the size limit and giving a tensor larger than the limit a shard of its own (huggingface_hub's
// rule), so the same limit gives the same files as PyTorch's save_pretrained.
// Host-neutral: the directory's files come through a DirSource (on disk: io/files.ts; on a page: the files
// it was given).
// Not here: which tensors a model needs (model/files.ts), the bytes of one file (safetensors.ts).

import { FormatError, InputError, showJson } from '../errors.js';
import type { Floats } from '../tensor.js';
import { type ByteSource, type DirSource, readText } from './bytes.js';
import { JSON_LIMITS, parseJson } from './json.js';
import { type EncodedTensor, type F32Tensor, SafetensorsReader, type TensorEntry, type WritableDtype, encodeSafetensors, tensorBytes } from './safetensors.js';

export const WEIGHTS_FILE = 'model.safetensors';
export const WEIGHTS_INDEX_FILE = 'model.safetensors.index.json';

/** A shard's file name: model-00001-of-00003.safetensors (five digits, as transformers writes them). */
export function shardName(index: number, count: number): string {
  return `model-${String(index + 1).padStart(5, '0')}-of-${String(count).padStart(5, '0')}.safetensors`;
}

/** Whether `name` is a file that one of the two layouts writes (stale ones are removed before a new set). */
export function isWeightsFile(name: string): boolean {
  return name === WEIGHTS_FILE || name === WEIGHTS_INDEX_FILE || /^model-\d{5}-of-\d{5}\.safetensors$/.test(name);
}

// ---------------------------------------------------------------------------------------------- reading

/** One tensor of a (possibly sharded) checkpoint: where it is as its file's header states it. */
export interface WeightEntry extends TensorEntry {
  /** The file holding it, for messages. */
  file: string;
}

/** The weights of a model directory, single-file or sharded, opened header first: names, shapes and
 *  dtypes can be checked before anything is allocated; tensors are then read straight into buffers. */
export class WeightFiles {
  readonly entries: ReadonlyMap<string, WeightEntry>;
  /** The shard of each tensor, in the order shards are listed. */
  private readonly shardOf: ReadonlyMap<string, number>;
  private open: { shard: number; reader: SafetensorsReader; source: ByteSource } | null = null;

  private constructor(
    /** The single file, or the index: what messages about the set as a whole name. */
    readonly path: string,
    private readonly dir: DirSource,
    /** The file names of the weights, in the order shards are listed. */
    readonly shards: readonly string[],
    entries: Map<string, WeightEntry>,
    shardOf: Map<string, number>,
    /** The first file's __metadata__ (swat writes the same into every shard). */
    readonly metadata: Record<string, string>,
    /** The dtypes found, for people: "F32", or "BF16, F32". */
    readonly dtypes: string[],
  ) {
    this.entries = entries;
    this.shardOf = shardOf;
  }

  /** Opens the weights of a directory: model.safetensors, else the index and its shards; InputError when
   *  neither is there, FormatError when they disagree. */
  static openDir(dir: DirSource): WeightFiles {
    if (hasFile(dir, WEIGHTS_FILE)) return WeightFiles.fromFiles(dir.path(WEIGHTS_FILE), dir, [WEIGHTS_FILE]);
    const indexPath = dir.path(WEIGHTS_INDEX_FILE);
    const weightMap = readIndex(dir, indexPath);
    if (weightMap === null) throw new InputError(`${dir.path(WEIGHTS_FILE)} not found (nor a sharded ${WEIGHTS_INDEX_FILE})`);
    const shards = [...new Set(weightMap.values())];
    for (const name of shards) {
      if (!hasFile(dir, name)) throw new InputError(`${indexPath} names shard ${showJson(name)}, which is not in the directory`);
    }
    return WeightFiles.fromFiles(indexPath, dir, shards, weightMap);
  }

  private static fromFiles(path: string, dir: DirSource, files: string[], weightMap?: Map<string, string>): WeightFiles {
    const entries = new Map<string, WeightEntry>();
    const shardOf = new Map<string, number>();
    const dtypes = new Set<string>();
    let metadata: Record<string, string> = {};
    files.forEach((name, shard) => {
      const file = dir.path(name);
      const reader = withSource(dir, name, (source) => new SafetensorsReader(file, source));
      if (shard === 0) metadata = reader.metadata;
      for (const e of reader.entries.values()) {
        const listed = weightMap?.get(e.name);
        if (weightMap !== undefined && listed !== name) {
          const where = listed === undefined ? 'is not in its weight_map' : `places it in ${showJson(listed)}`;
          throw new FormatError(`${file}: tensor ${showJson(e.name)} is in this shard, but ${path} ${where}`);
        }
        entries.set(e.name, { ...e, file });
        shardOf.set(e.name, shard);
        dtypes.add(e.dtype);
      }
    });
    if (weightMap !== undefined) {
      for (const [name, shard] of weightMap) {
        if (!entries.has(name)) throw new FormatError(`${path}: weight_map places tensor ${showJson(name)} in ${showJson(shard)}, which has no such tensor`);
      }
    }
    return new WeightFiles(path, dir, files, entries, shardOf, metadata, [...dtypes].sort());
  }

  /** The values of tensor `name`, converted from its dtype, into `out` (of exactly its size). */
  readInto(name: string, out: Floats): void {
    this.reader(name).readInto(name, out);
  }

  /** Values [start, start + out.length) of tensor `name`, converted from its dtype. */
  readRange(name: string, start: number, out: Floats): void {
    this.reader(name).readRange(name, start, out);
  }

  /** The stored bytes of tensor `name`, as they are. */
  readBytes(name: string, out: Uint8Array): void {
    this.reader(name).readBytes(name, out);
  }

  /** The open reader of the shard holding `name` (one shard is open at a time). */
  private reader(name: string): SafetensorsReader {
    const shard = this.shardOf.get(name);
    if (shard === undefined) throw new InputError(`${this.path}: no tensor ${showJson(name)}`);
    if (this.open?.shard !== shard) {
      this.close();
      const file = this.shards[shard]!;
      const source = this.dir.open(file);
      if (source === undefined) throw new InputError(`${this.dir.path(file)}: the shard is gone`);
      try {
        this.open = { shard, reader: new SafetensorsReader(this.dir.path(file), source), source };
      } catch (e) {
        source.close();
        throw e;
      }
    }
    return this.open!.reader;
  }

  close(): void {
    this.open?.source.close();
    this.open = null;
  }
}

/** The names of the files holding the weights in `dir`: the single file, else the index and the shards it
 *  lists (not yet checked against each other: WeightFiles.openDir does that). */
export function weightFileNames(dir: DirSource): string[] {
  if (hasFile(dir, WEIGHTS_FILE)) return [WEIGHTS_FILE];
  const weightMap = readIndex(dir, dir.path(WEIGHTS_INDEX_FILE));
  return weightMap === null ? [] : [WEIGHTS_INDEX_FILE, ...new Set(weightMap.values())];
}

function hasFile(dir: DirSource, name: string): boolean {
  const source = dir.open(name);
  source?.close();
  return source !== undefined;
}

/** `use` of file `name`, closed afterwards; the file must exist. */
function withSource<T>(dir: DirSource, name: string, use: (source: ByteSource) => T): T {
  const source = dir.open(name);
  if (source === undefined) throw new InputError(`${dir.path(name)} not found`);
  try {
    return use(source);
  } finally {
    source.close();
  }
}

/** The index's weight map (tensor name → shard file name), every shard a plain file name; null when the
 *  directory has no index. */
function readIndex(dir: DirSource, path: string): Map<string, string> | null {
  if (!hasFile(dir, WEIGHTS_INDEX_FILE)) return null;
  const fail = (problem: string): never => {
    throw new FormatError(`${path}: ${problem}`);
  };
  const text = withSource(dir, WEIGHTS_INDEX_FILE, (source) => readText(source, path, JSON_LIMITS.weightsIndex));
  const raw = parseJson(text, path, { maxSize: JSON_LIMITS.weightsIndex });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('expected a JSON object');
  const { weight_map: map, metadata } = raw as Record<string, unknown>;
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) {
    fail(`"metadata" must be an object, got ${showJson(metadata)}`);
  }
  if (typeof map !== 'object' || map === null || Array.isArray(map)) return fail(`"weight_map" must be an object of tensor names to shard files, got ${showJson(map ?? null)}`);
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    // A shard is a file beside the index: a path could reach outside the model directory.
    if (typeof shard !== 'string' || !/^[^/\\\0]+\.safetensors$/.test(shard) || shard.startsWith('.')) {
      fail(`weight_map gives tensor ${showJson(name)} the shard ${showJson(shard)}, expected a file name ending in .safetensors`);
    }
    out.set(name, shard as string);
  }
  if (out.size === 0) fail('weight_map is empty');
  return out;
}

// ---------------------------------------------------------------------------------------------- writing

/** How a model's weights are written: the dtype of their F32 tensors and the most bytes of tensor data one
 *  shard holds (undefined: one file, whatever its size). */
export interface WeightLayout {
  dtype?: WritableDtype;
  maxShardBytes?: number;
}

/** The weight files of `tensors` (in order): model.safetensors when they fit one shard, else the shards
 *  and the index. Every file carries `metadata` (transformers expects {"format": "pt"}). */
export function weightFiles(tensors: Map<string, F32Tensor | EncodedTensor>, metadata: Record<string, string>, layout: WeightLayout = {}): Record<string, Uint8Array | string> {
  const dtype = layout.dtype ?? 'F32';
  const groups = planShards([...tensors].map(([name, t]) => ({ name, bytes: tensorBytes(t, dtype) })), layout.maxShardBytes ?? Infinity);
  if (groups.length <= 1) return { [WEIGHTS_FILE]: encodeSafetensors(tensors, metadata, dtype) };
  const files: Record<string, Uint8Array | string> = {};
  const weightMap: Record<string, string> = {};
  let total = 0;
  groups.forEach((names, i) => {
    const file = shardName(i, groups.length);
    files[file] = encodeSafetensors(new Map(names.map((n) => [n, tensors.get(n)!])), metadata, dtype);
    for (const n of names) {
      weightMap[n] = file;
      total += tensorBytes(tensors.get(n)!, dtype);
    }
  });
  // Keys sorted, as transformers writes the index (json.dumps with sort_keys).
  const sorted = Object.fromEntries(Object.keys(weightMap).sort().map((k) => [k, weightMap[k]!]));
  files[WEIGHTS_INDEX_FILE] = JSON.stringify({ metadata: { total_size: total }, weight_map: sorted }, null, 2) + '\n';
  return files;
}

/** Tensor names grouped into shards of at most `maxBytes` each (a larger tensor alone), in order. */
export function planShards(tensors: readonly { name: string; bytes: number }[], maxBytes: number): string[][] {
  const shards: string[][] = [];
  let current: string[] = [];
  let size = 0;
  for (const t of tensors) {
    if (t.bytes > maxBytes) {
      shards.push([t.name]);
      continue;
    }
    if (size + t.bytes > maxBytes && current.length > 0) {
      shards.push(current);
      current = [];
      size = 0;
    }
    current.push(t.name);
    size += t.bytes;
  }
  if (current.length > 0) shards.push(current);
  return shards;
}

/** "5GB", "500MB", "2GiB", "100KB" or a byte count, as transformers' max_shard_size takes it (KB, MB, GB
 *  are powers of 1000; KiB, MiB, GiB of 1024); null when `text` is none of these. */
export function parseShardSize(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)?$/i.exec(text.trim());
  if (m === null) return null;
  const unit = (m[2] ?? 'B').toUpperCase();
  const scale: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 2 ** 10, MIB: 2 ** 20, GIB: 2 ** 30, TIB: 2 ** 40 };
  const bytes = Math.floor(Number(m[1]) * scale[unit]!);
  return bytes >= 1 && Number.isSafeInteger(bytes) ? bytes : null;
}
