// BPE vocabularies: GPT-2 pre-tokenization, exact round trips (any Unicode, invalid UTF-8, empty and very
// long inputs), merges checked against an independent naive BPE, training (first merges, tie-break, size,
// speed on the built-in corpus), tokenizer.json round trips, and the pretrained GPT-2 and Llama-2 vocabularies
// against their own npm packages' encoders.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encode as gpt2Encode } from 'gpt-tokenizer/encoding/r50k_base';
import llamaReference from 'llama-tokenizer-js';
import { readBuiltinCorpus } from '../src/data/builtin.js';
import { FormatError } from '../src/errors.js';
import { Rng } from '../src/random.js';
import {
  ByteLevelBpeTokenizer,
  PieceCounter,
  SentencePieceBpeTokenizer,
  type Tokenizer,
  gpt2Tokenizer,
  llama2Tokenizer,
  splitGpt2,
  tokenizerFromJson,
  tokenizerToJson,
  trainBpe,
  utf8Runs,
} from '../src/tokenizer/index.js';

function randomString(rng: Rng, maxLen: number): string {
  const ranges: [number, number][] = [
    [0x20, 0x7e], [0x20, 0x20], [0x0a, 0x0a], [0x09, 0x0d], [0x80, 0xff], [0x300, 0x36f], [0x4e00, 0x4e80], [0x1f300, 0x1f320], [0x0, 0x10ffff],
  ];
  let s = '';
  const len = rng.int(maxLen + 1);
  for (let i = 0; i < len; i++) {
    const [lo, hi] = ranges[rng.int(ranges.length)]!;
    let cp = lo + rng.int(hi - lo + 1);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd;
    s += String.fromCodePoint(cp);
  }
  return s;
}

const SMALL_CORPUS = [
  "The cat sat on the mat. The cat's hat is red; the dog's hat isn't.",
  'Numbers: 12345 and 678, 3.14159 — and some ünïcödé, 日本語, emoji 😀😀.',
  'the the the then there these those them they theirs',
  '    indented\n\n\tand tabbed  text   with   runs of spaces\r\n',
];

function smallBpe(vocabSize = 400): ByteLevelBpeTokenizer {
  const counter = new PieceCounter();
  for (let k = 0; k < 3; k++) for (const t of SMALL_CORPUS) counter.add(t);
  return trainBpe(counter.counts, { vocabSize, minFrequency: 1 });
}

/** Independent oracle: the textbook BPE loop over token strings, leftmost lowest-rank pair first. */
function naiveBpe(tok: ByteLevelBpeTokenizer, text: string): number[] {
  const { tokens, merges } = tok.spec;
  const rank = new Map(merges.map(([a, b], r) => [`${a} ${b}`, r]));
  const idOf = new Map(tokens.map((t, id) => [t, id]));
  const out: number[] = [];
  for (const piece of splitGpt2(text)) {
    let parts = Array.from(Buffer.from(piece, 'utf8'), (b) => tokens[b]!);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = rank.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      parts = [...parts.slice(0, best), parts[best]! + parts[best + 1]!, ...parts.slice(best + 2)];
    }
    for (const p of parts) out.push(idOf.get(p)!);
  }
  return out;
}

// ---- pre-tokenization ----

test("GPT-2's regex splits words, contractions, numbers, punctuation and whitespace runs", () => {
  assert.deepEqual(splitGpt2("Hello world's  test 123!!\n\n  x"), ['Hello', ' world', "'s", ' ', ' test', ' 123', '!!', '\n\n ', ' x']);
  assert.deepEqual(splitGpt2(''), []);
  const rng = new Rng(5);
  for (let i = 0; i < 300; i++) {
    const s = randomString(rng, 60);
    assert.equal(splitGpt2(s).join(''), s);
  }
});

test('utf8Runs separates valid UTF-8 from bytes that start no valid sequence', () => {
  const runs = utf8Runs(Uint8Array.from([0x61, 0xc3, 0xa9, 0xff, 0xc3, 0x62, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80]));
  assert.deepEqual(
    runs.map((r) => [r.valid, Array.from(r.bytes)]),
    [
      [true, [0x61, 0xc3, 0xa9]],
      [false, [0xff, 0xc3]],
      [true, [0x62]],
      [false, [0xed, 0xa0, 0x80]],
      [true, [0xf0, 0x9f, 0x98, 0x80]],
    ],
  );
  assert.deepEqual(utf8Runs(new Uint8Array(0)), []);
});

