// The paper's Table 1 analogue at small scale: SWAT with each slope preset, (−), (−+) and (+), against a
// Transformer++ (softmax, full attention) trained at the same length on the same tokens, scored on PIQA's
// validation split (acc, acc_norm) and WikiText-2 test perplexity. The task files are not part of the
// project: they are read from the evaluation data directory (`--eval-data`), and the report says so when
// they are missing.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ChoiceResult, type PerplexityResult, evaluateChoices, evaluatePerplexity } from '../../eval/choice.js';
import { readPiqa } from '../../eval/tasks.js';
import { DataError } from '../../errors.js';
import type { Preset } from '../presets.js';
import { type Claim, type StudyResult, f3, mdTable } from '../report.js';
import { type RunSpec, cachedEval, ensureRun } from '../runs.js';
import { type StudyContext, swatRun } from './context.js';

export function zeroShotRuns(p: Preset): RunSpec[] {
  const base = { window: p.window, seqLen: 4 * p.window, rope: true };
  return [
    { ...base, label: 'SWAT (−)', attention: 'sigmoid', alibi: 'negative' },
    { ...swatRun(p), label: 'SWAT (−+)' },
    { ...base, label: 'SWAT (+)', attention: 'sigmoid', alibi: 'positive' },
    { ...base, label: `Transformer++ (full) T=${4 * p.window}`, attention: 'softmax', alibi: 'none', window: null },
  ];
}

/** WikiText-2 test is 1.3 MB; this much of it keeps each model's evaluation to a minute or two. */
const WIKITEXT_BYTES = 400_000;

export function zeroShot(ctx: StudyContext): StudyResult {
  const p = ctx.preset;
  const piqaFile = join(ctx.evalData, 'piqa', 'valid.jsonl');
  const piqaLabels = join(ctx.evalData, 'piqa', 'valid-labels.lst');
  const wikiFile = join(ctx.evalData, 'wikitext-2', 'test.txt');
  for (const f of [piqaFile, piqaLabels, wikiFile]) {
    if (!existsSync(f)) throw new DataError(`zero-shot study: ${f} not found (point --eval-data at a folder with piqa/ and wikitext-2/)`);
  }
  const piqa = readPiqa(piqaFile, piqaLabels);
  const wikiText = readFileSync(wikiFile, 'utf8');
  const runs = zeroShotRuns(p).map((s) => ensureRun(ctx, s));
  const rows = runs.map((run) => {
    const pq = cachedEval<ChoiceResult>(run, `piqa:${piqa.length}`, () => {
      ctx.log(`${run.spec.label}: PIQA (${piqa.length} items)`);
      return evaluateChoices(run.model, ctx.tokenizer, piqa, { onProgress: (d, t) => ctx.progress(d, t, `${run.spec.label}: PIQA`) });
    });
    const wt = cachedEval<PerplexityResult>(run, `wikitext2-test:${WIKITEXT_BYTES}`, () => {
      ctx.log(`${run.spec.label}: WikiText-2 test, first ${WIKITEXT_BYTES} bytes`);
      return evaluatePerplexity(run.model, ctx.tokenizer, wikiText, WIKITEXT_BYTES);
    });
    return { label: run.spec.label, piqa: pq, wikitext: wt };
  });
  const tpp = rows[3]!;
  const swats = rows.slice(0, 3);
  const bestSwat = swats.reduce((a, r) => (r.piqa.acc > a.piqa.acc ? r : a));
  const se = Math.hypot(bestSwat.piqa.accStderr, tpp.piqa.accStderr);
  const claims: Claim[] = [
    {
      claim: 'SWAT beats Transformer++ on zero-shot accuracy (Table 1 average: 46.88 / 45.85 / 45.05 vs 42.92).',
      criterion: 'the best SWAT variant\'s PIQA acc exceeds Transformer++\'s by more than 2 standard errors of the difference',
      observed: rows.map((r) => `${r.label}: ${f3(r.piqa.acc)}`).join('; ') + ` (s.e. of the difference ${f3(se)})`,
      reproduced: bestSwat.piqa.acc - tpp.piqa.acc > 2 * se,
    },
    {
      claim: 'SWAT (−) is the best slope preset, then (−+), then (+).',
      criterion: 'PIQA acc in that order',
      observed: swats.map((r) => `${r.label} ${f3(r.piqa.acc)}`).join(' > '),
      reproduced: swats[0]!.piqa.acc > swats[1]!.piqa.acc && swats[1]!.piqa.acc > swats[2]!.piqa.acc,
    },
    {
      claim: 'SWAT\'s WikiText perplexity is worse than Transformer++\'s (33.3 vs 31.5).',
      criterion: 'SWAT (−+) has more bits per byte on WikiText-2 test than Transformer++',
      observed: rows.map((r) => `${r.label}: ${f3(r.wikitext.bitsPerByte)}`).join('; '),
      reproduced: rows[1]!.wikitext.bitsPerByte > tpp.wikitext.bitsPerByte,
    },
  ];
  return {
    name: 'zero-shot',
    title: 'Zero-shot accuracy and WikiText perplexity (Table 1 analogue)',
    sections: [
      `Four models trained on the same tokens at T = ${4 * p.window} (SWAT: window ${p.window}). PIQA validation (${piqa.length} items, lm-evaluation-harness prompts, accuracy ± standard error) and the first ${WIKITEXT_BYTES.toLocaleString('en-US')} bytes of WikiText-2 test (word-level, <unk> tokens), scored as one document (SWAT in one constant-memory pass; Transformer++ in disjoint windows of its training length, as lm-evaluation-harness does). Task files from ${ctx.evalData}. At this size every model is expected near PIQA's chance level of 0.5.`,
      mdTable(['model', 'PIQA acc', 'PIQA acc_norm', 'WikiText-2 bits/byte', 'byte ppl', 'word ppl'],
        rows.map((r) => [r.label, `${f3(r.piqa.acc)} ± ${f3(r.piqa.accStderr)}`, `${f3(r.piqa.accNorm)} ± ${f3(r.piqa.accNormStderr)}`, f3(r.wikitext.bitsPerByte), f3(r.wikitext.bytePerplexity), r.wikitext.wordPerplexity.toFixed(1)])),
    ],
    plots: [],
    claims,
    data: { runs: runs.map((r) => ({ dir: r.dir, spec: r.spec, step: r.step })), rows },
  };
}
