// The one reader of JSON that comes from a user or from disk (config.json, tokenizer.json, safetensors
// headers, trainer state, the token-cache manifest, metrics and task lines).
//
// Before JSON.parse sees a text, an iterative scan checks its size, its nesting depth and its syntax, so a
// hostile file costs at most one linear pass: no stack overflow (neither here nor later in code that walks
// the value), and a syntax error is reported as one line with its line and column, never with the excerpt
// of the input that V8's own message quotes (which may hold newlines). Not here: what the fields mean (each
// reader checks its own), showing values in messages (errors.ts: showJson), JSON writing, files (io/files.ts
// reads them; this module is host-neutral).

import { FormatError, type SwatError, showJson } from '../errors.js';

/** How deep a user's JSON may nest. The deepest legitimate file here is a tokenizer.json with a Sequence of
 *  normalizers holding patterns (5 levels); 64 leaves room for other tools' files and keeps every walk of
 *  the parsed value far from the stack limit. */
export const MAX_JSON_DEPTH = 64;

const MiB = 1 << 20;

/** Size limits per kind of file, each far above any real file of its kind, so that a wrong or hostile
 *  file is refused before it is read into memory; all below V8's longest string (512 MiB). */
export const JSON_LIMITS = {
  /** config.json: about 1 KB; alibi_slopes is the only list, one number per head. */
  config: MiB,
  /** tokenizer.json: GPT-2's is 1.4 MB, Llama-2's 1.8 MB, the largest published vocabularies' (256k tokens) under 40 MB. */
  tokenizer: 256 * MiB,
  /** model.safetensors.index.json: one line of about 80 bytes per tensor (9 tensors a layer). */
  weightsIndex: 16 * MiB,
  /** trainer_state.json: the run's options and a few counters. */
  trainerState: 16 * MiB,
  /** The token cache's manifest.json: sources and the held-out document list (about 10 bytes a document). */
  manifest: 256 * MiB,
  /** One line of metrics.jsonl or of an evaluation task file (a few KB at most). */
  line: 16 * MiB,
  /** One line of a JSON-lines corpus: a whole document; V8 strings stop at 512 MiB anyway. */
  document: 256 * MiB,
  /** Results the studies cache beside their runs (losses by step and position). */
  results: 256 * MiB,
} as const;

/** A SwatError subclass to report failures with (FormatError, ConfigError, DataError, ...). */
export type ErrorClass = new (message: string) => SwatError;

export interface JsonOptions {
  /** Most characters (or bytes, for files) accepted. */
  maxSize: number;
  /** Most levels of nesting; default MAX_JSON_DEPTH. */
  maxDepth?: number;
  /** The error to throw; default FormatError. */
  error?: ErrorClass;
}

/** Parses `text` after checking size, depth and syntax; every failure is one line starting with `where`. */
export function parseJson(text: string, where: string, opts: JsonOptions): unknown {
  const ErrorType = opts.error ?? FormatError;
  if (text.length > opts.maxSize) {
    throw new ErrorType(`${where}: ${text.length} characters of JSON, more than the ${opts.maxSize} allowed`);
  }
  const problem = scanJson(text, opts.maxDepth ?? MAX_JSON_DEPTH);
  if (problem !== null) throw new ErrorType(`${where}: ${problem}`);
  try {
    return JSON.parse(text);
  } catch {
    // Unreachable when the scan agrees with JSON.parse (the fuzz tests check that it does).
    throw new ErrorType(`${where}: not valid JSON`);
  }
}

/** The non-blank lines of a JSON-lines text, each parsed with `opts` (a limit per line); errors say
 *  `<file> line N: ...`. */
