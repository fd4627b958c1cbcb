// generate, score and chat as a user runs them: long input from a file or standard input, the short flags,
// stop strings, --json with the text, a conversation piped in, and one-line errors for bad flags.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { MAIN, SWAT_ENV, fails, ok } from './support/cli.js';
import { fixtureTree } from './support/files.js';
import { chainModelDir, randomModelDir } from './support/models.js';

const { root, put } = fixtureTree('swat-infer-cli-');
const chain = chainModelDir(root, 'né€😀');
const chat = chainModelDir(root, ': Hé!', 'chat');
const random = randomModelDir(root);

function withInput(input: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input, encoding: 'utf8', env: SWAT_ENV });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

test('generate: short flags, --json with the text and why it ended, stop strings, --temperature 0 is greedy', () => {
  const json = JSON.parse(ok('generate', '-m', chain, '-p', '', '-n', '20', '--temp', '0', '--json'));
  assert.deepEqual(json, { ids: [110, 195, 169, 226, 130, 172, 240, 159, 152, 128, 257], text: 'né€😀', finish_reason: 'stop', prompt_tokens: 1 });
  assert.equal(ok('generate', '-m', chain, '-p', '', '-n', '28', '--temperature', '0', '--no-stop'), 'né€😀né€😀né€\n');
  assert.equal(ok('generate', '-m', chain, '-p', '', '-n', '30', '--greedy', '--stop', '😀', '--stop', 'zz'), 'né€\n');
  assert.equal(ok('generate', '-m', chain, '-p', '', '-n', '30', '-s', '5'), 'né€😀\n');
});

test('generate --prompt-file and score --file read a file or standard input', () => {
  const text = 'A prompt far too long for an argument list. '.repeat(2000);
  const file = put('long.txt', text);
  const fromFile = JSON.parse(ok('generate', '-m', random, '--prompt-file', file, '-n', '3', '--json'));
  const fromStdin = JSON.parse(withInput(text, 'generate', '-m', random, '--prompt-file', '-', '-n', '3', '--json'));
  assert.equal(fromFile.prompt_tokens, Buffer.byteLength(text));
  assert.deepEqual(fromStdin, fromFile);
  const score = JSON.parse(withInput('Hello there', 'score', '-m', random, '--file', '-'));
  assert.deepEqual(score.ids, [...Buffer.from('Hello there')]);
  assert.equal(score.logprobs.length, 10);
  assert.ok(Math.abs(score.sum - score.logprobs.reduce((a: number, b: number) => a + b, 0)) < 1e-9);
  assert.ok(Math.abs(score.perplexity - Math.exp(-score.sum / 10)) < 1e-9);
  assert.ok(Math.abs(score.bits_per_byte - -score.sum / Math.LN2 / 10) < 1e-9);
});

test('chat with a conversation piped in: answers, /reset, end of input quits', () => {
  assert.equal(withInput('Hello\n/reset\nAnd you?\n', 'chat', '-m', chat, '--temp', '0'), ' Hé!\n(conversation reset)\n Hé!\n');
});

test('bad flags of generate, score, chat and serve are one line, before any work', () => {
  const missing = join(root, 'missing');
  fails(`--prompt-file: cannot read '${join(root, 'nope.txt')}': no such file`, 'generate', '-m', random, '--prompt-file', join(root, 'nope.txt'));
  fails('give exactly one of --prompt, --prompt-file and --ids', 'generate', '-m', random, '-p', 'x', '--ids', '1');
  fails('give exactly one of --text, --file and --ids', 'score', '-m', random);
  fails("--top-p must be a number from 0 to 1, got '2'", 'generate', '-m', random, '-p', 'x', '--top-p', '2');
  fails("--repeat-penalty must be a positive number, got '0'", 'generate', '-m', random, '-p', 'x', '--repeat-penalty', '0');
  fails(`model directory not found: ${missing}`, 'chat', '-m', missing);
  fails(`model directory not found: ${missing}`, 'serve', '-m', missing);
  fails("--port must be a port number from 0 to 65535, got '70000'", 'serve', '-m', random, '--port', '70000');
  fails('swat serve: --model is required (see swat serve --help)', 'serve');
  fails('swat generate: --model needs a value (see swat generate --help)', 'generate', '-m');
});

test('bench serve --json on the default shape: rows per stream count and memory per stream (a smoke test: speed is not asserted)', { timeout: 180_000 }, () => {
  // On the native backend when it is built: the memory measurement then runs the addon on this thread
  // after the worker that used it has exited, which once deadlocked its thread pool.
  const env = { ...process.env };
  delete env['SWAT_BACKEND'];
  const r = spawnSync(process.execPath, [MAIN, 'bench', 'serve', '--streams', '1,64', '--tokens', '16', '--memory-streams', '16', '--json'], { encoding: 'utf8', env, timeout: 150_000 });
  assert.equal(r.status, 0, `status ${r.status}, signal ${r.signal}: ${r.stderr}`);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.rows.map((x: { streams: number }) => x.streams), [1, 64]);
  assert.equal(out.rows[0].speedup, 1);
  assert.ok(out.rows.every((x: { tokens_per_s: number; p99_ms_per_token: number; p50_ms_per_token: number }) => x.tokens_per_s > 0 && x.p99_ms_per_token >= x.p50_ms_per_token));
  // The default training shape: K and V, 3 layers, ω = 32, d = 96; the cache keeps 8 spare rows.
  assert.equal(out.memory.window_cache_bytes, 2 * 3 * 32 * 96 * 4);
  assert.equal(out.memory.cache_bytes_per_stream, 2 * 3 * (32 - 1 + 8) * 96 * 4);
});
