// Reader and writer of the safetensors format, the weight file of a model directory (SWAT.md §2).
//
// Layout: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
//   {"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}
// padded with spaces to a multiple of 8 (so the data starts 8-aligned), then the data buffer; offsets are
// relative to the start of that buffer. Tensors are laid out in the order given, back to back.
//
// Writes F32 only (SWAT.md §2: weights are stored as F32). Reads F32, F16, BF16 and F64, all returned as
// Float32Array. Every header field is checked against the bytes before any tensor is built, so a damaged or
// cut-short file is a one-line FormatError naming the file, never a wrong tensor or a RangeError.
// Deliberately not here: integer or bool dtypes, memory mapping, lazy loading of single tensors.

import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { FormatError, InputError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16' | 'F64';

/** A tensor to write: row-major F32 values and their shape. */
export interface F32Tensor {
  data: Float32Array;
  shape: readonly number[];
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

export type TensorSet = Map<string, F32Tensor> | Record<string, F32Tensor>;

const METADATA_KEY = '__metadata__';
const DTYPE_BYTES: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };
// Typed arrays use the host byte order; the format is little-endian. Only big-endian hosts take the slow path.
const HOST_LE = endianness() === 'LE';

// ---------------------------------------------------------------------------------------------- writing

/** Encodes `tensors` (in insertion order) as an F32 safetensors file. */
export function encodeSafetensors(tensors: TensorSet, metadata?: Record<string, string>): Buffer {
  const entries = tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors);
  const headerParts: string[] = [];
  if (metadata !== undefined) headerParts.push(`${JSON.stringify(METADATA_KEY)}:${metadataJson(metadata)}`);
  let offset = 0;
  for (const [name, t] of entries) {
    checkWritable(name, t);
    const end = offset + t.data.length * 4;
    const info = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, end] };
    headerParts.push(`${JSON.stringify(name)}:${JSON.stringify(info)}`);
    offset = end;
  }
  // The header is assembled by hand rather than by JSON.stringify of one object, which would move
  // integer-like tensor names ("0", "1") to the front and break "laid out in the order given".
  const header = Buffer.from(`{${headerParts.join(',')}}`, 'utf8');
  const padded = header.length + ((8 - (header.length % 8)) % 8);
  const out = Buffer.alloc(8 + padded + offset, 0x20);
  out.writeBigUInt64LE(BigInt(padded), 0);
  header.copy(out, 8);
  let at = 8 + padded;
  for (const [, t] of entries) {
    writeF32(out, at, t.data);
    at += t.data.length * 4;
  }
  return out;
}

function metadataJson(metadata: Record<string, string>): string {
  for (const [key, value] of Object.entries(metadata)) {
    if (typeof value !== 'string') {
      throw new InputError(`encodeSafetensors: metadata ${JSON.stringify(key)} must be a string, got ${show(value)}`);
    }
  }
  return JSON.stringify(metadata);
}

function checkWritable(name: string, t: F32Tensor): void {
  const where = `encodeSafetensors: tensor ${JSON.stringify(name)}`;
  if (name === METADATA_KEY) throw new InputError(`encodeSafetensors: tensor name ${METADATA_KEY} is reserved`);
  if (!(t.data instanceof Float32Array)) throw new InputError(`${where}: data must be a Float32Array`);
  const size = shapeSizeOrNull(t.shape);
  if (size === null) throw new InputError(`${where}: shape must be non-negative integers, got ${show(t.shape)}`);
  if (size !== t.data.length) {
    throw new InputError(`${where}: shape ${show(t.shape)} needs ${size} values, data has ${t.data.length}`);
  }
}

function writeF32(out: Buffer, at: number, data: Float32Array): void {
  if (HOST_LE) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
    return;
  }
  const view = new DataView(out.buffer, out.byteOffset + at, data.byteLength);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
}

/** Writes an F32 safetensors file crash-safely (a reader sees the old file or the new one, never a mix). */
export function writeSafetensorsFile(path: string, tensors: TensorSet, metadata?: Record<string, string>): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

// ---------------------------------------------------------------------------------------------- reading

interface Entry {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  begin: number;
  end: number;
}

/** Reads a safetensors file; `path` names the file in errors. */
export function readSafetensorsFile(path: string): DecodedSafetensors {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new InputError(`${path}: cannot read safetensors file (${code})`);
  }
  return decodeSafetensors(bytes, path);
}

/** Decodes a whole safetensors file held in memory. F32 tensors whose bytes are 4-aligned in `bytes` are
 *  views of it (no copy: weights can be large); every other tensor is a fresh array. */
