// Reproduction studies: runs are trained once, shared between studies, resumed exactly after an
// interruption and never silently reused for other settings; evaluations are cached per checkpoint; every
// study writes a report (markdown with claims, JSON, SVG and PNG plots) and the CLI runs them end to end.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ReferenceBackend } from '../src/backend/reference.js';
import { STUDIES, runExperiments } from '../src/experiment/index.js';
import { preset } from '../src/experiment/presets.js';
import { mdTable } from '../src/experiment/report.js';
import { type RunContext, cachedEval, ensureRun, readCurve, runDir, runId, trainOptions } from '../src/experiment/runs.js';
import { ablationRuns, roughness } from '../src/experiment/studies/ablation.js';
import { swatRun, vanillaRun } from '../src/experiment/studies/context.js';
import { ByteLevelTokenizer } from '../src/tokenizer/byte-level.js';

const be = new ReferenceBackend('float32');
const tokenizer = new ByteLevelTokenizer();
const tiny = preset('tiny');
const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const FIX = fileURLToPath(new URL('../../test/fixtures/eval/', import.meta.url));

function corpusDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'swat-exp-data-'));
  const words = 'the quick brown fox jumps over the lazy dog while a small bird sings in the old tree near the river'.split(' ');
  for (let d = 0; d < 10; d++) {
    const text = Array.from({ length: 400 }, (_, i) => words[(i * (d + 3) + d) % words.length]).join(' ');
    writeFileSync(join(dir, `doc${d}.txt`), text + '.\n');
  }
  return dir;
}

const data = (() => {
  const enc = (s: string) => Int32Array.from(tokenizer.encode(s));
  const text = 'a stream of text for the tiny runs, long enough for every window. '.repeat(20);
  return { train: enc(text), val: enc(text.slice(0, 600)) };
})();

function ctx(outDir: string, patch: Partial<RunContext> = {}): RunContext & { logs: string[] } {
  const logs: string[] = [];
  return { outDir, preset: tiny, backend: be, tokenizer, data: () => data, log: (l) => logs.push(l), progress: () => {}, logs, ...patch };
}

test('run ids differ for every variant of the ablation, and batch × T is the preset\'s tokens per step', () => {
  const ids = [...ablationRuns(tiny), vanillaRun(tiny)].map(runId);
  assert.equal(new Set(ids).size, ids.length);
  assert.equal(runId(swatRun(tiny)), 'sigmoid-alibi_balanced-rope-w4-T16');
  const o = trainOptions(tiny, swatRun(tiny));
  assert.equal(o.batchSize * o.seqLen, tiny.tokensPerStep);
  assert.equal(o.maxSteps, tiny.steps);
  assert.throws(() => preset('huge'), /unknown preset 'huge'/);
  assert.equal(preset('small', { steps: 7 }).steps, 7);
});

test('ensureRun trains once; a second call loads the finished run without training', () => {
  const out = mkdtempSync(join(tmpdir(), 'swat-exp-'));
  const c = ctx(out);
  const a = ensureRun(c, swatRun(tiny));
  assert.equal(a.step, tiny.steps);
  const weights = join(a.dir, 'model.safetensors');
  const mtime = statSync(weights).mtimeMs;
  const b = ensureRun(c, swatRun(tiny));
  assert.equal(b.step, tiny.steps);
  assert.equal(statSync(weights).mtimeMs, mtime, 'a finished run must not be retrained');
  assert.deepEqual(Array.from(b.model.params.flat), Array.from(a.model.params.flat));
  assert.equal(readCurve(a.dir).train.length, tiny.steps);
  assert.equal(c.logs.filter((l) => l.includes('training')).length, 1);
});

test('an interrupted run resumes from its checkpoint and ends with the same weights as an uninterrupted one', () => {
  const straight = ensureRun(ctx(mkdtempSync(join(tmpdir(), 'swat-exp-'))), swatRun(tiny));
  const out = mkdtempSync(join(tmpdir(), 'swat-exp-'));
  const crash = ctx(out, { progress: (done) => { if (done === 3) throw new Error('simulated interruption'); } });
  assert.throws(() => ensureRun(crash, swatRun(tiny)), /simulated interruption/);
  const state = JSON.parse(readFileSync(join(runDir(out, tiny, swatRun(tiny)), 'trainer_state.json'), 'utf8')) as { step: number };
  assert.equal(state.step, 2); // the checkpoint before the interruption
  const c = ctx(out);
  const resumed = ensureRun(c, swatRun(tiny));
  assert.ok(c.logs.some((l) => l.includes('resuming')));
  assert.equal(resumed.step, tiny.steps);
  assert.deepEqual(Array.from(resumed.model.params.flat), Array.from(straight.model.params.flat));
});

test('a run directory made with other settings is refused, not reused', () => {
  const out = mkdtempSync(join(tmpdir(), 'swat-exp-'));
  ensureRun(ctx(out), swatRun(tiny));
  const other = { ...tiny, lr: tiny.lr / 2 };
  assert.throws(() => ensureRun(ctx(out, { preset: other }), swatRun(tiny)), /made with other settings/);
  // More steps is not another setting: it extends the run.
  const longer = ensureRun(ctx(out, { preset: { ...tiny, steps: tiny.steps + 2 } }), swatRun(tiny));
  assert.equal(longer.step, tiny.steps + 2);
  writeFileSync(join(longer.dir, 'trainer_state.json'), '{"step": ');
  assert.throws(() => ensureRun(ctx(out), swatRun(tiny)), /trainer_state\.json: not valid JSON/);
});

