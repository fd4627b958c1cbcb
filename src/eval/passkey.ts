// Passkey retrieval (Mohtashami & Jaggi, 2023): a random number stated inside repetitive filler text, then
// asked for at the end. The distance is the number of tokens from the key's last mention to the question's
// end; a windowed model can only answer when the key is within its receptive field 1 + (ω − 1)·L
// (SWAT.md §3.2), and in practice much closer. A trial succeeds when greedy decoding reproduces the key.
//
// Not here: plotting; a training task that teaches retrieval (a text model that never learnt to copy
// numbers scores zero at every distance, which is a result too).

import { InputError } from '../errors.js';
import type { SwatModel } from '../model/model.js';
import { Rng } from '../random.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { scoreContinuation } from './score.js';

const INTRO = 'There is an important info hidden inside a lot of irrelevant text. Find it and memorize it. I will quiz you about the important information there.';
const FILLER = ' The grass is green. The sky is blue. The sun is yellow. Here we go. There and back again.';
const QUESTION = ' What is the pass key? The pass key is';

export interface PasskeyOptions {
  /** Requested distances in tokens (the filler after the key is sized to reach each). */
  distances: number[];
  trials: number;
  digits: number;
  /** Filler tokens between the introduction and the key. */
  prefixTokens: number;
  seed: number;
  onProgress?: (done: number, total: number) => void;
}

export const DEFAULT_PASSKEY: Omit<PasskeyOptions, 'distances'> = { trials: 10, digits: 5, prefixTokens: 32, seed: 0 };

export interface PasskeyRow {
  /** Requested distance. */
  distance: number;
  /** Distance actually built (the fixed sentence after the key sets a minimum). */
  actual: number;
  trials: number;
  accuracy: number;
  /** Mean log-probability per key token; chance for a digit is ln(1/10) ≈ −2.30. */
  keyLogprob: number;
}

/** Filler token ids, `n` of them, cut from the repeated filler sentence. */
function fillerTokens(tokenizer: Tokenizer, n: number): number[] {
  const unit = tokenizer.encode(FILLER);
  return Array.from({ length: n }, (_, i) => unit[i % unit.length]!);
}

/** The prompt of one trial and the key's token ids (with the leading space the answer has). Pieces are
 *  encoded apart so the position of every part is known exactly whatever the tokenizer. `actual` is the
 *  number of tokens from the first token of the key's last mention to the end of the prompt. */
export function passkeyPrompt(tokenizer: Tokenizer, key: string, distance: number, prefixTokens: number): { prompt: number[]; answer: number[]; actual: number } {
  const enc = (s: string) => tokenizer.encode(s);
  const keyIds = enc(` ${key}`);
  const remember = enc('. Remember it.');
  const tail = [...enc(' is the pass key.')];
  const question = enc(QUESTION);
  const fixed = keyIds.length + tail.length + question.length;
  const head = [tokenizer.eosId, ...enc(INTRO), ...fillerTokens(tokenizer, prefixTokens), ...enc(' The pass key is'), ...keyIds, ...remember];
  const prompt = [...head, ...keyIds, ...tail, ...fillerTokens(tokenizer, Math.max(0, distance - fixed)), ...question];
  return { prompt, answer: keyIds, actual: prompt.length - head.length };
}

export function passkeyRetrieval(model: SwatModel, tokenizer: Tokenizer, options: Partial<PasskeyOptions> & { distances: number[] }): PasskeyRow[] {
  const o = { ...DEFAULT_PASSKEY, ...options };
  for (const d of o.distances) if (!Number.isInteger(d) || d < 0) throw new InputError(`passkey distance must be a non-negative integer, got ${d}`);
  for (const k of ['trials', 'digits'] as const) if (!Number.isInteger(o[k]) || o[k] < 1) throw new InputError(`passkey ${k} must be a positive integer, got ${o[k]}`);
  const rng = new Rng(o.seed);
  const total = o.distances.length * o.trials;
  let done = 0;
  return o.distances.map((distance) => {
    let hits = 0;
    let lp = 0;
    let n = 0;
    let actual = 0;
    for (let t = 0; t < o.trials; t++) {
      const key = Array.from({ length: o.digits }, (_, i) => String(i === 0 ? 1 + rng.int(9) : rng.int(10))).join('');
      const p = passkeyPrompt(tokenizer, key, distance, o.prefixTokens);
      const s = scoreContinuation(model, p.prompt, p.answer);
      if (s.greedy) hits++;
      lp += s.logprob;
      n += p.answer.length;
      actual = p.actual;
      o.onProgress?.(++done, total);
    }
    return { distance, actual, trials: o.trials, accuracy: hits / o.trials, keyLogprob: lp / n };
  });
}
