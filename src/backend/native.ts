// The native CPU backend: the Backend contract implemented by a Node-API addon in C (native/*.c, built by
// node-gyp during npm install into build/Release/swat_native.node). This file only loads the addon, turns
// the contract's arguments into the addon's flat ones and reports errors as InputError; every number is
// computed in C. It deliberately has no fallback of its own: selectBackend (index.ts) decides what to do
// when the addon is missing.
//
// Threads and the instruction set are process-wide (one pool, one kernel table in the addon): setting
// them on one NativeBackend affects every other.

import { createRequire } from 'node:module';
import { availableParallelism, totalmem } from 'node:os';

import type { AdamWHyper, AttentionShape, Backend, MemoryLimit } from './backend.js';
import { attentionMode, float32 } from './checks.js';
import { InputError } from '../errors.js';
import type { Floats } from '../tensor.js';
import { DTYPE_CODES, PLAIN_ARRAYS, type Weight, type WeightDtype, allocWeightWith } from './weight.js';

export const ISA_LEVELS = ['portable', 'avx2', 'avx512'] as const;
export type IsaLevel = (typeof ISA_LEVELS)[number];

/** The addon's functions (native/addon.c). Dimensions are plain numbers, window −1 means none. */
export interface NativeAddon {
  matmul(C: Float32Array, A: Float32Array, B: Float32Array, M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean): void;
  linear(C: Float32Array, A: Float32Array, ...args: [...weight: WeightArgs, M: number, accumulate: boolean]): void;
  embeddingForward(out: Float32Array, ...args: [...table: WeightArgs, ids: Int32Array, N: number]): void;
  embeddingBackward(dTable: Float32Array, dOut: Float32Array, ids: Int32Array, N: number, D: number): void;
  rmsnormForward(out: Float32Array, rstd: Float32Array, x: Float32Array, g: Float32Array, N: number, D: number, eps: number): void;
  rmsnormBackward(dx: Float32Array, dg: Float32Array, dOut: Float32Array, x: Float32Array, g: Float32Array,
    rstd: Float32Array, N: number, D: number): void;
  rope(x: Float32Array, B: number, T: number, H: number, Dh: number, pos0: number, theta: number, inverse: boolean): void;
  attentionForward(out: Float32Array, stats: Float32Array, q: Float32Array, k: Float32Array, v: Float32Array,
    ...shape: AttentionArgs): void;
  attentionBackward(dq: Float32Array, dk: Float32Array, dv: Float32Array, dOut: Float32Array, q: Float32Array,
    k: Float32Array, v: Float32Array, out: Float32Array, stats: Float32Array, ...shape: AttentionArgs): void;
  swigluForward(out: Float32Array, gu: Float32Array, N: number, I: number): void;
  swigluBackward(dGu: Float32Array, dOut: Float32Array, gu: Float32Array, N: number, I: number): void;
  crossEntropyForward(losses: Float32Array, logits: Float32Array, targets: Int32Array, N: number, V: number): void;
  crossEntropyBackward(dLogits: Float32Array, logits: Float32Array, targets: Int32Array, scale: number, N: number, V: number): void;
  add(out: Float32Array, a: Float32Array, b: Float32Array, n: number): void;
  scale(x: Float32Array, s: number, n: number): void;
  sumSquares(x: Float32Array, n: number): number;
  adamw(param: Float32Array, grad: Float32Array, m: Float32Array, v: Float32Array, n: number,
    lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
  setThreads(n: number): number;
  threads(): number;
  isaLevels(): string[];
  isa(): string;
  setIsa(name: string): string;
  peakFlops(seconds: number, threads: number): number;
  readBandwidth(x: Float32Array, passes: number): number;
  /** SHA-256 of the sources the addon was compiled from (native/source-hash.mjs). */
  sourceHash(): string;
}

/** A weight as the addon takes it: values, q8 scales (or null), dtype code (DTYPE_CODES), rows, cols. */
type WeightArgs = [data: Float32Array | Uint16Array | Int8Array, scales: Float32Array | null, dtype: number, rows: number, cols: number];

/** B, Tq, Tk, kvStride, H, Dh, window (−1 = none), softmax, slopes, bias. */
type AttentionArgs = [number, number, number, number, number, number, number, boolean, Float32Array, number];

const ADDON_PATH = '../../../build/Release/swat_native.node'; // from dist/src/backend/

let loaded: { addon: NativeAddon } | { error: string } | undefined;

/** The addon, loaded once; errors it throws (TypeError, RangeError for bad arguments) become InputError,
 *  so the CLI prints them as one line like every other argument error. */
function load(): { addon: NativeAddon } | { error: string } {
  if (loaded) return loaded;
  try {
    const raw = createRequire(import.meta.url)(ADDON_PATH) as Record<string, (...a: unknown[]) => unknown>;
    const wrapped: Record<string, (...a: unknown[]) => unknown> = {};
    for (const [name, fn] of Object.entries(raw)) {
      wrapped[name] = (...args: unknown[]) => {
        try {
          return fn(...args);
        } catch (e) {
          throw e instanceof Error ? new InputError(e.message) : e;
        }
      };
    }
    loaded = { addon: wrapped as unknown as NativeAddon };
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0] ?? String(e);
    loaded = {
      error: /Cannot find module/.test(msg)
        ? 'build/Release/swat_native.node was not built (npm install needs a C compiler for it)'
        : `build/Release/swat_native.node failed to load: ${msg}`,
    };
  }
  return loaded;
}

