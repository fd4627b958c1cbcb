// swat tokenizer: train a byte-level BPE vocabulary on a corpus, and encode/decode text for inspection; and
// the printing of `swat bench tokenizer`.
// Not here: the tokenizers themselves (src/tokenizer/), corpus reading (src/data/).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { learnVocabulary } from '../../data/vocabulary.js';
import { InputError } from '../../errors.js';
import { writeFileAtomic } from '../../io/atomic.js';
import { benchTokenizers } from '../../tokenizer/benchmark.js';
import { claimOutput, heldWork, refusal } from '../../train/output.js';
import { TOKENIZER_FILE, tokenizerToJson } from '../../tokenizer/hf-json.js';
import type { SpecialTokenMode } from '../../tokenizer/added-tokens.js';
import type { EncodeOptions, Tokenizer } from '../../tokenizer/tokenizer.js';
import { type CommandSpec, IDS, type OptionSpec, POSITIVE, type Parsed, flag, list, oneOf, parseIds, posInt, required, str } from '../args.js';
import { print } from '../output.js';
import { tokenizerFromArgs } from '../architecture.js';
import { Progress, formatSeconds } from '../progress.js';

const TOKENIZER: OptionSpec = {
  type: 'string', arg: 'T', help: "'byte', 'gpt2', 'llama2', a tokenizer.json, or a directory holding one (a model directory)",
};

export const tokenizerCommand: CommandSpec = {
  name: 'tokenizer',
  summary: 'train a byte-level BPE vocabulary (tokenizer.json), or encode/decode text with a tokenizer',
  usage: 'train [--data PATH...] --vocab-size V --out DIR | encode --tokenizer T [--text TEXT | --file F] | decode --tokenizer T --ids IDS',
  subcommands: {
    train: {
      summary: 'learn a byte-level BPE on --data (default: built-in corpus) and write DIR/tokenizer.json',
      options: {
        data: { type: 'string', arg: 'PATH', multiple: true, help: 'text files, directories, globs, .jsonl, or any of them .gz (default: built-in corpus)' },
        'vocab-size': { type: 'string', arg: 'V', check: POSITIVE, help: 'vocabulary size including the 256 bytes and BOS/EOS', default: '8192' },
        'min-frequency': { type: 'string', arg: 'N', check: POSITIVE, help: 'never merge a pair seen fewer times', default: '2' },
        out: { type: 'string', arg: 'DIR', help: 'directory to write tokenizer.json into' },
        force: { type: 'boolean', help: 'replace a tokenizer.json (or a model) already in --out' },
      },
    },
    encode: {
      summary: 'print the token ids of --text, --file or standard input (--pieces: one token per line)',
      options: {
        tokenizer: TOKENIZER,
        text: { type: 'string', arg: 'TEXT', help: 'the text' },
        file: { type: 'string', arg: 'F', help: "a file whose bytes to encode ('-' or none: standard input)" },
        pieces: { type: 'boolean', help: 'print each token id with the text it stands for' },
        'special-tokens': {
          type: 'string', arg: 'HOW', check: oneOf('match', 'text'), default: 'match',
          help: "special-token text such as '<|endoftext|>': 'match' reads it as the token, as Hugging Face does; 'text' as plain text",
        },
      },
    },
    decode: {
      summary: 'print the text of --ids (comma-separated)',
      options: { tokenizer: TOKENIZER, ids: { type: 'string', arg: 'IDS', check: IDS, help: 'comma-separated token ids' } },
    },
  },
  options: {},
};

export function runTokenizer(v: Parsed): void {
  if (v['_'] === 'train') trainTokenizer(v);
  else if (v['_'] === 'encode') encodeText(v);
  else decodeIds(v);
}

function trainTokenizer(v: Parsed): void {
  const out = required(str(v, 'out'), 'out', 'tokenizer train');
  const lock = claimOutput(out, 'swat tokenizer train');
  try {
    const held = heldWork(out);
    if ((held.tokenizer || held.model) && !flag(v, 'force')) {
      throw refusal(out, held, held.model ? ', which a new tokenizer.json would leave unable to read its text' : '');
    }
    writeTokenizer(v, out);
  } finally {
    lock.release();
  }
}

function writeTokenizer(v: Parsed, out: string): void {
  const vocabSize = posInt(v, 'vocab-size')!;
  const progress = new Progress();
  const learned = learnVocabulary({
    paths: list(v, 'data'),
    vocabSize,
    minFrequency: posInt(v, 'min-frequency')!,
    warn: (m) => progress.log(`warning: ${m}`),
    onRead: (done, files, bytes, pieces) => progress.update(done, files, `files read, ${(bytes / 1e6).toFixed(1)} MB, ${pieces.toLocaleString('en-US')} distinct pieces`),
    onMerge: (n, target) => progress.update(n, target, 'merges'),
  });
  progress.done();
  const tok = learned.tokenizer;
  const path = join(out, TOKENIZER_FILE);
  writeFileAtomic(path, tokenizerToJson(tok));
  const short = tok.vocabSize < vocabSize ? ` (fewer than the ${vocabSize} asked: no other pair occurs ${posInt(v, 'min-frequency')} times)` : '';
  print(
    `${tok.mergeCount} merges learned from ${learned.documents} documents (${(learned.bytes / 1e6).toFixed(1)} MB) in ${formatSeconds(learned.mergeSeconds)} ` +
      `(reading ${formatSeconds(learned.readSeconds)}); vocabulary ${tok.vocabSize}${short}; wrote ${path}\n`,
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
  const options: EncodeOptions = { specialTokens: str(v, 'special-tokens') as SpecialTokenMode };
  const ids = text !== undefined ? tok.encode(text, options) : encodeInput(tok, readFileSync(file === undefined || file === '-' ? 0 : file), options);
  const nBytes = text !== undefined ? Buffer.byteLength(text) : tok.decodeBytes(ids).length;
  if (flag(v, 'pieces')) {
    for (const id of ids) print(`${id}\t${JSON.stringify(pieceText(tok, id))}\n`);
  } else {
    print(ids.join(',') + '\n');
  }
  const ratio = ids.length > 0 ? ` (${(nBytes / ids.length).toFixed(2)} bytes/token)` : '';
  process.stderr.write(`${ids.length} tokens, ${nBytes} bytes${ratio}\n`);
}

/** A file's or standard input's bytes: as text when they are UTF-8 (like --text), else exactly as bytes,
 *  so nothing is replaced or lost. */
function encodeInput(tok: Tokenizer, bytes: Uint8Array, options: EncodeOptions): number[] {
  try {
    return tok.encode(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes), options);
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
  print(tok.decode(ids) + '\n');
}

/** `swat bench tokenizer`: 4 MB of the built-in corpus, 3 passes per tokenizer. */
export function runTokenizerBench(json: boolean): void {
  const r = benchTokenizers({ sampleBytes: 4e6, passes: 3, bpeVocabSize: 8192 });
  if (json) {
    print(JSON.stringify(r) + '\n');
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
  print(lines.join('\n') + '\n');
}
