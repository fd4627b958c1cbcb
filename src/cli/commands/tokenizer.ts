// swat tokenizer: train a byte-level BPE vocabulary on a corpus, and encode/decode text for inspection; and
// the printing of `swat bench tokenizer`.
// Not here: the tokenizers themselves (src/tokenizer/), corpus reading (src/data/).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinCorpusPaths } from '../../data/builtin.js';
import { readSourceFile } from '../../data/documents.js';
import { listSourceFiles } from '../../data/sources.js';
import { InputError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { benchTokenizers } from '../../tokenizer/benchmark.js';
import { claimOutput, heldWork, refusal } from '../../train/output.js';
import { PieceCounter, trainBpe } from '../../tokenizer/bpe-train.js';
import { TOKENIZER_FILE, tokenizerToJson } from '../../tokenizer/hf-json.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { type CommandSpec, type Parsed, flag, list, parseIds, posInt, required, str } from '../args.js';
import { tokenizerFromArgs } from '../architecture.js';
import { Progress, formatSeconds } from '../progress.js';

export const tokenizerCommand: CommandSpec = {
  name: 'tokenizer',
  summary: 'train a byte-level BPE vocabulary (tokenizer.json), or encode/decode text with a tokenizer',
  usage: 'train [--data PATH...] --vocab-size V --out DIR | encode --tokenizer T [--text TEXT | --file F] | decode --tokenizer T --ids IDS',
  subcommands: {
    train: 'learn a byte-level BPE on --data (default: built-in corpus) and write DIR/tokenizer.json',
    encode: 'print the token ids of --text, --file or standard input (--pieces: one token per line)',
    decode: 'print the text of --ids (comma-separated)',
  },
  options: {
    data: { type: 'string', arg: 'PATH', multiple: true, help: 'train: text file, directory, glob, .jsonl, or any of them .gz (repeatable; default: built-in corpus)' },
    'vocab-size': { type: 'string', arg: 'V', help: 'train: vocabulary size including the 256 bytes and BOS/EOS', default: '8192' },
    'min-frequency': { type: 'string', arg: 'N', help: 'train: never merge a pair seen fewer times', default: '2' },
    out: { type: 'string', arg: 'DIR', help: 'train: directory to write tokenizer.json into' },
    force: { type: 'boolean', help: 'train: replace a tokenizer.json already in --out' },
    tokenizer: { type: 'string', arg: 'T', help: "encode/decode: 'byte', 'gpt2', 'llama2', a tokenizer.json, or a directory holding one (a model directory)" },
    text: { type: 'string', arg: 'TEXT', help: 'encode: the text' },
    file: { type: 'string', arg: 'F', help: 'encode: a file whose bytes to encode' },
    ids: { type: 'string', arg: 'IDS', help: 'decode: comma-separated token ids' },
    pieces: { type: 'boolean', help: 'encode: print each token id with the text it stands for' },
  },
};

export function runTokenizer(v: Parsed): void {
  if (v['_'] === 'train') trainTokenizer(v);
  else if (v['_'] === 'encode') encodeText(v);
  else decodeIds(v);
}

function trainTokenizer(v: Parsed): void {
  const out = required(str(v, 'out'), 'out', 'tokenizer train');
  const vocabSize = posInt(v, 'vocab-size')!;
  const paths = list(v, 'data');
  const builtin = paths.length === 0;
  const files = builtin ? builtinCorpusPaths() : listSourceFiles(paths);
  const lock = claimOutput(out, 'swat tokenizer train');
  try {
    const held = heldWork(out);
    if ((held.tokenizer || held.model) && !flag(v, 'force')) {
      throw refusal(out, held, held.model ? ', which a new tokenizer.json would leave unable to read its text' : '');
    }
    writeTokenizer(v, out, vocabSize, paths, files);
  } finally {
    lock.release();
  }
}

function writeTokenizer(v: Parsed, out: string, vocabSize: number, paths: string[], files: string[]): void {
  const builtin = paths.length === 0;
  const progress = new Progress();
  const warn = (m: string) => progress.log(`warning: ${m}`);
  const started = performance.now();
  const counter = new PieceCounter();
  let documents = 0;
  let bytes = 0;
  files.forEach((file, i) => {
    const info = readSourceFile(file, { invalidUtf8: builtin ? 'latin1' : 'skip', ...(builtin ? {} : { warn }) }, (doc) => {
      counter.add(doc.text);
      documents++;
    });
    bytes += info.size;
    progress.update(i + 1, files.length, `files read, ${(bytes / 1e6).toFixed(1)} MB, ${counter.counts.size.toLocaleString('en-US')} distinct pieces`);
  });
  progress.done();
  if (documents === 0) throw new InputError(`swat tokenizer train: no documents in ${paths.join(', ')}`);
  const counted = performance.now();
  const tok = trainBpe(counter.counts, {
    vocabSize,
    minFrequency: posInt(v, 'min-frequency')!,
    onProgress: (n, target) => progress.update(n, target, 'merges'),
  });
  progress.done();
  const seconds = (performance.now() - counted) / 1000;
  const path = join(out, TOKENIZER_FILE);
  writeFileAtomic(path, tokenizerToJson(tok));
  const short = tok.vocabSize < vocabSize ? ` (fewer than the ${vocabSize} asked: no other pair occurs ${posInt(v, 'min-frequency')} times)` : '';
  process.stdout.write(
    `${tok.mergeCount} merges learned from ${documents} documents (${(bytes / 1e6).toFixed(1)} MB) in ${formatSeconds(seconds)} ` +
      `(reading ${formatSeconds((counted - started) / 1000)}); vocabulary ${tok.vocabSize}${short}; wrote ${path}\n`,
  );
}

function tokenizerOf(v: Parsed, sub: string): Tokenizer {
  required(str(v, 'tokenizer'), 'tokenizer', `tokenizer ${sub}`);
  return tokenizerFromArgs(v)!;
}

function encodeText(v: Parsed): void {
  const tok = tokenizerOf(v, 'encode');
  const text = str(v, 'text');
  const file = str(v, 'file');
  if (text !== undefined && file !== undefined) throw new InputError('swat tokenizer encode: give --text or --file, not both');
  const ids = text !== undefined ? tok.encode(text) : encodeInput(tok, readFileSync(file ?? 0));
  const nBytes = text !== undefined ? Buffer.byteLength(text) : tok.decodeBytes(ids).length;
  if (flag(v, 'pieces')) {
    for (const id of ids) process.stdout.write(`${id}\t${JSON.stringify(pieceText(tok, id))}\n`);
  } else {
    process.stdout.write(ids.join(',') + '\n');
  }
  const ratio = ids.length > 0 ? ` (${(nBytes / ids.length).toFixed(2)} bytes/token)` : '';
  process.stderr.write(`${ids.length} tokens, ${nBytes} bytes${ratio}\n`);
}

/** A file's or standard input's bytes: as text when they are UTF-8 (like --text), else exactly as bytes,
 *  so nothing is replaced or lost. */
function encodeInput(tok: Tokenizer, bytes: Uint8Array): number[] {
  try {
    return tok.encode(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return tok.encodeBytes(bytes);
  }
}

/** A token's text for display: its bytes as UTF-8, <0xAB …> when they are not valid UTF-8 alone, and ""
 *  for a special token. */
function pieceText(tok: Tokenizer, id: number): string {
  const bytes = tok.decodeBytes([id]);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return `<${Array.from(bytes, (b) => '0x' + b.toString(16).toUpperCase().padStart(2, '0')).join(' ')}>`;
  }
}

function decodeIds(v: Parsed): void {
  const tok = tokenizerOf(v, 'decode');
  const ids = parseIds(required(str(v, 'ids'), 'ids', 'tokenizer decode'));
  process.stdout.write(tok.decode(ids) + '\n');
}

/** `swat bench tokenizer`: 4 MB of the built-in corpus, 3 passes per tokenizer. */
export function runTokenizerBench(json: boolean): void {
  const r = benchTokenizers({ sampleBytes: 4e6, passes: 3, bpeVocabSize: 8192 });
  if (json) {
    process.stdout.write(JSON.stringify(r) + '\n');
    return;
  }
  const gpt = r.throughput.filter((x) => x.tokenizer === 'gpt2');
  const ratio = gpt[0]!.mb_per_s / gpt[1]!.mb_per_s;
  const lines = [
    `encode throughput on ${(r.sample_bytes / 1e6).toFixed(1)} MB of the built-in corpus (median of ${r.passes} passes, each from a fresh instance):`,
    ...r.throughput.map((x) => `  ${x.tokenizer.padEnd(28)} ${x.implementation.padEnd(20)} ${x.mb_per_s.toFixed(2).padStart(7)} MB/s  ${x.tokens.toLocaleString('en-US').padStart(10)} tokens`),
    `  our GPT-2 BPE: ${ratio.toFixed(2)}× gpt-tokenizer (same ids)`,
    `compression on the whole built-in corpus (${(r.corpus_bytes / 1e6).toFixed(1)} MB); the BPE trained in ${r.bpe_train_seconds.toFixed(1)} s:`,
    ...r.compression.map((x) => `  ${x.vocabulary.padEnd(34)} V ${String(x.vocab_size).padStart(6)}  ${x.tokens.toLocaleString('en-US').padStart(11)} tokens  ${x.bytes_per_token.toFixed(3)} bytes/token`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
