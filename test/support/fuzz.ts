// Mutation fuzzing of the file readers (safetensors with the model loader, config.json, tokenizer.json):
// valid files are damaged by seeded mutations — bit flips, byte inserts and deletes, truncation, spliced
// deep nesting, huge numbers, values of the wrong type — and every result must either be accepted as a
// valid file (then it loads and round-trips) or be refused with the reader's own error class in one line.
//
// Run as a script, in a child process whose heap and address space are bounded (fuzz.test.ts), so a crash,
// a runaway allocation or a hang fails the test instead of the test runner:
//   node dist/test/support/fuzz.js READER SEED CASES
// It prints one JSON line of counts, or the first bad case (its input saved to a file) and exits 1.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReferenceBackend } from '../../src/backend/reference.js';
import { CONFIG_LIMITS, MAX_PARAMETERS, type SwatConfig, configToJson, makeConfig, parameterCount, parseConfig } from '../../src/config.js';
import { ConfigError, FormatError, InputError } from '../../src/errors.js';
import { type DecodedSafetensors, decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';
import { SwatModel } from '../../src/model/model.js';
import { paramSpecs } from '../../src/model/params.js';
import { loadModel, saveModel } from '../../src/model/store.js';
import { Rng } from '../../src/random.js';
import { ByteLevelTokenizer, SentencePieceBpeTokenizer, type Tokenizer, PieceCounter, trainBpe, METASPACE } from '../../src/tokenizer/index.js';
import { tokenizerFromJson, tokenizerToJson } from '../../src/tokenizer/hf-json.js';

export const READERS = ['safetensors', 'config', 'tokenizer'] as const;
export type Reader = (typeof READERS)[number];

export interface FuzzCounts {
  accepted: number;
  refused: number;
}

// ---- mutations ----

const HUGE_NUMBERS = ['1e21', '1e308', '-1', '4294967295', '1e15', '9007199254740993', '0', '-0', '1.5', '2097152', '65537', '1e-7'];
const WRONG_TYPES = ['"x"', 'null', '[]', '{}', 'true', '[[1]]', '{"a":{}}', '""'];
const JSON_CHARS = '{}[]",:0123456789-.e \\';
const NUMBER = /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const VALUE = /"(?:[^"\\]|\\.)*"|true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)]!;
}

function splice(b: Buffer, at: number, remove: number, insert: string | Buffer): Buffer {
  return Buffer.concat([b.subarray(0, at), typeof insert === 'string' ? Buffer.from(insert) : insert, b.subarray(at + remove)]);
}

/** Replaces one random match of `pattern` in the text with `replacement`, or returns the text unchanged. */
function replaceMatch(b: Buffer, pattern: RegExp, replacement: string, rng: Rng): Buffer {
  const text = b.toString('latin1'); // byte offsets = string offsets
  const matches = [...text.matchAll(pattern)];
  if (matches.length === 0) return b;
  const m = pick(rng, matches);
  return splice(b, m.index!, m[0].length, replacement);
}

function deepNesting(rng: Rng): string {
  const n = pick(rng, [65, 1000, 100_000]);
  switch (rng.int(3)) {
    case 0:
      return '['.repeat(n) + ']'.repeat(n);
    case 1:
      return '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    default:
      return '['.repeat(n); // unbalanced
  }
}

/** One seeded mutation of `b`, and its name for reports. */
export function mutate(b: Buffer, rng: Rng): { bytes: Buffer; how: string } {
  const at = rng.int(b.length + 1);
  switch (rng.int(8)) {
    case 0: {
      const out = Buffer.from(b);
      if (out.length > 0) out[Math.min(at, out.length - 1)]! ^= 1 << rng.int(8);
      return { bytes: out, how: `bit flip at ${at}` };
    }
    case 1: {
      const byte = rng.int(2) === 0 ? JSON_CHARS[rng.int(JSON_CHARS.length)]! : String.fromCharCode(rng.int(256));
      return { bytes: splice(b, at, 0, Buffer.from(byte, 'latin1')), how: `insert at ${at}` };
    }
    case 2:
      return { bytes: splice(b, at, 1 + rng.int(4), ''), how: `delete at ${at}` };
    case 3:
      return { bytes: b.subarray(0, at), how: `truncate to ${at}` };
    case 4:
      return { bytes: splice(b, at, rng.int(3), deepNesting(rng)), how: `deep nesting at ${at}` };
    case 5: {
      const n = pick(rng, HUGE_NUMBERS);
      return { bytes: replaceMatch(b, NUMBER, n, rng), how: `number ${n}` };
    }
    case 6: {
      const v = pick(rng, WRONG_TYPES);
      return { bytes: replaceMatch(b, VALUE, v, rng), how: `value ${v}` };
    }
    default: {
      // Two mutations at once: damage that survives one check can meet the next.
      const first = mutate(b, rng);
      const second = mutate(first.bytes, rng);
      return { bytes: second.bytes, how: `${first.how}, then ${second.how}` };
    }
  }
}

