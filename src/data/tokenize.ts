// Turning documents into the one token stream the trainer samples windows from. Not batching or sampling.

import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** Each document's tokens followed by EOS, concatenated. Always an Int32Array, whatever the vocabulary:
 *  one type for every consumer (embedding lookups, targets, files), and 4 bytes a token is 48 MB for the
 *  12 MB built-in corpus. No BOS: EOS alone separates documents, as in GPT-2. */
export function tokenizeDocuments<D extends { text: string }>(docs: readonly D[], tokenizer: Tokenizer): Int32Array {
  const parts: Int32Array[] = [];
  let total = 0;
  for (const doc of docs) {
    const ids = tokenizer.encode(doc.text);
    const part = new Int32Array(ids.length + 1);
    part.set(ids);
    part[ids.length] = tokenizer.eosId;
    parts.push(part);
    total += part.length;
  }
  const stream = new Int32Array(total);
  let offset = 0;
  for (const part of parts) {
    stream.set(part, offset);
    offset += part.length;
  }
  return stream;
}
