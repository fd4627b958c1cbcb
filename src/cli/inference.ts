// What `swat generate`, `score`, `chat` and `serve` share: where the input text comes from (a flag, a file,
// or standard input with '-', so a long text never has to fit on the command line), the sampling flags
// (with the short spellings llama.cpp users type), and loading the model behind the library's worker, in
// the weight dtype of --dtype.

import { readFileSync } from 'node:fs';
import { type CompletionOptions, type LoadOptions, type TextModel, load } from '../api/model.js';
import { InputError, showValue } from '../errors.js';
import { DEFAULT_SAMPLING } from '../infer/sample.js';
import { WEIGHT_DTYPES, type WeightDtype } from '../backend/weight.js';
import { COUNT, NON_NEGATIVE, type OptionSpec, PROBABILITY, type Parsed, SEED, flag, given, int, list, num, oneOf, parseIds, posInt, required, seed, str } from './args.js';

export const MODEL_OPTION: OptionSpec = { type: 'string', arg: 'DIR', short: 'm', help: 'model directory' };

export const DTYPE_OPTION: OptionSpec = {
  type: 'string', arg: 'T', check: oneOf(...WEIGHT_DTYPES), default: 'f32',
  help: 'weights to compute with: f32, bf16 or f16 (half the memory, about 1.6× the decoding speed), or q8 (8-bit blocks: a quarter of the memory, about 2.5×); sums stay float32',
};

/** The sampling flags of generate and chat. */
export const SAMPLING_OPTIONS: Record<string, OptionSpec> = {
  temperature: { type: 'string', arg: 'T', check: NON_NEGATIVE, help: 'sampling temperature (0 = greedy)', default: String(DEFAULT_SAMPLING.temperature) },
  temp: { type: 'string', arg: 'T', check: NON_NEGATIVE, help: 'same as --temperature' },
  'top-k': { type: 'string', arg: 'K', check: COUNT, help: 'sample among the K most likely tokens (0 = all)', default: String(DEFAULT_SAMPLING.topK) },
  'top-p': { type: 'string', arg: 'P', check: PROBABILITY, help: 'nucleus sampling mass (1 = off)', default: String(DEFAULT_SAMPLING.topP) },
  'min-p': { type: 'string', arg: 'P', check: PROBABILITY, help: 'drop tokens less likely than P × the most likely one (0 = off)', default: '0' },
  'repeat-penalty': { type: 'string', arg: 'R', check: NON_NEGATIVE, help: 'divide the logits of the last --repeat-last-n tokens by R (1 = off)', default: '1' },
  'repeat-last-n': { type: 'string', arg: 'N', check: COUNT, help: 'tokens the repeat penalty looks at', default: String(DEFAULT_SAMPLING.repeatLastN) },
  stop: { type: 'string', arg: 'TEXT', multiple: true, help: 'stop when the output produces TEXT (repeatable)' },
  seed: { type: 'string', arg: 'S', short: 's', check: SEED, help: 'sampling seed', default: '0' },
  'no-stop': { type: 'boolean', help: 'do not stop at the end-of-text token' },
};

/** The library's completion options from the sampling flags. */
export function completionOptions(v: Parsed, maxTokens: number): CompletionOptions {
  const penalty = num(v, 'repeat-penalty')!;
  if (penalty <= 0) throw new InputError(`--repeat-penalty must be a positive number, got ${showValue(str(v, 'repeat-penalty')!)}`);
  return {
    maxTokens,
    temperature: given(v, 'temp') ? num(v, 'temp')! : num(v, 'temperature')!,
    topK: int(v, 'top-k')!,
    topP: num(v, 'top-p')!,
    minP: num(v, 'min-p')!,
    repetitionPenalty: penalty,
    repeatLastN: int(v, 'repeat-last-n')!,
    stop: list(v, 'stop'),
    seed: seed(v)!,
    stopAtEos: !flag(v, 'no-stop'),
  };
}

/** The text or ids to work on: --TEXTFLAG, --FILEFLAG (a path, or '-' for standard input) or --ids;
 *  exactly one, read before the model loads. */
export type InputSource = { text: string } | { ids: number[] };

export function inputSource(v: Parsed, textFlag: string, fileFlag: string): InputSource {
  const text = str(v, textFlag);
  const file = str(v, fileFlag);
  const ids = str(v, 'ids');
  if ([text, file, ids].filter((x) => x !== undefined).length !== 1) throw new InputError(`give exactly one of --${textFlag}, --${fileFlag} and --ids`);
  if (ids !== undefined) return { ids: parseIds(ids) };
  if (text !== undefined) return { text };
  return { text: readInput(fileFlag, file!) };
}

/** A file's text, or standard input's for '-'. */
export function readInput(flagName: string, path: string): string {
  try {
    return readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new InputError(`--${flagName}: cannot read ${showValue(path)}: ${reason}`);
  }
}

/** The prompt as the library takes it: text needs the model's tokenizer. */
export function promptOf(source: InputSource, model: TextModel, textFlag: string): string | number[] {
  if ('ids' in source) return source.ids;
  if (!model.tokenizer) throw new InputError(`${model.dir} has no tokenizer (raw token ids): use --ids instead of --${textFlag}`);
  return source.text;
}

/** Loads --model in --dtype behind the library's worker, on --backend with --threads. */
export function loadFrom(v: Parsed, command: string, options: LoadOptions = {}): Promise<TextModel> {
  const dir = required(str(v, 'model'), 'model', command);
  const threads = posInt(v, 'threads');
  const backend = str(v, 'backend');
  const dtype = str(v, 'dtype') as WeightDtype;
  return load(dir, { ...options, dtype, ...(backend !== undefined ? { backend } : {}), ...(threads !== undefined ? { threads } : {}) });
}

