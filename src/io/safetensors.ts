// Reader and writer of the safetensors format, the weight file of a model directory (SWAT.md §2).
//
// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
//   {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
// padded with spaces to a multiple of 8 (so the data starts 8-aligned), then the data buffer; offsets are
// relative to the start of that buffer. Tensors are laid out in the order given, back to back.
//
// Writes F32 (SWAT.md §2: weights are stored as F32), or F16 / BF16 rounded to nearest even, refusing a value
// that the narrower type cannot hold (it would be written as infinity); tensors already encoded (a weight
// kept in bf16, f16 or q8 for inference: its bits, int8 values and scales) are written as they are. Reads
// F32, F16, BF16, F64 and I8 as float values, from memory (decodeSafetensors) or from a file header first
// and then tensor by tensor, or a range of one, into the caller's buffers, or a tensor's stored bytes as
// they are (SafetensorsReader, from any ByteSource: a file on disk through io/files.ts, or bytes a page was
// given). Every header field is checked against the file's size before any tensor is
// built — the header's length and JSON bounded, sizes computed overflow-safely — so a damaged, cut-short or
// hostile file is a one-line FormatError naming the file, never a wrong tensor, a RangeError or a huge
// allocation. Deliberately not here: integer or bool dtypes, memory mapping, what tensors a model needs, the
// file system (io/files.ts reads and writes files; this module is host-neutral).

import { FormatError, InputError, showJson } from '../errors.js';
import { type Floats, firstNonFinite } from '../tensor.js';
import { HALF_EXPONENT, HALF_MAX, f16Table, f32BitsToBf16, f32BitsToF16 } from '../half.js';
import { type ByteSource, readExactly } from './bytes.js';
import { parseJson } from './json.js';
import { MAX_ARRAY_ELEMENTS, checkedProduct } from './sizes.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I8';
/** The dtypes a file can be written in. */
export type WritableDtype = 'F32' | 'F16' | 'BF16';

/** A tensor to write: row-major F32 values and their shape. */
export interface F32Tensor {
  data: Float32Array;
  shape: readonly number[];
}

/** A tensor to write as it is stored: its dtype and its little-endian bytes. */
export interface EncodedTensor {
  dtype: SafetensorsDtype;
  shape: readonly number[];
  bytes: Uint8Array;
}

/** A tensor read back; `dtype` is what the file stored, `data` is always F32. */
export interface DecodedTensor {
  data: Float32Array;
  shape: number[];
  dtype: SafetensorsDtype;
}

export interface DecodedSafetensors {
  /** In file order (by data offset). */
  tensors: Map<string, DecodedTensor>;
  metadata: Record<string, string>;
}

export type TensorSet = Map<string, F32Tensor | EncodedTensor> | Record<string, F32Tensor | EncodedTensor>;

const METADATA_KEY = '__metadata__';
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I8: 1 };
// Typed arrays use the host byte order; the format is little-endian. Only big-endian hosts take the slow path.
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------- writing

/** Encodes `tensors` (in insertion order) as a safetensors file: F32 tensors in `dtype` (default F32),
 *  encoded ones in their own. */