// ---- round trips ----

function checkRoundTrips(tok: Tokenizer, rng: Rng): void {
  const fixed = ['', ' ', 'a', '\uFEFFBOM', 'e\u0301', '👩‍👩‍👧‍👦 🇫🇷', "don't 'll", '\r\n\t', 'a\u0000b', '<|endoftext|>', '<s></s>'];
  for (const s of [...fixed, ...Array.from({ length: 300 }, () => randomString(rng, 50))]) {
    assert.equal(tok.decode(tok.encode(s)), s, JSON.stringify(s));
  }
  for (let i = 0; i < 200; i++) {
    const bytes = Uint8Array.from({ length: rng.int(40) }, () => (rng.int(3) === 0 ? rng.int(256) : 0x61 + rng.int(4)));
    assert.deepEqual(Array.from(tok.decodeBytes(tok.encodeBytes(bytes))), Array.from(bytes));
  }
  const long = 'word '.repeat(20_000) + ' '.repeat(30_000) + 'x'.repeat(30_000) + '1'.repeat(5_000);
  assert.equal(tok.decode(tok.encode(long)), long);
  const lone = 'a\uD800b';
  assert.equal(tok.decode(tok.encode(lone)), 'a\uFFFDb');
}

test('a trained BPE round-trips any text and any bytes exactly', () => {
  checkRoundTrips(smallBpe(), new Rng(11));
});

test('BPE encoding equals a naive BPE on random and long inputs (scan and heap paths)', () => {
  const tok = smallBpe();
  const rng = new Rng(12);
  const alphabet = ['t', 'h', 'e', ' ', 'a', 'c', 's', '\n', 'é', '1'];
  for (let i = 0; i < 200; i++) {
    const len = i < 150 ? rng.int(30) : 50 + rng.int(400); // long pieces take the heap path
    const s = Array.from({ length: len }, () => alphabet[rng.int(alphabet.length)]!).join('');
    assert.deepEqual(tok.encode(s), naiveBpe(tok, s), JSON.stringify(s));
  }
  const spaces = ' '.repeat(500) + 'thethe'.repeat(100);
  assert.deepEqual(tok.encode(spaces), naiveBpe(tok, spaces));
});

// ---- training ----

