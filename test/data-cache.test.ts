// The data pipeline past memory: gzip and glob inputs, streamed JSON-lines, bad inputs, token files, and the
// token cache — equal to tokenizing in memory, reused while nothing changed, rebuilt when anything did, never
// trusting what an interrupted build left — and the trainer's sampler reading from the file.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, readdirSync, openSync, readFileSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  MANIFEST_FILE,
  type Manifest,
  TokenFile,
  TokenRanges,
  TokenWriter,
  dtypeFor,
  globFiles,
  openTokenCache,
  readDocuments,
  splitDocuments,
  tokenizeDocuments,
} from '../src/data/index.js';
import { Rng } from '../src/random.js';
import { ByteLevelTokenizer, type Tokenizer, llama2Tokenizer } from '../src/tokenizer/index.js';
import { sampleBatch, validationBatches } from '../src/train/sampler.js';
import { dataErrorOf, fixtureTree } from './support/files.js';

const { root, put } = fixtureTree('swat-cache-');

const byte = new ByteLevelTokenizer();
/** dist/, where the compiled modules a child process imports live. */
const distDir = fileURLToPath(new URL('..', import.meta.url));

// ---- inputs ----

test('gzip-compressed text and JSON-lines read like plain files; a corrupt .gz is a DataError', () => {
  const a = put('gz/a.txt.gz', gzipSync('alpha text'));
  const b = put('gz/b.jsonl.gz', gzipSync('{"text":"one"}\n{"text":"two"}\n'));
  put('gz/c.bin.gz', gzipSync('not a document extension'));
  const docs = readDocuments([join(root, 'gz')]);
  assert.deepEqual(docs, [
    { source: a, text: 'alpha text' },
    { source: `${b}:1`, text: 'one' },
    { source: `${b}:2`, text: 'two' },
  ]);
  const bad = put('gzbad/x.txt.gz', Uint8Array.from([0x1f, 0x8b, 1, 2, 3]));
  assert.match(dataErrorOf(() => readDocuments([bad])), new RegExp(`^${bad}: not a valid gzip file \\(`));
});

test('globs: * and ? within a segment, ** across folders, [classes], sorted; no match is a DataError', () => {
  const f = (rel: string) => put(`glob/${rel}`, rel);
  const [a, b, c, d] = [f('a.txt'), f('b.txt'), f('sub/c.txt'), f('sub/deep/d.md')];
  f('.hidden.txt');
  f('sub/.h/e.txt');
  f('x.csv');
  const g = (p: string) => globFiles(join(root, 'glob', p));
  assert.deepEqual(g('*.txt'), [a, b]);
  assert.deepEqual(g('?.txt'), [a, b]);
  assert.deepEqual(g('[a].txt'), [a]);
  assert.deepEqual(g('[!a].txt'), [b]);
  assert.deepEqual(g('**/*.txt'), [a, b, c]);
  assert.deepEqual(g('**/*.md'), [d]);
  assert.deepEqual(g('s*'), [c, d]); // a matched directory contributes its document files
  const none = join(root, 'glob', '*.json');
  assert.equal(dataErrorOf(() => readDocuments([none])), `no files match ${none}`);
  // A file reached twice is read once.
  assert.equal(readDocuments([join(root, 'glob', '*.txt'), a]).length, 2);
});

test('JSON-lines stream in chunks: lines across chunk boundaries, CRLF, blank lines, line numbers', () => {
  const lines: string[] = [];
  for (let i = 0; i < 60_000; i++) lines.push(i % 1000 === 7 ? '' : JSON.stringify({ text: `document ${i} ` + 'é'.repeat(i % 50), id: i }));
  const file = put('big/corpus.jsonl', lines.join('\r\n'));
  assert.ok(statSync(file).size > 5 * 2 ** 20, 'larger than one 4 MiB read');
  const docs = readDocuments([file]);
  assert.equal(docs.length, 60_000 - 60);
  assert.deepEqual(docs[0], { source: `${file}:1`, text: 'document 0 ' });
  assert.deepEqual(docs[docs.length - 1], { source: `${file}:60000`, text: 'document 59999 ' + 'é'.repeat(49) });
});

