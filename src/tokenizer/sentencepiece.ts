// SentencePiece-style BPE with byte fallback, in Hugging Face's reading. Two ways to turn text into the
// pieces the merges see, both of tokenizer.json:
//   - Llama-2's normalizer: a `▁` is prepended to the text and every space becomes `▁` (Prepend + Replace);
//   - a Metaspace pre-tokenizer: every space becomes `▁`, a `▁` is prepended unless the text already starts
//     with one (prepend_scheme "always"; "first": only to the text at the very start of the input, not to
//     text after an added token; "never"), and with `split` the text is cut before every `▁`, so merges
//     never cross words.
// Each character is then a token if the vocabulary has it, else its UTF-8 bytes become the byte-fallback
// tokens `<0xXX>` (also when the file lists them among its added tokens); then the merge list joins tokens
// in rank order. Decoding turns `▁` back into spaces, byte tokens into bytes, and `decode` drops the one
// leading space the encoder prepends. Added tokens are found as added-tokens.ts says. Not here: reading the
// file (hf-json.ts), byte-level BPE (bpe.ts).
//
// Without `split`, encoding is cut at every `▁` that follows another character, which gives the same ids as
// merging over the whole text when no token has a `▁` after another character (true of Llama's vocabulary,
// checked at construction; otherwise the text is merged whole). The pieces are cached like words.
//
// Deliberate differences between the two directions, so that streaming stays exact:
// - encode(text) is Hugging Face's encode (with the leading `▁`), and decode(encode(t)) === t with Llama's
//   normalizer or prepend_scheme "never" (with "always" or "first" a space the text starts with is lost,
//   as in tokenizers);
// - encodeBytes(bytes) takes raw bytes literally (spaces become `▁`, bytes that are not UTF-8 become byte
//   tokens, no `▁` is prepended) and decodeBytes, which never strips anything, is its exact inverse and
//   concatenates: decodeBytes(a ++ b) = decodeBytes(a) ++ decodeBytes(b), as a token-by-token printer needs.

import { InputError, showJson } from '../errors.js';
import { AddedTokens, type TextPiece, encodeWithAddedTokens } from './added-tokens.js';
import type { SpecialToken } from './byte-level.js';
import { addedToken } from './tokenizer-json.js';
import { MergeTable } from './merges.js';
import { utf8Runs } from './pretokenize.js';
import type { EncodeOptions, Tokenizer } from './tokenizer.js';
import { concatTokenBytes, tokenBytesOf } from './token-bytes.js';

export const METASPACE = '\u2581';

export interface SentencePieceBpeSpec {
  /** id → piece, special tokens and `<0xXX>` byte tokens included. */
  readonly tokens: readonly string[];
  readonly merges: readonly (readonly [string, string])[];
  /** Added tokens (`<unk>`, `<s>`, `</s>`): they decode to nothing and are never produced from text. */
  readonly specials: readonly SpecialToken[];
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly name: string;
  /** A Metaspace pre-tokenizer; absent: Llama-2's Prepend/Replace normalizer. */
  readonly metaspace?: MetaspaceOptions;
}

/** tokenizers' Metaspace (replacement `▁`). */
export interface MetaspaceOptions {
  readonly prependScheme: 'always' | 'first' | 'never';
  readonly split: boolean;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const BYTE_TOKEN = /^<0x([0-9A-F]{2})>$/;
const CACHE_MAX_PIECE = 64;
const CACHE_MAX_ENTRIES = 1 << 18;

export class SentencePieceBpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly spec: SentencePieceBpeSpec;
  private readonly idOf = new Map<string, number>();
  private readonly byteId = new Int32Array(256);
  private readonly bytesOf: Uint8Array[];
  private readonly table: MergeTable;
  private readonly splitAtSpaces: boolean;
  private readonly cache = new Map<string, number[]>();
  private readonly added: AddedTokens;
  /** Whether encode puts a `▁` in front (so decode drops the space it stands for). */
  private readonly prepends: boolean;

  constructor(spec: SentencePieceBpeSpec) {
    this.spec = spec;
    this.vocabSize = spec.tokens.length;
    this.bosId = spec.bosId;
    this.eosId = spec.eosId;
    this.prepends = spec.metaspace?.prependScheme !== 'never';
    this.added = new AddedTokens(spec.specials, spec.metaspace ? null : llamaNormalize);
    const special = new Set(spec.specials.map((s) => s.id));
    this.byteId.fill(-1);
    this.bytesOf = spec.tokens.map((t, id) => {
      this.idOf.set(t, id);
      // A byte token stays one when the file also lists it among its special tokens.
      const byte = BYTE_TOKEN.exec(t);
      if (byte !== null) {
        this.byteId[parseInt(byte[1]!, 16)] = id;
        return Uint8Array.of(parseInt(byte[1]!, 16));
      }
      if (special.has(id)) return new Uint8Array(0);
      return utf8Encoder.encode(t.replaceAll(METASPACE, ' '));
    });
    const missing = this.byteId.indexOf(-1);
    if (missing >= 0) throw new InputError(`${spec.name}: byte fallback needs token <0x${hex(missing)}>, which is not in the vocabulary`);
    this.table = new MergeTable(spec.merges.map(([a, b], r) => this.mergeIds(a, b, r)));
    this.splitAtSpaces = !spec.tokens.some((t, id) => !special.has(id) && /[^\u2581]\u2581/u.test(t));
  }

  get description(): string {
    return `SentencePiece BPE with byte fallback, ${this.vocabSize} tokens (${this.spec.merges.length} merges)`;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    return encodeWithAddedTokens(this.added, text, options?.specialTokens, (piece, out) => this.encodeText(piece, out));
  }