/** Why the native backend cannot be used here, or null when it can. */
export function nativeUnavailableReason(): string | null {
  const l = load();
  return 'error' in l ? l.error : null;
}

/** The raw addon (for benchmarks: peakFlops, isa levels); throws InputError when it is not available. */
export function nativeAddon(): NativeAddon {
  const l = load();
  if ('error' in l) throw new InputError(`native backend unavailable: ${l.error}`);
  return l.addon;
}

export interface NativeOptions {
  /** Threads of the process-wide pool; default: the cores available (os.availableParallelism()). */
  threads?: number;
  /** Force an instruction-set level the CPU supports; default: SWAT_NATIVE_ISA, else the best one. */
  isa?: IsaLevel;
}

/** Checks a thread count (from a flag or SWAT_THREADS) and returns it as a number. */
export function parseThreads(value: unknown, where: string): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 1024) {
    throw new InputError(`${where} = ${String(value)}, expected an integer from 1 to 1024`);
  }
  return n;
}

export class NativeBackend implements Backend {
  readonly name = 'native';
  readonly dtype = 'float32' as const;
  private readonly addon: NativeAddon;

  constructor(options: NativeOptions = {}) {
    this.addon = nativeAddon();
    const isa = options.isa ?? process.env['SWAT_NATIVE_ISA'];
    if (isa !== undefined && isa !== '') this.setIsa(isa);
    this.setThreads(options.threads ?? availableParallelism());
  }

  /** Sets the pool size (process-wide). */
  setThreads(n: number): void {
    this.addon.setThreads(parseThreads(n, 'threads'));
  }

  get threads(): number {
    return this.addon.threads();
  }

  /** Instruction-set levels this CPU supports, lowest first (always includes 'portable'). */
  isaLevels(): IsaLevel[] {
    return this.addon.isaLevels() as IsaLevel[];
  }

  get isa(): IsaLevel {
    return this.addon.isa() as IsaLevel;
  }

  /** Switches the kernels (process-wide) to a level this CPU supports. */
  setIsa(level: string): void {
    if (!(ISA_LEVELS as readonly string[]).includes(level)) {
      throw new InputError(`native: instruction set '${level}' is unknown (expected one of ${ISA_LEVELS.join(', ')})`);
    }
    if (!this.isaLevels().includes(level as IsaLevel)) {
      throw new InputError(`native: instruction set '${level}' is not supported by this CPU (supported: ${this.isaLevels().join(', ')})`);
    }
    this.addon.setIsa(level);
  }

  /** Measured fp32 peak of an FMA loop with the active instruction set: GFLOP/s over `threads` threads. */
  peakFlops(seconds: number, threads: number): number {
    return this.addon.peakFlops(seconds, threads);
  }

  /** Measured read bandwidth of the pool's threads streaming `x` (make it much larger than the caches) as
   *  the decoding kernels stream weights: GB/s, the fastest of `passes` passes. */
  readBandwidth(x: Float32Array, passes: number): number {
    return this.addon.readBandwidth(x, passes);
  }

  get memoryLimit(): MemoryLimit {
    return { bytes: totalmem(), what: "this machine's memory" };
  }

  alloc(n: number): Float32Array {
    return new Float32Array(n);
  }

  matmul(C: Floats, A: Floats, B: Floats, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    this.addon.matmul(f32('matmul', C), f32('matmul', A), f32('matmul', B), M, N, K, transA, transB, accumulate);
  }

  allocWeight(dtype: WeightDtype, rows: number, cols: number): Weight {
    return allocWeightWith(PLAIN_ARRAYS, dtype, rows, cols);
  }

  linear(C: Floats, A: Floats, W: Weight, M: number, accumulate: boolean): void {
    this.addon.linear(f32('linear', C), f32('linear', A), ...weightArgs('linear', W), M, accumulate);
  }

