// Learning a byte-level BPE vocabulary from a corpus (text files, or the built-in books): every document is
// read once into piece counts, then merged (tokenizer/bpe-train.ts). Shared by `swat tokenizer train` and by
// `swat train`, whose default tokenizer is a vocabulary learned from its own training data: at equal
// training time a subword model reaches a lower loss per byte than a byte model, because each token carries
// several bytes of text and the window spans more of it.
// Not here: writing tokenizer.json (the callers commit it with the model or on its own).

import { statSync } from 'node:fs';
import type { ByteLevelBpeTokenizer } from '../tokenizer/bpe.js';
import { PieceCounter, trainBpe } from '../tokenizer/bpe-train.js';
import { builtinCorpusPaths } from './builtin.js';
import { emptyCorpus, readSourceFile } from './documents.js';
import { listSourceFiles } from './sources.js';

export interface LearnVocabularyOptions {
  /** Files, directories and globs; empty for the built-in corpus. */
  paths: readonly string[];
  /** Wanted V including the 256 bytes and BOS/EOS; null: sized to the corpus (vocabularySizeFor). */
  vocabSize: number | null;
  minFrequency?: number;
  warn?: (msg: string) => void;
  onRead?: (filesDone: number, files: number, bytes: number, pieces: number) => void;
  onMerge?: (merges: number, target: number) => void;
}

export interface LearnedVocabulary {
  tokenizer: ByteLevelBpeTokenizer;
  /** The V asked for (fewer merges are learned when no pair is frequent enough). */
  vocabSize: number;
  documents: number;
  bytes: number;
  readSeconds: number;
  mergeSeconds: number;
}

/** The default vocabulary for a corpus of `bytes`: about one token per kilobyte of text, as a power of two
 *  from 512 to 8192. A small corpus gets a small vocabulary (rare merges would only memorise it, and a large
 *  output layer would cost more than it saves); 8192 is where the built-in 12 MB corpus lands and where a
 *  bigger output layer stops paying for itself on a CPU. */
export function vocabularySizeFor(bytes: number): number {
  const log2 = Math.round(Math.log2(Math.max(1, bytes / 1000)));
  return 2 ** Math.min(13, Math.max(9, log2));
}

export function learnVocabulary(o: LearnVocabularyOptions): LearnedVocabulary {
  const builtin = o.paths.length === 0;
  const files = builtin ? builtinCorpusPaths() : listSourceFiles(o.paths);
  const vocabSize = o.vocabSize ?? vocabularySizeFor(files.reduce((n, f) => n + statSync(f).size, 0));
  const started = performance.now();
  const counter = new PieceCounter();
  let documents = 0;
  let bytes = 0;
  files.forEach((file, i) => {
    // The built-in corpus's two Latin-1 books are known and read on purpose: no warnings for them.
    const info = readSourceFile(file, { invalidUtf8: builtin ? 'latin1' : 'skip', ...(builtin || !o.warn ? {} : { warn: o.warn }) }, (doc) => {
      counter.add(doc.text);
      documents++;
    });
    bytes += info.size;
    o.onRead?.(i + 1, files.length, bytes, counter.counts.size);
  });
  if (documents === 0) throw emptyCorpus(builtin ? ['the built-in corpus'] : o.paths);
  const counted = performance.now();
  const tokenizer = trainBpe(counter.counts, { vocabSize, ...(o.minFrequency !== undefined ? { minFrequency: o.minFrequency } : {}), ...(o.onMerge ? { onProgress: o.onMerge } : {}) });
  return { tokenizer, vocabSize, documents, bytes, readSeconds: (counted - started) / 1000, mergeSeconds: (performance.now() - counted) / 1000 };
}
