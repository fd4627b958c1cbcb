// Small model directories for the inference, library and server tests: a random one (untrained, tokens
// look like noise) and a "chain" model whose weights make it write one given text over and over, so that
// greedy and sampled output is known in advance (multi-byte characters, stop strings, long streams).

import { join } from 'node:path';
import { ReferenceBackend } from '../../src/backend/reference.js';
import { makeConfig } from '../../src/config.js';
import { SwatModel } from '../../src/model/model.js';
import { EMBEDDINGS, LM_HEAD } from '../../src/model/params.js';
import { saveModel } from '../../src/model/store.js';
import { ByteLevelTokenizer } from '../../src/tokenizer/byte-level.js';

const tokenizer = new ByteLevelTokenizer();

/** An untrained byte-level model (2 layers × 32, window 8) saved in root/name. */
export function randomModelDir(root: string, name = 'random', seed = 1): string {
  const config = makeConfig({ vocabSize: tokenizer.vocabSize, layers: 2, dim: 32, heads: 2, window: 8, intermediateSize: 64, bosId: tokenizer.bosId, eosId: tokenizer.eosId });
  const dir = join(root, name);
  saveModel(dir, SwatModel.create(config, new ReferenceBackend('float32'), seed), tokenizer);
  return dir;
}

/** A byte-level model that, after EOS, writes `text` and then EOS, again and again: attention and MLP are
 *  zero, so the residual stream is the input token's embedding, a unit vector of its own; the head maps it
 *  to the next byte of the text with a logit margin of 10·√d. The text's bytes must be distinct. */
export function chainModelDir(root: string, text: string, name = 'chain'): string {
  const bytes = [...Buffer.from(text, 'utf8')];
  if (new Set(bytes).size !== bytes.length) throw new Error(`chainModelDir: the bytes of '${text}' repeat`);
  const D = 32;
  if (bytes.length + 1 > D) throw new Error('chainModelDir: text too long for the width');
  const config = makeConfig({ vocabSize: tokenizer.vocabSize, layers: 1, dim: D, heads: 2, window: 8, intermediateSize: 16, tieEmbeddings: false, bosId: tokenizer.bosId, eosId: tokenizer.eosId });
  const model = new SwatModel(config, new ReferenceBackend('float32'));
  for (const s of model.params.specs) if (s.name.endsWith('norm.weight')) model.params.get(s.name).fill(1);
  const inputs = [tokenizer.eosId, ...bytes];
  const next = [...bytes, tokenizer.eosId];
  const E = model.params.get(EMBEDDINGS);
  const W = model.params.get(LM_HEAD);
  inputs.forEach((id, i) => {
    E[id * D + i] = 1;
    W[next[i]! * D + i] = 10;
  });
  const dir = join(root, name);
  saveModel(dir, model, tokenizer);
  return dir;
}
