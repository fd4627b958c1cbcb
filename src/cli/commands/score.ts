// swat score: log-probability of every token of a text given the ones before it.

import { backendFrom } from '../backend.js';
import { scoreTokens } from '../../infer/generate.js';
import { loadModel } from '../../model/store.js';
import { type CommandSpec, IDS, POSITIVE, type Parsed, posInt, required, str } from '../args.js';
import { print } from '../output.js';
import { promptIds, promptSource } from './generate.js';

export const scoreCommand: CommandSpec = {
  name: 'score',
  summary: 'print {"ids": [...], "logprobs": [...]} with logprobs[i] = log p(ids[i+1] | ids[0..i])',
  usage: '--model DIR (--text TEXT | --ids 1,2,3)',
  options: {
    model: { type: 'string', arg: 'DIR', help: 'model directory' },
    text: { type: 'string', arg: 'TEXT', help: 'text to score (needs the model to have a tokenizer)' },
    ids: { type: 'string', arg: 'IDS', check: IDS, help: 'comma-separated token ids to score' },
    chunk: { type: 'string', arg: 'N', check: POSITIVE, help: 'tokens per forward call (memory stays constant in the text length)', default: '256' },
  },
};

export function runScore(v: Parsed): void {
  const dir = required(str(v, 'model'), 'model', 'score');
  const source = promptSource(v, 'text');
  const { model, tokenizer } = loadModel(dir, backendFrom(v));
  const ids = promptIds(source, tokenizer, dir, 'text');
  const logprobs = scoreTokens(model, ids, posInt(v, 'chunk')!);
  print(JSON.stringify({ ids, logprobs }) + '\n');
}
