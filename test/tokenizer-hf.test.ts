// Tokenizers from Python give the ids Hugging Face `tokenizers` gives: Metaspace with prepend_scheme
// always / first / never and split, byte-fallback tokens also listed as added tokens, and special-token text
// in the input matched as tokenizers matches it (lstrip, rstrip, single_word, normalized), or read as plain
// text on request. The expected ids are in test/fixtures/tokenizers/cases.json, which says how they were
// obtained and how to check them against tokenizers (tools/tokenizers/expected_ids.py).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FormatError } from '../src/errors.js';
import type { SpecialTokenMode } from '../src/tokenizer/added-tokens.js';
import { ByteLevelTokenizer } from '../src/tokenizer/byte-level.js';
import { tokenizerFromJson, tokenizerToJson } from '../src/tokenizer/hf-json.js';
import { loadTokenizer } from '../src/tokenizer/tokenizer-file.js';
import { fails, ok } from './support/cli.js';
import { pythonWith } from './support/python.js';

const DIR = fileURLToPath(new URL('../../test/fixtures/tokenizers/', import.meta.url));
const CHECK = fileURLToPath(new URL('../../tools/tokenizers/expected_ids.py', import.meta.url));

interface Case {
  tokenizer: string;
  text: string;
  special_tokens: SpecialTokenMode;
  ids: number[];
}

const { cases } = JSON.parse(readFileSync(join(DIR, 'cases.json'), 'utf8')) as { cases: Case[] };
const fixture = (name: string) => loadTokenizer(join(DIR, `${name}.json`));
const fixtureJson = (name: string) => JSON.parse(readFileSync(join(DIR, `${name}.json`), 'utf8')) as Record<string, any>;

describe('the ids of Hugging Face tokenizers', () => {
  for (const name of new Set(cases.map((c) => c.tokenizer))) {
    it(`${name}: every case of cases.json, and the same after saving and loading again`, () => {
      const tok = fixture(name);
      const again = tokenizerFromJson(tokenizerToJson(tok), 'again.json');
      for (const c of cases.filter((x) => x.tokenizer === name)) {
        const where = `${JSON.stringify(c.text)} (${c.special_tokens})`;
        assert.deepEqual(tok.encode(c.text, { specialTokens: c.special_tokens }), c.ids, where);
        assert.deepEqual(again.encode(c.text, { specialTokens: c.special_tokens }), c.ids, `${where}, saved and loaded`);
      }
    });
  }

  it("Metaspace prepends ▁ only to text that does not start with one: ' hi' is [▁hi], not [▁, ▁hi]", () => {
    assert.deepEqual(fixture('sp-first').encode(' hi'), [263]);
    // Llama-2's normalizer is another thing: Prepend always adds one.
    assert.deepEqual(fixture('sp-byte-added').encode(' hi'), [259, 263]);
  });

  it('special-token text is plain text unless asked for: data cannot inject special tokens', () => {
    for (const name of ['sp-first', 'bl-specials', 'sp-llama-inst']) {
      const tok = fixture(name);
      for (const c of cases.filter((x) => x.tokenizer === name && x.special_tokens === 'text')) assert.deepEqual(tok.encode(c.text), c.ids);
    }
    const bytes = new ByteLevelTokenizer();
    assert.deepEqual(bytes.encode('a<|endoftext|>b<|bos|>', { specialTokens: 'match' }), [97, 257, 98, 256]);
    assert.deepEqual(bytes.encode('a<|endoftext|>'), [97, ...Buffer.from('<|endoftext|>')]);
    assert.deepEqual(bytes.encode('\ud800<|bos|>', { specialTokens: 'match' }), [0xef, 0xbf, 0xbd, 256]); // a lone surrogate is U+FFFD
  });

  it('decodes as the encoder prepends: one leading space dropped, none with prepend_scheme never', () => {
    assert.equal(fixture('sp-first').decode([263, 263]), 'hi hi');
    assert.equal(fixture('sp-never').decode([266, 263]), 'hi hi');
    assert.equal(fixture('sp-never').decode([263]), ' hi');
  });
});

