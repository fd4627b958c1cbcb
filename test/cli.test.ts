// The swat command end to end, as a user runs it: real processes, real files. Bad input must give one
// line on stderr naming the problem, a non-zero exit, and no stack trace.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fails, ok, swat } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'swat-cli-'));
const model = join(root, 'model');
const arch = ['--layers', '2', '--dim', '16', '--heads', '2', '--window', '4', '--intermediate-size', '24'];

test('init writes config.json, model.safetensors and tokenizer.json; info reports the receptive field', () => {
  ok('init', '--out', model, ...arch, '--seed', '3');
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(model, f)), f);
  const info = JSON.parse(ok('info', '--model', model, '--json')) as Record<string, unknown>;
  assert.equal(info['receptive_field'], 1 + 3 * 2);
  assert.equal(info['vocab_size'], 258);
  assert.equal(info['decode_cache_bytes_per_sequence'], 2 * 2 * 4 * 16 * 4);
  assert.match(ok('info', '--model', model), /receptive field\s+7 tokens/);
});

test('generate --json prints only the new ids; greedy decoding is deterministic; score agrees with it', () => {
  const a = JSON.parse(ok('generate', '--model', model, '--ids', '72,105', '--max-new-tokens', '12', '--greedy', '--no-stop', '--json')) as { ids: number[] };
  assert.equal(a.ids.length, 12);
  assert.deepEqual(JSON.parse(ok('generate', '--model', model, '--ids', '72,105', '--max-new-tokens', '12', '--greedy', '--no-stop', '--json')), a);
  const s = JSON.parse(ok('score', '--model', model, '--ids', [72, 105, ...a.ids].join(','))) as { ids: number[]; logprobs: number[] };
  assert.equal(s.logprobs.length, 13);
  assert.ok(s.logprobs.every((l) => l <= 0 && Number.isFinite(l)));
  const sampled = JSON.parse(ok('generate', '--model', model, '--prompt', 'Hi', '--max-new-tokens', '5', '--seed', '9', '--no-stop', '--json')) as { ids: number[] };
  assert.equal(sampled.ids.length, 5);
  const text = ok('generate', '--model', model, '--prompt', 'Hi', '--max-new-tokens', '5', '--seed', '9', '--no-stop');
  assert.ok(text.endsWith('\n'));
});

test('score --text uses the tokenizer: byte ids of the UTF-8 text', () => {
  const s = JSON.parse(ok('score', '--model', model, '--text', 'né')) as { ids: number[]; logprobs: number[] };
  assert.deepEqual(s.ids, [110, 0xc3, 0xa9]);
  assert.equal(s.logprobs.length, 2);
});

test('train on a text file, then run again with more steps: it resumes', () => {
  const corpus = join(root, 'corpus');
  mkdirSync(corpus);
  for (let i = 0; i < 4; i++) writeFileSync(join(corpus, `doc${i}.txt`), `Document ${i}. `.repeat(60));
  const out = join(root, 'run');
  const common = ['--data', corpus, '--out', out, ...arch, '--seq-len', '16', '--batch-size', '2', '--eval-interval', '2', '--checkpoint-interval', '2', '--sample-tokens', '8', '--val-fraction', '0.25'];
  const first = ok('train', ...common, '--steps', '4');
  assert.match(first, /validation loss \d+\.\d+ nats\/token \(\d+\.\d+ bits\/byte\) after 4 steps/);
  // The first words of a held-out document prompt the sample; then the commands to try next.
  assert.match(first, /\nprompt: {7}Document \d\. Document \d\. Document \d\.[^\n]*\ncontinuation: /);
  assert.match(first, /\nnext:\n {2}node \S+main\.js generate --model \S+ --prompt 'Document \d\. Document \d\.'/);
  assert.match(first, /train --out \S+ --steps N +train longer: the same command resumes\n$/);
  const prompted = ok('train', ...common.map((a) => (a === out ? join(root, 'run-prompt') : a)), '--steps', '1', '--sample-prompt', 'Doc');
  assert.match(prompted, /\nprompt: {7}Doc\ncontinuation: /);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'optimizer.safetensors', 'trainer_state.json', 'metrics.jsonl', 'loss.svg']) assert.ok(existsSync(join(out, f)), f);
  const r = swat('train', ...common, '--steps', '6');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /resuming .* at step 4/);
  assert.match(r.out, /after 6 steps/);
  const gen = JSON.parse(ok('generate', '--model', out, '--prompt', 'Doc', '--max-new-tokens', '3', '--no-stop', '--json')) as { ids: number[] };
  assert.equal(gen.ids.length, 3);
});

