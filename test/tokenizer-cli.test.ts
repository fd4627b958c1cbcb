// The tokenizer and data commands end to end, as a user runs them: swat tokenizer train/encode/decode, a
// model initialised and trained with each kind of vocabulary, the token cache reused by a second run, and
// one-line errors for bad input.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fails, succeeds } from './support/cli.js';
import { gzipSync } from 'node:zlib';

const root = mkdtempSync(join(tmpdir(), 'swat-tokcli-'));
after(() => rmSync(root, { recursive: true, force: true }));




const corpus = join(root, 'corpus');
mkdirSync(corpus);
for (let i = 0; i < 8; i++) {
  writeFileSync(join(corpus, `doc${i}.txt`), `The quick brown fox ${i} jumps over the lazy dog. `.repeat(20 + i));
}
writeFileSync(join(corpus, 'more.jsonl.gz'), gzipSync('{"text":"the lazy dog sleeps"}\n{"text":"the fox runs"}\n'));
const arch = ['--layers', '1', '--dim', '16', '--heads', '2', '--window', '4', '--intermediate-size', '24'];

test('tokenizer train writes a tokenizer.json that encode and decode use', () => {
  const dir = join(root, 'bpe');
  const r = succeeds('tokenizer', 'train', '--data', corpus, '--vocab-size', '300', '--out', dir);
  assert.match(r.out, /^42 merges learned from 10 documents .* vocabulary 300; wrote /);
  const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
  assert.equal(json.model.merges.length, 42);
  const enc = succeeds('tokenizer', 'encode', '--tokenizer', dir, '--text', 'The quick brown fox');
  const ids = enc.out.trim();
  assert.match(ids, /^\d+(,\d+)*$/);
  assert.ok(ids.split(',').length < 'The quick brown fox'.length, 'merged');
  assert.match(enc.err, /^\d+ tokens, 19 bytes \(\d+\.\d\d bytes\/token\)\n$/);
  assert.equal(succeeds('tokenizer', 'decode', '--tokenizer', dir, '--ids', ids).out, 'The quick brown fox\n');
  const pieces = succeeds('tokenizer', 'encode', '--tokenizer', 'gpt2', '--text', 'Hello world', '--pieces').out;
  assert.equal(pieces, '15496\t"Hello"\n995\t" world"\n');
  // A file's bytes that are not UTF-8 are encoded exactly.
  const bin = join(root, 'bytes.bin');
  writeFileSync(bin, Uint8Array.from([0x61, 0xff, 0x62]));
  assert.equal(succeeds('tokenizer', 'encode', '--tokenizer', 'byte', '--file', bin).out, '97,255,98\n');
});

test('init and train take gpt2, llama2 or a trained tokenizer.json; the model directory keeps it', () => {
  for (const [name, vocab, eos] of [['gpt2', 50257, 50256], ['llama2', 32000, 2]] as const) {
    const dir = join(root, `init-${name}`);
    succeeds('init', '--out', dir, '--tokenizer', name, ...arch);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    assert.equal(config.vocab_size, vocab);
    assert.equal(config.eos_token_id, eos);
    const tok = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    assert.ok(tok.model.merges.length >= 50_000); // GPT-2: 50,000; Llama-2: 61,249
    // The stored file alone encodes: the model directory works as a tokenizer.
    assert.equal(succeeds('tokenizer', 'encode', '--tokenizer', dir, '--text', 'Hello world').out, name === 'gpt2' ? '15496,995\n' : '15043,3186\n');
  }
  const bpe = join(root, 'bpe');
  const out = join(root, 'run');
  const cache = join(root, 'cache');
  const args = ['train', '--data', corpus, '--tokenizer', bpe, '--out', out, '--cache', cache, ...arch, '--seq-len', '8', '--batch-size', '2', '--eval-interval', '2', '--eval-batches', '1', '--sample-tokens', '4'];
  const first = succeeds(...args, '--steps', '2');
  assert.match(first.err, /tokenized \(no cache yet\), /);
  assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).vocab_size, 300);
  const second = succeeds(...args, '--steps', '4');
  assert.match(second.err, /token cache reused, .*: 9 training documents \(\d[\d,]* tokens\), 1 validation documents/);
  assert.match(second.err, /resuming .* at step 2/);
  assert.equal(readdirSync(cache).length, 1);
  assert.ok(existsSync(join(readdirSync(cache).map((e) => join(cache, e))[0]!, 'manifest.json')));
});

test('bad input: one line naming the problem', () => {
  const missing = join(root, 'nope');
  fails(`--tokenizer: unknown tokenizer '${missing}' (expected: byte, gpt2, llama2, or a tokenizer.json file or directory)`, 'init', '--out', join(root, 'x'), '--tokenizer', missing);
  fails('swat tokenizer train: --out is required (see swat tokenizer train --help)', 'tokenizer', 'train', '--data', corpus);
  fails('swat tokenizer encode: --tokenizer is required (see swat tokenizer encode --help)', 'tokenizer', 'encode', '--text', 'x');
  fails('decode: token id 300 at position 1 is outside the vocabulary [0, 300)', 'tokenizer', 'decode', '--tokenizer', join(root, 'bpe'), '--ids', '1,300');
  fails(`no files match ${join(corpus, '*.csv')}`, 'tokenizer', 'train', '--data', join(corpus, '*.csv'), '--out', join(root, 'y'));
  const notJson = join(root, 'bad-tokenizer.json');
  writeFileSync(notJson, '{"model": {"type": "Unigram"}}');
  fails(`${notJson}: model.type "Unigram" is not supported (only "BPE")`, 'tokenizer', 'encode', '--tokenizer', notJson, '--text', 'x');
});
