// Training batches: B windows of T + 1 tokens at random offsets of the training stream (the random state is
// the data position, saved in checkpoints); validation batches: fixed, evenly spaced windows of the held-out
// stream, the same at every evaluation so validation losses are comparable.

import { DataError } from '../errors.js';
import type { Rng } from '../random.js';

/** A token array, or token ranges read from a file on demand (data/token-file.ts: training memory stays
 *  bounded). */
export interface TokenStream {
  readonly length: number;
  subarray(begin: number, end: number): Int32Array | Uint16Array | Uint32Array;
}

export interface Batch {
  inputs: Int32Array; // (B, T)
  targets: Int32Array; // (B, T)
}

function fill(batch: Batch, stream: TokenStream, b: number, T: number, offset: number): void {
  const row = stream.subarray(offset, offset + T + 1);
  batch.inputs.set(row.subarray(0, T), b * T);
  batch.targets.set(row.subarray(1, T + 1), b * T);
}

/** Throws a DataError when `stream` cannot fill one sequence of length T. */
export function checkLength(stream: TokenStream, T: number, what: string): void {
  if (stream.length < T + 1) {
    throw new DataError(`${what} has ${stream.length} tokens, a sequence of length ${T} needs at least ${T + 1}`);
  }
}

export function sampleBatch(stream: TokenStream, B: number, T: number, rng: Rng): Batch {
  checkLength(stream, T, 'training data');
  const batch = { inputs: new Int32Array(B * T), targets: new Int32Array(B * T) };
  for (let b = 0; b < B; b++) fill(batch, stream, b, T, rng.int(stream.length - T));
  return batch;
}

/** Up to `count` batches covering the validation stream with evenly spaced windows. */
export function validationBatches(stream: TokenStream, B: number, T: number, count: number): Batch[] {
  checkLength(stream, T, 'validation data');
  const windows = count * B;
  const span = stream.length - T - 1;
  const batches: Batch[] = [];
  for (let i = 0; i < count; i++) {
    const batch = { inputs: new Int32Array(B * T), targets: new Int32Array(B * T) };
    for (let b = 0; b < B; b++) {
      const w = i * B + b;
      fill(batch, stream, b, T, windows > 1 ? Math.floor((w * span) / (windows - 1)) : 0);
    }
    batches.push(batch);
  }
  return batches;
}