test('bad input: one line naming the problem, non-zero exit, no stack trace', () => {
  const missing = join(root, 'nope');
  fails(`data path not found: ${missing}`, 'train', '--data', missing, '--out', join(root, 'x'));
  const empty = join(root, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'a.txt'), '');
  fails(`corpus is empty: no documents in ${empty}`, 'train', '--data', empty, '--out', join(root, 'x'));
  fails(`model directory not found: ${missing}`, 'generate', '--model', missing, '--ids', '1');
  fails('token id 300 at index 1 is outside the vocabulary [0, 258)', 'generate', '--model', model, '--ids', '1,300');
  fails('token id 258 at index 0 is outside the vocabulary [0, 258)', 'score', '--model', model, '--ids', '258,1');
  fails("--ids must be comma-separated token ids (e.g. 1,2,3), got '1,x'", 'score', '--model', model, '--ids', '1,x');
  fails("swat generate: unknown option '--bogus' (see swat generate --help)", 'generate', '--model', model, '--bogus');
  fails("swat: unknown command 'fly' (see swat --help)", 'fly');
  fails('swat init: --out is required (see swat init --help)', 'init');
  fails("--window must be a positive whole number or 'none', got '0'", 'init', '--out', join(root, 'y'), '--window', '0');
});

function brokenModel(name: string, edit: (dir: string) => void): string {
  const dir = join(root, name);
  ok('init', '--out', dir, ...arch);
  edit(dir);
  return dir;
}

test('bad model files: corrupt or truncated weights, config with a missing or wrong field', () => {
  const truncated = brokenModel('truncated', (d) => truncateSync(join(d, 'model.safetensors'), statSync(join(d, 'model.safetensors')).size - 100));
  fails(new RegExp(`^swat: error: ${join(truncated, 'model.safetensors')}: truncated: `), 'generate', '--model', truncated, '--ids', '1');
  const corrupt = brokenModel('corrupt', (d) => writeFileSync(join(d, 'model.safetensors'), Buffer.from('this is not a safetensors file at all')));
  fails(new RegExp(`^swat: error: ${join(corrupt, 'model.safetensors')}: `), 'score', '--model', corrupt, '--ids', '1,2');
  const noField = brokenModel('nofield', (d) => {
    const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
    delete c['num_heads'];
    writeFileSync(join(d, 'config.json'), JSON.stringify(c));
  });
  fails(`${join(noField, 'config.json')}: missing field "num_heads" (a positive integer; the authors' SWATConfig would take 32)`, 'info', '--model', noField);
  const wrong = brokenModel('wrongfield', (d) => {
    const c = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
    c['hidden_size'] = 20;
    writeFileSync(join(d, 'config.json'), JSON.stringify(c));
  });
  fails(`${join(wrong, 'model.safetensors')}: tensor "model.embeddings.weight" has shape [258, 16], the config needs [258, 20]`, 'generate', '--model', wrong, '--ids', '1');
});


test('bench train --json prints tokens_per_s and a per-op breakdown (a smoke test: speed is not asserted)', () => {
  const r = JSON.parse(ok('bench', 'train', '--layers', '1', '--dim', '16', '--heads', '2', '--vocab-size', '64', '--seq-len', '16', '--batch', '2', '--window', '4', '--steps', '1', '--profile', '--json')) as Record<string, unknown>;
  assert.ok((r['tokens_per_s'] as number) > 0);
  assert.ok('matmul' in (r['breakdown'] as object) && 'attentionBackward' in (r['breakdown'] as object));
  fails("swat bench: expected one of peak, gemm, attention, train, browser, decode, tokenizer, serve, got 'fast'", 'bench', 'fast');
});