const python = pythonWith('tokenizers');
it('the expected ids are what tokenizers itself gives (where a Python with tokenizers is at hand)', {
  skip: python === null ? 'no Python with the tokenizers package here (set SWAT_TEST_PYTHON): expected ids not rechecked' : false,
}, () => {
  const r = spawnSync(python!, [CHECK, DIR], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^${cases.length} cases, 0 differ$`, 'm'));
});

describe('byte-fallback tokens listed as added tokens', () => {
  it('load, stay byte tokens for encoding and decoding, and save as they were', () => {
    const tok = fixture('sp-byte-added');
    assert.equal(tok.vocabSize, 267);
    assert.equal(tok.decode([68, 68]), 'AA');
    assert.deepEqual([...tok.decodeBytes([198, 172])], [0xc3, 0xa9]);
    assert.equal(tok.decode(tok.encode('hi é, <s>!')), 'hi é, <s>!');
    const added = (JSON.parse(tokenizerToJson(tok)) as { added_tokens: { content: string }[] }).added_tokens;
    assert.equal(added.length, 259);
    assert.equal(added[3 + 0x41]!.content, '<0x41>');
  });
});

describe('tokenizer.json options', () => {
  it('keeps the Metaspace options and the added-token flags when saved again', () => {
    for (const name of ['sp-first', 'sp-always-split', 'sp-never']) {
      const saved = JSON.parse(tokenizerToJson(fixture(name)));
      assert.deepEqual(saved.pre_tokenizer, fixtureJson(name)['pre_tokenizer']);
      assert.equal(saved.normalizer, null);
    }
    const saved = JSON.parse(tokenizerToJson(fixture('bl-specials')));
    assert.deepEqual(saved.added_tokens, fixtureJson('bl-specials')['added_tokens']);
  });

  it("reads tokenizers' defaults: prepend_scheme 'always', split true, and add_prefix_space false as 'never'", () => {
    const base = fixtureJson('sp-first');
    const load = (pre: Record<string, unknown>) => tokenizerFromJson(JSON.stringify({ ...base, pre_tokenizer: { type: 'Metaspace', replacement: '▁', ...pre } }), 'm.json');
    assert.deepEqual(load({}).encode('a  b'), [259, 264, 259, 259, 101]); // always, split
    assert.deepEqual(load({ add_prefix_space: false, split: false }).encode('hi hi'), [266, 263]); // never
    assert.deepEqual(load({ add_prefix_space: true, prepend_scheme: 'first', split: false }).encode('</s>hi', { specialTokens: 'match' }), [2, 266]);
  });

  it('refuses what it cannot read the same way, in one line naming the field', () => {
    const bad = (name: string, mutate: (j: Record<string, any>) => void, message: string) => {
      const j = fixtureJson(name);
      mutate(j);
      assert.throws(() => tokenizerFromJson(JSON.stringify(j), 't.json'), (e: unknown) => e instanceof FormatError && e.message === `t.json: ${message}`);
    };
    bad('sp-first', (j) => void (j['pre_tokenizer'].replacement = '_'), 'pre_tokenizer.replacement must be "▁", got "_"');
    bad('sp-first', (j) => void (j['pre_tokenizer'].prepend_scheme = 'sometimes'), 'pre_tokenizer.prepend_scheme must be "always", "first" or "never", got "sometimes"');
    bad('sp-first', (j) => void (j['pre_tokenizer'].split = 'no'), 'pre_tokenizer.split must be true or false, got "no"');
    bad('sp-first', (j) => void (j['pre_tokenizer'].add_prefix_space = false), 'pre_tokenizer.add_prefix_space false contradicts prepend_scheme "first"');
    bad('bl-specials', (j) => void (j['added_tokens'][1].lstrip = 'yes'), 'added_tokens[1] "<|sep|>" has lstrip "yes", expected true or false');
    bad('bl-specials', (j) => void (j['added_tokens'][2].special = false), 'added_tokens[2] "<mask>" must have "special": true');
  });
});

describe('swat tokenizer encode', () => {
  it("matches special tokens as Hugging Face does, or reads them as text with --special-tokens text", () => {
    const bl = join(DIR, 'bl-specials.json');
    assert.equal(ok('tokenizer', 'encode', '--tokenizer', bl, '--text', 'a <|sep|>  b'), '97,257,98\n');
    assert.equal(ok('tokenizer', 'encode', '--tokenizer', bl, '--text', 'a<|end|>b', '--special-tokens', 'text'), '97,60,124,101,110,100,124,62,98\n');
    assert.equal(ok('tokenizer', 'encode', '--tokenizer', join(DIR, 'sp-first.json'), '--text', ' hi'), '263\n');
    fails("--special-tokens must be one of match, text, got 'maybe'", 'tokenizer', 'encode', '--tokenizer', bl, '--text', 'x', '--special-tokens', 'maybe');
  });
});
