// Byte-level tokenizer: ids, exact round trips (random Unicode, invalid bytes), special tokens, and the
// tokenizer.json format (fields other tools rely on, round trip, one-line errors for malformed files).
// BPE vocabularies (trained, GPT-2, Llama-2) are tested in bpe.test.ts.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { FormatError, InputError } from '../src/errors.js';
import { Rng } from '../src/random.js';
import {
  BYTE_TO_UNICODE,
  ByteLevelTokenizer,
  loadTokenizer,
  tokenizerFromJson,
  tokenizerToJson,
} from '../src/tokenizer/index.js';

const tok = new ByteLevelTokenizer();

/** Code point ranges the random strings draw from: scripts, combining marks, emoji, and the whole range. */
const RANGES: readonly [number, number][] = [
  [0x00, 0x7f], // ASCII incl. NUL and controls
  [0x80, 0xff], // Latin-1
  [0x300, 0x36f], // combining diacritical marks
  [0x4e00, 0x9fff], // CJK
  [0xac00, 0xd7a3], // Hangul
  [0x1f300, 0x1f6ff], // emoji
  [0x200d, 0x200d], // zero-width joiner (emoji sequences)
  [0xfe0f, 0xfeff], // variation selector … BOM
  [0x0, 0x10ffff], // anything
];

function randomString(rng: Rng, maxLen: number): string {
  let s = '';
  const len = rng.int(maxLen + 1);
  for (let i = 0; i < len; i++) {
    const [lo, hi] = RANGES[rng.int(RANGES.length)]!;
    let cp = lo + rng.int(hi - lo + 1);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0xfffd; // lone surrogates are not text
    s += String.fromCodePoint(cp);
  }
  return s;
}

test('ids are the UTF-8 bytes, then BOS 256 and EOS 257', () => {
  assert.equal(tok.vocabSize, 258);
  assert.equal(tok.bosId, 256);
  assert.equal(tok.eosId, 257);
  assert.deepEqual(tok.encode('A é'), [0x41, 0x20, 0xc3, 0xa9]);
  assert.deepEqual(tok.encode('😀'), [0xf0, 0x9f, 0x98, 0x80]);
  assert.deepEqual(tok.encode(''), []);
  assert.equal(tok.decode([]), '');
});

test('encode/decode round-trips random Unicode text exactly', () => {
  const rng = new Rng(1234);
  const fixed = ['\uFEFFleading BOM', 'e\u0301 a\u0308', '👩‍👩‍👧‍👦 🇫🇷', '日本語テキスト', 'a\u0000b', '\r\n\t '];
  const samples = [...fixed, ...Array.from({ length: 500 }, () => randomString(rng, 40))];
  for (const s of samples) {
    const ids = tok.encode(s);
    // Independent oracle for the ids: Node's own UTF-8 encoder.
    assert.deepEqual(ids, Array.from(Buffer.from(s, 'utf8')), JSON.stringify(s));
    assert.equal(tok.decode(ids), s);
  }
});

