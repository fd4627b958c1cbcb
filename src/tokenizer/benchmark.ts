// The tokenizer benchmark behind `swat bench tokenizer`: encode throughput (MB of UTF-8 per second) of our
// BPE against the `gpt-tokenizer` package on the same text with the same vocabulary (GPT-2), our trained
// byte-level BPE and our Llama-2 reading beside them, and the compression (bytes per token) of every
// vocabulary on the built-in corpus. Our GPT-2 and Llama-2 give the packages' ids exactly (test/bpe.test.ts),
// so only speed differs. Not here: printing (the bench command formats the result).

import { createRequire } from 'node:module';
import type { Document } from '../data/documents.js';
import { readBuiltinCorpus } from '../data/builtin.js';
import { ByteLevelBpeTokenizer } from './bpe.js';
import { PieceCounter, trainBpe } from './bpe-train.js';
import { ByteLevelTokenizer } from './byte-level.js';
import { gpt2Tokenizer, llama2Tokenizer } from './pretrained.js';

export interface ThroughputRow {
  tokenizer: string;
  implementation: string;
  /** Median of the timed passes; each pass starts from a fresh instance (cold caches). */
  mb_per_s: number;
  tokens: number;
}

export interface CompressionRow {
  vocabulary: string;
  vocab_size: number;
  tokens: number;
  bytes_per_token: number;
}

export interface TokenizerBench {
  corpus_bytes: number;
  sample_bytes: number;
  passes: number;
  bpe_train_seconds: number;
  throughput: ThroughputRow[];
  compression: CompressionRow[];
}

type Encode = (text: string) => ArrayLike<number>;

const require = createRequire(import.meta.url);

/** `sampleBytes`: how much of the corpus the throughput passes encode (compression always uses all of it). */
export function benchTokenizers(opts: { sampleBytes: number; passes: number; bpeVocabSize: number }): TokenizerBench {
  const docs = readBuiltinCorpus();
  const corpusBytes = docs.reduce((n, d) => n + Buffer.byteLength(d.text), 0);
  const sample = corpusSample(docs, opts.sampleBytes);
  const sampleBytes = sample.reduce((n, t) => n + Buffer.byteLength(t), 0);

  const trainStart = performance.now();
  const counter = new PieceCounter();
  for (const d of docs) counter.add(d.text);
  const bpe = trainBpe(counter.counts, { vocabSize: opts.bpeVocabSize });
  const bpeTrainSeconds = (performance.now() - trainStart) / 1000;

  const gptTokenizer = require('gpt-tokenizer/cjs/encoding/r50k_base') as { encode: Encode; clearMergeCache: () => void };
  const contenders: [string, string, () => Encode][] = [
    ['gpt2', 'swat', () => { const t = gpt2Tokenizer(); return (s) => t.encode(s); }],
    ['gpt2', 'gpt-tokenizer 4.0.0', () => { gptTokenizer.clearMergeCache(); return gptTokenizer.encode; }],
    [`bpe ${bpe.vocabSize} (trained here)`, 'swat', () => { const t = new ByteLevelBpeTokenizer(bpe.spec); return (s) => t.encode(s); }],
    ['llama2', 'swat', () => { const t = llama2Tokenizer(); return (s) => t.encode(s); }],
    ['byte', 'swat', () => { const t = new ByteLevelTokenizer(); return (s) => t.encode(s); }],
  ];
  const throughput = contenders.map(([tokenizer, implementation, make]) => {
    const { mbPerS, tokens } = timeEncode(make, sample, sampleBytes, opts.passes);
    return { tokenizer, implementation, mb_per_s: mbPerS, tokens };
  });

  const vocabularies: [string, number, Encode][] = [
    ['byte', 258, (s) => new ByteLevelTokenizer().encode(s)],
    [`bpe ${bpe.vocabSize} (trained on this corpus)`, bpe.vocabSize, (s) => bpe.encode(s)],
    ['gpt2', 50257, ((t) => (s: string) => t.encode(s))(gpt2Tokenizer())],
    ['llama2', 32000, ((t) => (s: string) => t.encode(s))(llama2Tokenizer())],
  ];
  const compression = vocabularies.map(([vocabulary, vocabSize, encode]) => {
    const tokens = docs.reduce((n, d) => n + encode(d.text).length, 0);
    return { vocabulary, vocab_size: vocabSize, tokens, bytes_per_token: corpusBytes / tokens };
  });
  return { corpus_bytes: corpusBytes, sample_bytes: sampleBytes, passes: opts.passes, bpe_train_seconds: bpeTrainSeconds, throughput, compression };
}

/** The first `bytes` of the corpus (about: whole documents, the last one cut at a line end), as texts. */
function corpusSample(docs: readonly Document[], bytes: number): string[] {
  const out: string[] = [];
  let left = bytes;
  for (const d of docs) {
    if (left <= 0) break;
    let text = d.text;
    if (Buffer.byteLength(text) > left) {
      const cut = text.lastIndexOf('\n', left);
      text = text.slice(0, cut > 0 ? cut + 1 : left);
    }
    out.push(text);
    left -= Buffer.byteLength(text);
  }
  return out;
}

function timeEncode(make: () => Encode, texts: readonly string[], bytes: number, passes: number): { mbPerS: number; tokens: number } {
  const rates: number[] = [];
  let tokens = 0;
  for (let p = 0; p < passes; p++) {
    const encode = make();
    const start = performance.now();
    tokens = 0;
    for (const t of texts) tokens += encode(t).length;
    rates.push(bytes / 1e6 / ((performance.now() - start) / 1000));
  }
  rates.sort((a, b) => a - b);
  return { mbPerS: rates[Math.floor(rates.length / 2)]!, tokens };
}