test('training merges the most frequent pair first, ties to smaller ids, and stops at the vocabulary size', () => {
  const counter = new PieceCounter();
  counter.add('ab ab ab cd cd cd');
  const tok = trainBpe(counter.counts, { vocabSize: 262, minFrequency: 1 });
  // Pieces: "ab" ×1, " ab" ×2, " cd" ×3. Pair counts: (a,b) 3, (Ġ,a) 2, (Ġ,c) 3, (c,d) 3.
  // Count 3 ties between (a,b) (97, 98), (Ġ,c) (32, 99) and (c,d) (99, 100): smallest ids first.
  assert.deepEqual(tok.spec.merges, [
    ['Ġ', 'c'],
    ['a', 'b'],
    ['Ġc', 'd'],
    ['Ġ', 'ab'],
  ]);
  assert.equal(tok.vocabSize, 262);
  assert.deepEqual(tok.encode(' cd ab'), [260, 261]);
  assert.deepEqual(tok.encode('ab'), [259]);
  // Pairs seen once are not merged by default: training stops early rather than memorising.
  assert.equal(trainBpe(counter.counts, { vocabSize: 1000 }).vocabSize, 262);
  assert.throws(() => trainBpe(counter.counts, { vocabSize: 100 }), /vocab size must be an integer in \[258, /);
});

test('8k merges train on the built-in corpus well under a minute, and compress it ~3.5×', () => {
  const docs = readBuiltinCorpus();
  const start = performance.now();
  const counter = new PieceCounter();
  for (const d of docs) counter.add(d.text);
  const tok = trainBpe(counter.counts, { vocabSize: 8192 });
  const seconds = (performance.now() - start) / 1000;
  assert.equal(tok.vocabSize, 8192);
  assert.ok(seconds < 30, `${seconds.toFixed(1)} s`);
  const text = docs[0]!.text;
  const ids = tok.encode(text);
  assert.equal(tok.decode(ids), text);
  const bytesPerToken = Buffer.byteLength(text) / ids.length;
  assert.ok(bytesPerToken > 3 && bytesPerToken < 5, `${bytesPerToken} bytes per token`);
});

// ---- tokenizer.json ----

test('a trained BPE saves as Hugging Face byte-level BPE and loads back with the same ids', () => {
  const tok = smallBpe();
  const text = tokenizerToJson(tok);
  const j = JSON.parse(text);
  assert.equal(j.model.type, 'BPE');
  assert.deepEqual(j.pre_tokenizer, { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
  assert.equal(j.decoder.type, 'ByteLevel');
  assert.equal(j.model.merges.length, tok.vocabSize - 258);
  assert.equal(j.model.merges[0], tok.spec.merges[0]!.join(' '));
  assert.equal(j.model.vocab[tok.spec.merges[0]!.join('')], 258);
  assert.equal(Object.keys(j.model.vocab).length, tok.vocabSize - 2); // the specials are added tokens
  const back = tokenizerFromJson(text, 'tokenizer.json');
  assert.ok(back instanceof ByteLevelBpeTokenizer);
  assert.equal(tokenizerToJson(back), text);
  const sample = SMALL_CORPUS.join('\n') + ' 😀 and more';
  assert.deepEqual(back.encode(sample), tok.encode(sample));
  assert.equal(back.bosId, 256);
  assert.equal(back.eosId, 257);
  assert.equal(back.description, `byte-level BPE, ${tok.vocabSize} tokens (${tok.vocabSize - 258} merges)`);
  // Merges as [left, right] arrays (newer files) read the same.
  j.model.merges = tok.spec.merges.map(([a, b]) => [a, b]);
  assert.deepEqual(tokenizerFromJson(JSON.stringify(j), 't.json').encode(sample), tok.encode(sample));
});

// ---- pretrained ----

const gpt2 = gpt2Tokenizer();
const llama = llama2Tokenizer();

const PRETRAINED_SAMPLES = [
  'Hello world',
  "It's 2024, they'll say: I'm fine, you've won, we'd go.",
  '   leading spaces and trailing   ',
  'Unicode: ünïcödé 日本語テキスト 한국어 😀👩‍👩‍👧',
  'line one\nline two\n\n\ttabbed\r\n',
  'x = [1, 2, 3]; y = {"a": 10_000}  # code',
];

test('GPT-2: 50,257 tokens, EOS 50256 as BOS too, the same ids as gpt-tokenizer', () => {
  assert.equal(gpt2.vocabSize, 50257);
  assert.equal(gpt2.eosId, 50256);
  assert.equal(gpt2.bosId, 50256);
  assert.deepEqual(gpt2.encode('Hello world'), [15496, 995]);
  const corpus = readBuiltinCorpus().map((d) => d.text.slice(0, 20_000));
  for (const s of [...PRETRAINED_SAMPLES, ...corpus]) assert.deepEqual(gpt2.encode(s), gpt2Encode(s), s.slice(0, 40));
  checkRoundTrips(gpt2, new Rng(21));
  assert.equal(gpt2.decode([15496, 50256, 995]), 'Hello world');
});

test('GPT-2 saves as tokenizer.json with its merges and loads back without the package', () => {
  const text = tokenizerToJson(gpt2);
  const j = JSON.parse(text);
  assert.equal(j.model.merges.length, 50_000);
  assert.equal(j.model.merges[0], 'Ġ t');
  assert.equal(j.model.vocab['<|endoftext|>'], 50256);
  assert.equal(j.model.vocab['Hello'], 15496);
  const back = tokenizerFromJson(text, 'gpt2/tokenizer.json');
  assert.equal(back.vocabSize, 50257);
  assert.equal(back.eosId, 50256);
  for (const s of PRETRAINED_SAMPLES) assert.deepEqual(back.encode(s), gpt2Encode(s));
});

test('Llama-2: 32,000 tokens, <s> 1 and </s> 2, the same ids as llama-tokenizer-js', () => {
  assert.equal(llama.vocabSize, 32000);
  assert.equal(llama.bosId, 1);
  assert.equal(llama.eosId, 2);
  // The package's own test cases (it adds BOS by default; ours never does).
  assert.deepEqual(llama.encode('grabbed'), [2646, 1327, 287]);
  assert.deepEqual(llama.encode(' grabbed'), [29871, 2646, 1327, 287]);
  assert.deepEqual(llama.encode('           grabbed'), [9651, 2646, 1327, 287]);
  assert.deepEqual(llama.encode('\n'), [29871, 13]); // byte fallback: <0x0A> is id 13
  assert.deepEqual(llama.encode(''), []);
  const corpus = readBuiltinCorpus().map((d) => d.text.slice(0, 5_000));
  for (const s of [...PRETRAINED_SAMPLES, ...corpus]) {
    assert.deepEqual(llama.encode(s), llamaReference.encode(s, false, true), s.slice(0, 40));
  }
  checkRoundTrips(llama, new Rng(31));
});

test('Llama-2: decodeBytes is the exact inverse of encodeBytes and concatenates token by token', () => {
  const ids = llama.encode('Hello world, again');
  assert.equal(Buffer.from(llama.decodeBytes(ids)).toString(), ' Hello world, again'); // the ▁ encode prepends
  const pieces = ids.map((id) => Buffer.from(llama.decodeBytes([id])).toString()).join('');
  assert.equal(pieces, ' Hello world, again');
  const raw = Uint8Array.from([0x20, 0x61, 0xff, 0x20, 0x20, 0xe2, 0x82]);
  assert.deepEqual(Array.from(llama.decodeBytes(llama.encodeBytes(raw))), Array.from(raw));
  assert.equal(llama.decode([1, ...ids, 2]), 'Hello world, again');
});

test('Llama-2 saves in Hugging Face layout (byte fallback, Prepend/Replace normalizer) and loads back', () => {
  const text = tokenizerToJson(llama);
  const j = JSON.parse(text);
  assert.equal(j.model.byte_fallback, true);
  assert.equal(j.model.unk_token, '<unk>');
  assert.equal(j.model.vocab['<0x0A>'], 13);
  assert.equal(j.model.vocab['▁the'], 278);
  assert.equal(j.model.merges[0], '▁ t');
  assert.deepEqual(j.normalizer.normalizers.map((n: { type: string }) => n.type), ['Prepend', 'Replace']);
  assert.equal(j.pre_tokenizer, null);
  const back = tokenizerFromJson(text, 'llama/tokenizer.json');
  assert.ok(back instanceof SentencePieceBpeTokenizer);
  assert.equal(back.description, 'SentencePiece BPE with byte fallback, 32000 tokens (61249 merges)');
  for (const s of PRETRAINED_SAMPLES) assert.deepEqual(back.encode(s), llama.encode(s));
  // The Metaspace pre-tokenizer form (newer Llama files) means the same thing.
  const meta = { ...j, normalizer: null, pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: false } };
  assert.deepEqual(tokenizerFromJson(JSON.stringify(meta), 'm.json').encode(PRETRAINED_SAMPLES[1]!), llama.encode(PRETRAINED_SAMPLES[1]!));
  const bad = (mutate: (x: Record<string, any>) => void, message: string): void => {
    const x = JSON.parse(text);
    mutate(x);
    assert.throws(() => tokenizerFromJson(JSON.stringify(x), 'l.json'), (e: unknown) => e instanceof FormatError && e.message === `l.json: ${message}`);
  };
  bad((x) => void (x.model.byte_fallback = false), 'model.byte_fallback must be true for a SentencePiece BPE (byte fallback keeps every text encodable)');
  bad((x) => void (x.normalizer.normalizers = [x.normalizer.normalizers[1]]), `normalizer must be {"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]} for a SentencePiece BPE, got {"type":"Sequence","normalizers":[{"type":"Replace","patter…`);
  bad((x) => void delete x.model.vocab['<0x41>'], 'no token has id 68: ids must run from 0 to 31999 without gaps');
});