/** For safetensors: mutate the header's JSON and (mostly) fix its length prefix, so damage reaches the
 *  JSON and the field checks instead of stopping at the length; or mutate the file as bytes. */
function mutateSafetensors(file: Buffer, rng: Rng): { bytes: Buffer; how: string } {
  if (rng.int(3) === 0) return mutate(file, rng);
  const n = Number(file.readBigUInt64LE(0));
  const m = mutate(file.subarray(8, 8 + n), rng);
  const length = Buffer.alloc(8);
  const fix = rng.int(4) !== 0;
  length.writeBigUInt64LE(BigInt(fix ? m.bytes.length : n));
  return { bytes: Buffer.concat([length, m.bytes, file.subarray(8 + n)]), how: `header: ${m.how}${fix ? '' : ' (length kept)'}` };
}

// ---- valid seeds ----

const backend = new ReferenceBackend('float32');
const SAMPLE = 'Hello, world! The cat sat on the mat.\n naïve café 😀 ';

function configSeeds(): string[] {
  return [
    makeConfig({ vocabSize: 258, layers: 2, dim: 16, heads: 2, window: 4, intermediateSize: 24, bosId: 256, eosId: 257 }),
    makeConfig({ vocabSize: 100, layers: 1, dim: 8, heads: 4, window: null, rope: false, tieEmbeddings: false }),
    makeConfig({ vocabSize: 50, layers: 3, dim: 12, heads: 2, window: 7, attention: 'softmax', alibi: 'negative', sigmoidBias: -1.5 }),
  ].map((c) => configToJson(c));
}

function tokenizerSeeds(): string[] {
  const counts = new PieceCounter();
  for (let i = 0; i < 30; i++) counts.add(`the cat sat on the mat ${i} times, then the hat. `);
  const bpe = trainBpe(counts.counts, { vocabSize: 300 });
  return [new ByteLevelTokenizer(), bpe, smallSentencePiece()].map(tokenizerToJson);
}

/** A SentencePiece BPE of 266 tokens: specials, the 256 byte tokens, and a few merged pieces. */
function smallSentencePiece(): SentencePieceBpeTokenizer {
  const hex = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
  const pieces = [METASPACE, 't', 'h', 'e', `${METASPACE}t`, 'he', `${METASPACE}the`];
  const tokens = ['<unk>', '<s>', '</s>', ...Array.from({ length: 256 }, (_, b) => hex(b)), ...pieces];
  const merges: [string, string][] = [[METASPACE, 't'], ['h', 'e'], [`${METASPACE}t`, 'he']];
  return new SentencePieceBpeTokenizer({
    tokens,
    merges,
    specials: [{ id: 0, content: '<unk>' }, { id: 1, content: '<s>' }, { id: 2, content: '</s>' }],
    unkId: 0,
    bosId: 1,
    eosId: 2,
    name: 'sp',
  });
}

// ---- oracles for accepted files ----

function checkConfigAccepted(c: SwatConfig): void {
  for (const [name, max] of Object.entries(CONFIG_LIMITS)) {
    const v = c[name as keyof SwatConfig];
    assert.ok(v === null || (Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= max), `${name} ${String(v)}`);
  }
  assert.ok(parameterCount(c) <= MAX_PARAMETERS);
  assert.equal(parameterCount(c), paramSpecs(c).reduce((a, s) => a + s.size, 0));
  assert.equal(c.hidden_size % c.num_heads, 0);
  assert.equal(c.alibi_slopes.length, c.num_heads);
  assert.ok(c.alibi_slopes.every(Number.isFinite));
  for (const id of [c.bos_token_id, c.eos_token_id]) assert.ok(id === null || (Number.isInteger(id) && id >= 0 && id < c.vocab_size));
  // Round trip through the writer (as text: JSON has no −0, which a slope may be).
  const text = configToJson(c);
  assert.equal(configToJson(parseConfig(text, 'again.json')), text);
}

function checkTokenizerAccepted(t: Tokenizer): void {
  assert.ok(Number.isInteger(t.vocabSize) && t.vocabSize > 0 && t.vocabSize <= 2 ** 21);
  for (const id of [t.bosId, t.eosId]) assert.ok(Number.isInteger(id) && id >= 0 && id < t.vocabSize, `special id ${id}`);
  const text = tokenizerToJson(t);
  assert.equal(tokenizerToJson(tokenizerFromJson(text, 'again.json')), text);
  const ids = t.encode(SAMPLE);
  assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0 && id < t.vocabSize));
  assert.equal(t.decode(ids).replace(/^ /, ''), SAMPLE.replace(/^ /, ''));
}

