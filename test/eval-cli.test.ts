// swat eval end to end, as a user runs it: each subcommand's table and JSON, files written with --out, and
// one-line errors for bad input.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { fails, ok } from './support/cli.js';

const FIX = fileURLToPath(new URL('../../test/fixtures/eval/', import.meta.url));




const root = mkdtempSync(join(tmpdir(), 'swat-eval-cli-'));
const model = join(root, 'model');
const text = join(root, 'held-out.txt');
writeFileSync(text, 'It was a bright cold day in April, and the clocks were striking thirteen. '.repeat(30));
ok('init', '--out', model, '--layers', '2', '--dim', '16', '--heads', '2', '--window', '4', '--intermediate-size', '24', '--seed', '1');

test('eval length: default lengths ω … 64ω, a window override, JSON rows and plots with --out', () => {
  const table = ok('eval', 'length', '--model', model, '--data', text, '--split', 'all', '--max-tokens', '256');
  assert.match(table, /evaluation window 4/);
  for (const l of ['4', '16', '64', '256']) assert.match(table, new RegExp(`^${l}\\s`, 'm'));
  const out = join(root, 'len');
  const r = JSON.parse(ok('eval', 'length', '--model', model, '--data', text, '--split', 'all', '--lengths', '8,32', '--window', 'none', '--json', '--out', out)) as { window: null; rows: { length: number; loss: number; bitsPerByte: number }[] };
  assert.equal(r.window, null);
  assert.deepEqual(r.rows.map((x) => x.length), [8, 32]);
  // One byte per token except the EOS between the two halves of the split (it predicts no bytes).
  for (const x of r.rows) assert.ok(x.loss > 0 && Math.abs(x.bitsPerByte / (x.loss / Math.LN2) - 1) < 0.05, JSON.stringify(x));
  for (const f of ['length.json', 'length-loss.svg', 'length-loss.png', 'length-positions.png']) assert.ok(existsSync(join(out, f)), f);
  fails(/--window must be a positive whole number or 'none', got '0'/, 'eval', 'length', '--model', model, '--window', '0');
  fails("--split must be one of val, all, got 'test'", 'eval', 'length', '--model', model, '--data', text, '--split', 'test');
});

test('eval tasks: every named task in the table and JSON; none named is an error', () => {
  const args = ['eval', 'tasks', '--model', model, '--piqa', FIX + 'piqa.jsonl', '--piqa-labels', FIX + 'piqa-labels.lst', '--hellaswag', FIX + 'hellaswag.jsonl',
    '--arc-easy', FIX + 'arc.jsonl', '--winogrande', FIX + 'winogrande.jsonl', '--siqa', FIX + 'siqa.jsonl', '--siqa-labels', FIX + 'siqa-labels.lst',
    '--boolq', FIX + 'boolq.jsonl', '--lambada', FIX + 'lambada.jsonl', '--wikitext', text, '--max-bytes', '500'];
  const table = ok(...args);
  for (const t of ['piqa', 'hellaswag', 'arc_easy', 'winogrande', 'siqa', 'boolq', 'lambada', 'wikitext']) assert.match(table, new RegExp(`^${t}\\s`, 'm'));
  const r = JSON.parse(ok(...args, '--json', '--limit', '1')) as { results: Record<string, { items?: number; acc?: number; bytes?: number }> };
  assert.equal(r.results['piqa']!.items, 1);
  assert.ok(r.results['wikitext']!.bytes! <= 500);
  fails(/name at least one task file/, 'eval', 'tasks', '--model', model);
  fails(/piqa-labels-short\.lst: 2 labels for 3 items/, 'eval', 'tasks', '--model', model, '--piqa', FIX + 'piqa.jsonl', '--piqa-labels', FIX + 'piqa-labels-short.lst');
});

test('eval passkey and probe: rows per distance, the receptive-field bound checked exactly', () => {
  const p = JSON.parse(ok('eval', 'passkey', '--model', model, '--distances', '70,100', '--trials', '2', '--json')) as { receptive_field: number; rows: { distance: number; accuracy: number }[] };
  assert.equal(p.receptive_field, 7);
  assert.deepEqual(p.rows.map((r) => r.distance), [70, 100]);
  const out = join(root, 'probe');
  const r = JSON.parse(ok('eval', 'probe', '--model', model, '--data', text, '--split', 'all', '--sequences', '2', '--json', '--out', out)) as {
    sink: { heads: unknown[]; variance: unknown[] }; influence: { bound: number; farthest: number };
  };
  assert.equal(r.sink.heads.length, 2 * 2);
  assert.equal(r.sink.variance.length, 3);
  assert.equal(r.influence.bound, 6);
  assert.equal(r.influence.farthest, 6);
  assert.ok(existsSync(join(out, 'probe-variance.png')));
  assert.match(readFileSync(join(out, 'probe.json'), 'utf8'), /"boost"/);
  fails(/--model is required/, 'eval', 'probe');
});