test('bad input: binary, empty, not UTF-8 (files and JSON-lines lines) are skipped with a warning', () => {
  const dir = join(root, 'bad');
  const bin = put('bad/bin.txt', Uint8Array.from([0x50, 0x4b, 0x03, 0x04, 0x00, 0x00]));
  const binJsonl = put('bad/bin.jsonl', Uint8Array.from([0x7b, 0x00, 0x7d]));
  const empty = put('bad/empty.md', '');
  const latin = put('bad/latin.txt', Uint8Array.from([0x63, 0x61, 0x66, 0xe9]));
  const mixed = put('bad/mixed.jsonl', Buffer.concat([Buffer.from('{"text":"ok"}\n{"text":"caf'), Buffer.from([0xe9]), Buffer.from('"}\n{"text":"fine"}\n')]));
  const warnings: string[] = [];
  const docs = readDocuments([dir], { warn: (m) => warnings.push(m) });
  assert.deepEqual(docs.map((d) => d.text), ['ok', 'fine']);
  assert.deepEqual(warnings, [
    `skipping ${binJsonl}: binary file (contains NUL bytes)`,
    `skipping ${bin}: binary file (contains NUL bytes)`,
    `skipping ${empty}: empty file`,
    `skipping ${latin}: not valid UTF-8`,
    `skipping ${mixed} line 2: not valid UTF-8`,
  ]);
});

test('an unreadable file is a DataError naming it', { skip: process.getuid?.() === 0 ? 'root reads any file' : false }, () => {
  const file = put('locked/secret.txt', 'text');
  chmodSync(file, 0o000);
  try {
    assert.equal(dataErrorOf(() => readDocuments([file])), `cannot read ${file}: EACCES`);
  } finally {
    chmodSync(file, 0o644);
  }
});

// ---- token files ----

test('token files: 16-bit up to 65,536 tokens, 32-bit above, random reads of any range', () => {
  assert.equal(dtypeFor(258), 'uint16');
  assert.equal(dtypeFor(65536), 'uint16');
  assert.equal(dtypeFor(65537), 'uint32');
  for (const [dtype, max] of [['uint16', 65535], ['uint32', 2 ** 32 - 1]] as const) {
    const path = join(root, `tokens-${dtype}.bin`);
    const ids = Array.from({ length: 5000 }, (_, i) => (i * 7919) % (max + 1));
    ids[17] = max;
    const fd = openSync(path, 'w');
    const w = new TokenWriter(fd, dtype, 333); // a small buffer: many flushes
    w.push(ids.slice(0, 1234));
    w.push(ids.slice(1234));
    w.finish();
    closeSync(fd);
    assert.equal(statSync(path).size, ids.length * (dtype === 'uint16' ? 2 : 4));
    const file = new TokenFile(path, dtype, ids.length);
    if (dtype === 'uint16') assert.deepEqual(Array.from(file.read(0, ids.length)), ids);
    else assert.deepEqual(Array.from(file.read(0, 100), (x) => x >>> 0), ids.slice(0, 100)); // Int32 view of uint32
    const ranges = new TokenRanges(file, [[10, 20], [100, 100], [4000, 4100], [30, 31]]);
    const flat = [...ids.slice(10, 20), ...ids.slice(4000, 4100), ...ids.slice(30, 31)].map((x) => x | 0);
    assert.equal(ranges.length, flat.length);
    for (const [a, b] of [[0, flat.length], [5, 15], [9, 11], [10, 10], [109, 111], [110, 111]] as const) {
      assert.deepEqual(Array.from(ranges.subarray(a, b)), flat.slice(a, b), `[${a}, ${b})`);
    }
    assert.throws(() => file.read(4990, 5001), /token range \[4990, 5001\) is outside \[0, 5000\)/);
    file.close();
  }
});

// ---- the cache ----

function corpusDir(name: string, docs: Record<string, string>): string {
  for (const [rel, text] of Object.entries(docs)) put(`${name}/${rel}`, text);
  return join(root, name);
}

function tenDocs(name: string): string {
  const docs: Record<string, string> = {};
  for (let i = 0; i < 10; i++) docs[`doc${String(i).padStart(2, '0')}.txt`] = `Document ${i}: ${'text é 😀 '.repeat(i + 3)}\n`;
  return corpusDir(name, docs);
}

