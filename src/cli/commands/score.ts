// swat score: log-probability of every token of a text given the ones before it.

import { type CommandSpec, IDS, POSITIVE, type Parsed, posInt } from '../args.js';
import { DTYPE_OPTION, MODEL_OPTION, inputSource, loadFrom, promptOf } from '../inference.js';
import { print } from '../output.js';

export const scoreCommand: CommandSpec = {
  name: 'score',
  summary: 'print {"ids", "logprobs", "sum", "perplexity", "bits_per_byte"} with logprobs[i] = log p(ids[i+1] | ids[0..i])',
  usage: '-m DIR (--text TEXT | --file FILE|- | --ids 1,2,3)',
  options: {
    model: MODEL_OPTION,
    dtype: DTYPE_OPTION,
    text: { type: 'string', arg: 'TEXT', help: 'text to score (needs the model to have a tokenizer)' },
    file: { type: 'string', arg: 'FILE', help: "read the text from FILE ('-': standard input)" },
    ids: { type: 'string', arg: 'IDS', check: IDS, help: 'comma-separated token ids to score' },
    chunk: { type: 'string', arg: 'N', check: POSITIVE, help: 'tokens per forward step (memory stays constant in the text length)', default: '256' },
  },
};

export async function runScore(v: Parsed): Promise<void> {
  const source = inputSource(v, 'text', 'file');
  const model = await loadFrom(v, 'score', { prefillChunk: posInt(v, 'chunk')!, maxStreams: 1, inProcess: true });
  try {
    const s = await model.score(promptOf(source, model, 'text'));
    print(JSON.stringify({ ids: s.tokens, logprobs: s.logprobs, sum: s.sum, perplexity: s.perplexity, bits_per_byte: s.bitsPerByte }) + '\n');
  } finally {
    await model.close();
  }
}
