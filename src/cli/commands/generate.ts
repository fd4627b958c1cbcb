// swat generate: stream a continuation of a prompt with the rolling cache (constant memory).

import { type CommandSpec, COUNT, IDS, POSITIVE, type Parsed, flag, int, posInt } from '../args.js';
import { DTYPE_OPTION, MODEL_OPTION, SAMPLING_OPTIONS, completionOptions, inputSource, loadFrom, promptOf } from '../inference.js';
import { print } from '../output.js';

export const generateCommand: CommandSpec = {
  name: 'generate',
  summary: 'continue a prompt, streaming text as it is sampled',
  usage: '-m DIR (-p TEXT | --prompt-file FILE|- | --ids 1,2,3) [-n N] [--temp T] [--stop TEXT] [--json]',
  options: {
    model: MODEL_OPTION,
    dtype: DTYPE_OPTION,
    prompt: { type: 'string', arg: 'TEXT', short: 'p', help: 'prompt text (needs the model to have a tokenizer); empty = start of a document' },
    'prompt-file': { type: 'string', arg: 'FILE', help: "read the prompt from FILE ('-': standard input)" },
    ids: { type: 'string', arg: 'IDS', check: IDS, help: 'prompt as comma-separated token ids' },
    'max-new-tokens': { type: 'string', arg: 'N', short: 'n', check: COUNT, help: 'tokens to generate', default: '200' },
    greedy: { type: 'boolean', help: 'always take the most likely token (same as --temperature 0)' },
    ...SAMPLING_OPTIONS,
    'prefill-chunk': { type: 'string', arg: 'N', check: POSITIVE, help: 'prompt tokens per prefill step', default: '256' },
    json: { type: 'boolean', help: 'print {"ids", "text", "finish_reason", "prompt_tokens"} of the new tokens' },
  },
};

export async function runGenerate(v: Parsed): Promise<void> {
  const source = inputSource(v, 'prompt', 'prompt-file');
  const options = completionOptions(v, int(v, 'max-new-tokens')!);
  if (flag(v, 'greedy')) options.temperature = 0;
  const model = await loadFrom(v, 'generate', { prefillChunk: posInt(v, 'prefill-chunk')!, maxStreams: 1, inProcess: true });
  try {
    const json = flag(v, 'json');
    const ids: number[] = [];
    let text = '';
    let promptTokens = 0;
    let finish = 'length';
    for await (const e of model.events(promptOf(source, model, 'prompt'), model.streamOptions(options))) {
      if (e.type === 'start') {
        promptTokens = e.promptTokens;
        continue;
      }
      if (e.finish) finish = e.finish;
      if (e.token === null) continue;
      ids.push(e.token);
      if (json) text += e.text;
      else if (model.tokenizer) print(e.text);
      else print(`${ids.length > 1 ? ',' : ''}${e.token}`);
    }
    print(json ? JSON.stringify({ ids, text, finish_reason: finish, prompt_tokens: promptTokens }) + '\n' : '\n');
  } finally {
    await model.close();
  }
}
