// `swat experiment`: the reproduction studies of SWAT.md §7 by name, each training (or resuming) the runs it
// needs under `<out>/runs/<preset>/` and writing its report into the report directory. Not here: the CLI
// flags (cli/commands/experiment.ts) and the studies themselves (studies/).

import type { Backend } from '../backend/backend.js';
import { InputError } from '../errors.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type Corpus, loadCorpus } from './data.js';
import type { Preset } from './presets.js';
import { type StudyResult, writeStudyReport } from './report.js';
import { ablation } from './studies/ablation.js';
import type { StudyContext } from './studies/context.js';
import { efficiency } from './studies/efficiency.js';
import { lengthExtrapolation, trainLength } from './studies/length.js';
import { receptiveFieldStudy } from './studies/receptive.js';
import { sink } from './studies/sink.js';
import { zeroShot } from './studies/zeroshot.js';

export const STUDIES: Record<string, { summary: string; run: (ctx: StudyContext) => StudyResult }> = {
  'length-extrapolation': { summary: 'Table 2: vanilla (T = ω) vs SWAT (T = 4ω), loss at ω … 64ω', run: lengthExtrapolation },
  'train-length': { summary: 'SWAT trained at T = ω, 2ω, 4ω, 8ω', run: trainLength },
  ablation: { summary: 'Table 3: five attention variants trained with sliding windows', run: ablation },
  sink: { summary: 'attention sink and hidden-state variance, softmax vs SWAT', run: sink },
  efficiency: { summary: 'decode time/memory against position, training time against T', run: efficiency },
  'receptive-field': { summary: 'retrieval accuracy against distance, bound (ω − 1)·L', run: receptiveFieldStudy },
  'zero-shot': { summary: 'Table 1: SWAT (−), (−+), (+) vs Transformer++ on PIQA and WikiText-2 (needs --eval-data)', run: zeroShot },
};

export interface ExperimentOptions {
  preset: Preset;
  backend: Backend;
  tokenizer: Tokenizer;
  /** Training text; empty = the built-in corpus. */
  dataPaths: string[];
  /** Folder with piqa/ and wikitext-2/ for the zero-shot study. */
  evalDataDir: string;
  /** Runs (checkpoints) go under `<outDir>/runs`. */
  outDir: string;
  reportDir: string;
  /** The command line, quoted in the report. */
  command: string;
  log: (line: string) => void;
  progress: (done: number, total: number, text: string) => void;
}

/** Runs the named studies in order; returns the report paths. */
export function runExperiments(names: string[], o: ExperimentOptions): string[] {
  for (const n of names) {
    if (!(n in STUDIES)) throw new InputError(`unknown study '${n}' (expected one of ${Object.keys(STUDIES).join(', ')}, or all)`);
  }
  let corpus: Corpus | null = null;
  const data = () => (corpus ??= loadCorpus(o.dataPaths, o.tokenizer, (m) => o.log(`warning: ${m}`)));
  const ctx: StudyContext = {
    outDir: o.outDir, preset: o.preset, backend: o.backend, tokenizer: o.tokenizer, log: o.log, progress: o.progress,
    data, heldOut: () => data().val, evalData: o.evalDataDir,
  };
  return names.map((name) => {
    const t0 = performance.now();
    o.log(`study ${name}: ${STUDIES[name]!.summary} (preset ${o.preset.name}, backend ${o.backend.name})`);
    const result = STUDIES[name]!.run(ctx);
    const path = writeStudyReport(o.reportDir, result, {
      command: o.command, preset: o.preset, backend: o.backend.name,
      corpus: corpus?.description ?? (o.dataPaths.length ? o.dataPaths.join(', ') : 'built-in corpus'),
      seconds: (performance.now() - t0) / 1000,
    });
    for (const c of result.claims) o.log(`${c.reproduced ? 'reproduced' : 'NOT reproduced'}: ${c.claim} (${c.observed})`);
    o.log(`study ${name}: report ${path}`);
    return path;
  });
}
