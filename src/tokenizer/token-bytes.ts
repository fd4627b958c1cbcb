// Decoding by table: every tokenizer that knows the bytes of each of its tokens decodes the same way.

import { InputError } from '../errors.js';

/** The bytes of token `id` (the `position`-th of a decode call, for the message); InputError outside the
 *  table. */
export function tokenBytesOf(bytesOf: readonly Uint8Array[], id: number, position: number): Uint8Array {
  const b = Number.isInteger(id) ? bytesOf[id] : undefined;
  if (b === undefined) {
    throw new InputError(`decode: token id ${id} at position ${position} is outside the vocabulary [0, ${bytesOf.length})`);
  }
  return b;
}

/** The bytes of `ids`, concatenated; checks every id before writing anything. */
export function concatTokenBytes(bytesOf: readonly Uint8Array[], ids: ArrayLike<number>): Uint8Array {
  let total = 0;
  for (let i = 0; i < ids.length; i++) total += tokenBytesOf(bytesOf, ids[i]!, i).length;
  const out = new Uint8Array(total);
  let n = 0;
  for (let i = 0; i < ids.length; i++) {
    const b = bytesOf[ids[i]!]!;
    out.set(b, n);
    n += b.length;
  }
  return out;
}