function open(paths: string[], cacheDir: string, tokenizer: Tokenizer = byte, valFraction = 0.2, warn?: (m: string) => void) {
  return openTokenCache({ paths, tokenizer, cacheDir, valFraction, ...(warn ? { warn } : {}) });
}

test('the cache holds what tokenizing in memory gives, split by whole documents the same way', () => {
  const dir = tenDocs('same');
  const cacheDir = join(root, 'cache-same');
  for (const tok of [byte, llama2Tokenizer()]) {
    const cache = open([dir], cacheDir, tok);
    const split = splitDocuments(readDocuments([dir]), 0.2);
    assert.deepEqual(Array.from(cache.train.toArray()), Array.from(tokenizeDocuments(split.train, tok)));
    assert.deepEqual(Array.from(cache.val.toArray()), Array.from(tokenizeDocuments(split.val, tok)));
    assert.equal(cache.trainDocuments, 8);
    assert.equal(cache.valDocuments, 2);
    const m = cache.manifest;
    assert.equal(m.dtype, 'uint16');
    assert.equal(statSync(join(cache.dir, m.tokens_file)).size, 2 * m.tokens);
    assert.equal(m.sources.length, 10);
    assert.match(m.sources[0]!.sha256, /^[0-9a-f]{64}$/);
    assert.equal(m.tokenizer.vocab_size, tok.vocabSize);
    assert.equal(m.split.val_documents.length, 2);
    cache.file.close();
  }
});

test('the cache is reused while nothing changed, and rebuilt when a source, the file list or the tokenizer does', () => {
  const dir = tenDocs('reuse');
  const cacheDir = join(root, 'cache-reuse');
  const first = open([dir], cacheDir);
  assert.equal(first.rebuilt, 'no cache yet');
  const again = open([dir], cacheDir);
  assert.equal(again.rebuilt, null);
  assert.equal(again.manifest.tokens_file, first.manifest.tokens_file);

  // Touched but unchanged: re-hashed, reused, and the new mtime remembered.
  const doc3 = join(dir, 'doc03.txt');
  utimesSync(doc3, new Date(), new Date(Date.now() + 5000));
  const touched = open([dir], cacheDir);
  assert.equal(touched.rebuilt, null);
  assert.equal(touched.manifest.sources[3]!.mtime_ms, statSync(doc3).mtimeMs);

  // Same size, different bytes, and the mtime put back: the ctime (which only the kernel sets) differs.
  const { atime, mtime } = statSync(doc3);
  writeFileSync(doc3, readFileSync(doc3, 'utf8').replace('Document', 'Documens'));
  utimesSync(doc3, atime, mtime);
  assert.equal(statSync(doc3).mtimeMs, touched.manifest.sources[3]!.mtime_ms);
  const changed = open([dir], cacheDir);
  assert.equal(changed.rebuilt, `${doc3} changed`);
  assert.notEqual(changed.manifest.tokens_file, first.manifest.tokens_file);
  // The old generation's files are gone; only the new ones and the manifest remain.
  assert.deepEqual(readdirSync(changed.dir).sort(), [changed.manifest.documents_file, MANIFEST_FILE, changed.manifest.tokens_file].sort());

  put('reuse/doc10.txt', 'a new document');
  const added = open([dir], cacheDir);
  assert.equal(added.rebuilt, 'no cache yet'); // a different file list is a different entry
  assert.notEqual(added.dir, changed.dir);

  rmSync(join(dir, 'doc10.txt'));
  assert.equal(open([dir], cacheDir).rebuilt, null); // back to the entry of the old list

  // Another tokenizer: another entry; another val fraction: the same tokens, another split.
  assert.notEqual(open([dir], cacheDir, llama2Tokenizer()).dir, changed.dir);
  const wider = open([dir], cacheDir, byte, 0.5);
  assert.equal(wider.rebuilt, null);
  assert.equal(wider.valDocuments, 5);
  assert.equal(JSON.parse(readFileSync(join(wider.dir, MANIFEST_FILE), 'utf8')).split.val_fraction, 0.5);
});

