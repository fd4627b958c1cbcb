// swat init: write a randomly initialised model directory (refusing to replace one without --force).

import { backendFrom } from '../backend.js';
import { SwatModel } from '../../model/model.js';
import { commitFiles } from '../../io/atomic.js';
import { modelFiles } from '../../model/store.js';
import { claimOutput, clearOutput, heldWork, refusal } from '../../train/output.js';
import { type CommandSpec, type Parsed, SEED, flag, required, seed, str } from '../args.js';
import { print } from '../output.js';
import { architectureOptions, configFromArgs, tokenizerFromArgs } from '../architecture.js';
import { describeModel } from './info.js';

export const initCommand: CommandSpec = {
  name: 'init',
  summary: 'write a randomly initialised model directory (config.json, model.safetensors, tokenizer.json)',
  usage: '--out DIR [--vocab-size V | --tokenizer byte] [architecture options]',
  options: {
    out: { type: 'string', arg: 'DIR', help: 'model directory to write' },
    ...architectureOptions({ layers: '4', dim: '128', heads: '4', window: '64' }),
    seed: { type: 'string', arg: 'S', check: SEED, help: 'initialisation seed', default: '0' },
    force: { type: 'boolean', help: 'replace a model or training run already in --out' },
  },
};

export function runInit(v: Parsed): void {
  const out = required(str(v, 'out'), 'out', 'init');
  const tokenizer = tokenizerFromArgs(v);
  const config = configFromArgs(v, tokenizer);
  const lock = claimOutput(out, 'swat init');
  try {
    const held = heldWork(out);
    if (held.files.length > 0 && !flag(v, 'force')) throw refusal(out, held);
    const model = SwatModel.create(config, backendFrom(v), seed(v)!);
    const files = modelFiles(model, tokenizer);
    clearOutput(out, Object.keys(files));
    commitFiles(out, files);
  } finally {
    lock.release();
  }
  print(`wrote ${out}\n${describeModel(config, tokenizer)}\n`);
}
