// The token cache: a corpus tokenized once into a binary token file, reused by later runs while nothing
// that went into it changed, and rebuilt when something did.
//
// Layout: `<cache dir>/<key>/` where key hashes the tokenizer's identity (SHA-256 of its tokenizer.json),
// the resolved source paths in order and the UTF-8 policy. An entry holds
//   tokens-<gen>.bin     every document's ids followed by EOS, concatenated (token-file.ts: 16 or 32 bit);
//   documents-<gen>.bin  the document boundaries: D float64 start offsets, then D uint32 split hashes;
//   manifest.json        what the files are: sources (path, size, mtime, ctime, SHA-256, documents), tokenizer,
//                        dtype, counts, the file names above with their SHA-256, and the train/validation
//                        split last used.
// Reuse: the manifest must be well-formed, name this tokenizer and exactly these source files; the data files
// must have their recorded sizes and SHA-256 (a flipped byte is caught: hardware SHA-256 reads over 1 GB/s,
// small beside tokenizing or training); every source must have its recorded size, mtime and ctime, or else
// the same SHA-256 (a touched but unchanged file is re-hashed, not re-tokenized; ctime catches an edit whose
// mtime was put back, as only the kernel sets it). Anything else rebuilds, and says why.
//
// Crash safety: the token file is written under a temporary name, fsynced and renamed to a new generation's
// name; the documents file and then manifest.json are written with writeFileAtomic. manifest.json is the
// commit point: before it is replaced, the old manifest still names the old generation's files, which are
// deleted only after; an interrupted build leaves at most unreferenced files that the next build removes.
// Data files are never trusted without a manifest naming them with the right size.
//
// The split holds out whole documents, chosen by a hash of their text exactly as splitDocuments does
// (split.ts), so it needs no second pass and survives appending documents; with a single document the last
// share of its tokens is held out instead. Deliberately not handled: two processes building one entry at once.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DataError, InputError } from '../errors.js';
import { recoverDir, writeFileAtomic } from '../io/atomic.js';
import { readTextFile } from '../io/files.js';
import { JSON_LIMITS, parseJson } from '../io/json.js';
import { checkedProduct } from '../io/sizes.js';
import { tokenizerHash } from '../tokenizer/tokenizer-file.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { builtinCorpusPaths } from './builtin.js';
import { type ReadOptions, emptyCorpus, hashFile, readSourceFile } from './documents.js';
import { listSourceFiles } from './sources.js';
import { fnv1a } from './split.js';
import { type TokenDtype, TokenFile, TokenRanges, TokenWriter, bytesPerToken, dtypeFor } from './token-file.js';

export const MANIFEST_FILE = 'manifest.json';
const FORMAT = 'swat-token-cache';
const VERSION = 2;

/** The document table is read whole into one Buffer (12 bytes a document, under Node's 2 GiB file read);
 *  2^27 = 134 million documents is 1.5 GiB of it. */
const MAX_DOCUMENTS = 2 ** 27;
/** Token positions are doubles and file offsets 4 bytes a token: 2^50 tokens keep every offset exact. */
const MAX_TOKENS = 2 ** 50;

export interface TokenCacheOptions {
  /** Files, directories and globs; empty for the built-in corpus. */
  paths: readonly string[];
  tokenizer: Tokenizer;
  cacheDir: string;
  valFraction: number;
  /** Default: 'skip' for user data, 'latin1' for the built-in corpus (two of its books need it). */
  invalidUtf8?: 'skip' | 'latin1';
  warn?: (msg: string) => void;
  /** Told how many source bytes are tokenized, while building. */
  onProgress?: (doneBytes: number, totalBytes: number) => void;
}

export interface SourceRecord {
  path: string;
  size: number;
  mtime_ms: number;
  ctime_ms: number;
  sha256: string;
  documents: number;
}

export interface Manifest {
  format: typeof FORMAT;
  version: typeof VERSION;
  tokenizer: { sha256: string; vocab_size: number; eos_id: number };
  invalid_utf8: 'skip' | 'latin1';
  dtype: TokenDtype;
  tokens_file: string;
  tokens_sha256: string;
  tokens: number;
  documents_file: string;
  documents_sha256: string;
  documents: number;
  sources: SourceRecord[];
  /** Warnings of the build (skipped files and lines), repeated when the cache is reused. */
  warnings: string[];
  split: { val_fraction: number; val_documents: number[]; single_document_cut: number | null };
}

export interface TokenCache {
  /** The entry directory. */
  dir: string;
  manifest: Manifest;
  /** Why it was rebuilt, or null when it was reused as it was. */
  rebuilt: string | null;
  file: TokenFile;
  train: TokenRanges;
  val: TokenRanges;
  trainDocuments: number;
  valDocuments: number;
}

