// Corpus loading: directory walks (order, hidden files, extensions), JSON-lines, skipped binary and non-UTF-8
// files, exact error messages, whole-document train/val split, the token stream, and the built-in books.

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import {
  builtinCorpusPaths,
  type Document,
  readBuiltinCorpus,
  readDocuments,
  splitDocuments,
  tokenizeDocuments,
} from '../src/data/index.js';
import { InputError } from '../src/errors.js';
import { Rng } from '../src/random.js';
import { ByteLevelTokenizer } from '../src/tokenizer/index.js';
import { dataErrorOf, fixtureTree } from './support/files.js';

const { root, put } = fixtureTree('swat-data-');

const corpus = join(root, 'corpus');
put('corpus/a.txt', 'alpha');
put('corpus/b.md', '\uFEFF# beta'); // the BOM is an encoding mark, not text
put('corpus/sub-x.txt', 'sub-x'); // '-' sorts before '/': full-path order, not a depth-first walk
put('corpus/sub/c.txt', 'gamma\n');
put('corpus/sub/deeper/d.jsonl', '{"text":"delta"}\n\n{"text":"epsilon","id":2}\r\n{"text":""}\n');
put('corpus/sub/empty.txt', '');
put('corpus/notes.csv', 'not a document extension');
put('corpus/.hidden.txt', 'hidden file');
put('corpus/.git/x.txt', 'hidden folder');
const binary = put('corpus/image.txt', Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]));
const latin = put('corpus/latin.txt', Uint8Array.from([0x63, 0x61, 0x66, 0xe9])); // "café" in Latin-1

test('a directory gives its document files sorted by path, skipping hidden, binary and non-UTF-8 files', () => {
  const warnings: string[] = [];
  const docs = readDocuments([corpus], { warn: (m) => warnings.push(m) });
  const d = join(corpus, 'sub', 'deeper', 'd.jsonl');
  assert.deepEqual(docs, [
    { source: join(corpus, 'a.txt'), text: 'alpha' },
    { source: join(corpus, 'b.md'), text: '# beta' },
    { source: join(corpus, 'sub-x.txt'), text: 'sub-x' },
    { source: join(corpus, 'sub', 'c.txt'), text: 'gamma\n' },
    { source: `${d}:1`, text: 'delta' },
    { source: `${d}:3`, text: 'epsilon' },
  ]);
  assert.deepEqual(warnings, [
    `skipping ${binary}: binary file (contains NUL bytes)`,
    `skipping ${latin}: not valid UTF-8`,
    `skipping ${join(corpus, 'sub', 'empty.txt')}: empty file`,
  ]);
});

test('non-UTF-8 text can be read as Latin-1 instead of skipped', () => {
  const warnings: string[] = [];
  const docs = readDocuments([latin], { invalidUtf8: 'latin1', warn: (m) => warnings.push(m) });
  assert.deepEqual(docs, [{ source: latin, text: 'café' }]);
  assert.deepEqual(warnings, [`${latin}: not valid UTF-8, read as Latin-1`]);
});

test('files named explicitly are read whatever their extension, in the order given', () => {
  const docs = readDocuments([join(corpus, 'notes.csv'), join(corpus, 'a.txt')]);
  assert.deepEqual(
    docs.map((d) => d.text),
    ['not a document extension', 'alpha'],
  );
});

test('a missing path is a DataError with the exact message', () => {
  const missing = join(root, 'nope');
  assert.equal(dataErrorOf(() => readDocuments([corpus, missing])), `data path not found: ${missing}`);
});

test('a directory without document files is a DataError', () => {
  const dir = join(root, 'nodocs');
  put('nodocs/data.csv', 'x');
  put('nodocs/.hidden.txt', 'x');
  assert.equal(
    dataErrorOf(() => readDocuments([dir])),
    `data path holds no documents: ${dir} (no .txt, .md, .jsonl files, plain or .gz)`,
  );
});

test('a corpus with no text at all is a DataError', () => {
  const dir = join(root, 'hollow');
  put('hollow/empty.txt', '');
  put('hollow/blank.jsonl', '\n\n');
  put('hollow/bin.txt', Uint8Array.from([0, 0, 0]));
  const warnings: string[] = [];
  assert.equal(
    dataErrorOf(() => readDocuments([dir], { warn: (m) => warnings.push(m) })),
    `corpus is empty: no documents in ${dir}`,
  );
  assert.equal(warnings.length, 2); // the binary file and the empty one; blank lines are no warning
  assert.equal(dataErrorOf(() => readDocuments([])), 'corpus is empty: no data paths given');
});

test('a bad JSON-lines line is a DataError naming file and line', () => {
  const cases: [string, string][] = [
    ['{"text":"ok"}\n{"text": "unterminated\n', 'line 2: not valid JSON (unexpected end at column 23)'],
    [`{"text": ${'['.repeat(100)}`, 'line 1: JSON nested deeper than 64 levels (at column 73)'],
    ['{"text":"ok"}\n\n{"txt":"x"}\n', 'line 3: expected a JSON object with a string "text" field'],
    ['"just a string"\n', 'line 1: expected a JSON object with a string "text" field'],
    ['{"text":"a"}\n{"text":5}\n', 'line 2: expected a JSON object with a string "text" field'],
  ];
  cases.forEach(([content, message], i) => {
    const file = put(`jsonl/bad${i}.jsonl`, content);
    assert.equal(dataErrorOf(() => readDocuments([file])), `${file} ${message}`);
  });
});

// ---- split ----

