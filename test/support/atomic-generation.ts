// Test support for the crash tests of src/io/atomic.ts: a model-directory-like set of files whose every
// file carries one generation number, and a checker that each file is complete and of the same generation.
// Not a test itself; used by test/atomic.test.ts and by the child process test/support/atomic-writer.ts.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../../src/io/safetensors.js';

const WEIGHTS = 1 << 20; // 4 MiB of F32: large enough that a kill often lands mid-write
const STATE_WORDS = 1 << 19; // 2 MiB

/** The files of generation `gen`: the same names as a model directory, every byte derived from `gen`. */
export function generationFiles(gen: number): Record<string, Buffer | string> {
  const weights = new Float32Array(WEIGHTS).fill(gen);
  const state = new Uint32Array(STATE_WORDS).fill(gen);
  return {
    'config.json': JSON.stringify({ generation: gen, hidden_size: 64 }),
    'model.safetensors': encodeSafetensors({ w: { data: weights, shape: [1024, 1024] } }, { generation: String(gen) }),
    'tokenizer.json': JSON.stringify({ generation: gen, vocab: Array.from({ length: 2000 }, (_, i) => `t${i}`) }),
    'optimizer.bin': Buffer.from(state.buffer),
  };
}

/** The generation of the set in `dir`; throws if a file is missing, incomplete or of another generation. */
export function readGeneration(dir: string): number {
  const gens = new Map<string, number>();
  gens.set('config.json', jsonGeneration(join(dir, 'config.json')));
  gens.set('tokenizer.json', jsonGeneration(join(dir, 'tokenizer.json')));
  gens.set('model.safetensors', weightsGeneration(join(dir, 'model.safetensors')));
  gens.set('optimizer.bin', stateGeneration(join(dir, 'optimizer.bin')));
  const distinct = new Set(gens.values());
  if (distinct.size !== 1) throw new Error(`mixed generations: ${JSON.stringify(Object.fromEntries(gens))}`);
  return [...distinct][0]!;
}

function jsonGeneration(path: string): number {
  const gen = (JSON.parse(readFileSync(path, 'utf8')) as { generation: unknown }).generation;
  if (typeof gen !== 'number') throw new Error(`${path}: no generation`);
  return gen;
}

function weightsGeneration(path: string): number {
  const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
  const gen = Number(metadata['generation']);
  const w = tensors.get('w');
  if (w === undefined || w.data.length !== WEIGHTS || !w.data.every((x) => x === gen)) {
    throw new Error(`${path}: weights do not all carry generation ${gen}`);
  }
  return gen;
}

function stateGeneration(path: string): number {
  const bytes = readFileSync(path);
  if (bytes.length !== STATE_WORDS * 4) throw new Error(`${path}: ${bytes.length} bytes, expected ${STATE_WORDS * 4}`);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset, STATE_WORDS);
  const gen = words[0]!;
  if (!words.every((x) => x === gen)) throw new Error(`${path}: words of several generations`);
  return gen;
}
