// swat bench train's PyTorch baseline: measured in the same run by tools/pytorch/bench_train.py, with the
// same architecture and thread count, in interleaved rounds, or reported as not measured, with no ratio, when no Python with
// torch is at hand. Speeds are not asserted, only where the numbers come from.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

import { ReferenceBackend } from '../src/backend/reference.js';
import { type AnchorOptions, benchTrainAgainstPytorch } from '../src/bench/suites.js';
import { ok } from './support/cli.js';

const TINY: AnchorOptions = { layers: 1, dim: 16, heads: 2, vocabSize: 64, seqLen: 16, batch: 2, window: 4 };
const tinyFlags = ['--layers', '1', '--dim', '16', '--heads', '2', '--vocab-size', '64', '--seq-len', '16', '--batch', '2', '--window', '4', '--steps', '1'];

/** A Python that imports torch (Debian's python3-torch installs for the system Python), or null. */
function pythonWithTorch(): string | null {
  for (const python of [process.env['SWAT_TEST_PYTHON'], 'python3', '/usr/bin/python3']) {
    if (python && spawnSync(python, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0) return python;
  }
  return null;
}

test('without a Python with torch, bench train says no baseline was measured and prints no ratio', () => {
  const missing = '/nonexistent/python3';
  const text = ok('bench', 'train', ...tinyFlags, '--python', missing).trimEnd().split('\n');
  assert.equal(text.length, 2);
  assert.match(text[0]!, /^reference, 1 thread\(s\): \d+ tokens\/s/);
  assert.equal(text[1], `no PyTorch baseline measured (${missing} could not be run (ENOENT)), so no ratio`);
  const json = JSON.parse(ok('bench', 'train', ...tinyFlags, '--python', missing, '--json')) as Record<string, unknown>;
  assert.equal(json['pytorch'], null);
  assert.equal(json['vs_pytorch'], null);
  assert.equal(json['pytorch_unavailable'], `${missing} could not be run (ENOENT)`);
  assert.equal(json['rounds'], 1, 'no second round without a baseline');
  assert.ok(!('vs_pytorch_baseline' in json), 'no typed-in baseline');
});

const python = pythonWithTorch();

test('with PyTorch, the baseline trains the same architecture at the same thread count, and the ratio is of the two measured rates',
  { skip: python === null ? 'no Python with torch here' : false }, () => {
    const r = benchTrainAgainstPytorch(new ReferenceBackend('float32'), TINY, 2, false, python!);
    assert.equal(r.pytorch_unavailable, null);
    const p = r.pytorch!;
    assert.equal(p.parameters, r.parameters);
    assert.equal(p.threads, r.threads);
    assert.equal(p.steps, r.steps);
    assert.ok(p.tokens_per_s > 0 && Math.abs(p.tokens_per_s * p.step_s - TINY.batch * TINY.seqLen) < 1e-6 * p.tokens_per_s);
    assert.equal(r.rounds, 2);
    assert.equal(r.vs_pytorch, r.tokens_per_s / p.tokens_per_s);
    assert.ok(p.blas.length > 0, 'the BLAS PyTorch computes with is named');
  });