  encodeBytes(bytes: Uint8Array): number[] {
    const out: number[] = [];
    for (const run of utf8Runs(bytes)) {
      if (run.valid) this.encodeSpaced(utf8Decoder.decode(run.bytes).replaceAll(' ', METASPACE), out);
      else for (const b of run.bytes) out.push(this.byteId[b]!);
    }
    return out;
  }

  /** Text of the ids, without the leading space that encode's `▁` stands for (Hugging Face's Strip). */
  decode(ids: ArrayLike<number>): string {
    const text = utf8Decoder.decode(this.decodeBytes(ids));
    return this.prepends && text.startsWith(' ') ? text.slice(1) : text;
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    return concatTokenBytes(this.bytesOf, ids);
  }

  /** The bytes of one token (empty for a special token). Throws InputError outside the vocabulary. */
  tokenBytes(id: number, position = 0): Uint8Array {
    return tokenBytesOf(this.bytesOf, id, position);
  }

  toJSON(): object {
    return sentencePieceJson(this.spec);
  }

  /** Text between added tokens: normalized already (Llama's normalizer), or through Metaspace. */
  private encodeText(piece: TextPiece, out: number[]): void {
    const m = this.spec.metaspace;
    if (m === undefined) {
      this.encodeNormalized(piece.text, out);
      return;
    }
    let text = piece.text.replaceAll(' ', METASPACE);
    const prepend = m.prependScheme === 'always' || (m.prependScheme === 'first' && piece.start === 0);
    if (prepend && !text.startsWith(METASPACE)) text = METASPACE + text;
    this.encodeSpaced(text, out);
  }

  /** Text whose spaces are `▁` already: cut before every `▁` with Metaspace's split, else merged whole. */
  private encodeSpaced(text: string, out: number[]): void {
    if (!this.spec.metaspace?.split) {
      this.encodeNormalized(text, out);
      return;
    }
    let start = 0;
    for (let i = 1; i < text.length; i++) {
      if (text.charCodeAt(i) === 0x2581) {
        this.encodePiece(text.slice(start, i), out);
        start = i;
      }
    }
    if (text.length > 0) this.encodePiece(text.slice(start), out);
  }

  private encodeNormalized(text: string, out: number[]): void {
    if (!this.splitAtSpaces) {
      this.encodePiece(text, out);
      return;
    }
    let start = 0;
    for (let i = 1; i < text.length; i++) {
      if (text.charCodeAt(i) === 0x2581 && text.charCodeAt(i - 1) !== 0x2581) {
        this.encodePiece(text.slice(start, i), out);
        start = i;
      }
    }
    this.encodePiece(text.slice(start), out);
  }

  private encodePiece(piece: string, out: number[]): void {
    let ids = this.cache.get(piece);
    if (ids === undefined) {
      ids = this.table.apply(this.charIds(piece));
      if (piece.length <= CACHE_MAX_PIECE) {
        if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
        this.cache.set(piece, ids);
      }
    }
    for (const id of ids) out.push(id);
  }

  /** One token per character the vocabulary has; byte tokens for the UTF-8 of any other (lone surrogates
   *  encode as U+FFFD, as in any UTF-8 encoder). */
  private charIds(piece: string): number[] {
    const ids: number[] = [];
    for (const ch of piece) {
      const id = this.idOf.get(ch);
      if (id !== undefined && this.bytesOf[id]!.length > 0) ids.push(id);
      else for (const b of utf8Encoder.encode(ch)) ids.push(this.byteId[b]!);
    }
    return ids;
  }

  private mergeIds(a: string, b: string, rank: number): [number, number, number] {
    const ia = this.idOf.get(a);
    const ib = this.idOf.get(b);
    const ic = this.idOf.get(a + b);
    if (ia === undefined || ib === undefined || ic === undefined) {
      const missing = ia === undefined ? a : ib === undefined ? b : a + b;
      throw new InputError(`${this.spec.name}: model.merges[${rank}] ${showJson(`${a} ${b}`)} needs token ${showJson(missing)}, which is not in the vocabulary`);
    }
    return [ia, ib, ic];
  }
}

/** Llama-2's normalizer: Prepend("▁") (to text that is not empty), then Replace(" ", "▁"). */
function llamaNormalize(text: string): string {
  return text.length === 0 ? text : METASPACE + text.replaceAll(' ', METASPACE);
}

function hex(b: number): string {
  return b.toString(16).toUpperCase().padStart(2, '0');
}

/** Hugging Face's layout for a SentencePiece BPE (as in Llama-2's tokenizer.json, or with the Metaspace
 *  pre-tokenizer it was read with), minus the post-processor that would add BOS: encode never adds special
 *  tokens here. */
function sentencePieceJson(spec: SentencePieceBpeSpec): object {
  const m = spec.metaspace;
  const strip = m?.prependScheme !== 'never' ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : [];
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.specials.map(addedToken),
    normalizer: m
      ? null
      : {
          type: 'Sequence',
          normalizers: [
            { type: 'Prepend', prepend: METASPACE },
            { type: 'Replace', pattern: { String: ' ' }, content: METASPACE },
          ],
        },
    pre_tokenizer: m ? { type: 'Metaspace', replacement: METASPACE, prepend_scheme: m.prependScheme, split: m.split } : null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: METASPACE }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, ...strip],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: spec.tokens[spec.unkId] ?? null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab: Object.fromEntries(spec.tokens.map((t, id) => [t, id])),
      merges: spec.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
