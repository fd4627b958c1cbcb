// `swat bench decode`: one decoding stream of the anchor model in each weight dtype, at several positions.
// Per dtype the model is written in that dtype (F32, BF16, F16 or Q8 files) and loaded from there; each
// position gets its own cache, prefilled there in chunks (RSS read after each prefill), then single-token
// steps are timed round-robin across the positions so that a shared machine's drifts hit each alike.
// Decoding one token reads every weight once, so the bytes of weights per token over the time per token,
// against the read bandwidth measured in the same run (a streaming read of a buffer far larger than the
// caches, backend.readBandwidth), says how close to the memory's limit decoding runs. Loading is measured
// in a child process per dtype: its peak RSS while loading, less its RSS before, against the file's size.
// Not here: batched decoding (serve.ts), the other benchmarks (suites.ts).

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { WeightDtype } from '../backend/weight.js';
import { commitFiles } from '../io/atomic.js';
import { prefill } from '../infer/generate.js';
import { KvCache } from '../model/cache.js';
import { SwatModel } from '../model/model.js';
import { type ModelFileDtype, WEIGHTS_FILE, loadModel, modelFiles } from '../model/store.js';
import { Rng } from '../random.js';
import { isThreaded, residentBytes } from './measure.js';
import { type AnchorOptions, anchorConfig } from './suites.js';

export interface PositionRow {
  position: number;
  tokens_per_s: number;
  ms_per_token: number;
  best_ms_per_token: number;
  cache_bytes: number;
  rss_bytes: number;
}

export interface DecodeRow extends PositionRow {
  dtype: WeightDtype;
  /** Bytes of weights one token reads. */
  weight_bytes_per_token: number;
  /** weight_bytes_per_token / ms_per_token as a percentage of the measured read bandwidth. */
  percent_of_bandwidth: number | null;
}

export interface LoadMemory {
  dtype: WeightDtype;
  file_bytes: number;
  /** The child's RSS before loading (the runtime's own), and its peak RSS while loading. */
  runtime_bytes: number;
  peak_bytes: number;
  /** (peak − runtime) / file. */
  ratio: number;
}

export interface DecodeResult {
  backend: string;
  /** GB/s of the streaming read, or null for a backend without one. */
  read_gb_per_s: number | null;
  rows: DecodeRow[];
  /** tokens/s of each dtype over f32's at the first position. */
  speedup_vs_f32: Partial<Record<WeightDtype, number>>;
  load: LoadMemory[];
}

const FILE_DTYPE: Record<WeightDtype, ModelFileDtype> = { f32: 'F32', bf16: 'BF16', f16: 'F16', q8: 'Q8' };

