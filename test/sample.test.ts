// The sampler's shortcuts against the plain definition (support/plain-sampler.ts): every weight computed over the
// whole row, the vocabulary fully sorted (ties by id), the filters cut in that order, and the draw walking
// all V tokens in id order with one uniform number. The rows are chosen to reach each shortcut: a flat row
// (an untrained model's: one weight bucket holds nearly everything, so the cut is found among sub-buckets),
// a wide one (most weights under the cutoff, never exponentiated), ties straddling the cut, and top-k
// larger than the tokens with any weight (the kept weights of 0).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SAMPLING, type SamplingOptions, candidates, sampleToken, temperedWeights } from '../src/infer/sample.js';
import { Rng } from '../src/random.js';
import { plainKept, plainWeights } from './support/plain-sampler.js';

/** One draw: u = uniform · the kept total (summed in id order), then the first kept id, in id order, whose
 *  weight takes u below 0. */
function plainDraw(row: Float32Array, o: SamplingOptions, rng: Rng): number {
  const w = plainWeights(row, o.temperature);
  const kept = plainKept(w, o);
  let u = rng.uniform() * kept.reduce((sum, i) => sum + w[i]!, 0);
  for (const i of kept) if ((u -= w[i]!) < 0) return i;
  return kept[kept.length - 1]!;
}

function normalRow(V: number, scale: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: V }, () => rng.normal() * scale);
}

const rows: Record<string, Float32Array> = {
  // Logits within about ±0.7, as the untrained default-shape model writes them.
  flat: normalRow(8192, 0.25, 1),
  // Spread far beyond 80 · T: most tokens weigh 0.
  wide: normalRow(2000, 60, 2),
  // Few distinct values: long runs of equal weights wherever a cut falls.
  ties: Float32Array.from(normalRow(3000, 1, 3), (x) => Math.round(x * 4) / 4),
  // Two tokens carry all the weight at low temperature; top-k 40 keeps 38 weights of 0, lowest ids first.
  peaked: Float32Array.from({ length: 500 }, (_, i) => (i === 321 ? 300 : i === 77 ? 299 : (i % 13) - 6)),
};

const options: Partial<SamplingOptions>[] = [
  {},
  { topP: 1 },
  { topP: 0.5 },
  { topP: 0.05, temperature: 1.3 },
  { topK: 1 },
  { topK: 40 },
  { topK: 1000, topP: 0.9 },
  { topK: 40, topP: 0.3, minP: 0.01 },
  { minP: 0.5, topP: 1 },
  { minP: 0.9, topP: 0.99, temperature: 0.3 },
];

test('the kept tokens and the seeded draws equal the plain full-sort definition, row by row and option by option', () => {
  for (const [name, row] of Object.entries(rows)) {
    for (const c of options) {
      const o = { ...DEFAULT_SAMPLING, ...c };
      const what = `${name} ${JSON.stringify(c)}`;
      const w = plainWeights(row, o.temperature);
      assert.deepEqual(temperedWeights(row, o.temperature), w, what);
      const kept = candidates(w, o);
      if (o.topK === 0 && o.topP === 1 && o.minP === 0) assert.equal(kept, null, what);
      else assert.deepEqual(kept, plainKept(w, o), what);
      const draws = new Set<number>();
      for (let seed = 0; seed < 40; seed++) {
        const id = sampleToken(row, o, new Rng(seed));
        assert.equal(id, plainDraw(row, o, new Rng(seed)), `${what} seed ${seed}`);
        draws.add(id);
      }
      if (name === 'flat' && (kept === null || kept.length > 10)) assert.ok(draws.size > 10, `${what}: a flat row gives varied draws`);
    }
  }
});

test('the cut keeps ties at the threshold lowest id first, across the whole row', () => {
  // 600 tokens of one weight and 600 of another: top-k 700 keeps the first 100 of the second value.
  const row = Float32Array.from({ length: 1200 }, (_, i) => (i % 2 === 0 ? 1 : 0.5));
  const o = { ...DEFAULT_SAMPLING, topK: 700, topP: 1 };
  const kept = candidates(temperedWeights(row, o.temperature), o)!;
  assert.equal(kept.length, 700);
  assert.deepEqual(kept.filter((i) => i % 2 === 1), Array.from({ length: 100 }, (_, j) => 2 * j + 1));
  for (let seed = 0; seed < 50; seed++) assert.ok(kept.includes(sampleToken(row, o, new Rng(seed))));
});

test('the penalty and greedy paths: the same draws as the plain definition on the penalised row; the row is kept', () => {
  const row = rows.flat!;
  const recent = [5, 9, 5, 4000, 8191];
  const copy = Float32Array.from(row);
  const penalised = Float32Array.from(row);
  for (const id of new Set(recent)) penalised[id] = penalised[id]! > 0 ? penalised[id]! / 1.5 : penalised[id]! * 1.5;
  const o = { ...DEFAULT_SAMPLING, repetitionPenalty: 1.5 };
  for (let seed = 0; seed < 20; seed++) assert.equal(sampleToken(row, o, new Rng(seed), recent), plainDraw(penalised, o, new Rng(seed)));
  assert.deepEqual(row, copy);
  const best = penalised.indexOf(Math.max(...penalised));
  assert.equal(sampleToken(row, { ...o, temperature: 0 }, new Rng(1), recent), best);
});

test('a non-finite logit is refused before any sampling, naming the first one and its index', () => {
  const row = Float32Array.of(1, 2, Number.NaN, Infinity);
  for (const temperature of [0, 0.8]) {
    assert.throws(() => sampleToken(row, { ...DEFAULT_SAMPLING, temperature }, new Rng(1)), {
      message: 'the model computed a non-finite logit (NaN at index 2): its weights overflow float32',
    });
  }
});