export function encodeSafetensors(tensors: TensorSet, metadata?: Record<string, string>, dtype: WritableDtype = 'F32'): Uint8Array {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const headerParts: string[] = [];
  if (metadata !== undefined) headerParts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson(metadata)}`);
  let offset = 0;
  for (const [name, t] of entries) {
    checkWritable(name, t);
    const end = offset + tensorBytes(t, dtype);
    const info = { dtype: 'bytes' in t ? t.dtype : dtype, shape: [...t.shape], data_offsets: [offset, end] };
    headerParts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset = end;
  }
  // The header is assembled by hand rather than by JSON.stringify of one object, which would move
  // integer-like tensor names ("0", "1") to the front and break "laid out in the order given".
  const header = new TextEncoder().encode(`{${headerParts.join(',')}}`);
  const padded = header.length + ((8 - (header.length % 8)) % 8);
  const out = new Uint8Array(8 + padded + offset).fill(0x20);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(header, 8);
  let at = 8 + padded;
  for (const [name, t] of entries) {
    if ('bytes' in t) out.set(t.bytes, at);
    else if (dtype === 'F32') writeF32(out, at, t.data);
    else writeHalf(out, at, t.data, dtype, name);
    at += tensorBytes(t, dtype);
  }
  return out;
}

/** Bytes of a tensor's data in the file: F32 tensors are written in `dtype`. */
export function tensorBytes(t: F32Tensor | EncodedTensor, dtype: WritableDtype): number {
  return 'bytes' in t ? t.bytes.length : t.data.length * DTYPE_BYTES[dtype];
}

function metadataJson(metadata: Record<string, string>): string {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new InputError(`encodeSafetensors: metadata ${showJson(key)} must be a string, got ${showJson(value)}`);
    }
  }
  return JSON.stringify(metadata);
}

function checkWritable(name: string, t: F32Tensor | EncodedTensor): void {
  const where = `encodeSafetensors: tensor ${showJson(name)}`;
  if (name === METADATA_KEY) throw new InputError(`encodeSafetensors: tensor name ${METADATA_KEY} is reserved`);
  if (!isShape(t.shape)) throw new InputError(`${where}: shape must be non-negative integers, got ${showJson(t.shape)}`);
  const size = checkedProduct(...t.shape);
  if ('bytes' in t) {
    if (!Object.hasOwn(DTYPE_BYTES, t.dtype)) throw new InputError(`${where}: unknown dtype ${showJson(t.dtype)}`);
    if (size * DTYPE_BYTES[t.dtype] !== t.bytes.length) {
      throw new InputError(`${where}: shape ${showJson(t.shape)} of ${t.dtype} needs ${size * DTYPE_BYTES[t.dtype]} bytes, got ${t.bytes.length}`);
    }
    return;
  }
  if (!(t.data instanceof Float32Array)) throw new InputError(`${where}: data must be a Float32Array`);
  if (size !== t.data.length) {
    throw new InputError(`${where}: shape ${showJson(t.shape)} needs ${size} values, data has ${t.data.length}`);
  }
}

function writeF32(out: Uint8Array, at: number, data: Float32Array): void {
  if (HOST_LE) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, data.byteLength);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
}

/** F16 or BF16 values of `data` into `out` at byte `at`, little-endian, rounded to nearest even. A value
 *  that rounds to infinity is refused (naming the tensor, the value and its index): the file would
 *  otherwise hold a non-finite weight. */
function writeHalf(out: Uint8Array, at: number, data: Float32Array, dtype: 'F16' | 'BF16', name: string): void {
  const half = dtype === 'F16' ? 'f16' : 'bf16';
  const toBits = half === 'f16' ? f32BitsToF16 : f32BitsToBf16;
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const view = new DataView(out.buffer, out.byteOffset + at, 2 * data.length);
  for (let i = 0; i < data.length; i++) {
    const h = toBits(bits[i]!);
    if ((h & HALF_EXPONENT[half]) === HALF_EXPONENT[half] && Number.isFinite(data[i]!)) {
      throw new InputError(`encodeSafetensors: tensor ${showJson(name)} has ${data[i]} at index ${i}, beyond the largest finite ${dtype} value (${HALF_MAX[half]})`);
    }
    view.setUint16(2 * i, h, true);
  }
}

// ---------------------------------------------------------------------------------------------- reading

/** The largest header accepted: the format's own limit (the reference implementation refuses more), which
 *  also bounds what a hostile header length can make us read. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Where one tensor's bytes are in the data buffer, as the header states it (checked against the file). */
export interface TensorEntry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  /** Values: the product of the shape. */
  size: number;
  begin: number;
  end: number;
}

type Fail = (problem: string) => never;

function failer(fileName: string): Fail {
  return (problem) => {
    throw new FormatError(`${fileName}: ${problem}`);
  };
}

/** Checks the 8-byte header length against the file size and the format's limit; returns it. */
function headerLength(prefix: Uint8Array, fileSize: number, fail: Fail): number {
  if (fileSize < 8) fail(`file is ${fileSize} bytes, too short for the 8-byte header length`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(fileSize - 8)) fail(`header length ${n} runs past the end of the file (${fileSize} bytes)`);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`header length ${n} is more than the ${MAX_HEADER_BYTES} bytes the format allows`);
  return Number(n);
}

/** The tensor entries (in file order) and metadata of a header, checked against a data buffer of
 *  `dataLength` bytes: nothing here allocates more than the header's own size. */
function parseHeader(raw: Uint8Array, dataLength: number, fail: Fail): { entries: TensorEntry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = parseJson(text, 'header', { maxSize: MAX_HEADER_BYTES });
  } catch (e) {
    return fail((e as Error).message);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(`header is not a JSON object, got ${showJson(header)}`);
  }
  const h = header as Record<string, unknown>;
  const metadata = parseMetadata(h[METADATA_KEY], fail);
  const entries = Object.entries(h)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, info]) => parseEntry(name, info, fail));
  checkLayout(entries, dataLength, fail);
  return { entries, metadata };
}

function parseMetadata(raw: unknown, fail: Fail): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(`${METADATA_KEY} must be an object, got ${showJson(raw)}`);
  const entries = Object.entries(raw as Record<string, unknown>);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') fail(`${METADATA_KEY} ${showJson(key)} must be a string, got ${showJson(value)}`);
  }
  // fromEntries defines properties, so even a key named "__proto__" survives as data.
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseEntry(name: string, info: unknown, fail: Fail): TensorEntry {
  const where = `tensor ${showJson(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    fail(`${where}: entry must be an object, got ${showJson(info)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    fail(`${where}: unknown dtype ${showJson(dtype)} (expected F32, F16, BF16, F64 or I8)`);
  }
  if (!isShape(shape)) fail(`${where}: shape must be an array of non-negative integers, got ${showJson(shape)}`);
  if (!isOffsetPair(offsets)) {
    fail(`${where}: data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${showJson(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const size = checkedProduct(...(shape as number[]));
  const needed = checkedProduct(size, DTYPE_BYTES[dtype as SafetensorsDtype]);
  if (end - begin !== needed) {
    const have = `data_offsets ${showJson(offsets)} hold ${end - begin} bytes`;
    fail(`${where}: ${have}, shape ${showJson(shape)} of ${dtype} needs ${needed === Infinity ? 'more than 2^53' : needed}`);
  }
  if (size > MAX_ARRAY_ELEMENTS) fail(`${where}: ${size} values, more than one array can hold (${MAX_ARRAY_ELEMENTS})`);
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], size, begin, end };
}

function isOffsetPair(v: unknown): boolean {
  return (
    Array.isArray(v) && v.length === 2 && v.every((x) => Number.isSafeInteger(x) && x >= 0) && v[0] <= v[1]
  );
}

/** The tensors must tile the data buffer exactly: no overlap (two tensors sharing bytes), no gap and no
 *  trailing bytes (unaccounted data is how a wrong offset shows), and nothing past the end (a cut file).
 *  Sorts `entries` into file order. */
function checkLayout(entries: TensorEntry[], dataLength: number, fail: Fail): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: TensorEntry | null = null;
  for (const e of entries) {
    if (previous !== null && e.begin < covered) {
      fail(
        `tensors ${showJson(previous.name)} and ${showJson(e.name)} overlap: ` +
          `data_offsets [${previous.begin},${previous.end}] and [${e.begin},${e.end}]`,
      );
    }
    if (e.begin > covered) fail(`data bytes [${covered}, ${e.begin}) belong to no tensor`);
    covered = e.end;
    previous = e;
  }
  if (covered > dataLength && previous !== null) {
    const last = showJson(previous.name);
    fail(`truncated: tensor ${last} ends at data byte ${covered}, the file holds only ${dataLength} data bytes`);
  }
  if (covered < dataLength) fail(`data bytes [${covered}, ${dataLength}) belong to no tensor`);
}

/** Decodes a whole safetensors file held in memory. F32 tensors whose bytes are 4-aligned in `bytes` are
 *  views of it (no copy: weights can be large); every other tensor is a fresh array. */
export function decodeSafetensors(bytes: Uint8Array, fileName: string): DecodedSafetensors {
  const fail = failer(fileName);
  const dataStart = 8 + headerLength(bytes, bytes.length, fail);
  const { entries, metadata } = parseHeader(bytes.subarray(8, dataStart), bytes.length - dataStart, fail);
  const tensors = new Map<string, DecodedTensor>();
  for (const e of entries) {
    const raw = bytes.subarray(dataStart + e.begin, dataStart + e.end);
    const view = e.dtype === 'F32' && HOST_LE && raw.byteOffset % 4 === 0;
    const data = view ? new Float32Array(raw.buffer, raw.byteOffset, e.size) : new Float32Array(e.size);
    if (!view) decodeInto(raw, e.dtype, data, 0);
    tensors.set(e.name, { data, shape: e.shape, dtype: e.dtype });
  }
  return { tensors, metadata };
}

/** A safetensors file opened for reading tensor by tensor: the header is read and checked against the file
 *  size first, so a caller can compare names and shapes with what it expects before allocating anything,
 *  and tensors are then read with positioned reads straight into the caller's buffers (a file larger than
 *  one Buffer, or than memory twice over, loads). Reads `source`, whose closing is the caller's. */
export class SafetensorsReader {
  /** In file order. */
  readonly entries: ReadonlyMap<string, TensorEntry>;
  readonly metadata: Record<string, string>;
  private readonly dataStart: number;

  /** Reads and checks the header; FormatError when the file is damaged. `path` names it in errors. */
  constructor(readonly path: string, private readonly source: ByteSource) {
    const fail = failer(path);
    const fileSize = source.size;
    const prefix = this.bytesAt(0, Math.min(8, fileSize));
    const length = headerLength(prefix, fileSize, fail);
    this.dataStart = 8 + length;
    const { entries, metadata } = parseHeader(this.bytesAt(8, length), fileSize - this.dataStart, fail);
    this.entries = new Map(entries.map((e) => [e.name, e]));
    this.metadata = metadata;
  }

  /** The values of tensor `name` (converted from its dtype) into `out`, which must have `size` elements. */
  readInto(name: string, out: Floats): void {
    const e = this.entry(name);
    if (out.length !== e.size) throw new InputError(`${this.path}: tensor ${showJson(name)} has ${e.size} values, the buffer ${out.length}`);
    this.readRange(name, 0, out);
  }

  /** Values [start, start + out.length) of tensor `name`, converted from its dtype, into `out`. */
  readRange(name: string, start: number, out: Floats): void {
    const e = this.entry(name);
    if (!(start >= 0 && start + out.length <= e.size)) throw new InputError(`${this.path}: tensor ${showJson(name)} has ${e.size} values, asked for [${start}, ${start + out.length})`);
    const width = DTYPE_BYTES[e.dtype];
    const from = this.dataStart + e.begin + start * width;
    if (e.dtype === 'F32' && HOST_LE && out instanceof Float32Array) {
      readExactly(this.source, new Uint8Array(out.buffer, out.byteOffset, out.byteLength), from, this.path);
      return;
    }
    // Other dtypes (and F64 buffers) convert through a bounded scratch buffer.
    const chunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / width));
    const scratch = new Uint8Array(Math.min(out.length, chunk) * width);
    for (let at = 0; at < out.length; at += chunk) {
      const n = Math.min(chunk, out.length - at);
      const bytes = scratch.subarray(0, n * width);
      readExactly(this.source, bytes, from + at * width, this.path);
      decodeInto(bytes, e.dtype, out, at);
    }
  }

  /** The stored bytes of tensor `name`, as they are (little-endian), into `out` of exactly their length. */
  readBytes(name: string, out: Uint8Array): void {
    const e = this.entry(name);
    if (out.length !== e.end - e.begin) throw new InputError(`${this.path}: tensor ${showJson(name)} has ${e.end - e.begin} bytes, the buffer ${out.length}`);
    readExactly(this.source, out, this.dataStart + e.begin, this.path);
  }

  private entry(name: string): TensorEntry {
    const e = this.entries.get(name);
    if (e === undefined) throw new InputError(`${this.path}: no tensor ${showJson(name)}`);
    return e;
  }

  /** Tensor `name` as a fresh Float32Array. */
  read(name: string): Float32Array {
    const e = this.entries.get(name);
    const out = new Float32Array(e?.size ?? 0);
    this.readInto(name, out);
    return out;
  }

  private bytesAt(position: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    readExactly(this.source, out, position, this.path);
    return out;
  }
}