test('cachedEval computes once per checkpoint step and key', () => {
  const run = ensureRun(ctx(mkdtempSync(join(tmpdir(), 'swat-exp-'))), swatRun(tiny));
  let calls = 0;
  const f = () => ++calls;
  assert.equal(cachedEval(run, 'k', f), 1);
  assert.equal(cachedEval(run, 'k', f), 1);
  assert.equal(cachedEval(run, 'other', f), 2);
  assert.equal(cachedEval({ ...run, step: run.step + 1 }, 'k', f), 3); // a newer checkpoint invalidates
});

test('roughness: zero for a straight line, larger for a noisier curve', () => {
  const line = Array.from({ length: 200 }, (_, i) => [i, 3 - i * 0.005] as [number, number]);
  assert.ok(roughness(line, 0, 200) < 1e-3);
  const noisy = line.map(([s, l]) => [s, l + (s % 2 ? 0.1 : -0.1)] as [number, number]);
  const r = roughness(noisy, 0, 200);
  assert.ok(r > 0.09 && r < 0.11, `roughness ${r}`);
  assert.ok(roughness(noisy, 100, 200) > roughness(line, 100, 200));
});

test('mdTable escapes pipes and right-aligns numbers', () => {
  assert.equal(mdTable(['a', 'b'], [['x|y', 1]]), '| a | b |\n| --- | ---: |\n| x\\|y | 1 |');
});

test('every study writes its report: markdown with a claims table, JSON, and SVG + PNG plots; a re-run trains nothing', () => {
  const out = mkdtempSync(join(tmpdir(), 'swat-exp-'));
  const reportDir = join(out, 'report');
  const logs: string[] = [];
  const evalData = join(out, 'eval-data');
  mkdirSync(join(evalData, 'piqa'), { recursive: true });
  mkdirSync(join(evalData, 'wikitext-2'));
  copyFileSync(join(FIX, 'piqa.jsonl'), join(evalData, 'piqa', 'valid.jsonl'));
  copyFileSync(join(FIX, 'piqa-labels.lst'), join(evalData, 'piqa', 'valid-labels.lst'));
  writeFileSync(join(evalData, 'wikitext-2', 'test.txt'), ' = Title = \n The quick brown fox . \n'.repeat(20));
  const o = {
    preset: tiny, backend: be, tokenizer, dataPaths: [corpusDir()], evalDataDir: evalData, outDir: out, reportDir, command: 'swat experiment all --preset tiny',
    log: (l: string) => logs.push(l), progress: () => {},
  };
  const paths = runExperiments(Object.keys(STUDIES), o);
  assert.equal(paths.length, Object.keys(STUDIES).length);
  for (const name of Object.keys(STUDIES)) {
    const md = readFileSync(join(reportDir, `${name}.md`), 'utf8');
    assert.match(md, /## Claims/);
    assert.match(md, /`swat experiment all --preset tiny`/);
    const json = JSON.parse(readFileSync(join(reportDir, `${name}.json`), 'utf8')) as { claims: { reproduced: boolean }[] };
    assert.ok(json.claims.length >= 1 && json.claims.every((c) => typeof c.reproduced === 'boolean'));
    for (const img of md.matchAll(/\]\(([^)]+\.(png|svg))\)/g)) assert.ok(existsSync(join(reportDir, img[1]!)), img[1]);
  }
  // Shared runs: SWAT T = 4ω is trained once although four studies use it.
  assert.equal(logs.filter((l) => l.startsWith('SWAT') && l.includes('T=16: training')).length, 1);
  const again: string[] = [];
  runExperiments(['length-extrapolation', 'sink'], { ...o, log: (l: string) => again.push(l) });
  assert.equal(again.filter((l) => / training /.test(l) || l.includes('evaluating') || l.includes('probe on')).length, 0, again.join('\n'));
  assert.throws(() => runExperiments(['nope'], o), /unknown study 'nope'/);
  assert.throws(() => runExperiments(['zero-shot'], { ...o, evalDataDir: join(out, 'missing') }), /piqa.valid\.jsonl not found \(point --eval-data/);
});


test('swat experiment: help lists the studies; bad names are one-line errors; a tiny study runs end to end', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [MAIN, 'experiment', ...args], { encoding: 'utf8', env: { ...process.env, SWAT_BACKEND: 'reference' } });
  const help = run('--help');
  assert.equal(help.status, 0);
  for (const name of Object.keys(STUDIES)) assert.match(help.stdout, new RegExp(name));
  for (const [args, msg] of [[['nope'], /expected one of/], [['sink', '--preset', 'huge'], /unknown preset 'huge'/]] as const) {
    const r = run(...args);
    assert.notEqual(r.status, 0);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, msg);
  }
  const out = mkdtempSync(join(tmpdir(), 'swat-exp-cli-'));
  mkdirSync(join(out, 'r'));
  const ok = run('length-extrapolation', '--preset', 'tiny', '--data', corpusDir(), '--out', out, '--report', join(out, 'r'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /report: .*length-extrapolation\.md/);
  assert.ok(existsSync(join(out, 'r', 'length-extrapolation-loss.png')));
  assert.ok(existsSync(join(out, 'runs', 'tiny', 'sigmoid-alibi_balanced-rope-w4-T16', 'trainer_state.json')));
});