/** Runs the benchmark; `backendName` and `threads` start the loading children on the same backend. */
export function benchDecode(
  be: Backend, a: AnchorOptions, o: { positions: number[]; dtypes: WeightDtype[]; tokens: number; backendName: string; threads?: number },
  onProgress: (line: string) => void = () => {},
): DecodeResult {
  const root = mkdtempSync(join(tmpdir(), 'swat-bench-decode-'));
  try {
    const source = SwatModel.create(anchorConfig(a), be, 0);
    const dirs = new Map(o.dtypes.map((d) => {
      const dir = join(root, d);
      commitFiles(dir, modelFiles(source, null, {}, { dtype: FILE_DTYPE[d] }));
      return [d, dir];
    }));
    const read = readBandwidth(be);
    const rows: DecodeRow[] = [];
    for (const dtype of o.dtypes) {
      onProgress(`decoding in ${dtype}`);
      const model = loadModel(dirs.get(dtype)!, be, [], { dtype }).model;
      const bytes = model.weights.bytesPerToken;
      for (const r of decodePositions(model, o.positions, o.tokens)) {
        rows.push({ dtype, ...r, weight_bytes_per_token: bytes, percent_of_bandwidth: read === null ? null : (100 * bytes) / (r.ms_per_token * 1e-3) / (read * 1e9) });
      }
    }
    const load = o.dtypes.map((dtype) => {
      onProgress(`loading in ${dtype} (child process)`);
      return loadMemory(dirs.get(dtype)!, dtype, o.backendName, o.threads);
    });
    const first = (d: WeightDtype) => rows.find((r) => r.dtype === d && r.position === o.positions[0]);
    const base = first('f32');
    const speedup = Object.fromEntries(o.dtypes.filter(() => base).map((d) => [d, first(d)!.tokens_per_s / base!.tokens_per_s]));
    return { backend: be.name, read_gb_per_s: read, rows, speedup_vs_f32: speedup, load };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** The fastest of a few streaming reads of 256 MiB (far beyond any cache), GB/s; null when the backend
 *  has no read kernel. */
function readBandwidth(be: Backend): number | null {
  if (!isThreaded(be)) return null;
  return be.readBandwidth(new Float32Array(64 * 2 ** 20).fill(1), 5);
}

/** Single-token decoding of `model` at each position: one cache per position, prefilled there in chunks
 *  (RSS read after each prefill, in increasing order; `onPrefilled` told each chunk's end), then `tokens`
 *  steps per position timed round-robin. */
export function decodePositions(model: SwatModel, positions: number[], tokens: number, onPrefilled: (position: number) => void = () => {}): PositionRow[] {
  const config = model.config;
  const rng = new Rng(2);
  const chunk = 512;
  const id = new Int32Array(1);
  const step = (cache: KvCache) => {
    id[0] = rng.int(config.vocab_size);
    const t0 = performance.now();
    model.forwardCached(id, 1, cache, 'last');
    return performance.now() - t0;
  };
  const random = (n: number) => Array.from({ length: n }, () => rng.int(config.vocab_size));
  // Warm-up on a throwaway cache: JIT, and the scratch buffers of a prefill chunk and of a decode step.
  const warm = new KvCache(config, model.backend);
  prefill(model, warm, random(chunk), chunk);
  for (let i = 0; i < 32; i++) step(warm);
  const streams = [...positions].sort((x, y) => x - y).map((position) => {
    const cache = new KvCache(config, model.backend);
    while (cache.position < position) {
      prefill(model, cache, random(Math.min(chunk, position - cache.position)), chunk);
      onPrefilled(cache.position);
    }
    return { position, cache, rss: residentBytes(), times: [] as number[] };
  });
  const round = 16;
  for (let done = 0; done < tokens; done += round) for (const s of streams) for (let i = 0; i < round; i++) s.times.push(step(s.cache));
  return streams.map((s) => {
    // The median and the fastest token: the other work of a shared machine only ever adds time.
    s.times.sort((x, y) => x - y);
    const ms = s.times[Math.floor(s.times.length / 2)]!;
    return { position: s.position, tokens_per_s: 1000 / ms, ms_per_token: ms, best_ms_per_token: s.times[0]!, cache_bytes: s.cache.bytes, rss_bytes: s.rss };
  });
}

/** Loads `dir` in `dtype` in a child process on the named backend: its RSS before and its peak while
 *  loading, against the weights file. */
function loadMemory(dir: string, dtype: WeightDtype, backend: string, threads?: number): LoadMemory {
  const script = [
    `const { selectBackend } = await import(${JSON.stringify(new URL('../backend/index.js', import.meta.url).href)});`,
    `const { loadModel } = await import(${JSON.stringify(new URL('../model/store.js', import.meta.url).href)});`,
    `const be = selectBackend(${JSON.stringify(backend)}, ${JSON.stringify(threads !== undefined ? { threads } : {})});`,
    'const before = process.memoryUsage().rss;',
    `loadModel(${JSON.stringify(dir)}, be, [], { dtype: ${JSON.stringify(dtype)} });`,
    // VmHWM is this program's own peak: getrusage's maxRSS can carry the parent's over from the fork.
    "const hwm = /VmHWM:\\s*(\\d+) kB/.exec((await import('node:fs')).readFileSync('/proc/self/status', 'utf8'));",
    'process.stdout.write(JSON.stringify({ before, peak: (hwm ? Number(hwm[1]) : process.resourceUsage().maxRSS) * 1024 }));',
  ].join('\n');
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`loading ${dir} in a child process failed: ${r.stderr.trim().split('\n').at(-1)}`);
  const { before, peak } = JSON.parse(r.stdout) as { before: number; peak: number };
  const file = statSync(join(dir, WEIGHTS_FILE)).size;
  return { dtype, file_bytes: file, runtime_bytes: before, peak_bytes: peak, ratio: (peak - before) / file };
}
