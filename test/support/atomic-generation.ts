// Test support for the crash tests of src/io/atomic.ts: a model-directory-like set of files whose every
// file carries one generation number, and a checker that each file is complete and of the same generation.
// Not a test itself; used by test/atomic.test.ts and by the child process test/support/atomic-writer.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';

const WEIGHTS = 1 << 20; // 4 MiB of F32: large enough that a kill often lands mid-write
const STATE_WORDS = 1 << 19; // 2 MiB

/** The files of generation `gen`: the same names as a model directory, every byte derived from `gen`. */
export function generationFiles(gen: number): Record<string, Uint8Array | string> {
  const weights = new Float32Array(WEIGHTS).fill(gen);
  const state = new Uint32Array(STATE_WORDS).fill(gen);
  return {
    'config.json': JSON.stringify({ generation: gen, hidden_size: 64 }),
    'model.safetensors': encodeSafetensors({ w: { data: weights, shape: [1024, 1024] } }, { generation: String(gen) }),
    'tokenizer.json': JSON.stringify({ generation: gen, vocab: Array.from({ length: 2000 }, (_, i) => `t${i}`) }),
    'optimizer.bin': Buffer.from(state.buffer),
  };
}

/** The names of a generation's files. */
export const GENERATION_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'optimizer.bin'];

/** The generation of the set in `dir`; throws if a file is missing, incomplete or of another generation. */
export function readGeneration(dir: string): number {
  return generationOf(new Map(GENERATION_FILES.map((n) => [n, readFileSync(join(dir, n))])), dir);
}

/** The generation of a set's file contents (named as in `dir`); throws like readGeneration. */
export function generationOf(files: Map<string, Buffer>, dir: string): number {
  const file = (name: string) => {
    const bytes = files.get(name);
    if (bytes === undefined) throw new Error(`${join(dir, name)}: missing`);
    return bytes;
  };
  const gens = new Map<string, number>();
  gens.set('config.json', jsonGeneration(file('config.json'), join(dir, 'config.json')));
  gens.set('tokenizer.json', jsonGeneration(file('tokenizer.json'), join(dir, 'tokenizer.json')));
  gens.set('model.safetensors', weightsGeneration(file('model.safetensors'), join(dir, 'model.safetensors')));
  gens.set('optimizer.bin', stateGeneration(file('optimizer.bin'), join(dir, 'optimizer.bin')));
  const distinct = new Set(gens.values());
  if (distinct.size !== 1) throw new Error(`mixed generations: ${JSON.stringify(Object.fromEntries(gens))}`);
  return [...distinct][0]!;
}

function jsonGeneration(bytes: Buffer, path: string): number {
  const gen = (JSON.parse(bytes.toString('utf8')) as { generation: unknown }).generation;
  if (typeof gen !== 'number') throw new Error(`${path}: no generation`);
  return gen;
}

function weightsGeneration(bytes: Buffer, path: string): number {
  const { tensors, metadata } = decodeSafetensors(bytes, path);
  const gen = Number(metadata['generation']);
  const w = tensors.get('w');
  if (w === undefined || w.data.length !== WEIGHTS || !w.data.every((x) => x === gen)) {
    throw new Error(`${path}: weights do not all carry generation ${gen}`);
  }
  return gen;
}

function stateGeneration(bytes: Buffer, path: string): number {
  if (bytes.length !== STATE_WORDS * 4) throw new Error(`${path}: ${bytes.length} bytes, expected ${STATE_WORDS * 4}`);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, STATE_WORDS);
  const gen = words[0]!;
  if (!words.every((x) => x === gen)) throw new Error(`${path}: words of several generations`);
  return gen;
}
