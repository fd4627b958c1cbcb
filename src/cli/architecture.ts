// The architecture flags shared by `swat init` and `swat train`, and the tokenizer choice, turned into a
// model config (SWAT.md §2–3).

import type { AttentionActivation } from '../backend/backend.js';
import { type SlopeSchedule, type SwatConfig, makeConfig } from '../config.js';
import { InputError } from '../errors.js';
import { existsSync } from 'node:fs';
import { documentTokenIds } from '../model/companions.js';
import { ByteLevelTokenizer } from '../tokenizer/byte-level.js';
import { loadTokenizer } from '../tokenizer/tokenizer-file.js';
import { PRETRAINED_NAMES, pretrainedTokenizer } from '../tokenizer/pretrained.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { NUMBER, type OptionSpec, POSITIVE, type Parsed, WINDOW, flag, num, oneOf, posInt, str } from './args.js';

export function architectureOptions(defaults: { layers: string; dim: string; heads: string; window: string; intermediate?: string }): Record<string, OptionSpec> {
  return {
    'vocab-size': { type: 'string', arg: 'V', check: POSITIVE, help: 'vocabulary size (without --tokenizer: raw token ids)' },
    tokenizer: { type: 'string', arg: 'NAME', help: "tokenizer stored with the model: 'byte' (bytes + BOS/EOS), 'gpt2', 'llama2', or a tokenizer.json (or its directory) from swat tokenizer train" },
    layers: { type: 'string', arg: 'L', check: POSITIVE, help: 'number of layers', default: defaults.layers },
    dim: { type: 'string', arg: 'D', check: POSITIVE, help: 'model width', default: defaults.dim },
    heads: { type: 'string', arg: 'H', check: POSITIVE, help: 'attention heads', default: defaults.heads },
    window: { type: 'string', arg: 'W', check: WINDOW, help: "attention window ω (keys per query, itself included), or 'none' for full attention", default: defaults.window },
    attention: { type: 'string', arg: 'ACT', check: oneOf('sigmoid', 'softmax'), help: 'sigmoid | softmax', default: 'sigmoid' },
    alibi: { type: 'string', arg: 'PRESET', help: 'balanced | negative | positive | split:A:B | none | comma-separated slopes', default: 'balanced' },
    'alibi-schedule': { type: 'string', arg: 'S', check: oneOf('code', 'paper'), help: "slope magnitudes: 'code' 2^(-8k/H) or 'paper' 2^(-k)", default: 'code' },
    'no-rope': { type: 'boolean', help: 'switch RoPE off' },
    'intermediate-size': { type: 'string', arg: 'I', check: POSITIVE, help: 'MLP width (default: the SWAT formula of the width)', ...(defaults.intermediate ? { default: defaults.intermediate } : {}) },
    'sigmoid-bias': { type: 'string', arg: 'B', check: NUMBER, help: 'constant added to attention scores (SWAT: 0)', default: '0' },
    untied: { type: 'boolean', help: 'separate output head instead of tied embeddings' },
  };
}

/** The --tokenizer choice. A name wins over a path of the same name; anything else must be a tokenizer.json
 *  file or a directory holding one (a model directory works too). */
export function tokenizerFromArgs(v: Parsed): Tokenizer | null {
  const name = str(v, 'tokenizer');
  if (name === undefined) return str(v, 'vocab-size') === undefined ? new ByteLevelTokenizer() : null;
  if (name === 'byte') return new ByteLevelTokenizer();
  if ((PRETRAINED_NAMES as readonly string[]).includes(name)) return pretrainedTokenizer(name);
  if (!existsSync(name)) {
    throw new InputError(`--tokenizer: unknown tokenizer '${name}' (expected: byte, ${PRETRAINED_NAMES.join(', ')}, or a tokenizer.json file or directory)`);
  }
  return loadTokenizer(name);
}

export function configFromArgs(v: Parsed, tokenizer: Tokenizer | null): SwatConfig {
  const windowArg = str(v, 'window')!;
  // A vocabulary learned from the data ('bpe', swat train) may have fewer tokens than --vocab-size asked for.
  const vocab = (str(v, 'tokenizer') === 'bpe' ? undefined : posInt(v, 'vocab-size')) ?? tokenizer?.vocabSize;
  if (vocab === undefined) throw new InputError('--vocab-size is required without a tokenizer');
  if (tokenizer && vocab < tokenizer.vocabSize) {
    throw new InputError(`--vocab-size ${vocab} is smaller than the tokenizer's ${tokenizer.vocabSize} tokens`);
  }
  return makeConfig({
    vocabSize: vocab,
    layers: posInt(v, 'layers')!,
    dim: posInt(v, 'dim')!,
    heads: posInt(v, 'heads')!,
    window: windowArg === 'none' ? null : Number(windowArg),
    attention: str(v, 'attention') as AttentionActivation,
    alibi: str(v, 'alibi')!,
    alibiSchedule: str(v, 'alibi-schedule') as SlopeSchedule,
    rope: !flag(v, 'no-rope'),
    ...(str(v, 'intermediate-size') !== undefined ? { intermediateSize: posInt(v, 'intermediate-size')! } : {}),
    sigmoidBias: num(v, 'sigmoid-bias')!,
    tieEmbeddings: !flag(v, 'untied'),
    ...(tokenizer ? documentTokenIds(tokenizer) : { bosId: null, eosId: null }),
  });
}