function checkSafetensorsAccepted(d: DecodedSafetensors, length: number): void {
  let bytes = 0;
  for (const t of d.tensors.values()) {
    assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
    bytes += t.data.length * { F32: 4, F16: 2, BF16: 2, F64: 8, I8: 1 }[t.dtype];
  }
  assert.ok(bytes <= length);
  const again = decodeSafetensors(encodeSafetensors(new Map([...d.tensors].map(([k, t]) => [k, { data: t.data, shape: t.shape }])), d.metadata), 'again');
  assert.deepEqual([...again.tensors.keys()].sort(), [...d.tensors.keys()].sort());
  for (const [name, t] of d.tensors) {
    const u = again.tensors.get(name)!;
    assert.deepEqual(u.shape, t.shape);
    assert.deepEqual(new Uint32Array(u.data.slice().buffer), new Uint32Array(t.data.slice().buffer));
  }
  assert.deepEqual(again.metadata, d.metadata);
}

// ---- the harness ----

/** Runs `cases` seeded cases against `reader`; throws (with the case and where its input was saved) on the
 *  first that is neither a valid file nor a one-line error of the reader's class. */
export function fuzz(reader: Reader, seed: number, cases: number): FuzzCounts {
  const rng = new Rng(seed);
  const counts: FuzzCounts = { accepted: 0, refused: 0 };
  const dir = mkdtempSync(join(tmpdir(), 'swat-fuzz-'));
  try {
    const run = harness(reader, dir);
    for (let k = 0; k < cases; k++) {
      const seedFile = pick(rng, run.seeds);
      const { bytes, how } = run.mutate(seedFile, rng);
      try {
        run.check(bytes) ? counts.accepted++ : counts.refused++;
      } catch (e) {
        const saved = join(tmpdir(), `swat-fuzz-${reader}-${seed}-${k}.bin`);
        writeFileSync(saved, bytes);
        const why = e instanceof Error ? `${e.name}: ${e.message.slice(0, 300)}` : String(e);
        throw new Error(`${reader} seed ${seed} case ${k} (${how}; input in ${saved}): ${why}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return counts;
}

/** Reads with `read`: true when it accepts and the result passes `oracle`, false when it refuses with one of
 *  `errors` in one line; anything else (another error, a long or multi-line message) is thrown. */
function accepts<T>(read: () => T, errors: (new (m: string) => Error)[], oracle: (value: T) => void): boolean {
  let value: T;
  try {
    value = read();
  } catch (e) {
    if (!errors.some((t) => e instanceof t)) throw e;
    const message = (e as Error).message;
    if (message.includes('\n')) throw new Error(`message of more than one line: ${JSON.stringify(message.slice(0, 300))}`);
    if (message.length > 1000) throw new Error(`message of ${message.length} characters`);
    return false;
  }
  oracle(value);
  return true;
}

/** The seed files of a reader, its mutation, and `check`: true when a mutated file was accepted (and passed
 *  the oracle), false when it was refused properly; it throws otherwise. */
function harness(reader: Reader, dir: string): { seeds: Buffer[]; mutate: typeof mutate; check: (b: Buffer) => boolean } {
  switch (reader) {
    case 'config':
      return {
        seeds: configSeeds().map((s) => Buffer.from(s)),
        mutate,
        check: (b) => accepts(() => parseConfig(b.toString('utf8'), 'config.json'), [ConfigError], checkConfigAccepted),
      };
    case 'tokenizer':
      return {
        seeds: tokenizerSeeds().map((s) => Buffer.from(s)),
        mutate,
        check: (b) => accepts(() => tokenizerFromJson(b.toString('utf8'), 'tokenizer.json'), [FormatError], checkTokenizerAccepted),
      };
    case 'safetensors': {
      // Half the cases decode in memory, half load as a model's weights (header first, then positioned
      // reads into the parameter buffer, every weight finite).
      const modelDir = join(dir, 'model');
      const config = makeConfig({ vocabSize: 40, layers: 2, dim: 8, heads: 2, window: 3, intermediateSize: 12 });
      saveModel(modelDir, SwatModel.create(config, backend, 1), null);
      const weights = join(modelDir, 'model.safetensors');
      const seed = Buffer.from(encodeSafetensors(new Map(SwatModel.create(config, backend, 2).params.specs.map((s) => [s.name, { data: new Float32Array(s.size).fill(0.5), shape: s.shape }])), { format: 'pt' }));
      let turn = 0;
      return {
        seeds: [seed],
        mutate: mutateSafetensors,
        check: (b) => {
          if (turn++ % 2 === 0) return accepts(() => decodeSafetensors(b, 'model.safetensors'), [FormatError], (d) => checkSafetensorsAccepted(d, b.length));
          writeFileSync(weights, b);
          return accepts(() => loadModel(modelDir, backend).model, [FormatError, InputError], (m) => assert.ok(m.params.flat.every(Number.isFinite)));
        },
      };
    }
  }
}

// The script entry: `node fuzz.js READER SEED CASES`.
if (process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const [reader, seed, cases] = process.argv.slice(2);
  if (!(READERS as readonly string[]).includes(reader ?? '')) throw new Error(`usage: fuzz.js ${READERS.join('|')} SEED CASES`);
  const counts = fuzz(reader as Reader, Number(seed), Number(cases));
  process.stdout.write(JSON.stringify(counts) + '\n');
}
