// swat experiment: one command per reproduction study of SWAT.md §7 (or `all`), resumable: every trained
// model is a checkpointed run that a re-run continues, and finished evaluations are cached.

import { backendFrom } from '../backend.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { STUDIES, runExperiments } from '../../experiment/index.js';
import { PRESETS, preset } from '../../experiment/presets.js';
import { ByteLevelTokenizer } from '../../tokenizer/byte-level.js';
import { type CommandSpec, POSITIVE, type Parsed, list, posInt, str } from '../args.js';
import { print } from '../output.js';
import { Progress } from '../progress.js';

export const experimentCommand: CommandSpec = {
  name: 'experiment',
  summary: "reproduce the paper's claims at small scale: train, evaluate, write a report (resumable)",
  usage: `${[...Object.keys(STUDIES), 'all'].join('|')} [--preset small|large] [--out DIR] [--report DIR] [--data PATH...]`,
  subcommands: { ...Object.fromEntries(Object.entries(STUDIES).map(([n, s]) => [n, { summary: s.summary }])), all: { summary: 'every study above, in that order' } },
  options: {
    preset: { type: 'string', arg: 'NAME', help: `model and training size: ${Object.keys(PRESETS).join(' | ')} (tiny: a smoke test in seconds)`, default: 'small' },
    out: { type: 'string', arg: 'DIR', help: 'where the trained runs (checkpoints) go, under DIR/runs/PRESET/', default: 'runs/experiments' },
    report: { type: 'string', arg: 'DIR', help: 'where the report (NAME.md, NAME.json, plots) goes (default: --out)' },
    data: { type: 'string', arg: 'PATH', multiple: true, help: 'training text: file, directory or .jsonl (repeatable; default: built-in corpus)' },
    steps: { type: 'string', arg: 'N', check: POSITIVE, help: "override the preset's training steps (extends or shortens every run)" },
    'eval-data': { type: 'string', arg: 'DIR', help: 'zero-shot: folder with piqa/valid.jsonl, piqa/valid-labels.lst, wikitext-2/test.txt', default: '../shared/data' },
  },
};

export function runExperiment(v: Parsed): void {
  const name = v['_'] as string;
  const p = preset(str(v, 'preset')!, { ...(str(v, 'steps') !== undefined ? { steps: posInt(v, 'steps')! } : {}) });
  const out = str(v, 'out')!;
  const progress = new Progress();
  const evalData = str(v, 'eval-data')!;
  let names = name === 'all' ? Object.keys(STUDIES) : [name];
  // `all` runs what it can: the zero-shot study needs task files the project does not ship.
  if (name === 'all' && !existsSync(join(evalData, 'piqa'))) {
    progress.log(`skipping zero-shot: no task files in ${evalData} (see --eval-data)`);
    names = names.filter((n) => n !== 'zero-shot');
  }
  const paths = runExperiments(names, {
    preset: p, backend: backendFrom(v), tokenizer: new ByteLevelTokenizer(), dataPaths: list(v, 'data'), evalDataDir: evalData,
    outDir: out, reportDir: str(v, 'report') ?? out,
    command: ['swat', 'experiment', ...process.argv.slice(3)].join(' '),
    log: (line) => progress.log(line),
    progress: (done, total, text) => progress.update(done, total, text),
  });
  progress.done();
  print(paths.map((p) => `report: ${p}\n`).join(''));
}