export function parseJsonLines(text: string, file: string, opts: JsonOptions): { line: number; value: unknown }[] {
  const out: { line: number; value: unknown }[] = [];
  let start = 0;
  for (let lineNo = 1; start <= text.length; lineNo++) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    if (line.trim() !== '') out.push({ line: lineNo, value: parseJson(line, `${file} line ${lineNo}`, opts) });
    start = end + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- scanning

const enum Expect {
  Value,
  /** A key, or the `}` of an empty object. */
  FirstKey,
  Key,
  /** A value, or the `]` of an empty array. */
  FirstValue,
  /** `,` or the closing bracket, or the end of the text at the top level. */
  After,
}

const OBJECT = 1;
const ARRAY = 0;

/** Null when `text` is one valid JSON value nested at most `maxDepth` deep, else the problem as one line
 *  (with its line and column). The grammar is RFC 8259, exactly what JSON.parse accepts. */
export function scanJson(text: string, maxDepth: number): string | null {
  const n = text.length;
  const stack = new Uint8Array(maxDepth);
  let depth = 0;
  let i = 0;
  let expect = Expect.Value;
  const unexpected = (at: number): string =>
    `not valid JSON (unexpected ${at >= n ? 'end' : showJson(text[at])} ${position(text, at)})`;
  for (;;) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    const c = i < n ? text.charCodeAt(i) : -1;
    if (expect === Expect.After) {
      if (depth === 0) return i < n ? unexpected(i) : null;
      const inObject = stack[depth - 1] === OBJECT;
      if (c === 0x2c /* , */) {
        i++;
        expect = inObject ? Expect.Key : Expect.Value;
      } else if (c === (inObject ? 0x7d /* } */ : 0x5d /* ] */)) {
        i++;
        depth--;
      } else {
        return unexpected(i);
      }
      continue;
    }
    if (expect === Expect.FirstKey || expect === Expect.Key) {
      if (expect === Expect.FirstKey && c === 0x7d) {
        i++;
        depth--;
        expect = Expect.After;
        continue;
      }
      if (c !== 0x22 /* " */) return unexpected(i);
      const end = scanString(text, i);
      if (end < 0) return unexpected(~end);
      i = end;
      while (i < n && isSpace(text.charCodeAt(i))) i++;
      if (text.charCodeAt(i) !== 0x3a /* : */) return unexpected(i);
      i++;
      expect = Expect.Value;
      continue;
    }
    if (expect === Expect.FirstValue && c === 0x5d) {
      i++;
      depth--;
      expect = Expect.After;
      continue;
    }
    // A value.
    if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (depth === maxDepth) return `JSON nested deeper than ${maxDepth} levels (${position(text, i)})`;
      stack[depth++] = c === 0x7b ? OBJECT : ARRAY;
      i++;
      expect = c === 0x7b ? Expect.FirstKey : Expect.FirstValue;
      continue;
    }
    let end: number;
    if (c === 0x22) end = scanString(text, i);
    else if (c === 0x2d /* - */ || isDigit(c)) end = scanNumber(text, i);
    else if (c === 0x74 /* t */) end = literal(text, i, 'true');
    else if (c === 0x66 /* f */) end = literal(text, i, 'false');
    else if (c === 0x6e /* n */) end = literal(text, i, 'null');
    else return unexpected(i);
    if (end < 0) return unexpected(~end);
    i = end;
    expect = Expect.After;
  }
}

// The scanners return the index after what they read, or ~index (negative) of the offending character.

function literal(text: string, at: number, word: string): number {
  for (let k = 0; k < word.length; k++) if (text.charCodeAt(at + k) !== word.charCodeAt(k)) return ~Math.min(at + k, text.length);
  return at + word.length;
}

/** After the string starting at `text[at] === '"'`: escapes as in RFC 8259, no raw control characters. */
function scanString(text: string, at: number): number {
  const n = text.length;
  let i = at + 1;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return ~i;
    if (c === 0x5c /* \ */) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75 /* u */) {
        for (let k = 2; k < 6; k++) if (!isHex(text.charCodeAt(i + k))) return ~Math.min(i + k, n);
        i += 6;
      } else if (e === 0x22 || e === 0x5c || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
      } else {
        return ~Math.min(i + 1, n);
      }
      continue;
    }
    i++;
  }
  return ~n;
}

/** After the number starting at `at`: -?(0|[1-9]d*)(.d+)?([eE][+-]?d+)? */
function scanNumber(text: string, at: number): number {
  let i = at;
  if (text.charCodeAt(i) === 0x2d) i++;
  if (text.charCodeAt(i) === 0x30) i++;
  else if (isDigit(text.charCodeAt(i))) while (isDigit(text.charCodeAt(i))) i++;
  else return ~Math.min(i, text.length);
  if (text.charCodeAt(i) === 0x2e /* . */) {
    i++;
    if (!isDigit(text.charCodeAt(i))) return ~Math.min(i, text.length);
    while (isDigit(text.charCodeAt(i))) i++;
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    i++;
    const s = text.charCodeAt(i);
    if (s === 0x2b || s === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) return ~Math.min(i, text.length);
    while (isDigit(text.charCodeAt(i))) i++;
  }
  return i;
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** "at line L, column C" of index `at` (1-based; columns count UTF-16 units, as editors mostly do); just
 *  "at column C" in a text of one line (a JSON-lines line, a safetensors header). */
function position(text: string, at: number): string {
  if (text.indexOf('\n') < 0) return `at column ${at + 1}`;
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return `at line ${line}, column ${at - lineStart + 1}`;
}