/** Opens the cache entry of this corpus and tokenizer, building it first when needed. */
export function openTokenCache(opts: TokenCacheOptions): TokenCache {
  if (!(opts.valFraction > 0 && opts.valFraction < 1)) {
    throw new InputError(`val fraction must be in (0, 1), got ${opts.valFraction}`);
  }
  const tok = opts.tokenizer;
  if (!(Number.isInteger(tok.eosId) && tok.eosId >= 0 && tok.eosId < tok.vocabSize && tok.vocabSize <= 2 ** 32)) {
    throw new InputError(`tokenizer: EOS id ${tok.eosId} is not a token of its vocabulary of ${tok.vocabSize}`);
  }
  const builtin = opts.paths.length === 0;
  const files = builtin ? builtinCorpusPaths() : listSourceFiles(opts.paths);
  const policy = opts.invalidUtf8 ?? (builtin ? 'latin1' : 'skip');
  const tokHash = tokenizerHash(opts.tokenizer);
  const resolved = files.map((f) => resolve(f));
  const key = createHash('sha256').update(JSON.stringify({ v: VERSION, tokHash, resolved, policy })).digest('hex').slice(0, 16);
  const dir = join(opts.cacheDir, key);
  recoverDir(dir);
  const warn = opts.warn ?? (() => {});
  const read = readManifest(dir);
  let manifest = typeof read === 'string' ? null : read;
  const stale = typeof read === 'string' ? read : staleReason(dir, read, resolved, tokHash);
  if (stale !== null) {
    manifest = build(dir, files, resolved, policy, opts, tokHash);
  } else {
    for (const w of manifest!.warnings) warn(w);
  }
  const m = manifest!;
  if (m.documents === 0) throw emptyCorpus(builtin ? ['the built-in corpus'] : opts.paths);
  const { starts, hashes } = readDocumentTable(dir, m);
  const split = splitByDocuments(starts, hashes, m.tokens, opts.valFraction, m.sources, warn);
  if (stale === null ? !sameSplit(m.split, split) : true) {
    m.split = split;
    writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 1) + '\n');
  }
  const file = new TokenFile(join(dir, m.tokens_file), m.dtype, m.tokens);
  const ranges = splitRanges(starts, m.tokens, split);
  return {
    dir,
    manifest: m,
    rebuilt: stale,
    file,
    train: new TokenRanges(file, ranges.train),
    val: new TokenRanges(file, ranges.val),
    trainDocuments: split.single_document_cut === null ? m.documents - split.val_documents.length : 1,
    valDocuments: split.single_document_cut === null ? split.val_documents.length : 1,
  };
}

// ---- reuse ----

/** The manifest, or why there is none to use. */
function readManifest(dir: string): Manifest | string {
  const path = join(dir, MANIFEST_FILE);
  if (!existsSync(path)) return 'no cache yet';
  let m: unknown;
  try {
    m = parseJson(readTextFile(path, JSON_LIMITS.manifest, DataError), MANIFEST_FILE, { maxSize: JSON_LIMITS.manifest, error: DataError });
  } catch (e) {
    if (e instanceof DataError) return e.message; // "manifest.json: not valid JSON (…)"
    throw e;
  }
  const problem = manifestProblem(m as Partial<Manifest>);
  return problem === null ? (m as Manifest) : `${MANIFEST_FILE} ${problem}`;
}

const isCount = (v: unknown, max: number): boolean => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isTime = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);
const isSha256 = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);
const isDataFile = (v: unknown, kind: string): boolean => typeof v === 'string' && new RegExp(`^${kind}-[0-9a-f]{8}\\.bin$`).test(v);

/** Why a parsed manifest cannot be used (the first field that is wrong), or null. Only the cache writes
 *  manifests, so anything else is damage: a rebuild, not an error. File names are checked against the
 *  pattern the cache uses, so a manifest cannot point outside its folder. */
