// Added tokens (tokenizer.json's `added_tokens`) found in text the way Hugging Face `tokenizers` finds them
// (its added_vocabulary.rs), so that "<|endoftext|>" or "</s>" inside a prompt gives the same ids here as
// there: first the tokens with `normalized: false` are matched in the raw text, then those with
// `normalized: true` in each remaining piece after the normalizer (matching their normalized content);
// each pass takes, from left to right, the longest token starting at the leftmost position, and then
// applies the token's options: `single_word` (no word character on either side, else the match is dropped),
// `lstrip` / `rstrip` (the whitespace before / after joins the token and disappears). With
// `specialTokens: 'text'` special tokens are not matched (tokenizers' encode_special_tokens, transformers'
// split_special_tokens): they are plain text, which is how swat reads training data.
// Not here: what the pieces between tokens become (each tokenizer's pre-tokenizer and model).

import type { SpecialToken } from './byte-level.js';

/** How special-token text in the input is read: as the special token, as Hugging Face does ('match'), or
 *  as plain text ('text'). */
export type SpecialTokenMode = 'match' | 'text';

/** Text between added tokens, normalized if the tokenizer has a normalizer, and where it starts in the
 *  original text (Metaspace's prepend_scheme "first" treats the piece at 0 differently). */
export interface TextPiece {
  text: string;
  start: number;
}

/** The pieces of a text in order: an added token's id, or text for the tokenizer's model. */
export type Piece = { id: number } | TextPiece;

interface Pattern {
  /** What is matched: the token's content, or its normalized content. */
  text: string;
  token: SpecialToken;
}

/** A trie of sorts: patterns by their first UTF-16 unit, longest first. */
class Patterns {
  private readonly byFirst = new Map<number, Pattern[]>();

  constructor(patterns: readonly Pattern[]) {
    for (const p of patterns) {
      if (p.text.length === 0) continue; // tokenizers ignores empty added tokens
      const list = this.byFirst.get(p.text.charCodeAt(0)) ?? [];
      list.push(p);
      this.byFirst.set(p.text.charCodeAt(0), list);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.text.length - a.text.length);
  }

  get empty(): boolean {
    return this.byFirst.size === 0;
  }

  /** The longest pattern starting at `i` of `s`, or undefined. */
  at(s: string, i: number): Pattern | undefined {
    return this.byFirst.get(s.charCodeAt(i))?.find((p) => s.startsWith(p.text, i));
  }
}

// Rust's Unicode \w and \s, which tokenizers' single_word, lstrip and rstrip use.
const WORD = /^[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]$/u;
const SPACE = /^\p{White_Space}$/u;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export class AddedTokens {
  private readonly raw: Patterns;
  private readonly normalized: Patterns;
  private readonly allSpecial: boolean;

  /** `normalize` is the tokenizer's normalizer (null: none); it also gives normalized tokens their
   *  pattern, as tokenizers normalizes their content. */
  constructor(tokens: readonly SpecialToken[], private readonly normalize: ((text: string) => string) | null) {
    this.raw = new Patterns(tokens.filter((t) => !t.normalized).map((t) => ({ text: t.content, token: t })));
    this.normalized = new Patterns(tokens.filter((t) => t.normalized).map((t) => ({ text: normalize ? normalize(t.content) : t.content, token: t })));
    this.allSpecial = tokens.every((t) => t.special !== false);
  }

  /** `text` cut at the added tokens found in it (none of the special ones with mode 'text'). */
  split(text: string, mode: SpecialTokenMode): Piece[] {
    if (mode === 'text' && this.allSpecial) return text.length === 0 ? [] : [this.piece(text, 0)];
    const out: Piece[] = [];
    // Lone surrogates become U+FFFD first, as the UTF-8 text tokenizers works on has them.
    const whole = text.replace(LONE_SURROGATE, '\uFFFD');
    for (const first of findTokens(whole, this.raw, mode)) {
      if ('id' in first) {
        out.push(first);
        continue;
      }
      const norm = this.normalize ? this.normalize(first.text) : first.text;
      for (const second of findTokens(norm, this.normalized, mode)) {
        if ('id' in second) out.push(second);
        else if (second.text.length > 0) out.push({ text: second.text, start: first.start + (this.normalize ? Math.min(second.start, 1) : second.start) });
      }
    }
    return out;
  }

  private piece(text: string, start: number): TextPiece {
    return { text: this.normalize ? this.normalize(text) : text, start };
  }
}

/** tokenizers' find_matches over one piece: token ids and the text between them, covering `sentence`. */
function findTokens(sentence: string, patterns: Patterns, mode: SpecialTokenMode): Piece[] {
  if (patterns.empty || sentence.length === 0) return [{ text: sentence, start: 0 }];
  const out: Piece[] = [];
  let done = 0; // start_offset: the end of the last token taken
  let i = 0;
  while (i < sentence.length) {
    const p = patterns.at(sentence, i);
    if (p === undefined) {
      i++;
      continue;
    }
    let start = i;
    let stop = i + p.text.length;
    // The scan resumes after a match even when the match is then dropped, as the Aho-Corasick iterator does.
    i = stop;
    const t = p.token;
    if (mode === 'text' && t.special !== false) continue;
    if (t.single_word && ((start > 0 && isWordBefore(sentence, start)) || (stop < sentence.length && isWordAt(sentence, stop)))) continue;
    if (t.lstrip) start = Math.max(spacesBefore(sentence, start), done);
    if (t.rstrip) stop = spacesAfter(sentence, stop);
    if (done < start) out.push({ text: sentence.slice(done, start), start: done });
    out.push({ id: t.id });
    done = stop;
  }
  if (done < sentence.length) out.push({ text: sentence.slice(done), start: done });
  return out;
}

function codePointBefore(s: string, i: number): string {
  const low = s.charCodeAt(i - 1);
  return low >= 0xdc00 && low <= 0xdfff && i >= 2 ? s.slice(i - 2, i) : s.slice(i - 1, i);
}

function isWordBefore(s: string, i: number): boolean {
  return WORD.test(codePointBefore(s, i));
}

function isWordAt(s: string, i: number): boolean {
  return WORD.test(String.fromCodePoint(s.codePointAt(i)!));
}

/** Where the whitespace run ending at `i` starts. */
function spacesBefore(s: string, i: number): number {
  while (i > 0 && SPACE.test(codePointBefore(s, i))) i -= codePointBefore(s, i).length;
  return i;
}

/** Where the whitespace run starting at `i` ends. */
function spacesAfter(s: string, i: number): number {
  while (i < s.length && SPACE.test(String.fromCodePoint(s.codePointAt(i)!))) i += s.codePointAt(i)! > 0xffff ? 2 : 1;
  return i;
}

/** The ids of `text`: added tokens as `added` finds them (special ones only with mode 'match', the default
 *  being 'text'), the text between them through `encodeText`. */
export function encodeWithAddedTokens(added: AddedTokens, text: string, mode: SpecialTokenMode | undefined, encodeText: (piece: TextPiece, out: number[]) => void): number[] {
  const out: number[] = [];
  for (const piece of added.split(text, mode ?? 'text')) {
    if ('id' in piece) out.push(piece.id);
    else encodeText(piece, out);
  }
  return out;
}
