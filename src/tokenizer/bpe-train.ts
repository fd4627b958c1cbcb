// Training a byte-level BPE vocabulary: count the corpus's pre-tokenized pieces once, then merge over the
// unique pieces only, keeping pair counts up to date incrementally — each merge touches just the pieces that
// contain its pair — and picking the most frequent pair from a lazy max-heap. This is the algorithm of
// Hugging Face's BpeTrainer, including its tie-break (equal counts: the pair with smaller ids first), so a
// merge list depends only on the piece counts. Ids: 0–255 the bytes, 256 BOS, 257 EOS, then one per merge.
// Not here: reading the corpus (the caller feeds texts), encoding (bpe.ts).

import { InputError } from '../errors.js';
import { BYTE_TO_UNICODE, BYTE_VOCAB_SIZE, SPECIAL_TOKENS } from './byte-level.js';
import { ByteLevelBpeTokenizer } from './bpe.js';
import { PAIR_BASE } from './merges.js';
import { forEachGpt2Piece } from './pretokenize.js';

export interface BpeTrainOptions {
  /** Wanted V including the 256 bytes and the 2 special tokens. */
  vocabSize: number;
  /** Pairs seen fewer times are never merged (default 2: a merge seen once only memorises). */
  minFrequency?: number;
  /** Called every few hundred merges and at the end. */
  onProgress?: (merges: number, target: number) => void;
}

/** Counts of GPT-2 pieces: the input of trainBpe, built one text at a time so the corpus never has to be
 *  in memory at once. */
export class PieceCounter {
  readonly counts = new Map<string, number>();

  add(text: string): void {
    const counts = this.counts;
    forEachGpt2Piece(text, (p) => counts.set(p, (counts.get(p) ?? 0) + 1));
  }
}

const FIRST_MERGE_ID = BYTE_VOCAB_SIZE + SPECIAL_TOKENS.length;

/** Learns up to vocabSize − 258 merges from piece counts. Fewer when no pair is frequent enough. */
export function trainBpe(counts: ReadonlyMap<string, number>, opts: BpeTrainOptions): ByteLevelBpeTokenizer {
  const target = opts.vocabSize - FIRST_MERGE_ID;
  if (!Number.isInteger(opts.vocabSize) || target < 0 || opts.vocabSize > PAIR_BASE) {
    throw new InputError(`vocab size must be an integer in [${FIRST_MERGE_ID}, ${PAIR_BASE}], got ${opts.vocabSize}`);
  }
  const state = new TrainState(counts);
  const tokens: (string | null)[] = [...BYTE_TO_UNICODE, ...SPECIAL_TOKENS.map(() => null)];
  const merges: [string, string][] = [];
  const minFrequency = Math.max(1, opts.minFrequency ?? 2);
  while (merges.length < target) {
    const best = state.popBest(minFrequency);
    if (best === undefined) break;
    const a = Math.floor(best / PAIR_BASE);
    const b = best - a * PAIR_BASE;
    const id = FIRST_MERGE_ID + merges.length;
    state.merge(a, b, id);
    merges.push([tokens[a]!, tokens[b]!]);
    tokens.push(tokens[a]! + tokens[b]!);
    if (opts.onProgress && merges.length % 500 === 0) opts.onProgress(merges.length, target);
  }
  opts.onProgress?.(merges.length, target);
  return new ByteLevelBpeTokenizer({
    tokens,
    merges,
    specials: SPECIAL_TOKENS,
    bosId: SPECIAL_TOKENS[0]!.id,
    eosId: SPECIAL_TOKENS[1]!.id,
    useRegex: true,
    name: 'bpe',
  });
}

const utf8Encoder = new TextEncoder();

/** The unique pieces as id sequences with their counts, pair counts, where each pair occurs, and the heap. */
class TrainState {
  private readonly words: number[][] = [];
  private readonly freq: number[] = [];
  private readonly pairCount = new Map<number, number>();
  /** pair → indices of words that contained it when it was counted (may repeat or be stale: merge rechecks). */
  private readonly where = new Map<number, number[]>();
  private readonly heap = new PairHeap();

