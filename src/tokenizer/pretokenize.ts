// Pre-tokenization: cutting input into the pieces ("words") that BPE merges never cross, for text (GPT-2's
// regex, as Hugging Face's ByteLevel pre-tokenizer with `use_regex: true` applies it) and for raw bytes that
// may not be UTF-8 (valid runs are text, invalid bytes are pieces of their own). Not here: the merges.

/** GPT-2's split pattern: contractions, letter runs, digit runs and punctuation runs each with at most one
 *  leading space, and whitespace runs (a run before a word leaves its last space to that word). Every code
 *  point is matched by one of the alternatives, so the pieces always cover the text. */
export const GPT2_SPLIT_PATTERN = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;

const gpt2Split = new RegExp(GPT2_SPLIT_PATTERN, 'gu');

/** Calls `piece` for each piece of `text` in order; the pieces concatenate to `text` exactly. A gap between
 *  matches (impossible with GPT-2's pattern, kept as a guard for exact round trips) is a piece too. */
export function forEachGpt2Piece(text: string, piece: (p: string) => void): void {
  gpt2Split.lastIndex = 0;
  let last = 0;
  for (let m = gpt2Split.exec(text); m !== null; m = gpt2Split.exec(text)) {
    if (m.index > last) piece(text.slice(last, m.index));
    piece(m[0]);
    last = m.index + m[0].length;
  }
  if (last < text.length) piece(text.slice(last));
}

/** Pieces of `text` as an array (convenience for tests and training). */
export function splitGpt2(text: string): string[] {
  const out: string[] = [];
  forEachGpt2Piece(text, (p) => out.push(p));
  return out;
}

/** A run of raw bytes: either valid UTF-8 (`valid`) or bytes that start no valid UTF-8 sequence. */
export interface ByteRun {
  readonly valid: boolean;
  readonly bytes: Uint8Array;
}

/** Splits bytes into maximal runs of valid UTF-8 and runs of bytes that are not (stray continuation bytes,
 *  truncated or overlong sequences, encoded surrogates, code points above U+10FFFF), in order. */
export function utf8Runs(bytes: Uint8Array): ByteRun[] {
  const runs: ByteRun[] = [];
  let start = 0;
  let i = 0;
  let inValid = true;
  while (i < bytes.length) {
    const n = validSequenceLength(bytes, i);
    const valid = n > 0;
    if (valid !== inValid && i > start) {
      runs.push({ valid: inValid, bytes: bytes.subarray(start, i) });
      start = i;
    }
    inValid = valid;
    i += valid ? n : 1;
  }
  if (i > start) runs.push({ valid: inValid, bytes: bytes.subarray(start, i) });
  return runs;
}

/** Length of the valid UTF-8 sequence starting at `i` (Unicode Table 3-7), or 0 when there is none. */
function validSequenceLength(b: Uint8Array, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => i + k < b.length && b[i + k]! >= lo && b[i + k]! <= hi;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c >= 0xe0 && c <= 0xef) {
    const lo = c === 0xe0 ? 0xa0 : 0x80;
    const hi = c === 0xed ? 0x9f : 0xbf; // ED A0..BF would encode a surrogate
    return cont(1, lo, hi) && cont(2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    const lo = c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xf4 ? 0x8f : 0xbf; // above F4 8F would exceed U+10FFFF
    return cont(1, lo, hi) && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}
