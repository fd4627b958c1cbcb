// Optional: a PyTorch implementation written by the project (tools/pytorch/swat_torch.py, plain PyTorch in
// float64, its own safetensors and config.json reading) loads model directories that swat wrote — one file
// or shards, F32, F16 or BF16, SWAT and the swat-only variants — and its log-probabilities match
// `swat score`. Needs a Python with torch (Debian's python3-torch; SWAT_TEST_PYTHON picks one); without
// one the test is skipped with a notice saying so.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ok } from './support/cli.js';
import { fixtureTree } from './support/files.js';
import { pythonWith } from './support/python.js';

const SCRIPT = fileURLToPath(new URL('../../tools/pytorch/score_dir.py', import.meta.url));

const python = pythonWith('torch');
const skip = python === null ? 'no Python with torch here (install python3-torch, or set SWAT_TEST_PYTHON): PyTorch parity not checked' : false;

test('PyTorch loads model directories swat writes and its log-probabilities match swat score', { skip }, () => {
  const { root } = fixtureTree('swat-parity-');
  const ids = '257,72,101,108,108,111,44,32,119,111,114,108,100,33,32,72,101,108,108,111,32,97,103,97,105,110';
  const arch = ['--layers', '2', '--dim', '32', '--heads', '4', '--window', '4', '--intermediate-size', '48'];
  const models: [string, string[]][] = [
    ['swat', []],
    ['variants', ['--attention', 'softmax', '--no-rope', '--sigmoid-bias', '-1', '--alibi', 'split:1:3', '--alibi-schedule', 'paper', '--untied']],
    ['full-attention', ['--window', 'none', '--vocab-size', '300']],
  ];
  for (const [name, flags] of models) {
    const dir = join(root, name);
    ok('init', '--out', dir, ...arch, ...flags, '--seed', '3');
    const exports: [string, string[]][] = [
      ['f32', []],
      ['bf16-sharded', ['--dtype', 'bf16', '--max-shard-size', '16KB']],
      ['f16', ['--dtype', 'f16']],
    ];
    for (const [layout, exportFlags] of exports) {
      const out = join(root, `${name}-${layout}`);
      ok('export', '--model', dir, '--out', out, ...exportFlags);
      const theirs = spawnSync(python!, [SCRIPT, out, ids], { encoding: 'utf8' });
      assert.equal(theirs.status, 0, theirs.stderr);
      const expected = (JSON.parse(theirs.stdout) as { logprobs: number[] }).logprobs;
      const ours = (JSON.parse(ok('score', '--model', out, '--ids', ids)) as { logprobs: number[] }).logprobs;
      const diff = Math.max(...ours.map((x, i) => Math.abs(x - expected[i]!)));
      assert.ok(diff < 1e-4, `${name} ${layout}: max |Δ logprob| ${diff}`);
    }
  }
});