test('encodeBytes/decodeBytes round-trip bytes that are not UTF-8', () => {
  const invalid = [
    [0xff],
    [0xc3], // truncated two-byte sequence
    [0xc0, 0x80], // overlong NUL
    [0xed, 0xa0, 0x80], // encoded surrogate
    [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
    [0x61, 0x80, 0x62],
  ];
  const rng = new Rng(7);
  const random = Array.from({ length: 200 }, () => Array.from({ length: rng.int(64) }, () => rng.int(256)));
  for (const bytes of [...invalid, ...random]) {
    const ids = tok.encodeBytes(Uint8Array.from(bytes));
    assert.deepEqual(ids, bytes);
    assert.deepEqual(Array.from(tok.decodeBytes(ids)), bytes);
  }
  // decode (to text) replaces what is not UTF-8 rather than throwing.
  assert.equal(tok.decode([0x61, 0xff, 0x62]), 'a\uFFFDb');
});

test('special tokens decode to nothing and are never produced from text', () => {
  assert.equal(tok.decode([256, 0x68, 0x69, 257]), 'hi');
  assert.deepEqual(Array.from(tok.decodeBytes([257, 0x41, 256])), [0x41]);
  const literal = tok.encode('<|endoftext|>');
  assert.ok(!literal.includes(tok.eosId));
  assert.equal(tok.decode(literal), '<|endoftext|>');
  assert.deepEqual(tok.encode('<|bos|>'), Array.from(Buffer.from('<|bos|>')));
});

test('decoding an id outside the vocabulary is an InputError naming the id', () => {
  for (const [ids, bad, at] of [
    [[1, 258], 258, 1],
    [[-1], -1, 0],
    [[65, 66, 1.5], 1.5, 2],
  ] as const) {
    assert.throws(
      () => tok.decode(ids),
      (e: unknown) =>
        e instanceof InputError &&
        e.message === `decode: token id ${bad} at position ${at} is outside the vocabulary [0, 258)`,
    );
  }
});

test('decode accepts typed arrays of ids', () => {
  assert.equal(tok.decode(Int32Array.from([0x6f, 0x6b, 257])), 'ok');
});

// ---- tokenizer.json ----

type Json = Record<string, any>;
const freshJson = (): Json => JSON.parse(tokenizerToJson(tok)) as Json;

test('tokenizer.json has the Hugging Face byte-level BPE fields', () => {
  const j = freshJson();
  assert.equal(j['model'].type, 'BPE');
  assert.deepEqual(j['model'].merges, []);
  assert.deepEqual(j['pre_tokenizer'], {
    type: 'ByteLevel',
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: false,
  });
  assert.equal(j['decoder'].type, 'ByteLevel');
  assert.equal(j['normalizer'], null);
  assert.deepEqual(
    j['added_tokens'].map((t: Json) => [t['id'], t['content'], t['special']]),
    [
      [256, '<|bos|>', true],
      [257, '<|endoftext|>', true],
    ],
  );
  const vocab = j['model'].vocab as Record<string, number>;
  assert.equal(Object.keys(vocab).length, 256);
  // GPT-2's map, spot-checked against well-known entries: space is 'Ġ', newline 'Ċ', NUL 'Ā', soft hyphen 'Ń'.
  assert.equal(vocab['Ġ'], 0x20);
  assert.equal(vocab['Ċ'], 0x0a);
  assert.equal(vocab['Ā'], 0x00);
  assert.equal(vocab['Ń'], 0xad);
  assert.equal(vocab['!'], 0x21);
  assert.equal(vocab['~'], 0x7e);
  assert.equal(vocab['é'], 0xe9);
  assert.equal(vocab['ÿ'], 0xff);
  assert.deepEqual(Object.values(vocab).sort((a, b) => a - b), Array.from({ length: 256 }, (_, b) => b));
  for (const c of BYTE_TO_UNICODE) assert.match(c, /^[^\s\p{Cc}]$/u, `token ${JSON.stringify(c)} is visible`);
});

test('tokenizer.json round-trips through tokenizerFromJson and loadTokenizer', () => {
  const text = tokenizerToJson(tok);
  const back = tokenizerFromJson(text, 'tokenizer.json');
  assert.equal(tokenizerToJson(back), text);
  assert.deepEqual(back.encode('héllo 😀'), tok.encode('héllo 😀'));
  const dir = mkdtempSync(join(tmpdir(), 'swat-tok-'));
  try {
    writeFileSync(join(dir, 'tokenizer.json'), text);
    assert.equal(loadTokenizer(dir).vocabSize, 258);
    assert.equal(loadTokenizer(join(dir, 'tokenizer.json')).eosId, 257);
    const missing = join(dir, 'none');
    assert.throws(
      () => loadTokenizer(missing),
      (e: unknown) => e instanceof InputError && e.message === `tokenizer not found: ${missing}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a vocabulary listing the special tokens with their ids is accepted', () => {
  const j = freshJson();
  j['model'].vocab['<|endoftext|>'] = 257;
  assert.equal(tokenizerFromJson(JSON.stringify(j), 'f.json').vocabSize, 258);
});

test('the plain byte layout loads as ByteLevelTokenizer; extra special tokens make a byte-level BPE', () => {
  assert.ok(tokenizerFromJson(tokenizerToJson(tok), 'f.json') instanceof ByteLevelTokenizer);
  const j = freshJson();
  j['added_tokens'].push({ id: 258, content: '<|pad|>', special: true });
  const withPad = tokenizerFromJson(JSON.stringify(j), 'f.json');
  assert.ok(!(withPad instanceof ByteLevelTokenizer));
  assert.equal(withPad.vocabSize, 259);
  assert.deepEqual(withPad.encode('<|pad|> é'), tok.encode('<|pad|> é'));
  assert.equal(withPad.decode([0x61, 258, 0x62, 257]), 'ab');
});

test('malformed tokenizer.json files give one-line FormatErrors naming file and field', () => {
  const cases: [string, (j: Json) => unknown, string][] = [
    ['not JSON', () => '{"model": ', 'not valid JSON (unexpected end at column 11)'],
    ['array', () => [], 'expected a JSON object at the top level'],
    ['no model', (j) => void delete j['model'], 'missing field "model"'],
    ['WordPiece', (j) => void (j['model'].type = 'WordPiece'), 'model.type "WordPiece" is not supported (only "BPE")'],
    ['no type', (j) => void delete j['model'].type, 'missing field "model.type"'],
    ['merges unknown', (j) => void (j['model'].merges = ['Ġ t', 'h e']), 'model.merges[0] "Ġ t" needs token "Ġt", which is not in the vocabulary'],
    ['merge not a pair', (j) => void (j['model'].merges = ['Ġt']), 'model.merges[0] "Ġt" is not a pair of tokens ("left right" or ["left", "right"])'],
    ['merges missing', (j) => void delete j['model'].merges, 'model.merges must be an array'],
    ['vocab missing', (j) => void delete j['model'].vocab, 'model.vocab must be an object mapping token strings to ids'],
    ['vocab negative id', (j) => void (j['model'].vocab['a'] = -1), 'model.vocab "a" has id -1, expected an integer in [0, 2097152)'],
    // 2^32 − 1 is a property name, not an array index: it would make no table entry and vanish.
    ['vocab id 2^32 - 1', (j) => void (j['model'].vocab['zz'] = 4294967295), 'model.vocab "zz" has id 4294967295, expected an integer in [0, 2097152)'],
    ['vocab id 2^21', (j) => void (j['model'].vocab['zz'] = 2 ** 21), 'model.vocab "zz" has id 2097152, expected an integer in [0, 2097152)'],
    ['vocab wrong id', (j) => void (j['model'].vocab['a'] = 5), 'model.vocab gives id 5 to both "ą" and "a"'],
    ['vocab raw space', (j) => void (j['model'].vocab[' '] = 32), 'model.vocab gives id 32 to both "Ġ" and " "'],
    ['vocab short', (j) => void delete j['model'].vocab['Ġ'], 'no token has id 32: ids must run from 0 to 257 without gaps'],
    ['vocab gap', (j) => void (j['model'].vocab['Ġt'] = 1000), 'no token has id 258: ids must run from 0 to 1000 without gaps'],
    [
      'vocab outside the byte alphabet',
      (j) => void (j['model'].vocab['Ġ t'] = 258),
      'model.vocab token 258 "Ġ t" has a character outside the byte-level alphabet',
    ],
    ['normalizer', (j) => void (j['normalizer'] = { type: 'NFC' }), 'normalizer is not supported with a ByteLevel pre-tokenizer (expected null)'],
    [
      'pre_tokenizer',
      (j) => void (j['pre_tokenizer'] = { type: 'Whitespace' }),
      'pre_tokenizer must be {"type": "ByteLevel"} (byte-level BPE), or the file a SentencePiece BPE with byte_fallback; got {"type":"Whitespace"}',
    ],
    ['prefix space', (j) => void (j['pre_tokenizer'].add_prefix_space = true), 'pre_tokenizer.add_prefix_space must be false'],
    ['use_regex', (j) => void (j['pre_tokenizer'].use_regex = 'yes'), 'pre_tokenizer.use_regex must be a boolean, got "yes"'],
    ['dropout', (j) => void (j['model'].dropout = 0.1), 'model.dropout 0.1 is not supported (expected null)'],
    ['ignore_merges', (j) => void (j['model'].ignore_merges = true), 'model.ignore_merges true is not supported (expected false)'],
    ['suffix', (j) => void (j['model'].end_of_word_suffix = '</w>'), 'model.end_of_word_suffix "</w>" is not supported (expected null)'],
    ['added not array', (j) => void (j['added_tokens'] = {}), 'added_tokens must be an array'],
    [
      'added no id',
      (j) => void delete j['added_tokens'][1].id,
      'added_tokens[1] has id nothing, expected an integer in [0, 2097152)',
    ],
    [
      'EOS id 1e15',
      (j) => void (j['added_tokens'][1].id = 1e15),
      'added_tokens[1] has id 1000000000000000, expected an integer in [0, 2097152)',
    ],
    ['added content not a string', (j) => void (j['added_tokens'][0].content = ['<s>']), 'added_tokens[0] needs a string "content", got ["<s>"]'],
    [
      'added not an object',
      (j) => void (j['added_tokens'][0] = 7),
      'added_tokens[0] must be an object, got 7',
    ],
    ['merges longer than any vocabulary', (j) => void (j['model'].merges = new Array(2 ** 21 + 1).fill('a b')), 'model.merges has 2097153 entries, more than the limit of 2097152'],
    ['added moved', (j) => void (j['added_tokens'][0].id = 300), 'no token has id 256: ids must run from 0 to 300 without gaps'],
    [
      'added clashes with vocab',
      (j) => void (j['added_tokens'][0].id = 65),
      'added token "<|bos|>" has id 65, which model.vocab gives to "A"',
    ],
    ['added not special', (j) => void (j['added_tokens'][1].special = false), 'added_tokens[1] "<|endoftext|>" must have "special": true'],
    ['added repeated', (j) => void j['added_tokens'].push(j['added_tokens'][0]), 'added_tokens[2] repeats id 256'],
    ['no EOS', (j) => void j['added_tokens'].pop(), 'added_tokens has no end-of-text token (one of "<|endoftext|>", "</s>")'],
  ];
  for (const [name, mutate, message] of cases) {
    const j = freshJson();
    const replaced = mutate(j);
    const text = typeof replaced === 'string' ? replaced : JSON.stringify(replaced ?? j);
    assert.throws(
      () => tokenizerFromJson(text, 'run/tokenizer.json'),
      (e: unknown) => {
        assert.ok(e instanceof FormatError, name);
        assert.equal(e.message, `run/tokenizer.json: ${message}`, name);
        assert.ok(!e.message.includes('\n'), name);
        return true;
      },
      name,
    );
  }
});