function manifestProblem(m: Partial<Manifest> | null): string | null {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return 'is not a JSON object';
  if (m.format !== FORMAT || m.version !== VERSION) return 'is from another version of the cache';
  const s = m.sources;
  const checks: [string, () => boolean][] = [
    ['tokenizer', () => isSha256(m.tokenizer?.sha256) && isCount(m.tokenizer?.vocab_size, 2 ** 32) && isCount(m.tokenizer?.eos_id, 2 ** 32)],
    ['invalid_utf8', () => m.invalid_utf8 === 'skip' || m.invalid_utf8 === 'latin1'],
    ['dtype', () => m.dtype === 'uint16' || m.dtype === 'uint32'],
    ['tokens', () => isCount(m.tokens, MAX_TOKENS)],
    ['tokens_file', () => isDataFile(m.tokens_file, 'tokens') && isSha256(m.tokens_sha256)],
    ['documents', () => isCount(m.documents, MAX_DOCUMENTS)],
    ['documents_file', () => isDataFile(m.documents_file, 'documents') && isSha256(m.documents_sha256)],
    [
      'sources',
      () =>
        Array.isArray(s) &&
        s.every((x) => typeof x === 'object' && x !== null && typeof x.path === 'string' && isCount(x.size, Number.MAX_SAFE_INTEGER) &&
          isTime(x.mtime_ms) && isTime(x.ctime_ms) && isSha256(x.sha256) && isCount(x.documents, MAX_DOCUMENTS)),
    ],
    ['warnings', () => Array.isArray(m.warnings) && m.warnings.every((w) => typeof w === 'string')],
    ['split', () => typeof m.split === 'object' && m.split !== null],
  ];
  const bad = checks.find(([, ok]) => !ok());
  return bad === undefined ? null : `has a damaged field "${bad[0]}"`;
}

/** Why the entry cannot be reused, or null when it can (times of unchanged re-hashed sources refreshed). */
function staleReason(dir: string, m: Manifest, resolved: string[], tokHash: string): string | null {
  if (m.tokenizer.sha256 !== tokHash) return 'the tokenizer changed';
  if (m.sources.length !== resolved.length || m.sources.some((s, i) => s.path !== resolved[i])) {
    return 'the list of source files changed';
  }
  const width = bytesPerToken(m.dtype);
  const files: [string, number, string][] = [
    [m.tokens_file, checkedProduct(m.tokens, width), m.tokens_sha256],
    [m.documents_file, checkedProduct(m.documents, 12), m.documents_sha256],
  ];
  for (const [name, size] of files) {
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    if (st === undefined || st.size !== size) return `${name} is missing or has the wrong size`;
  }
  let refreshed = false;
  for (const s of m.sources) {
    const st = statSync(s.path, { throwIfNoEntry: false });
    if (st === undefined) return `${s.path} is gone`;
    if (st.size === s.size && st.mtimeMs === s.mtime_ms && st.ctimeMs === s.ctime_ms) continue;
    if (st.size !== s.size || hashFile(s.path) !== s.sha256) return `${s.path} changed`;
    s.mtime_ms = st.mtimeMs;
    s.ctime_ms = st.ctimeMs;
    refreshed = true;
  }
  // Last, as it reads every byte: the data files are what the manifest says they are.
  for (const [name, , sha256] of files) {
    if (hashFile(join(dir, name)) !== sha256) return `${name} does not match its checksum`;
  }
  if (refreshed) writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(m, null, 1) + '\n');
  return null;
}

// ---- build ----

