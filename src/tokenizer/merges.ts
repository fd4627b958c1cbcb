// Applying a BPE merge list to one piece: repeatedly merge the adjacent pair of lowest rank, the leftmost
// one among equals — the rule of Hugging Face's BPE model and of tiktoken, so ids match other tools.
// Short pieces use a plain scan (fastest for the usual 1–15 symbols); long ones (whitespace or digit runs,
// minified text) a heap over a linked list, O(n log n) instead of O(n²). Not here: pre-tokenization, caching.

import { MinHeap } from './heap.js';
import { MAX_VOCAB_SIZE } from './tokenizer.js';

/** Pairs are keyed a · PAIR_BASE + b: exact in a double for ids below 2^21 (2 million tokens). */
export const PAIR_BASE = MAX_VOCAB_SIZE;

const SCAN_LIMIT = 48;

export class MergeTable {
  /** pair key → rank (position in the merge list). */
  private readonly rankOf = new Map<number, number>();
  /** rank → id of the merged token. */
  private readonly result: Int32Array;

  /** `merges[r]` = [left id, right id, merged id] of the merge of rank r. */
  constructor(merges: ReadonlyArray<readonly [number, number, number]>) {
    this.result = new Int32Array(merges.length);
    merges.forEach(([a, b, c], r) => {
      const key = a * PAIR_BASE + b;
      // A repeated pair keeps its first (lowest) rank, as a later duplicate could never apply.
      if (!this.rankOf.has(key)) this.rankOf.set(key, r);
      this.result[r] = c;
    });
  }

  get size(): number {
    return this.result.length;
  }

  /** Merges `ids` in place and returns the merged sequence (a prefix of the same array). */
  apply(ids: number[]): number[] {
    if (ids.length < 2) return ids;
    return ids.length <= SCAN_LIMIT ? this.applyScan(ids) : this.applyHeap(ids);
  }

  private applyScan(ids: number[]): number[] {
    for (;;) {
      let best = Infinity;
      let at = -1;
      for (let i = 0; i + 1 < ids.length; i++) {
        const r = this.rankOf.get(ids[i]! * PAIR_BASE + ids[i + 1]!);
        if (r !== undefined && r < best) {
          best = r;
          at = i;
        }
      }
      if (at < 0) return ids;
      ids[at] = this.result[best]!;
      ids.splice(at + 1, 1);
      if (ids.length < 2) return ids;
    }
  }

  /** Same result as applyScan: heap keys are rank · n + position, so among equal ranks the leftmost pops
   *  first; entries made stale by an earlier merge are recognised by re-checking the pair's rank. */
  private applyHeap(ids: number[]): number[] {
    const n = ids.length;
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const alive = new Uint8Array(n).fill(1);
    const heap = new MinHeap();
    const push = (i: number): void => {
      const j = next[i]!;
      if (j < 0) return;
      const r = this.rankOf.get(ids[i]! * PAIR_BASE + ids[j]!);
      if (r !== undefined) heap.push(r * n + i);
    };
    for (let i = 0; i + 1 < n; i++) push(i);
    while (heap.size > 0) {
      const key = heap.pop();
      const i = key % n;
      const r = (key - i) / n;
      const j = next[i]!;
      if (!alive[i] || j < 0 || this.rankOf.get(ids[i]! * PAIR_BASE + ids[j]!) !== r) continue;
      ids[i] = this.result[r]!;
      alive[j] = 0;
      next[i] = next[j]!;
      if (next[j]! >= 0) prev[next[j]!] = i;
      if (prev[i]! >= 0) push(prev[i]!);
      push(i);
    }
    let k = 0;
    for (let i = 0; i >= 0; i = next[i]!) ids[k++] = ids[i]!;
    ids.length = k;
    return ids;
  }
}