  constructor(counts: ReadonlyMap<string, number>) {
    for (const [piece, n] of counts) {
      const ids = Array.from(utf8Encoder.encode(piece));
      if (ids.length < 2) continue; // a single byte has no pair to merge
      const w = this.words.length;
      this.words.push(ids);
      this.freq.push(n);
      for (let i = 0; i + 1 < ids.length; i++) this.add(ids[i]! * PAIR_BASE + ids[i + 1]!, n, w);
    }
    for (const [pair, n] of this.pairCount) this.heap.push(n, pair);
  }

  /** The most frequent pair (smaller ids first among equals), or undefined when none reaches minFrequency. */
  popBest(minFrequency: number): number | undefined {
    while (this.heap.size > 0) {
      const { count, pair } = this.heap.pop();
      const current = this.pairCount.get(pair) ?? 0;
      if (current !== count) {
        // Stale entry: the count changed since it was pushed; re-queue with the true count.
        if (current > 0) this.heap.push(current, pair);
        continue;
      }
      return count >= minFrequency ? pair : undefined;
    }
    return undefined;
  }

  /** Replaces every occurrence of (a, b) by `id` and updates the counts of the neighbouring pairs. */
  merge(a: number, b: number, id: number): void {
    const pair = a * PAIR_BASE + b;
    const touched = new Set<number>();
    const seen = new Set<number>();
    for (const w of this.where.get(pair) ?? []) {
      if (seen.has(w)) continue;
      seen.add(w);
      this.mergeWord(w, a, b, id, touched);
    }
    this.pairCount.delete(pair);
    this.where.delete(pair);
    for (const p of touched) {
      const n = this.pairCount.get(p) ?? 0;
      if (n > 0) this.heap.push(n, p);
    }
  }

  private mergeWord(w: number, a: number, b: number, id: number, touched: Set<number>): void {
    const ids = this.words[w]!;
    const n = this.freq[w]!;
    for (let i = 0; i + 1 < ids.length; i++) {
      if (ids[i] !== a || ids[i + 1] !== b) continue;
      if (i > 0) {
        const left = ids[i - 1]!;
        this.add(left * PAIR_BASE + a, -n, w);
        this.add(left * PAIR_BASE + id, n, w);
        touched.add(left * PAIR_BASE + id);
      }
      if (i + 2 < ids.length) {
        const right = ids[i + 2]!;
        this.add(b * PAIR_BASE + right, -n, w);
        this.add(id * PAIR_BASE + right, n, w);
        touched.add(id * PAIR_BASE + right);
      }
      ids[i] = id;
      ids.splice(i + 1, 1);
    }
  }

  private add(pair: number, delta: number, w: number): void {
    this.pairCount.set(pair, (this.pairCount.get(pair) ?? 0) + delta);
    if (delta > 0) {
      const list = this.where.get(pair);
      if (list === undefined) this.where.set(pair, [w]);
      else if (list[list.length - 1] !== w) list.push(w);
    }
  }
}

/** Max-heap of (count, pair) ordered by count, then by smaller pair key (smaller left id, then right). */
class PairHeap {
  private readonly counts: number[] = [];
  private readonly pairs: number[] = [];

  get size(): number {
    return this.counts.length;
  }

  push(count: number, pair: number): void {
    let i = this.counts.length;
    this.counts.push(count);
    this.pairs.push(pair);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(count, pair, this.counts[p]!, this.pairs[p]!)) break;
      this.counts[i] = this.counts[p]!;
      this.pairs[i] = this.pairs[p]!;
      i = p;
    }
    this.counts[i] = count;
    this.pairs[i] = pair;
  }

  pop(): { count: number; pair: number } {
    const top = { count: this.counts[0]!, pair: this.pairs[0]! };
    const count = this.counts.pop()!;
    const pair = this.pairs.pop()!;
    const n = this.counts.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && this.before(this.counts[c + 1]!, this.pairs[c + 1]!, this.counts[c]!, this.pairs[c]!)) c++;
        if (!this.before(this.counts[c]!, this.pairs[c]!, count, pair)) break;
        this.counts[i] = this.counts[c]!;
        this.pairs[i] = this.pairs[c]!;
        i = c;
      }
      this.counts[i] = count;
      this.pairs[i] = pair;
    }
    return top;
  }

  private before(c1: number, p1: number, c2: number, p2: number): boolean {
    return c1 > c2 || (c1 === c2 && p1 < p2);
  }
}
