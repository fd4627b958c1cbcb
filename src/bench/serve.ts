// `swat bench serve`: what continuous batching buys. Aggregate tokens/s and the p50/p99 time between a
// stream's tokens at 1, 4, 16 and 64 concurrent streams, measured through the library API (the worker
// engine the server uses, credit round trips included), and resident memory per added stream, measured on
// the engine in this process (so a full garbage collection can run first) against the window cache of
// SWAT.md §4. Without a model directory it makes an untrained model of the default training shape.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { load } from '../api/model.js';
import { selectBackend } from '../backend/index.js';
import { makeConfig } from '../config.js';
import { DEFAULT_ENGINE, Engine } from '../infer/engine.js';
import { SwatModel } from '../model/model.js';
import { loadModel, saveModel } from '../model/store.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { residentBytes } from './measure.js';

/** The shape `swat train` (npm start) trains by default: 3 layers × 96, 4 heads, window 32, MLP 256, and a
 *  vocabulary of 8192 tokens (learned from the built-in corpus). */
export const DEFAULT_MODEL_SHAPE = { vocabSize: 8192, layers: 3, dim: 96, heads: 4, window: 32, intermediateSize: 256 };

export interface ServeBenchOptions {
  backend?: string;
  threads?: number;
  concurrency: number[];
  /** Tokens each stream generates. */
  tokens: number;
  /** Streams held at once for the memory measurement. */
  memoryStreams: number;
}

export interface ServeBenchRow {
  streams: number;
  tokens_per_s: number;
  /** Aggregate tokens/s relative to one stream. */
  speedup: number;
  p50_ms_per_token: number;
  p99_ms_per_token: number;
}

export interface ServeBenchResult {
  model: string;
  backend: string;
  tokens_per_stream: number;
  rows: ServeBenchRow[];
  memory: {
    streams: number;
    /** Resident memory added per stream held by the engine. */
    bytes_per_stream: number;
    /** The per-stream rolling cache as allocated (ω − 1 + slack rows per layer, keys and values). */
    cache_bytes_per_stream: number;
    /** The window cache of SWAT.md §4: L · 2 · ω · d floats. */
    window_cache_bytes: number;
  };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! : NaN;
}

/** An untrained model of the default shape over raw token ids (learning the vocabulary would take minutes;
 *  the cost of a step does not depend on which 8192 tokens they are), in a temporary directory. */
function defaultModelDir(): { dir: string; cleanup: () => void } {
  const root = mkdtempSync(join(tmpdir(), 'swat-bench-serve-'));
  const dir = join(root, 'default-shape');
  saveModel(dir, SwatModel.create(makeConfig(DEFAULT_MODEL_SHAPE), selectBackend('reference'), 1), null);
  return { dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/** Stream i's prompt: a line of text with a tokenizer, else 24 token ids. */
function prompt(i: number, tokenizer: Tokenizer | null, V: number): string | number[] {
  return tokenizer ? `Stream ${i}: once upon a time` : Array.from({ length: 24 }, (_, j) => (i * 31 + j * 7) % V);
}

export async function benchServe(modelDir: string | undefined, o: ServeBenchOptions, onProgress: (line: string) => void = () => {}): Promise<ServeBenchResult> {
  const made = modelDir === undefined ? defaultModelDir() : null;
  const dir = modelDir ?? made!.dir;
  try {
    const backendOptions = { ...(o.backend !== undefined ? { backend: o.backend } : {}), ...(o.threads !== undefined ? { threads: o.threads } : {}) };
    const model = await load(dir, { ...backendOptions, maxStreams: Math.max(...o.concurrency) });
    const rows: ServeBenchRow[] = [];
    try {
      // Untrained models end early at EOS by chance: every stream generates exactly `tokens`.
      const run = async (streams: number, tokens: number) => {
        const gaps: number[] = [];
        const t0 = performance.now();
        await Promise.all(Array.from({ length: streams }, async (_, i) => {
          let last = -1;
          for await (const e of model.events(prompt(i, model.tokenizer, model.config.vocab_size), { maxTokens: tokens, seed: i, stopIds: [] })) {
            if (e.type !== 'step' || e.token === null) continue;
            const now = performance.now();
            if (last >= 0) gaps.push(now - last);
            last = now;
          }
        }));
        return { seconds: (performance.now() - t0) / 1000, gaps: gaps.sort((a, b) => a - b) };
      };
      await run(Math.max(...o.concurrency), 8); // warm-up: JIT, scratch buffers of every batch size
      for (const streams of o.concurrency) {
        onProgress(`${streams} stream(s)…`);
        const r = await run(streams, o.tokens);
        const tps = (streams * o.tokens) / r.seconds;
        rows.push({ streams, tokens_per_s: tps, speedup: tps / (rows[0]?.tokens_per_s ?? tps), p50_ms_per_token: quantile(r.gaps, 0.5), p99_ms_per_token: quantile(r.gaps, 0.99) });
      }
    } finally {
      await model.close();
    }
    onProgress('memory…');
    const shape = DEFAULT_MODEL_SHAPE;
    return { model: modelDir ?? `untrained, default shape (${shape.layers} × ${shape.dim}, window ${shape.window}, ${shape.vocabSize} token ids)`, backend: model.backend, tokens_per_stream: o.tokens, rows, memory: measureStreamMemory(dir, o) };
  } finally {
    made?.cleanup();
  }
}

/** Resident bytes per stream that an engine holds (each stopped after its first token, cache in place). */
function measureStreamMemory(dir: string, o: ServeBenchOptions): ServeBenchResult['memory'] {
  const { model, tokenizer } = loadModel(dir, selectBackend(o.backend, o.threads !== undefined ? { threads: o.threads } : {}));
  const n = o.memoryStreams;
  const engine = new Engine(model, tokenizer, { maxStreams: n + 8 });
  const fill = (from: number, count: number) => {
    for (let i = from; i < from + count; i++) engine.submit(i, prompt(i, tokenizer, model.config.vocab_size), { maxTokens: 1000, seed: i, stopIds: [] }, 1);
    while (engine.ready) engine.step();
  };
  fill(0, 8); // scratch buffers and code paths exist before the baseline
  const before = residentBytes();
  fill(8, n);
  const after = residentBytes();
  const c = model.config;
  const window = c.window_size ?? c.max_position_embeddings;
  return {
    streams: n,
    bytes_per_stream: (after - before) / n,
    cache_bytes_per_stream: 2 * c.num_hidden_layers * (window - 1 + DEFAULT_ENGINE.cacheSlack) * c.hidden_size * 4,
    window_cache_bytes: 2 * c.num_hidden_layers * window * c.hidden_size * 4,
  };
}
