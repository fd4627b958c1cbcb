// The tokenizer contract shared by training, inference and the server: text <-> token ids.
// Not a tokenizer itself (see byte-level.ts), and not the file format (see hf-json.ts). A model built with
// only a vocabulary size and no tokenizer runs on raw token ids and never goes through this interface.

import type { SpecialTokenMode } from './added-tokens.js';

/** The most tokens a vocabulary may have: ids index a table, and the BPE merge table keys a pair of ids as
 *  one double (merges.ts), exact below 2^21 = 2,097,152, 8× the largest published vocabularies (256k). */
export const MAX_VOCAB_SIZE = 2 ** 21;

/** Options of `encode`. */
export interface EncodeOptions {
  /** Special-token text in the input ("<|endoftext|>", "</s>"): read as plain text ('text', the default:
   *  data cannot inject special tokens), or as the special token, where Hugging Face `tokenizers` would find
   *  it ('match', its default; added-tokens.ts). */
  specialTokens?: SpecialTokenMode;
}

export interface Tokenizer {
  /** V: every id this tokenizer produces or accepts is in [0, vocabSize). */
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  /** The ids of `text`'s UTF-8 encoding. Never adds BOS or EOS: the caller decides where documents start
   *  and end. By default text is taken literally: "<|endoftext|>" inside a document is bytes, not EOS, so
   *  data cannot inject special tokens (options.specialTokens 'match' reads it as Hugging Face does). Lone
   *  surrogates (not valid Unicode) become U+FFFD, as in any UTF-8 encoder. */
  encode(text: string, options?: EncodeOptions): number[];
  /** The ids of raw bytes; round-trips any byte sequence through decodeBytes, valid UTF-8 or not. */
  encodeBytes(bytes: Uint8Array): number[];
  /** Text of the ids. Special tokens (BOS, EOS) produce no text; byte sequences that are not valid UTF-8
   *  decode to U+FFFD. Throws InputError for an id outside the vocabulary. */
  decode(ids: ArrayLike<number>): string;
  /** Bytes of the ids, special tokens dropped. Throws InputError for an id outside the vocabulary. */
  decodeBytes(ids: ArrayLike<number>): Uint8Array;
  /** The Hugging Face tokenizer.json object of this tokenizer. */
  toJSON(): object;
  /** What kind of vocabulary this is, for people: "byte-level BPE, 8192 tokens (7934 merges)". */
  readonly description?: string;
}
