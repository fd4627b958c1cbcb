// Reading a text corpus from disk into documents: plain text files (one document each), JSON-lines files
// (one document per line) and directories of them. Not here: splitting (split.ts), tokenizing (tokenize.ts),
// streaming corpora larger than memory — a corpus is read whole, which suits the book-sized data swat trains on.

import { readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { DataError } from '../errors.js';

export interface Document {
  /** Where the text came from: the file path, or `path:line` for a JSON-lines document. */
  readonly source: string;
  readonly text: string;
}

export interface ReadOptions {
  /** Told about every file that is skipped or read in a fallback encoding. */
  warn?: (msg: string) => void;
  /** A text file that is not valid UTF-8 is skipped (the default), or read as Latin-1 (ISO-8859-1), which
   *  suits old texts such as some Project Gutenberg books that carry a few Latin-1 accented letters. */
  invalidUtf8?: 'skip' | 'latin1';
}

/** File extensions picked up inside a directory. A file named explicitly is read whatever its extension. */
export const DOCUMENT_EXTENSIONS: readonly string[] = ['.txt', '.md', '.jsonl'];

/** Documents of every path, in order: a directory contributes its files sorted by path (code-unit order,
 *  so the same on every machine and locale), hidden files and folders skipped. Empty documents are dropped.
 *  Throws DataError for a missing path, a directory without document files, or no documents at all. */
export function readDocuments(paths: readonly string[], opts: ReadOptions = {}): Document[] {
  const docs: Document[] = [];
  for (const path of paths) {
    for (const file of documentFiles(path)) docs.push(...readDocumentFile(file, opts));
  }
  if (docs.length === 0) {
    const where = paths.length === 0 ? 'no data paths given' : `no documents in ${paths.join(', ')}`;
    throw new DataError(`corpus is empty: ${where}`);
  }
  return docs;
}

function documentFiles(path: string): string[] {
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined) throw new DataError(`data path not found: ${path}`);
  if (stat.isFile()) return [path];
  if (!stat.isDirectory()) throw new DataError(`data path is not a file or directory: ${path}`);
  const files: string[] = [];
  collectFiles(path, files, new Set());
  if (files.length === 0) {
    throw new DataError(`data path holds no documents: ${path} (no ${DOCUMENT_EXTENSIONS.join(', ')} files)`);
  }
  return files.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Recursive walk; `seen` holds real paths of visited folders so a symlink loop is walked once. */
function collectFiles(dir: string, out: string[], seen: Set<string>): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return;
  seen.add(real);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    // Follow symlinks to what they point at; a dangling one is skipped.
    const stat = entry.isSymbolicLink() ? statSync(full, { throwIfNoEntry: false }) : entry;
    if (stat === undefined) continue;
    if (stat.isDirectory()) collectFiles(full, out, seen);
    else if (stat.isFile() && DOCUMENT_EXTENSIONS.includes(extname(entry.name).toLowerCase())) out.push(full);
  }
}

function readDocumentFile(file: string, opts: ReadOptions): Document[] {
  const text = decodeText(file, readFileSync(file), opts);
  if (text === undefined) return [];
  if (extname(file).toLowerCase() === '.jsonl') return parseJsonLines(file, text);
  return text.length > 0 ? [{ source: file, text }] : [];
}

// fatal: invalid UTF-8 must be detected, not turned into U+FFFD. A leading BOM is an encoding mark and dropped.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The file's text, or undefined when it is skipped (binary, or not UTF-8 under the 'skip' policy). */
function decodeText(file: string, bytes: Buffer, opts: ReadOptions): string | undefined {
  const warn = opts.warn ?? (() => {});
  // NUL never occurs in text files but almost always in binary ones (images, archives, UTF-16 text).
  if (bytes.includes(0)) {
    warn(`skipping ${file}: binary file (contains NUL bytes)`);
    return undefined;
  }
  try {
    return strictUtf8.decode(bytes);
  } catch {
    if (opts.invalidUtf8 === 'latin1') {
      warn(`${file}: not valid UTF-8, read as Latin-1`);
      return bytes.toString('latin1');
    }
    warn(`skipping ${file}: not valid UTF-8`);
    return undefined;
  }
}

/** One document per non-blank line, each a JSON object with a string `text` field. */
function parseJsonLines(file: string, text: string): Document[] {
  const docs: Document[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const lineNo = i + 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new DataError(`${file} line ${lineNo}: not valid JSON`);
    }
    const body = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)['text'] : undefined;
    if (typeof body !== 'string') {
      throw new DataError(`${file} line ${lineNo}: expected a JSON object with a string "text" field`);
    }
    if (body.length > 0) docs.push({ source: `${file}:${lineNo}`, text: body });
  }
  return docs;
}
