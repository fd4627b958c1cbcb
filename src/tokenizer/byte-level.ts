// The byte-level tokenizer: ids 0…255 are the bytes of the text's UTF-8 encoding, 256 is BOS `<|bos|>`,
// 257 is EOS `<|endoftext|>`; V = 258. It is a byte-level BPE with an empty merge list, which is how it is
// saved (Hugging Face tokenizer.json, GPT-2 byte-to-unicode vocabulary) so other tools read the same ids.
// BPE merges (bpe.ts) keep this layout: merged tokens get ids after the special tokens.

import { InputError } from '../errors.js';
import { AddedTokens, encodeWithAddedTokens } from './added-tokens.js';
import type { EncodeOptions, Tokenizer } from './tokenizer.js';
import { byteLevelBpeJson } from './tokenizer-json.js';

export const BOS_TOKEN = '<|bos|>';
export const EOS_TOKEN = '<|endoftext|>';
export const BYTE_VOCAB_SIZE = 256;

/** An added token of tokenizer.json. The options are Hugging Face's (added-tokens.ts says what they do);
 *  absent means false, and `special` absent means true (the only kind swat reads). */
export interface SpecialToken {
  readonly id: number;
  readonly content: string;
  readonly special?: boolean;
  readonly single_word?: boolean;
  readonly lstrip?: boolean;
  readonly rstrip?: boolean;
  readonly normalized?: boolean;
}

/** The special tokens, in id order right after the bytes. */
export const SPECIAL_TOKENS: readonly SpecialToken[] = [
  { id: BYTE_VOCAB_SIZE, content: BOS_TOKEN },
  { id: BYTE_VOCAB_SIZE + 1, content: EOS_TOKEN },
];

/** GPT-2's byte-to-unicode map: entry b is the one-character token string of byte b. Printable Latin-1
 *  bytes stand for themselves; the other 68 (controls, space, 0x7f–0xa0, soft hyphen) are shifted to
 *  U+0100 and up, so every token string is visible and no byte is whitespace in the vocabulary file. */
export const BYTE_TO_UNICODE: readonly string[] = buildByteToUnicode();

/** Inverse of BYTE_TO_UNICODE. */
export const UNICODE_TO_BYTE: ReadonlyMap<string, number> = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

function buildByteToUnicode(): string[] {
  const printable = (b: number): boolean =>
    (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const map: string[] = [];
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    map.push(String.fromCodePoint(printable(b) ? b : 256 + shifted++));
  }
  return map;
}

const utf8Encoder = new TextEncoder();
// Not fatal: decoding arbitrary model output must not throw; invalid sequences become U+FFFD.
// ignoreBOM keeps a leading U+FEFF in the text instead of silently dropping it.
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

export class ByteLevelTokenizer implements Tokenizer {
  readonly vocabSize = BYTE_VOCAB_SIZE + SPECIAL_TOKENS.length;
  readonly bosId = BYTE_VOCAB_SIZE;
  readonly eosId = BYTE_VOCAB_SIZE + 1;
  readonly description = `byte-level (${BYTE_VOCAB_SIZE + SPECIAL_TOKENS.length} tokens)`;

  private readonly added = new AddedTokens(SPECIAL_TOKENS, null);

  encode(text: string, options?: EncodeOptions): number[] {
    if (options?.specialTokens !== 'match') return this.encodeBytes(utf8Encoder.encode(text));
    return encodeWithAddedTokens(this.added, text, 'match', (piece, out) => {
      for (const b of utf8Encoder.encode(piece.text)) out.push(b);
    });
  }

  encodeBytes(bytes: Uint8Array): number[] {
    // A plain loop: Array.from goes through the iterator and is about 4× slower.
    const ids = new Array<number>(bytes.length);
    for (let i = 0; i < bytes.length; i++) ids[i] = bytes[i]!;
    return ids;
  }

  decode(ids: ArrayLike<number>): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const out = new Uint8Array(ids.length);
    let n = 0;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) {
        throw new InputError(`decode: token id ${id} at position ${i} is outside the vocabulary [0, ${this.vocabSize})`);
      }
      if (id < BYTE_VOCAB_SIZE) out[n++] = id;
    }
    return out.subarray(0, n);
  }

  toJSON(): object {
    return byteLevelBpeJson({
      tokens: [...BYTE_TO_UNICODE, ...SPECIAL_TOKENS.map(() => null)],
      merges: [],
      specials: SPECIAL_TOKENS,
      useRegex: false,
    });
  }
}