export function decodeSafetensors(bytes: Buffer | Uint8Array, fileName: string): DecodedSafetensors {
  const fail = (problem: string): never => {
    throw new FormatError(`${fileName}: ${problem}`);
  };
  if (bytes.length < 8) fail(`file is ${bytes.length} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(bytes.length - 8)) {
    fail(`header length ${headerLength} runs past the end of the file (${bytes.length} bytes)`);
  }
  const dataStart = 8 + Number(headerLength);
  const header = parseHeader(bytes.subarray(8, dataStart), fail);
  const metadata = parseMetadata(header[METADATA_KEY], fail);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, info]) => parseEntry(name, info, fail));
  checkLayout(entries, bytes.length - dataStart, fail);
  const tensors = new Map<string, DecodedTensor>();
  for (const e of entries) {
    const data = toF32(bytes, dataStart + e.begin, dataStart + e.end, e.dtype);
    tensors.set(e.name, { data, shape: e.shape, dtype: e.dtype });
  }
  return { tensors, metadata };
}

type Fail = (problem: string) => never;

function parseHeader(raw: Uint8Array, fail: Fail): Record<string, unknown> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    return fail('header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the input, which may span lines: keep the error to one line.
    return fail('header is not valid JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    fail(`header is not a JSON object, got ${show(header)}`);
  }
  return header as Record<string, unknown>;
}

function parseMetadata(raw: unknown, fail: Fail): Record<string, string> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) fail(`${METADATA_KEY} must be an object, got ${show(raw)}`);
  const entries = Object.entries(raw as Record<string, unknown>);
  for (const [key, value] of entries) {
    if (typeof value !== 'string') fail(`${METADATA_KEY} ${JSON.stringify(key)} must be a string, got ${show(value)}`);
  }
  // fromEntries defines properties, so even a key named "__proto__" survives as data.
  return Object.fromEntries(entries) as Record<string, string>;
}

function parseEntry(name: string, info: unknown, fail: Fail): Entry {
  const where = `tensor ${JSON.stringify(name)}`;
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    fail(`${where}: entry must be an object, got ${show(info)}`);
  }
  const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
  if (typeof dtype !== 'string' || !Object.hasOwn(DTYPE_BYTES, dtype)) {
    fail(`${where}: unknown dtype ${show(dtype)} (expected F32, F16, BF16 or F64)`);
  }
  const size = Array.isArray(shape) ? shapeSizeOrNull(shape) : null;
  if (size === null) fail(`${where}: shape must be an array of non-negative integers, got ${show(shape)}`);
  if (!isOffsetPair(offsets)) {
    fail(`${where}: data_offsets must be [begin, end] with integers 0 <= begin <= end, got ${show(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  const needed = (size as number) * DTYPE_BYTES[dtype as SafetensorsDtype];
  if (end - begin !== needed) {
    const have = `data_offsets ${show(offsets)} hold ${end - begin} bytes`;
    fail(`${where}: ${have}, shape ${show(shape)} of ${dtype} needs ${needed}`);
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end };
}

function isOffsetPair(v: unknown): boolean {
  return (
    Array.isArray(v) && v.length === 2 && v.every((x) => Number.isSafeInteger(x) && x >= 0) && v[0] <= v[1]
  );
}

/** The tensors must tile the data buffer exactly: no overlap (two tensors sharing bytes), no gap and no
 *  trailing bytes (unaccounted data is how a wrong offset shows), and nothing past the end (a cut file). */
function checkLayout(entries: Entry[], dataLength: number, fail: Fail): void {
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: Entry | null = null;
  for (const e of entries) {
    if (previous !== null && e.begin < covered) {
      fail(
        `tensors ${JSON.stringify(previous.name)} and ${JSON.stringify(e.name)} overlap: ` +
          `data_offsets [${previous.begin},${previous.end}] and [${e.begin},${e.end}]`,
      );
    }
    if (e.begin > covered) fail(`data bytes [${covered}, ${e.begin}) belong to no tensor`);
    covered = e.end;
    previous = e;
  }
  if (covered > dataLength && previous !== null) {
    const last = JSON.stringify(previous.name);
    fail(`truncated: tensor ${last} ends at data byte ${covered}, the file holds only ${dataLength} data bytes`);
  }
  if (covered < dataLength) fail(`data bytes [${covered}, ${dataLength}) belong to no tensor`);
}

// ---------------------------------------------------------------------------------------------- dtypes

function toF32(bytes: Uint8Array, begin: number, end: number, dtype: SafetensorsDtype): Float32Array {
  if (dtype === 'F32') return readF32(bytes, begin, end);
  const n = (end - begin) / DTYPE_BYTES[dtype];
  const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F16': {
      const table = halfTable();
      for (let i = 0; i < n; i++) out[i] = table[view.getUint16(2 * i, true)]!;
      return out;
    }
    case 'BF16': {
      // bf16 is the top half of an f32: shift the bits back into place (exact, including NaN and ±inf).
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      return out;
  }
}

function readF32(bytes: Uint8Array, begin: number, end: number): Float32Array {
  const n = (end - begin) / 4;
  const aligned = (bytes.byteOffset + begin) % 4 === 0;
  if (HOST_LE && aligned) return new Float32Array(bytes.buffer, bytes.byteOffset + begin, n);
  const out = new Float32Array(n);
  if (HOST_LE) {
    // Float32Array views need 4-aligned byte offsets: copy the bytes into a fresh (aligned) array instead.
    new Uint8Array(out.buffer).set(bytes.subarray(begin, end));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + begin, end - begin);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

let halfCache: Float32Array | null = null;

/** All 65536 IEEE half-precision values as F32, built once: a lookup beats bit fiddling per element. */
function halfTable(): Float32Array {
  if (halfCache !== null) return halfCache;
  halfCache = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) halfCache[h] = halfToNumber(h);
  return halfCache;
}

function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

// ---------------------------------------------------------------------------------------------- helpers

function shapeSizeOrNull(shape: readonly unknown[]): number | null {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || (d as number) < 0) return null;
    n *= d as number;
  }
  return n;
}

/** A value as one short line for an error message (JSON never contains a raw newline). */
function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}