function makeDocs(n: number): Document[] {
  return Array.from({ length: n }, (_, i) => ({ source: `doc${i}.txt`, text: `document number ${i}\n` }));
}

test('split holds out whole documents, deterministically and independently of order', () => {
  const docs = makeDocs(20);
  const { train, val } = splitDocuments(docs);
  assert.equal(val.length, 2);
  assert.equal(train.length, 18);
  // Every document lands on exactly one side, unchanged (the very same object).
  assert.deepEqual(new Set([...train, ...val]), new Set(docs));
  assert.equal(new Set([...train, ...val]).size, 20);
  // Each side keeps the input order.
  const pos = (d: Document): number => docs.indexOf(d);
  assert.deepEqual(train.map(pos), [...train.map(pos)].sort((a, b) => a - b));

  const shuffled = [...docs];
  const rng = new Rng(3);
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const names = (ds: Document[]): string[] => ds.map((d) => d.source).sort();
  assert.deepEqual(names(splitDocuments(shuffled).val), names(val));
  assert.deepEqual(names(splitDocuments(docs).val), names(val));

  // One more document does not move the others across (the count held out stays 2 here).
  const more = [...docs, { source: 'new.txt', text: 'a new document' }];
  for (const d of splitDocuments(more).val) if (d.source !== 'new.txt') assert.ok(names(val).includes(d.source));
});

test('split keeps at least one document on each side', () => {
  for (const [n, f, nVal] of [
    [2, 0.1, 1],
    [2, 0.9, 1],
    [3, 0.9, 2],
    [5, 0.01, 1],
    [100, 0.25, 25],
  ] as const) {
    const { train, val } = splitDocuments(makeDocs(n), f);
    assert.equal(val.length, nVal, `n=${n} f=${f}`);
    assert.equal(train.length, n - nVal, `n=${n} f=${f}`);
  }
  assert.throws(() => splitDocuments(makeDocs(3), 0), InputError);
  assert.throws(() => splitDocuments(makeDocs(3), 1), InputError);
  assert.throws(() => splitDocuments(makeDocs(3), Number.NaN), InputError);
  assert.equal(dataErrorOf(() => splitDocuments([])), 'corpus is empty: nothing to split');
});

test('a single document is split by text, with a warning', () => {
  const text = 'x'.repeat(90) + 'y'.repeat(10);
  const warnings: string[] = [];
  const { train, val } = splitDocuments([{ source: 'one.txt', text }], 0.1, { warn: (m) => warnings.push(m) });
  assert.deepEqual(train, [{ source: 'one.txt', text: 'x'.repeat(90) }]);
  assert.deepEqual(val, [{ source: 'one.txt', text: 'y'.repeat(10) }]);
  assert.deepEqual(warnings, ['only one document (one.txt): holding out the last 10% of its text for validation']);
});

test('a single document is never cut inside a surrogate pair', () => {
  const wellFormed = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s;
  for (let n = 1; n <= 30; n++) {
    for (const text of ['a' + '😀'.repeat(n), '😀'.repeat(n + 1), '😀'.repeat(n) + 'b']) {
      for (const f of [0.1, 0.3, 0.5, 0.9]) {
        const { train, val } = splitDocuments([{ source: 's', text }], f);
        assert.equal(train[0]!.text + val[0]!.text, text);
        assert.ok(train[0]!.text.length > 0 && val[0]!.text.length > 0);
        assert.ok(wellFormed(train[0]!.text) && wellFormed(val[0]!.text), `${JSON.stringify(text)} f=${f}`);
      }
    }
  }
  assert.equal(
    dataErrorOf(() => splitDocuments([{ source: 's', text: '😀' }])),
    'cannot split s: the only document is too short (2 UTF-16 units)',
  );
});

// ---- tokens ----

test('tokenizeDocuments concatenates each document followed by EOS', () => {
  const tok = new ByteLevelTokenizer();
  const stream = tokenizeDocuments(
    [
      { source: 'a', text: 'hi' },
      { source: 'b', text: 'é' },
    ],
    tok,
  );
  assert.ok(stream instanceof Int32Array);
  assert.deepEqual(Array.from(stream), [0x68, 0x69, 257, 0xc3, 0xa9, 257]);
  assert.equal(tokenizeDocuments([], tok).length, 0);
});

// ---- built-in corpus ----

test('the built-in corpus is the 18 Gutenberg books, about 12 MB', () => {
  const paths = builtinCorpusPaths();
  assert.equal(paths.length, 18);
  assert.ok(paths.every((p) => p.endsWith('.txt')));
  assert.ok(paths.some((p) => basename(p) === 'carroll-alice.txt'));
  assert.deepEqual(paths, [...paths].sort());
  const bytes = paths.reduce((sum, p) => sum + statSync(p).size, 0);
  assert.ok(bytes > 11e6 && bytes < 13e6, `${bytes} bytes`);

  const warnings: string[] = [];
  const docs = readBuiltinCorpus({ warn: (m) => warnings.push(m) });
  assert.equal(docs.length, 18);
  // Two books carry a few Latin-1 letters; they are read, not dropped.
  assert.deepEqual(
    warnings.map((w) => basename(w.split(':')[0]!)),
    ['chesterton-ball.txt', 'shakespeare-caesar.txt'],
  );
  assert.ok(docs.find((d) => d.source.endsWith('shakespeare-caesar.txt'))!.text.includes('Cæsar'));

  const stream = tokenizeDocuments(docs, new ByteLevelTokenizer());
  const utf8 = docs.reduce((sum, d) => sum + Buffer.byteLength(d.text, 'utf8'), 0);
  assert.equal(stream.length, utf8 + 18);
});
