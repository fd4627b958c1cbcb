// The tokenizer.json object of a byte-level BPE (Hugging Face `tokenizers` layout, every field it writes so
// its loader and the ports of it find what they expect): shared by the byte tokenizer (no merges), trained
// vocabularies and GPT-2. No post_processor: like `encode`, it adds no BOS/EOS on its own (a model
// directory's tokenizer.json gets one from the model's config: model/companions.ts).

import type { ByteLevelBpeSpec } from './bpe.js';
import type { SpecialToken } from './byte-level.js';

/** The tokenizer.json object, with every field Hugging Face's `tokenizers` writes. No post_processor: encode
 *  adds no BOS/EOS on its own. Merges are "left right" strings: byte-alphabet tokens never contain a space. */
export function byteLevelBpeJson(spec: Pick<ByteLevelBpeSpec, 'tokens' | 'merges' | 'specials' | 'useRegex' | 'specialsInVocab'>): object {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: spec.useRegex };
  // Entries, not assignments: a token may be spelled "__proto__".
  const entries: [string, number][] = [];
  spec.tokens.forEach((t, id) => {
    if (t !== null) entries.push([t, id]);
  });
  if (spec.specialsInVocab) for (const s of spec.specials) entries.push([s.content, s.id]);
  const vocab = Object.fromEntries(entries);
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.specials.map(addedToken),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: spec.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** One entry of tokenizer.json's added_tokens. */
export function addedToken(s: SpecialToken): object {
  return {
    id: s.id,
    content: s.content,
    single_word: s.single_word ?? false,
    lstrip: s.lstrip ?? false,
    rstrip: s.rstrip ?? false,
    normalized: s.normalized ?? false,
    special: s.special ?? true,
  };
}