function build(dir: string, files: string[], resolved: string[], policy: 'skip' | 'latin1', opts: TokenCacheOptions, tokHash: string): Manifest {
  const tok = opts.tokenizer;
  const dtype = dtypeFor(tok.vocabSize);
  const gen = randomBytes(4).toString('hex');
  const tokensFile = `tokens-${gen}.bin`;
  const documentsFile = `documents-${gen}.bin`;
  // The temp name follows writeFileAtomic's pattern, so recoverDir deletes it if this process dies.
  const temp = join(dir, `.${tokensFile}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const warnings: string[] = [];
  const readOpts: ReadOptions = { invalidUtf8: policy, warn: (m) => (warnings.push(m), opts.warn?.(m)) };
  const starts: number[] = [];
  const hashes: number[] = [];
  const sources: SourceRecord[] = [];
  const totalBytes = files.reduce((n, f) => n + (statSync(f, { throwIfNoEntry: false })?.size ?? 0), 0);
  let doneBytes = 0;
  const fd = openSync(temp, 'wx');
  try {
    const writer = new TokenWriter(fd, dtype);
    const eos = [tok.eosId];
    files.forEach((file, i) => {
      const info = readSourceFile(file, readOpts, (doc) => {
        if (starts.length === MAX_DOCUMENTS) throw new DataError(`the corpus has more than ${MAX_DOCUMENTS} documents, the most a token cache holds`);
        starts.push(writer.count);
        hashes.push(fnv1a(doc.text));
        writer.push(tok.encode(doc.text));
        writer.push(eos);
      });
      sources.push({ path: resolved[i]!, size: info.size, mtime_ms: info.mtimeMs, ctime_ms: info.ctimeMs, sha256: info.sha256, documents: info.documents });
      doneBytes += info.size;
      opts.onProgress?.(doneBytes, totalBytes);
    });
    writer.finish();
    closeSync(fd);
    renameSync(temp, join(dir, tokensFile));
    const table = documentTable(starts, hashes);
    const manifest: Manifest = {
      format: FORMAT,
      version: VERSION,
      tokenizer: { sha256: tokHash, vocab_size: tok.vocabSize, eos_id: tok.eosId },
      invalid_utf8: policy,
      dtype,
      tokens_file: tokensFile,
      tokens_sha256: writer.sha256,
      tokens: writer.count,
      documents_file: documentsFile,
      documents_sha256: createHash('sha256').update(table).digest('hex'),
      documents: starts.length,
      sources,
      warnings,
      split: { val_fraction: opts.valFraction, val_documents: [], single_document_cut: null },
    };
    writeFileAtomic(join(dir, documentsFile), table);
    writeFileAtomic(join(dir, MANIFEST_FILE), JSON.stringify(manifest, null, 1) + '\n');
    removeOtherGenerations(dir, gen);
    return manifest;
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(temp, { force: true });
    throw e;
  }
}

function removeOtherGenerations(dir: string, gen: string): void {
  for (const name of readdirSync(dir)) {
    const m = /^(tokens|documents)-([0-9a-f]{8})\.bin$/.exec(name);
    if (m !== null && m[2] !== gen) rmSync(join(dir, name), { force: true });
  }
}

function documentTable(starts: number[], hashes: number[]): Uint8Array {
  const d = starts.length;
  const buf = Buffer.alloc(d * 12);
  for (let i = 0; i < d; i++) buf.writeDoubleLE(starts[i]!, 8 * i);
  for (let i = 0; i < d; i++) buf.writeUInt32LE(hashes[i]!, 8 * d + 4 * i);
  return buf;
}

function readDocumentTable(dir: string, m: Manifest): { starts: Float64Array; hashes: Uint32Array } {
  const buf = readFileSync(join(dir, m.documents_file));
  const d = m.documents;
  if (buf.length !== d * 12) throw new DataError(`${join(dir, m.documents_file)}: expected ${d * 12} bytes, found ${buf.length}`);
  const starts = new Float64Array(d);
  const hashes = new Uint32Array(d);
  for (let i = 0; i < d; i++) starts[i] = buf.readDoubleLE(8 * i);
  for (let i = 0; i < d; i++) hashes[i] = buf.readUInt32LE(8 * d + 4 * i);
  return { starts, hashes };
}

// ---- split ----

type Split = Manifest['split'];

/** splitDocuments' rule on the document table: round(D · f) documents (at least 1, at most D − 1) with the
 *  smallest text hashes, ties to the earlier document; one document: its last share of tokens. */
export function splitByDocuments(
  starts: Float64Array,
  hashes: Uint32Array,
  totalTokens: number,
  valFraction: number,
  sources: readonly SourceRecord[],
  warn: (msg: string) => void,
): Split {
  const d = starts.length;
  if (d === 1) {
    const cut = Math.min(totalTokens - 1, Math.max(1, Math.round(totalTokens * (1 - valFraction))));
    if (totalTokens < 2) throw new DataError(`cannot split ${sources[0]?.path ?? 'the corpus'}: the only document has ${totalTokens} token`);
    const source = sources.find((s) => s.documents > 0)?.path ?? 'the corpus';
    warn(`only one document (${source}): holding out the last ${Math.round(valFraction * 100)}% of its tokens for validation`);
    return { val_fraction: valFraction, val_documents: [], single_document_cut: cut };
  }
  const k = Math.min(d - 1, Math.max(1, Math.round(d * valFraction)));
  const order = Array.from({ length: d }, (_, i) => i).sort((a, b) => hashes[a]! - hashes[b]! || a - b);
  const val = order.slice(0, k).sort((a, b) => a - b);
  return { val_fraction: valFraction, val_documents: val, single_document_cut: null };
}

function sameSplit(a: Split | undefined, b: Split): boolean {
  return a !== undefined && JSON.stringify(a) === JSON.stringify(b);
}

/** The token ranges of each side; consecutive documents of one side merge into one range. */
function splitRanges(starts: Float64Array, total: number, split: Split): { train: [number, number][]; val: [number, number][] } {
  if (split.single_document_cut !== null) return { train: [[0, split.single_document_cut]], val: [[split.single_document_cut, total]] };
  const held = new Set(split.val_documents);
  const train: [number, number][] = [];
  const val: [number, number][] = [];
  for (let i = 0; i < starts.length; i++) {
    const side = held.has(i) ? val : train;
    const a = starts[i]!;
    const b = i + 1 < starts.length ? starts[i + 1]! : total;
    const last = side[side.length - 1];
    if (last !== undefined && last[1] === a) last[1] = b;
    else side.push([a, b]);
  }
  return { train, val };
}
