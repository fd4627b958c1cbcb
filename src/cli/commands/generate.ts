// swat generate: stream a continuation of a prompt with the rolling cache (constant memory).

import { backendFrom } from '../backend.js';
import { InputError } from '../../errors.js';
import { generate } from '../../infer/generate.js';
import { DEFAULT_SAMPLING } from '../../infer/sample.js';
import { loadModel } from '../../model/store.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { type CommandSpec, type Parsed, flag, int, num, parseIds, posInt, required, str } from '../args.js';

export const generateCommand: CommandSpec = {
  name: 'generate',
  summary: 'continue a prompt, streaming tokens as they are sampled',
  usage: '--model DIR (--prompt TEXT | --ids 1,2,3) [--max-new-tokens N] [--greedy] [--json]',
  options: {
    model: { type: 'string', arg: 'DIR', help: 'model directory' },
    prompt: { type: 'string', arg: 'TEXT', help: 'prompt text (needs the model to have a tokenizer); empty = start of a document' },
    ids: { type: 'string', arg: 'IDS', help: 'prompt as comma-separated token ids' },
    'max-new-tokens': { type: 'string', arg: 'N', help: 'tokens to generate', default: '200' },
    greedy: { type: 'boolean', help: 'always take the most likely token' },
    temperature: { type: 'string', arg: 'T', help: 'sampling temperature', default: String(DEFAULT_SAMPLING.temperature) },
    'top-k': { type: 'string', arg: 'K', help: 'sample among the K most likely tokens (0 = all)', default: String(DEFAULT_SAMPLING.topK) },
    'top-p': { type: 'string', arg: 'P', help: 'nucleus sampling mass (1 = off)', default: String(DEFAULT_SAMPLING.topP) },
    seed: { type: 'string', arg: 'S', help: 'sampling seed', default: '0' },
    'no-stop': { type: 'boolean', help: 'do not stop at the end-of-text token' },
    'prefill-chunk': { type: 'string', arg: 'N', help: 'prompt tokens per prefill call', default: '256' },
    json: { type: 'boolean', help: 'print {"ids": [...]} of the new tokens only' },
  },
};

/** The prompt's token ids from --prompt or --ids; an empty prompt starts a new document. */
export function promptIds(v: Parsed, tokenizer: Tokenizer | null, dir: string, textFlag: string): number[] {
  const text = str(v, textFlag);
  const ids = str(v, 'ids');
  if ((text === undefined) === (ids === undefined)) throw new InputError(`give exactly one of --${textFlag} and --ids`);
  if (ids !== undefined) return parseIds(ids);
  if (!tokenizer) throw new InputError(`${dir} has no tokenizer (raw token ids): use --ids instead of --${textFlag}`);
  return tokenizer.encode(text!);
}

export function runGenerate(v: Parsed): void {
  const dir = required(str(v, 'model'), 'model', 'generate');
  const { model, tokenizer } = loadModel(dir, backendFrom(v));
  let prompt = promptIds(v, tokenizer, dir, 'prompt');
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
    seed: int(v, 'seed')!,
    stopId: flag(v, 'no-stop') ? null : model.config.eos_token_id,
    prefillChunk: posInt(v, 'prefill-chunk')!,
  });
  const out: number[] = [];
  const decoder = new TextDecoder('utf-8');
  for (const id of stream) {
    out.push(id);
    if (json) continue;
    if (tokenizer) process.stdout.write(decoder.decode(tokenizer.decodeBytes([id]), { stream: true }));
    else process.stdout.write(`${out.length > 1 ? ',' : ''}${id}`);
  }
  process.stdout.write(json ? JSON.stringify({ ids: out }) + '\n' : decoder.decode() + '\n');
}
