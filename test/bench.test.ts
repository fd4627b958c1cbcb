// swat bench train's PyTorch baseline: measured in the same run by tools/pytorch/bench_train.py, with the
// same architecture and thread count, in interleaved rounds, or reported as not measured, with no ratio, when no Python with
// torch is at hand. And swat bench decode's accounting: each dtype's bytes per token and its share of the
// bandwidth measured in the same run. Speeds are not asserted, only where the numbers come from.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ReferenceBackend } from '../src/backend/reference.js';
import { type AnchorOptions, benchTrainAgainstPytorch } from '../src/bench/suites.js';
import type { DecodeResult } from '../src/bench/decode.js';
import { makeConfig } from '../src/config.js';
import { fails, ok } from './support/cli.js';
import { pythonWith } from './support/python.js';

const TINY: AnchorOptions = { layers: 1, dim: 16, heads: 2, vocabSize: 64, seqLen: 16, batch: 2, window: 4 };
const tinyFlags = ['--layers', '1', '--dim', '16', '--heads', '2', '--vocab-size', '64', '--seq-len', '16', '--batch', '2', '--window', '4', '--steps', '1'];


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

const python = pythonWith('torch');

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

test('bench decode measures every dtype at every position against the bandwidth of the same run, and loading against each file', () => {
  const flags = ['--layers', '1', '--dim', '64', '--heads', '2', '--vocab-size', '100', '--window', '8', '--positions', '16,40', '--tokens', '16', '--backend', 'native', '--threads', '2'];
  const r = JSON.parse(ok('bench', 'decode', ...flags, '--json')) as DecodeResult;
  assert.ok(r.read_gb_per_s !== null && r.read_gb_per_s > 0, `read bandwidth ${r.read_gb_per_s}`);
  assert.deepEqual(r.rows.map((x) => `${x.dtype}@${x.position}`), ['f32@16', 'f32@40', 'bf16@16', 'bf16@40', 'f16@16', 'f16@40', 'q8@16', 'q8@40']);
  const bytes = (d: string) => r.rows.find((x) => x.dtype === d)!.weight_bytes_per_token;
  // One layer's qkv, o, gate+up and down, and the head; three gains of 64 floats stay f32.
  const I = makeConfig({ vocabSize: 100, layers: 1, dim: 64, heads: 2, window: 8 }).intermediate_size;
  const shapes = [[192, 64], [64, 64], [2 * I, 64], [64, I], [100, 64]] as const;
  const gains = 3 * 64 * 4;
  const sum = (f: (rows: number, cols: number) => number) => shapes.reduce((a, [rows, cols]) => a + f(rows, cols), gains);
  assert.equal(bytes('f32'), sum((rows, cols) => 4 * rows * cols));
  assert.equal(bytes('bf16'), sum((rows, cols) => 2 * rows * cols));
  assert.equal(bytes('f16'), sum((rows, cols) => 2 * rows * cols));
  assert.equal(bytes('q8'), sum((rows, cols) => rows * cols + 4 * rows * Math.ceil(cols / 32)));
  for (const x of r.rows) {
    const expected = (100 * x.weight_bytes_per_token) / (x.ms_per_token * 1e-3) / (r.read_gb_per_s! * 1e9);
    assert.ok(Math.abs(x.percent_of_bandwidth! - expected) < 1e-9 * expected, `${x.dtype}: % of bandwidth is bytes over time over bandwidth`);
  }
  assert.deepEqual(r.load.map((x) => x.dtype), ['f32', 'bf16', 'f16', 'q8']);
  for (const x of r.load) assert.ok(x.file_bytes > 0 && x.peak_bytes >= x.runtime_bytes && x.ratio === (x.peak_bytes - x.runtime_bytes) / x.file_bytes, JSON.stringify(x));
  assert.equal(r.speedup_vs_f32.f32, 1);
  fails("--dtypes must be a comma-separated list of f32, bf16, f16, q8, got 'f32,f8'", 'bench', 'decode', '--dtypes', 'f32,f8');
});
