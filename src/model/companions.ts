// The Hugging Face files beside a model's config.json and weights, so that `transformers` tools see what
// the model expects: generation_config.json (BOS, EOS, pad ids), tokenizer_config.json and
// special_tokens_map.json (their token strings), and a post-processor in tokenizer.json that puts BOS in
// front of a text when a tool asks for special tokens (`add_special_tokens=True`, its default).
//
// The convention they state is the model's own: config.json's bos_token_id is the token a document starts
// with. swat separates training documents by EOS and starts every text it scores or continues with it, so
// the models it creates name EOS there (as GPT-2 does); a model from elsewhere keeps what it states.
// swat's own `encode` never adds BOS (the caller places document boundaries); only other tools read this.
// Not here: reading these files (swat takes everything from config.json and tokenizer.json).

import type { SwatConfig } from '../config.js';
import { TOKENIZER_FILE } from '../tokenizer/hf-json.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

export const GENERATION_CONFIG_FILE = 'generation_config.json';
export const TOKENIZER_CONFIG_FILE = 'tokenizer_config.json';
export const SPECIAL_TOKENS_MAP_FILE = 'special_tokens_map.json';

/** The bos/eos ids of a model swat creates with `tokenizer`: documents are separated by EOS and every text
 *  starts after one, so EOS is also the token a document starts with. */
export function documentTokenIds(tokenizer: Tokenizer): { bosId: number; eosId: number } {
  return { bosId: tokenizer.eosId, eosId: tokenizer.eosId };
}

/** The companion files that go with config.json (tokenizer.json's among them when there is a tokenizer). */
export function companionFiles(config: SwatConfig, tokenizer: Tokenizer | null): Record<string, string> {
  const ids: Record<string, number> = {};
  for (const [key, id] of [['bos_token_id', config.bos_token_id], ['eos_token_id', config.eos_token_id], ['pad_token_id', config.pad_token_id]] as const) {
    if (id !== null) ids[key] = id;
  }
  const files: Record<string, string> = { [GENERATION_CONFIG_FILE]: json(ids) };
  if (tokenizer === null) return files;
  const tok = tokenizer.toJSON() as TokenizerJson;
  const added = new Map(tok.added_tokens.map((t) => [t.id, t]));
  // Only special added tokens can be named: a tool matches them in text and skips them when decoding.
  const named = (id: number | null) => (id !== null ? added.get(id)?.content : undefined);
  const specials: Record<string, string> = {};
  for (const [key, content] of [
    ['bos_token', named(config.bos_token_id)],
    ['eos_token', named(config.eos_token_id)],
    ['unk_token', typeof tok.model.unk_token === 'string' ? tok.model.unk_token : undefined],
    ['pad_token', named(config.pad_token_id)],
  ] as const) {
    if (content !== undefined) specials[key] = content;
  }
  const bos = specials['bos_token'];
  files[SPECIAL_TOKENS_MAP_FILE] = json(specials);
  files[TOKENIZER_CONFIG_FILE] = json({
    tokenizer_class: 'PreTrainedTokenizerFast',
    ...specials,
    add_bos_token: bos !== undefined,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    added_tokens_decoder: Object.fromEntries(tok.added_tokens.map(({ id, ...rest }) => [String(id), rest])),
  });
  if (bos !== undefined) tok.post_processor = prependBos(bos, config.bos_token_id!);
  files[TOKENIZER_FILE] = JSON.stringify(tok, null, 2) + '\n';
  return files;
}

interface TokenizerJson {
  added_tokens: { id: number; content: string }[];
  post_processor: unknown;
  model: { unk_token?: unknown };
}

/** `tokenizers`' TemplateProcessing that puts `bos` before a text (and before each text of a pair), as
 *  Llama's tokenizer.json does. */
function prependBos(bos: string, id: number): object {
  const special = (typeId: number) => ({ SpecialToken: { id: bos, type_id: typeId } });
  const sequence = (name: string, typeId: number) => ({ Sequence: { id: name, type_id: typeId } });
  return {
    type: 'TemplateProcessing',
    single: [special(0), sequence('A', 0)],
    pair: [special(0), sequence('A', 0), special(1), sequence('B', 1)],
    special_tokens: { [bos]: { id: bos, ids: [id], tokens: [bos] } },
  };
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
