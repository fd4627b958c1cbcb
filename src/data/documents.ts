// Reading a text corpus into documents: plain text files (one document each), JSON-lines files (one
// document per line, the `text` field), either of them gzip-compressed (`.gz`), from files, directories and
// globs (sources.ts). Documents are handed out one at a time, so a corpus never has to fit in memory; what
// must fit is one text file (it is one document) or one decompressed .gz file. Plain .jsonl files are
// streamed line by line whatever their size.
//
// Bad input is never silently garbled: a binary file (NUL bytes) or an empty one is skipped with a warning;
// text that is not UTF-8 is skipped with a warning (or read as Latin-1 when asked); a JSON-lines line that
// is not a JSON object with a string `text` field, a corrupt .gz file and an unreadable path are DataErrors
// naming the file (and line).
// Not here: splitting (split.ts), tokenizing (tokenize.ts, cache.ts).

import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { DataError } from '../errors.js';
import { JSON_LIMITS, parseJson } from '../io/json.js';
import { DOCUMENT_EXTENSIONS, listSourceFiles } from './sources.js';

export { DOCUMENT_EXTENSIONS };

export interface Document {
  /** Where the text came from: the file path, or `path:line` for a JSON-lines document. */
  readonly source: string;
  readonly text: string;
}

export interface ReadOptions {
  /** Told about every file or line that is skipped or read in a fallback encoding. */
  warn?: (msg: string) => void;
  /** Text that is not valid UTF-8 is skipped (the default), or read as Latin-1 (ISO-8859-1), which suits
   *  old texts such as some Project Gutenberg books that carry a few Latin-1 accented letters. */
  invalidUtf8?: 'skip' | 'latin1';
}

/** What reading one source file found: its identity (size, SHA-256 of its bytes as stored) and yield. */
export interface SourceFileInfo {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ctimeMs: number;
  readonly sha256: string;
  readonly documents: number;
}

/** Documents of every path, in order, as an array: for corpora that fit in memory. Throws DataError for a
 *  missing path, a directory without document files, or no documents at all. */
export function readDocuments(paths: readonly string[], opts: ReadOptions = {}): Document[] {
  const docs: Document[] = [];
  for (const file of listSourceFiles(paths)) readSourceFile(file, opts, (d) => docs.push(d));
  if (docs.length === 0) throw emptyCorpus(paths);
  return docs;
}

export function emptyCorpus(paths: readonly string[]): DataError {
  const where = paths.length === 0 ? 'no data paths given' : `no documents in ${paths.join(', ')}`;
  return new DataError(`corpus is empty: ${where}`);
}

const CHUNK = 4 << 20;

/** Reads one file, calling `onDocument` for each document in order, and returns the file's identity. */
export function readSourceFile(file: string, opts: ReadOptions, onDocument: (doc: Document) => void): SourceFileInfo {
  const stat = guard(file, () => statSync(file));
  const gz = file.toLowerCase().endsWith('.gz');
  const jsonl = file.toLowerCase().replace(/\.gz$/, '').endsWith('.jsonl');
  const hash = createHash('sha256');
  let documents = 0;
  const emit = (d: Document): void => {
    documents++;
    onDocument(d);
  };
  if (jsonl && !gz) {
    streamJsonLines(file, hash, opts, emit);
  } else {
    const raw = guard(file, () => readFileSync(file));
    hash.update(raw);
    const bytes = gz ? gunzip(file, raw) : raw;
    if (jsonl) parseJsonLines(file, bytes, opts, emit);
    else readTextDocument(file, bytes, opts, emit);
  }
  return { path: file, size: stat.size, mtimeMs: stat.mtimeMs, ctimeMs: stat.ctimeMs, sha256: hash.digest('hex'), documents };
}

/** SHA-256 of a file's bytes, read in chunks. */
export function hashFile(file: string): string {
  const hash = createHash('sha256');
  forEachChunk(file, (chunk) => hash.update(chunk));
  return hash.digest('hex');
}

function guard<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`data file not found: ${file}`);
    throw new DataError(`cannot read ${file}: ${code ?? (e as Error).message}`);
  }
}

