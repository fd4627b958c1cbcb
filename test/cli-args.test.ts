// The command line as users type it, through the real swat process: help on every command and subcommand,
// --version, values that start with '-', typos with a suggestion, strict numbers and id lists checked before
// any work, several --data paths as the shell expands a glob, and output into a pipe that closes early.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { benchCommand } from '../src/cli/commands/bench.js';
import { evalCommand } from '../src/cli/commands/eval.js';
import { experimentCommand } from '../src/cli/commands/experiment.js';
import { generateCommand } from '../src/cli/commands/generate.js';
import { infoCommand } from '../src/cli/commands/info.js';
import { initCommand } from '../src/cli/commands/init.js';
import { scoreCommand } from '../src/cli/commands/score.js';
import { tokenizerCommand } from '../src/cli/commands/tokenizer.js';
import { trainCommand } from '../src/cli/commands/train.js';
import { MAIN, SWAT_ENV, fails, ok, swat } from './support/cli.js';

const root = mkdtempSync(join(tmpdir(), 'swat-args-'));
const model = join(root, 'model');
const arch = ['--layers', '1', '--dim', '8', '--heads', '2', '--window', '4', '--intermediate-size', '8'];
ok('init', '--out', model, ...arch);

test('--help and -h on every command and subcommand; --version', () => {
  const specs = [initCommand, trainCommand, generateCommand, scoreCommand, infoCommand, benchCommand, evalCommand, experimentCommand, tokenizerCommand];
  for (const c of specs) {
    const words = c.subcommands ? Object.keys(c.subcommands).map((s) => [c.name, s]) : [[c.name]];
    for (const w of words) {
      const help = ok(...w, '--help');
      assert.match(help, new RegExp(`^Usage: swat ${w.join(' ')} `), w.join(' '));
      assert.equal(ok(...w, '-h'), help);
    }
  }
  assert.match(ok('--help'), /Commands:\n {2}init /);
  assert.equal(ok('--version').trim(), (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version);
});

test('values that start with a dash: a negative seed, a prompt beginning with "-"', () => {
  const a = ok('generate', '--model', model, '--prompt', '-hi', '--seed', '-1', '--max-new-tokens', '3', '--no-stop', '--json');
  assert.equal((JSON.parse(a) as { ids: number[] }).ids.length, 3);
  // -1 is a seed of its own (2^32 − 1), not an alias of 0 or 1.
  const b = ok('generate', '--model', model, '--prompt', '-hi', '--seed', '4294967295', '--max-new-tokens', '3', '--no-stop', '--json');
  assert.equal(a, b);
});

test('typos get a suggestion; missing values and stray words are named', () => {
  fails("swat train: unknown option '--sed' (did you mean --seed?) (see swat train --help)", 'train', '--sed', '1');
  fails("swat: unknown command 'genrate' (did you mean generate?) (see swat --help)", 'genrate');
  fails("swat bench: expected one of peak, gemm, attention, train, browser, decode, tokenizer, serve, got 'gem' (did you mean gemm?)", 'bench', 'gem');
  fails('swat eval: expected one of length, tasks, passkey, probe', 'eval');
  fails('swat generate: --seed needs a value (see swat generate --help)', 'generate', '--model', model, '--seed');
  fails("swat info: unexpected argument 'extra' (see swat info --help)", 'info', '--model', model, 'extra');
});

test('numbers and id lists are strict', () => {
  fails("--max-new-tokens must be a whole number from 0 to 2147483647, got '1e20'", 'generate', '--model', model, '--ids', '1', '--max-new-tokens', '1e20');
  fails("--top-p must be a number from 0 to 1, got '1.5'", 'generate', '--model', model, '--ids', '1', '--top-p', '1.5');
  fails("--seed must be a whole number from -2147483648 to 4294967295, got '0x10'", 'generate', '--model', model, '--ids', '1', '--seed', '0x10');
  fails("--ids must be comma-separated token ids (e.g. 1,2,3), got '1,,2'", 'score', '--model', model, '--ids', '1,,2');
  fails("--ids must be comma-separated token ids (e.g. 1,2,3), got ''", 'score', '--model', model, '--ids', '');
  fails("--ids must be comma-separated token ids (e.g. 1,2,3), got '-1'", 'tokenizer', 'decode', '--tokenizer', 'byte', '--ids', '-1');
  fails("--layers must be a whole number from 1 to 2147483647, got '2.5'", 'init', '--out', join(root, 'never'), '--layers', '2.5');
  const long = 'x'.repeat(200);
  fails(`--lr must be a number ≥ 0, got '${'x'.repeat(47)}…'`, 'train', '--out', join(root, 'never'), '--lr', long);
});

test('train checks every flag before reading any data', () => {
  const corpus = join(root, 'corpus');
  mkdirSync(corpus);
  writeFileSync(join(corpus, 'a.txt'), 'some text '.repeat(200));
  const cache = join(root, 'cache');
  const run = (...args: string[]) => ['train', '--data', corpus, '--cache', cache, ...args];
  fails("--steps must be a whole number from 1 to 2147483647, got '0'", ...run('--out', join(root, 'r1'), '--steps', '0'));
  fails("--lr must be a number ≥ 0, got 'abc'", ...run('--out', join(root, 'r1'), '--lr', 'abc'));
  const file = join(root, 'a-file');
  writeFileSync(file, 'not a directory');
  fails(`--out ${file} is a file, not a directory`, ...run('--out', file));
  fails(/^swat: error: --seq-len 16 is shorter than --window 64: the window would never slide/, ...run('--out', join(root, 'r1'), '--window', '64', '--seq-len', '16'));
  assert.ok(!existsSync(cache), 'no data was tokenized');
});

test('--data takes several paths, as the shell expands a glob', () => {
  const dir = join(root, 'glob');
  mkdirSync(dir);
  for (let i = 0; i < 3; i++) writeFileSync(join(dir, `part${i}.txt`), `Part ${i} of the text. `.repeat(40));
  const out = join(root, 'glob-run');
  const r = swat('train', '--data', ...[0, 1, 2].map((i) => join(dir, `part${i}.txt`)), '--out', out, ...arch, '--seq-len', '8', '--batch-size', '1', '--steps', '1', '--sample-tokens', '0', '--val-fraction', '0.34');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /2 training documents/);
});

test('output into a pipe that closes early stops the command quietly', async () => {
  const child = spawn(process.execPath, [MAIN, 'generate', '--model', model, '--ids', '1', '--max-new-tokens', '100000000', '--no-stop'], { env: SWAT_ENV });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.stdout.destroy();
  const code = await new Promise<number | null>((resolve, reject) => {
    const timer = setTimeout(() => (child.kill('SIGKILL'), reject(new Error('swat generate kept running after its output closed'))), 30_000);
    child.on('exit', (c) => (clearTimeout(timer), resolve(c)));
  });
  assert.equal(code, 0);
  assert.equal(err, '');
});