test('a cache whose files are missing, truncated or whose manifest is corrupt is rebuilt, not trusted', () => {
  const dir = tenDocs('broken');
  const cacheDir = join(root, 'cache-broken');
  const good = open([dir], cacheDir);
  const tokens = Array.from(good.train.toArray());
  const m = good.manifest;
  truncateSync(join(good.dir, m.tokens_file), 2 * m.tokens - 2);
  assert.equal(open([dir], cacheDir).rebuilt, `${m.tokens_file} is missing or has the wrong size`);
  const m2 = open([dir], cacheDir).manifest;
  rmSync(join(good.dir, m2.documents_file));
  assert.equal(open([dir], cacheDir).rebuilt, `${m2.documents_file} is missing or has the wrong size`);
  writeFileSync(join(good.dir, MANIFEST_FILE), '{"format": "swat-token-cache", "vers');
  const rebuilt = open([dir], cacheDir);
  assert.equal(rebuilt.rebuilt, 'manifest.json: not valid JSON (unexpected end at column 37)');
  assert.deepEqual(Array.from(rebuilt.train.toArray()), tokens);
});

test('a flipped byte in a data file, or a manifest with a bad field, is caught and rebuilt', () => {
  const dir = tenDocs('flipped');
  const cacheDir = join(root, 'cache-flipped');
  const good = open([dir], cacheDir);
  const tokens = Array.from(good.train.toArray());
  good.file.close();
  for (const field of ['tokens_file', 'documents_file'] as const) {
    const before = open([dir], cacheDir);
    before.file.close();
    const name = before.manifest[field];
    const bytes = readFileSync(join(before.dir, name));
    bytes[3]! ^= 0x01;
    writeFileSync(join(before.dir, name), bytes);
    const again = open([dir], cacheDir);
    assert.equal(again.rebuilt, `${name} does not match its checksum`);
    assert.deepEqual(Array.from(again.train.toArray()), tokens);
    again.file.close();
  }
  const manifestPath = join(good.dir, MANIFEST_FILE);
  const patch = (edit: (m: Record<string, unknown>) => void): string | null => {
    const m = JSON.parse(readFileSync(manifestPath, 'utf8')) as Record<string, unknown>;
    edit(m);
    writeFileSync(manifestPath, JSON.stringify(m));
    const c = open([dir], cacheDir);
    c.file.close();
    return c.rebuilt;
  };
  assert.equal(patch((m) => (m['tokens_file'] = '../../../etc/passwd')), 'manifest.json has a damaged field "tokens_file"');
  assert.equal(patch((m) => (m['documents'] = 1e300)), 'manifest.json has a damaged field "documents"');
  assert.equal(patch((m) => (m['tokens'] = '12')), 'manifest.json has a damaged field "tokens"');
  assert.equal(patch((m) => ((m['sources'] as Record<string, unknown>[])[0]!['ctime_ms'] = null)), 'manifest.json has a damaged field "sources"');
  assert.equal(patch((m) => (m['version'] = 1)), 'manifest.json is from another version of the cache');
  assert.equal(patch(() => {}), null);
});

test('a build that fails midway leaves the previous cache intact and no temporary files', () => {
  const dir = tenDocs('failing');
  const jsonl = put('failing-extra/more.jsonl', '{"text":"a"}\n');
  const cacheDir = join(root, 'cache-failing');
  const good = open([dir, jsonl], cacheDir);
  const manifest = join(good.dir, MANIFEST_FILE);
  const before = readFileSync(manifest, 'utf8');
  writeFileSync(jsonl, '{"text":"a"}\n{oops\n'); // changed, so rebuilt; the rebuild fails at line 2
  assert.equal(dataErrorOf(() => open([dir, jsonl], cacheDir)), `${jsonl} line 2: not valid JSON (unexpected "o" at column 2)`);
  assert.deepEqual(readdirSync(good.dir).sort(), [good.manifest.documents_file, MANIFEST_FILE, good.manifest.tokens_file].sort());
  assert.equal(readFileSync(manifest, 'utf8'), before);
});

