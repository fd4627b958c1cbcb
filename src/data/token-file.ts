// Token files: a flat little-endian array of token ids, 16-bit when the vocabulary fits (V ≤ 65,536),
// else 32-bit, written in chunks as tokenization goes and read back by random access with positioned reads
// (Node has no mmap; pread of a window costs one system call and the page cache does the rest), so the
// memory training needs does not grow with the corpus.
//
// TokenRanges is the view the trainer samples from: a virtual concatenation of [start, end) ranges of one
// file (the training documents, or the validation ones). It offers the only two members the sampler uses,
// `length` and `subarray(begin, end)` (a fresh Int32Array, not a view). Not here: what the ranges are
// (cache.ts decides the split), file naming and crash safety (cache.ts).

import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import { endianness } from 'node:os';
import { DataError, InputError } from '../errors.js';
import type { TokenStream } from '../train/sampler.js';

export type TokenDtype = 'uint16' | 'uint32';

export function dtypeFor(vocabSize: number): TokenDtype {
  return vocabSize <= 65536 ? 'uint16' : 'uint32';
}

export function bytesPerToken(dtype: TokenDtype): number {
  return dtype === 'uint16' ? 2 : 4;
}

const LITTLE_ENDIAN = endianness() === 'LE';

/** What the trainer needs of a token stream: Int32Array, Uint16Array and Uint32Array have it too. */
export type TokenWindows = TokenStream;

/** Appends token ids to an open file descriptor through a buffer, hashing the bytes as they go. */
export class TokenWriter {
  private readonly buf: Uint16Array | Uint32Array;
  private used = 0;
  private readonly hash = createHash('sha256');
  count = 0;
  /** SHA-256 (hex) of the bytes written, once finished. */
  sha256 = '';

  constructor(
    private readonly fd: number,
    readonly dtype: TokenDtype,
    capacity = 1 << 20,
  ) {
    this.buf = dtype === 'uint16' ? new Uint16Array(capacity) : new Uint32Array(capacity);
  }

  push(ids: ArrayLike<number>): void {
    for (let i = 0; i < ids.length; i++) {
      if (this.used === this.buf.length) this.flush();
      this.buf[this.used++] = ids[i]!;
    }
    this.count += ids.length;
  }

  flush(): void {
    if (this.used === 0) return;
    const bytes = Buffer.from(this.buf.buffer, 0, this.used * this.buf.BYTES_PER_ELEMENT);
    if (!LITTLE_ENDIAN) (this.dtype === 'uint16' ? bytes.swap16() : bytes.swap32());
    this.hash.update(bytes);
    let off = 0;
    while (off < bytes.length) off += writeSync(this.fd, bytes, off, bytes.length - off);
    if (!LITTLE_ENDIAN) (this.dtype === 'uint16' ? bytes.swap16() : bytes.swap32());
    this.used = 0;
  }

  /** Flushes and makes the data durable (the caller closes the descriptor). */
  finish(): void {
    this.flush();
    this.sha256 = this.hash.digest('hex');
    fsyncSync(this.fd);
  }
}

/** Random access to a token file. Keep one per file; close it when done (the process exit does too). */
export class TokenFile {
  private fd: number;
  readonly width: number;

  constructor(
    readonly path: string,
    readonly dtype: TokenDtype,
    readonly length: number,
  ) {
    this.width = bytesPerToken(dtype);
    try {
      this.fd = openSync(path, 'r');
    } catch (e) {
      throw new DataError(`cannot open token file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }

  /** Tokens [begin, end) into `out` at `at` (a new array when not given). */
  read(begin: number, end: number, out = new Int32Array(end - begin), at = 0): Int32Array {
    if (!(Number.isInteger(begin) && Number.isInteger(end) && 0 <= begin && begin <= end && end <= this.length)) {
      throw new InputError(`${this.path}: token range [${begin}, ${end}) is outside [0, ${this.length})`);
    }
    const n = end - begin;
    const bytes = Buffer.allocUnsafe(n * this.width);
    let got = 0;
    while (got < bytes.length) {
      const r = readSync(this.fd, bytes, got, bytes.length - got, begin * this.width + got);
      if (r === 0) throw new DataError(`${this.path}: file is shorter than its ${this.length} tokens (changed on disk?)`);
      got += r;
    }
    // A fresh Buffer of this size may sit at any offset of a shared pool: copy out element by element.
    for (let i = 0; i < n; i++) out[at + i] = this.width === 2 ? bytes.readUInt16LE(2 * i) : bytes.readUInt32LE(4 * i);
    return out;
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

/** Concatenation of ranges of a token file, read on demand. */
export class TokenRanges implements TokenWindows {
  readonly length: number;
  /** starts[i] = virtual offset of ranges[i]; one more entry holds the total. */
  private readonly starts: number[];

  constructor(
    readonly file: TokenFile,
    readonly ranges: readonly (readonly [number, number])[],
  ) {
    this.starts = [0];
    for (const [a, b] of ranges) this.starts.push(this.starts[this.starts.length - 1]! + (b - a));
    this.length = this.starts[this.starts.length - 1]!;
  }

  /** Tokens [begin, end) of the concatenation, as a new Int32Array. */
  subarray(begin: number, end: number = this.length): Int32Array {
    const lo = Math.max(0, Math.min(begin, this.length));
    const hi = Math.max(lo, Math.min(end, this.length));
    const out = new Int32Array(hi - lo);
    let pos = lo;
    let r = this.rangeAt(pos);
    while (pos < hi) {
      const [a, b] = this.ranges[r]!;
      const offset = pos - this.starts[r]!;
      const take = Math.min(hi - pos, b - a - offset);
      this.file.read(a + offset, a + offset + take, out, pos - lo);
      pos += take;
      r++;
    }
    return out;
  }

  /** All of it in memory (for small streams and tests). */
  toArray(): Int32Array {
    return this.subarray(0, this.length);
  }

  /** Index of the range holding virtual offset `pos` (binary search over starts). */
  private rangeAt(pos: number): number {
    let lo = 0;
    let hi = this.ranges.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}
