// Byte-level BPE (GPT-2 style), the tokenizer `swat tokenizer train` makes and the one GPT-2's vocabulary
// uses: text is cut into pieces by GPT-2's regex, each piece's UTF-8 bytes start as one token per byte, and
// the merge list joins adjacent tokens in rank order. Any byte sequence round-trips: bytes that are not UTF-8
// form pieces of their own. Encoding caches each piece's ids (natural text repeats a few thousand words).
// Token strings use GPT-2's byte-to-unicode alphabet, as in tokenizer.json. Not here: training (bpe-train.ts),
// reading the file (hf-json.ts), SentencePiece vocabularies (sentencepiece.ts).

import { InputError, showJson } from '../errors.js';
import { BYTE_TO_UNICODE, type SpecialToken, UNICODE_TO_BYTE } from './byte-level.js';
import { AddedTokens, encodeWithAddedTokens } from './added-tokens.js';
import { MergeTable } from './merges.js';
import { forEachGpt2Piece, utf8Runs } from './pretokenize.js';
import type { EncodeOptions, Tokenizer } from './tokenizer.js';
import { concatTokenBytes, tokenBytesOf } from './token-bytes.js';
import { byteLevelBpeJson } from './tokenizer-json.js';

export interface ByteLevelBpeSpec {
  /** id → token string in the byte-to-unicode alphabet; null for the ids of special tokens. */
  readonly tokens: readonly (string | null)[];
  /** The merge list in rank order, as token string pairs. */
  readonly merges: readonly (readonly [string, string])[];
  readonly specials: readonly SpecialToken[];
  readonly bosId: number;
  readonly eosId: number;
  /** Cut text with GPT-2's regex first (Hugging Face `use_regex`); without it, merges may cross words. */
  readonly useRegex: boolean;
  /** Whether tokenizer.json lists the special tokens in model.vocab too (GPT-2's file does). */
  readonly specialsInVocab?: boolean;
  /** A name for messages, e.g. "bpe" or "gpt2". */
  readonly name: string;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Pieces longer than this are encoded but not cached: they rarely repeat and would fill the cache. */
const CACHE_MAX_PIECE = 64;
const CACHE_MAX_ENTRIES = 1 << 18;

export class ByteLevelBpeTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly spec: ByteLevelBpeSpec;
  /** id → its bytes; empty for special tokens. */
  private readonly bytesOf: Uint8Array[];
  /** byte value → id of its single-byte token. */
  private readonly byteId = new Int32Array(256);
  private readonly table: MergeTable;
  private readonly cache = new Map<string, number[]>();
  private readonly added: AddedTokens;

  /** Throws InputError when the spec is inconsistent (hf-json.ts checks files first, with file names). */
  constructor(spec: ByteLevelBpeSpec) {
    this.spec = spec;
    this.added = new AddedTokens(spec.specials, null);
    this.vocabSize = spec.tokens.length;
    this.bosId = spec.bosId;
    this.eosId = spec.eosId;
    const idOf = new Map<string, number>();
    this.bytesOf = spec.tokens.map((t, id) => {
      if (t === null) return new Uint8Array(0);
      idOf.set(t, id);
      return tokenStringBytes(t, id);
    });
    this.byteId.fill(-1);
    for (let b = 0; b < 256; b++) {
      const id = idOf.get(BYTE_TO_UNICODE[b]!);
      if (id === undefined) throw new InputError(`${spec.name}: the vocabulary lacks the token of byte ${b}`);
      this.byteId[b] = id;
    }
    this.table = new MergeTable(spec.merges.map(([a, b], r) => mergeIds(idOf, a, b, r, spec.name)));
  }

  get mergeCount(): number {
    return this.table.size;
  }

  get description(): string {
    return `byte-level BPE, ${this.vocabSize} tokens (${this.mergeCount} merges)`;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    return encodeWithAddedTokens(this.added, text, options?.specialTokens, ({ text: piece }, out) => {
      if (this.spec.useRegex) forEachGpt2Piece(piece, (p) => this.encodePiece(p, out));
      else this.encodePiece(piece, out);
    });
  }

  encodeBytes(bytes: Uint8Array): number[] {
    const out: number[] = [];
    for (const run of utf8Runs(bytes)) {
      if (run.valid) {
        const text = utf8Decoder.decode(run.bytes);
        if (this.spec.useRegex) forEachGpt2Piece(text, (p) => this.encodePiece(p, out));
        else this.mergeBytes(run.bytes, out);
      } else {
        this.mergeBytes(run.bytes, out);
      }
    }
    return out;
  }

  decode(ids: ArrayLike<number>): string {
    return utf8Decoder.decode(this.decodeBytes(ids));
  }

  decodeBytes(ids: ArrayLike<number>): Uint8Array {
    return concatTokenBytes(this.bytesOf, ids);
  }

  /** The bytes of one token (empty for a special token). Throws InputError outside the vocabulary. */
  tokenBytes(id: number, position = 0): Uint8Array {
    return tokenBytesOf(this.bytesOf, id, position);
  }

  toJSON(): object {
    return byteLevelBpeJson(this.spec);
  }

  private encodePiece(piece: string, out: number[]): void {
    const cached = this.cache.get(piece);
    if (cached !== undefined) {
      for (const id of cached) out.push(id);
      return;
    }
    const ids = this.table.apply(this.pieceIds(piece));
    if (piece.length <= CACHE_MAX_PIECE) {
      if (this.cache.size >= CACHE_MAX_ENTRIES) this.cache.clear();
      this.cache.set(piece, ids);
    }
    for (const id of ids) out.push(id);
  }

  /** The single-byte token ids of the piece's UTF-8 encoding; ASCII without going through TextEncoder. */
  private pieceIds(piece: string): number[] {
    const ids: number[] = new Array(piece.length);
    for (let i = 0; i < piece.length; i++) {
      const c = piece.charCodeAt(i);
      if (c >= 0x80) return Array.from(utf8Encoder.encode(piece), (b) => this.byteId[b]!);
      ids[i] = this.byteId[c]!;
    }
    return ids;
  }

  private mergeBytes(bytes: Uint8Array, out: number[]): void {
    const ids = this.table.apply(Array.from(bytes, (b) => this.byteId[b]!));
    for (const id of ids) out.push(id);
  }
}

function tokenStringBytes(token: string, id: number): Uint8Array {
  const chars = Array.from(token);
  return Uint8Array.from(chars, (c) => {
    const b = UNICODE_TO_BYTE.get(c);
    if (b === undefined) throw new InputError(`model.vocab token ${id} ${showJson(token)} has a character outside the byte-level alphabet`);
    return b;
  });
}

function mergeIds(idOf: Map<string, number>, a: string, b: string, rank: number, name: string): [number, number, number] {
  const ia = idOf.get(a);
  const ib = idOf.get(b);
  const ic = idOf.get(a + b);
  if (ia === undefined || ib === undefined || ic === undefined) {
    const missing = ia === undefined ? a : ib === undefined ? b : a + b;
    throw new InputError(`${name}: model.merges[${rank}] ${showJson(`${a} ${b}`)} needs token ${showJson(missing)}, which is not in the vocabulary`);
  }
  return [ia, ib, ic];
}