test('a killed tokenization leaves nothing a later run trusts', () => {
  const dir = tenDocs('killed');
  const cacheDir = join(root, 'cache-killed');
  // A child process starts building and dies (SIGKILL, no cleanup) after the third file.
  const script = `
    import { openTokenCache } from ${JSON.stringify(pathToFileURL(join(distDir, 'src', 'data', 'cache.js')).href)};
    import { ByteLevelTokenizer } from ${JSON.stringify(pathToFileURL(join(distDir, 'src', 'tokenizer', 'byte-level.js')).href)};
    let files = 0;
    openTokenCache({ paths: [${JSON.stringify(dir)}], tokenizer: new ByteLevelTokenizer(), cacheDir: ${JSON.stringify(cacheDir)}, valFraction: 0.2,
      onProgress: () => { if (++files === 3) process.kill(process.pid, 'SIGKILL'); } });`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.signal, 'SIGKILL', child.stderr);
  const entry = readdirSync(cacheDir).map((e) => join(cacheDir, e))[0]!;
  const left = readdirSync(entry);
  assert.equal(left.length, 1, 'the half-written token file');
  assert.match(left[0]!, /^\.tokens-[0-9a-f]{8}\.bin\.tmp-\d+-[0-9a-f]{8}$/);
  assert.ok(!existsSync(join(entry, MANIFEST_FILE)));
  const cache = open([dir], cacheDir);
  assert.equal(cache.rebuilt, 'no cache yet');
  assert.deepEqual(readdirSync(entry).sort(), [cache.manifest.documents_file, MANIFEST_FILE, cache.manifest.tokens_file].sort());
  const split = splitDocuments(readDocuments([dir]), 0.2);
  assert.deepEqual(Array.from(cache.train.toArray()), Array.from(tokenizeDocuments(split.train, byte)));
});

test('a single document holds out its last tokens, with a warning; an empty corpus is a DataError', () => {
  const dir = corpusDir('single', { 'only.txt': 'x'.repeat(90) + 'y'.repeat(9) });
  const warnings: string[] = [];
  const cache = open([dir], join(root, 'cache-single'), byte, 0.1, (m) => warnings.push(m));
  assert.deepEqual(Array.from(cache.train.toArray()), Array(90).fill(0x78));
  assert.deepEqual(Array.from(cache.val.toArray()), [...Array(9).fill(0x79), 257]);
  assert.deepEqual(warnings, [`only one document (${join(dir, 'only.txt')}): holding out the last 10% of its tokens for validation`]);
  const empty = corpusDir('hollow', { 'e.txt': '' });
  assert.equal(dataErrorOf(() => open([empty], join(root, 'cache-hollow'))), `corpus is empty: no documents in ${empty}`);
});

test('the sampler draws the same batches from the file-backed streams as from arrays in memory', () => {
  const dir = tenDocs('sampler');
  const cache = open([dir], join(root, 'cache-sampler'));
  const train = cache.train.toArray();
  const val = cache.val.toArray();
  const asStream = (x: TokenRanges) => x as unknown as Int32Array; // what train.ts passes the trainer
  const [r1, r2] = [new Rng(9), new Rng(9)];
  for (let i = 0; i < 20; i++) assert.deepEqual(sampleBatch(asStream(cache.train), 4, 16, r1), sampleBatch(train, 4, 16, r2));
  assert.deepEqual(validationBatches(asStream(cache.val), 2, 8, 3), validationBatches(val, 2, 8, 3));
});

test('the manifest records sources, tokenizer identity, dtype, boundaries and split', () => {
  const dir = tenDocs('manifest');
  const cache = open([dir], join(root, 'cache-manifest'));
  const m = JSON.parse(readFileSync(join(cache.dir, MANIFEST_FILE), 'utf8')) as Manifest;
  assert.equal(m.format, 'swat-token-cache');
  assert.equal(m.documents, 10);
  assert.equal(m.tokens, cache.train.length + cache.val.length);
  assert.deepEqual(Object.keys(m.sources[0]!).sort(), ['ctime_ms', 'documents', 'mtime_ms', 'path', 'sha256', 'size']);
  assert.equal(m.tokens_sha256, createHash('sha256').update(readFileSync(join(cache.dir, m.tokens_file))).digest('hex'));
  assert.equal(m.documents_sha256, createHash('sha256').update(readFileSync(join(cache.dir, m.documents_file))).digest('hex'));
  assert.match(m.tokenizer.sha256, /^[0-9a-f]{64}$/);
  assert.equal(statSync(join(cache.dir, m.documents_file)).size, 12 * m.documents);
  assert.deepEqual(m.split, cache.manifest.split);
});
