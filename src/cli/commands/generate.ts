// swat generate: stream a continuation of a prompt with the rolling cache (constant memory).

import { backendFrom } from '../backend.js';
import { InputError } from '../../errors.js';
import { generate } from '../../infer/generate.js';
import { DEFAULT_SAMPLING } from '../../infer/sample.js';
import { loadModel } from '../../model/store.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { COUNT, type CommandSpec, IDS, NON_NEGATIVE, POSITIVE, PROBABILITY, type Parsed, SEED, flag, int, num, parseIds, posInt, required, seed, str } from '../args.js';
import { print } from '../output.js';

export const generateCommand: CommandSpec = {
  name: 'generate',
  summary: 'continue a prompt, streaming tokens as they are sampled',
  usage: '--model DIR (--prompt TEXT | --ids 1,2,3) [--max-new-tokens N] [--greedy] [--json]',
  options: {
    model: { type: 'string', arg: 'DIR', help: 'model directory' },
    prompt: { type: 'string', arg: 'TEXT', help: 'prompt text (needs the model to have a tokenizer); empty = start of a document' },
    ids: { type: 'string', arg: 'IDS', check: IDS, help: 'prompt as comma-separated token ids' },
    'max-new-tokens': { type: 'string', arg: 'N', check: COUNT, help: 'tokens to generate', default: '200' },
    greedy: { type: 'boolean', help: 'always take the most likely token' },
    temperature: { type: 'string', arg: 'T', check: NON_NEGATIVE, help: 'sampling temperature', default: String(DEFAULT_SAMPLING.temperature) },
    'top-k': { type: 'string', arg: 'K', check: COUNT, help: 'sample among the K most likely tokens (0 = all)', default: String(DEFAULT_SAMPLING.topK) },
    'top-p': { type: 'string', arg: 'P', check: PROBABILITY, help: 'nucleus sampling mass (1 = off)', default: String(DEFAULT_SAMPLING.topP) },
    seed: { type: 'string', arg: 'S', check: SEED, help: 'sampling seed', default: '0' },
    'no-stop': { type: 'boolean', help: 'do not stop at the end-of-text token' },
    'prefill-chunk': { type: 'string', arg: 'N', check: POSITIVE, help: 'prompt tokens per prefill call', default: '256' },
    json: { type: 'boolean', help: 'print {"ids": [...]} of the new tokens only' },
  },
};

/** The text or ids to work on, from --TEXTFLAG or --ids: exactly one, checked before the model loads. */
export type PromptSource = { text: string } | { ids: number[] };

export function promptSource(v: Parsed, textFlag: string): PromptSource {
  const text = str(v, textFlag);
  const ids = str(v, 'ids');
  if ((text === undefined) === (ids === undefined)) throw new InputError(`give exactly one of --${textFlag} and --ids`);
  return ids !== undefined ? { ids: parseIds(ids) } : { text: text! };
}

/** The token ids of a prompt source; text needs the model's tokenizer. */
export function promptIds(source: PromptSource, tokenizer: Tokenizer | null, dir: string, textFlag: string): number[] {
  if ('ids' in source) return source.ids;
  if (!tokenizer) throw new InputError(`${dir} has no tokenizer (raw token ids): use --ids instead of --${textFlag}`);
  return tokenizer.encode(source.text);
}

export function runGenerate(v: Parsed): void {
  const dir = required(str(v, 'model'), 'model', 'generate');
  const source = promptSource(v, 'prompt');
  const { model, tokenizer } = loadModel(dir, backendFrom(v));
  let prompt = promptIds(source, tokenizer, dir, 'prompt');
  const docStart = model.config.eos_token_id ?? model.config.bos_token_id;
  if (prompt.length === 0) {
    if (docStart === null) throw new InputError('the prompt is empty and the model has no EOS or BOS token to start from');
    prompt = [docStart];
  }
  const json = flag(v, 'json');
  const stream = generate(model, prompt, {
    maxNewTokens: int(v, 'max-new-tokens')!,
    greedy: flag(v, 'greedy'),
    temperature: num(v, 'temperature')!,
    topK: int(v, 'top-k')!,
    topP: num(v, 'top-p')!,
    seed: seed(v)!,
    stopId: flag(v, 'no-stop') ? null : model.config.eos_token_id,
    prefillChunk: posInt(v, 'prefill-chunk')!,
  });
  const out: number[] = [];
  const decoder = new TextDecoder('utf-8');
  for (const id of stream) {
    out.push(id);
    if (json) continue;
    if (tokenizer) print(decoder.decode(tokenizer.decodeBytes([id]), { stream: true }));
    else print(`${out.length > 1 ? ',' : ''}${id}`);
  }
  print(json ? JSON.stringify({ ids: out }) + '\n' : decoder.decode() + '\n');
}