  embeddingForward(out: Floats, table: Weight, ids: Int32Array, N: number): void {
    this.addon.embeddingForward(f32('embeddingForward', out), ...weightArgs('embeddingForward', table), ids, N);
  }

  embeddingBackward(dTable: Floats, dOut: Floats, ids: Int32Array, N: number, D: number): void {
    this.addon.embeddingBackward(f32('embeddingBackward', dTable), f32('embeddingBackward', dOut), ids, N, D);
  }

  rmsnormForward(out: Floats, rstd: Floats, x: Floats, g: Floats, N: number, D: number, eps: number): void {
    const op = 'rmsnormForward';
    this.addon.rmsnormForward(f32(op, out), f32(op, rstd), f32(op, x), f32(op, g), N, D, eps);
  }

  rmsnormBackward(dx: Floats, dg: Floats, dOut: Floats, x: Floats, g: Floats, rstd: Floats, N: number, D: number): void {
    const op = 'rmsnormBackward';
    this.addon.rmsnormBackward(f32(op, dx), f32(op, dg), f32(op, dOut), f32(op, x), f32(op, g), f32(op, rstd), N, D);
  }

  rope(x: Floats, B: number, T: number, H: number, Dh: number, pos0: number, theta: number, inverse: boolean): void {
    this.addon.rope(f32('rope', x), B, T, H, Dh, pos0, theta, inverse);
  }

  attentionForward(out: Floats, stats: Floats, q: Floats, k: Floats, v: Floats, s: AttentionShape): void {
    const op = 'attentionForward';
    this.addon.attentionForward(f32(op, out), f32(op, stats), f32(op, q), f32(op, k), f32(op, v), ...attentionArgs(op, s));
  }

  attentionBackward(
    dq: Floats, dk: Floats, dv: Floats,
    dOut: Floats, q: Floats, k: Floats, v: Floats, out: Floats, stats: Floats, s: AttentionShape,
  ): void {
    const op = 'attentionBackward';
    this.addon.attentionBackward(
      f32(op, dq), f32(op, dk), f32(op, dv), f32(op, dOut), f32(op, q), f32(op, k), f32(op, v), f32(op, out),
      f32(op, stats), ...attentionArgs(op, s),
    );
  }

  swigluForward(out: Floats, gu: Floats, N: number, I: number): void {
    this.addon.swigluForward(f32('swigluForward', out), f32('swigluForward', gu), N, I);
  }

  swigluBackward(dGu: Floats, dOut: Floats, gu: Floats, N: number, I: number): void {
    const op = 'swigluBackward';
    this.addon.swigluBackward(f32(op, dGu), f32(op, dOut), f32(op, gu), N, I);
  }

  crossEntropyForward(losses: Floats, logits: Floats, targets: Int32Array, N: number, V: number): void {
    const op = 'crossEntropyForward';
    this.addon.crossEntropyForward(f32(op, losses), f32(op, logits), targets, N, V);
  }

  crossEntropyBackward(dLogits: Floats, logits: Floats, targets: Int32Array, scale: number, N: number, V: number): void {
    const op = 'crossEntropyBackward';
    this.addon.crossEntropyBackward(f32(op, dLogits), f32(op, logits), targets, scale, N, V);
  }

  add(out: Floats, a: Floats, b: Floats, n: number): void {
    this.addon.add(f32('add', out), f32('add', a), f32('add', b), n);
  }

  scale(x: Floats, s: number, n: number): void {
    this.addon.scale(f32('scale', x), s, n);
  }

  sumSquares(x: Floats, n: number): number {
    return this.addon.sumSquares(f32('sumSquares', x), n);
  }

  adamw(param: Floats, grad: Floats, m: Floats, v: Floats, n: number, h: AdamWHyper): void {
    const op = 'adamw';
    this.addon.adamw(f32(op, param), f32(op, grad), f32(op, m), f32(op, v), n,
      h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.step);
  }
}

function f32(op: string, x: Floats): Float32Array {
  return float32('native', op, x);
}

function weightArgs(op: string, w: Weight): WeightArgs {
  const data = w.dtype === 'f32' ? f32(op, w.data as Floats) : (w.data as Uint16Array | Int8Array);
  return [data, w.scales, DTYPE_CODES[w.dtype], w.rows, w.cols];
}

function attentionArgs(op: string, s: AttentionShape): AttentionArgs {
  const { window, softmax } = attentionMode('native', op, s);
  return [s.B, s.Tq, s.Tk, s.kvStride, s.H, s.Dh, window, softmax, f32(op, s.slopes), s.bias];
}