function gunzip(file: string, raw: Buffer): Buffer {
  try {
    return gunzipSync(raw);
  } catch (e) {
    throw new DataError(`${file}: not a valid gzip file (${(e as Error).message})`);
  }
}

function forEachChunk(file: string, fn: (chunk: Buffer) => void): void {
  const fd = guard(file, () => openSync(file, 'r'));
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = guard(file, () => readSync(fd, buf, 0, CHUNK, null));
      if (n === 0) break;
      fn(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
}

// fatal: invalid UTF-8 must be detected, not turned into U+FFFD. A leading BOM is an encoding mark and dropped.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The text of `bytes`, or undefined when it is to be skipped (not UTF-8 under the 'skip' policy). */
function decodeUtf8(bytes: Uint8Array, where: string, opts: ReadOptions): string | undefined {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    if (opts.invalidUtf8 === 'latin1') {
      opts.warn?.(`${where}: not valid UTF-8, read as Latin-1`);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    }
    opts.warn?.(`skipping ${where}: not valid UTF-8`);
    return undefined;
  }
}

function readTextDocument(file: string, bytes: Buffer, opts: ReadOptions, emit: (d: Document) => void): void {
  if (bytes.length === 0) {
    opts.warn?.(`skipping ${file}: empty file`);
    return;
  }
  // NUL never occurs in text files but almost always in binary ones (images, archives, UTF-16 text).
  if (bytes.includes(0)) {
    opts.warn?.(`skipping ${file}: binary file (contains NUL bytes)`);
    return;
  }
  const text = decodeUtf8(bytes, file, opts);
  if (text !== undefined && text.length > 0) emit({ source: file, text });
}

/** Plain JSON-lines, read in chunks and cut at newlines, so a file of any size streams. */
function streamJsonLines(file: string, hash: Hash, opts: ReadOptions, emit: (d: Document) => void): void {
  const lines = new JsonLines(file, opts, emit);
  let carry: Buffer = Buffer.alloc(0);
  let first = true;
  forEachChunk(file, (chunk) => {
    hash.update(chunk);
    if (first && chunk.includes(0)) {
      lines.binary = true;
    }
    first = false;
    if (lines.binary) return;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const end = data.lastIndexOf(0x0a) + 1;
    lines.feed(data.subarray(0, end));
    carry = Buffer.from(data.subarray(end)); // copy: the chunk buffer is reused
  });
  if (lines.binary) {
    opts.warn?.(`skipping ${file}: binary file (contains NUL bytes)`);
    return;
  }
  lines.feed(carry);
  lines.finish();
}

function parseJsonLines(file: string, bytes: Buffer, opts: ReadOptions, emit: (d: Document) => void): void {
  if (bytes.includes(0)) {
    opts.warn?.(`skipping ${file}: binary file (contains NUL bytes)`);
    return;
  }
  const lines = new JsonLines(file, opts, emit);
  lines.feed(bytes);
  lines.finish();
}

/** One document per non-blank line, each a JSON object with a string `text` field. */
class JsonLines {
  binary = false;
  private lineNo = 0;
  private bytesSeen = 0;

  constructor(
    private readonly file: string,
    private readonly opts: ReadOptions,
    private readonly emit: (d: Document) => void,
  ) {}

  /** Whole lines (the last may lack its newline only at the end of the file). */
  feed(data: Buffer): void {
    this.bytesSeen += data.length;
    let start = 0;
    while (start < data.length) {
      let end = data.indexOf(0x0a, start);
      if (end < 0) end = data.length;
      this.line(data.subarray(start, end));
      start = end + 1;
    }
  }

  finish(): void {
    if (this.bytesSeen === 0) this.opts.warn?.(`skipping ${this.file}: empty file`);
  }

  private line(bytes: Buffer): void {
    const lineNo = ++this.lineNo;
    const where = `${this.file} line ${lineNo}`;
    const text = decodeUtf8(bytes, where, this.opts);
    if (text === undefined || text.trim() === '') return;
    const value = parseJson(text, where, { maxSize: JSON_LIMITS.document, error: DataError });
    const body = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['text'] : undefined;
    if (typeof body !== 'string') throw new DataError(`${where}: expected a JSON object with a string "text" field`);
    if (body.length > 0) this.emit({ source: `${this.file}:${lineNo}`, text: body });
  }
}