const READ_CHUNK_BYTES = 1 << 24;

/** Throws a FormatError naming the file, the tensor and the first value that is NaN or infinite; `data`
 *  holds the tensor's values from index `start` on. */
export function checkFinite(data: Floats, fileName: string, tensor: string, start = 0): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new FormatError(`${fileName}: tensor ${showJson(tensor)} has a non-finite value (${data[i]}) at index ${start + i}`);
}

// ---------------------------------------------------------------------------------------------- dtypes

/** Decodes little-endian `dtype` values from `bytes` into `out` starting at element `at`. */
function decodeInto(bytes: Uint8Array, dtype: SafetensorsDtype, out: Floats, at: number): void {
  const n = bytes.length / DTYPE_BYTES[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  switch (dtype) {
    case 'F32':
      if (HOST_LE && out instanceof Float32Array) {
        // Float32Array views need 4-aligned byte offsets: copy the bytes instead.
        new Uint8Array(out.buffer, out.byteOffset + 4 * at, bytes.length).set(bytes);
        return;
      }
      for (let i = 0; i < n; i++) out[at + i] = view.getFloat32(4 * i, true);
      return;
    case 'F16': {
      const table = f16Table();
      for (let i = 0; i < n; i++) out[at + i] = table[view.getUint16(2 * i, true)]!;
      return;
    }
    case 'BF16': {
      // bf16 is the top half of an f32: shift the bits back into place (exact, including NaN and ±inf).
      if (out instanceof Float32Array) {
        const bits = new Uint32Array(out.buffer, out.byteOffset + 4 * at, n);
        for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
        return;
      }
      const f = new Float32Array(1);
      const b = new Uint32Array(f.buffer);
      for (let i = 0; i < n; i++) {
        b[0] = view.getUint16(2 * i, true) << 16;
        out[at + i] = f[0]!;
      }
      return;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[at + i] = view.getFloat64(8 * i, true);
      return;
    case 'I8':
      for (let i = 0; i < n; i++) out[at + i] = view.getInt8(i);
      return;
  }
}

// ---------------------------------------------------------------------------------------------- helpers

function isShape(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0);
}
