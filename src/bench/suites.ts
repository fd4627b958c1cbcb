// The benchmarks of `swat bench`: peak FLOP/s, matrix multiply, windowed attention, full training steps
// and decoding. Each returns plain JSON; ratios (to the measured peak, to the reference backend, to a
// PyTorch implementation of the same training step) are computed from numbers measured in the same run.

import { availableParallelism } from 'node:os';
import type { AttentionShape, Backend } from '../backend/backend.js';
import { NativeBackend, nativeUnavailableReason } from '../backend/native.js';
import { ReferenceBackend } from '../backend/reference.js';
import type { SwatConfig } from '../config.js';
import { type ThreadedBackend, fillRandom, isThreaded, measure, profiled } from './measure.js';
import { type PytorchTrainResult, pytorchTrainBaseline } from './pytorch.js';
import { type AnchorOptions, anchorConfig, randomTrainingStep, secondsPerStep } from './train-step.js';

export { ANCHOR, type AnchorOptions, anchorConfig } from './train-step.js';

function threadCounts(be: Backend): number[] {
  const all = availableParallelism();
  return isThreaded(be) && all > 1 ? [1, all] : [1];
}

function withThreads<T>(be: Backend, n: number, fn: () => T): T {
  if (!isThreaded(be)) return fn();
  const before = be.threads;
  be.setThreads(n);
  try {
    return fn();
  } finally {
    be.setThreads(before);
  }
}

export interface PeakResult {
  single_core_gflops: number;
  all_core_gflops: number;
  threads: number;
}

/** The best of three FMA-loop measurements per thread count: other work on a shared machine only ever
 *  lowers a sample, and a low peak would inflate every percentage computed against it. */
export function benchPeak(be: Backend, seconds = 1): PeakResult {
  const t = requireThreaded(be, 'peak');
  const all = availableParallelism();
  const best = (threads: number) => Math.max(...[0, 1, 2].map(() => t.peakFlops(seconds / 3, threads)));
  return { single_core_gflops: best(1), all_core_gflops: best(all), threads: all };
}

function requireThreaded(be: Backend, what: string): ThreadedBackend {
  if (!isThreaded(be)) throw new Error(`bench ${what} measures the native backend's FMA peak; backend '${be.name}' has none`);
  return be;
}

interface GemmShape {
  name: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

/** The matrix products of one anchor training step: forward y = x·Wᵀ, dX = dY·W, dW = dYᵀ·X. */
export function anchorGemmShapes(a: AnchorOptions): GemmShape[] {
  const c = anchorConfig(a);
  const rows = a.batch * a.seqLen;
  const d = c.hidden_size;
  const I = c.intermediate_size;
  const V = c.vocab_size;
  const layers: [string, number, number][] = [['attn proj', d, d], ['gate_up', 2 * I, d], ['down', d, I], ['lm head', V, d]];
  return layers.flatMap(([name, out, inp]) => [
    { name: `${name} fwd x·Wᵀ`, M: rows, N: out, K: inp, transA: false, transB: true },
    { name: `${name} dX = dY·W`, M: rows, N: inp, K: out, transA: false, transB: false },
    { name: `${name} dW = dYᵀ·X`, M: out, N: inp, K: rows, transA: true, transB: false },
  ]);
}

export interface GemmRow {
  shape: string;
  m: number;
  n: number;
  k: number;
  threads: number;
  gflops: number;
  percent_of_peak: number | null;
  /** The baseline backend's GFLOP/s on this shape at one thread, measured in the same run (one-thread rows). */
  baseline_gflops?: number;
}

export interface GemmResult {
  peak: PeakResult | null;
  rows: GemmRow[];
  /** GFLOP/s of the reference backend on the first shape, single thread, and this backend's speed-up. */
  reference_gflops: number;
  speedup_vs_reference: number;
}

/** A matrix product of shape `s` on `be`, with random operands in its buffers: fn() measures its GFLOP/s. */
function gemmRate(be: Backend, s: GemmShape): (seconds: number) => number {
  const A = be.alloc(s.M * s.K) as Float32Array;
  const B = be.alloc(s.K * s.N) as Float32Array;
  const C = be.alloc(s.M * s.N);
  fillRandom(A, 1, 1);
  fillRandom(B, 1, 2);
  return (seconds) => {
    const t = measure(() => be.matmul(C, A, B, s.M, s.N, s.K, s.transA, s.transB, false), seconds);
    return (2 * s.M * s.N * s.K) / t.best / 1e9;
  };
}

/** `baseline` (the native backend at one thread, for the wasm backend) is measured on every shape too. */
export function benchGemm(be: Backend, a: AnchorOptions, seconds = 0.5, baseline: Backend | null = null): GemmResult {
  const peak = isThreaded(be) ? benchPeak(be, 0.5) : null;
  const rows: GemmRow[] = [];
  const shapes = anchorGemmShapes(a);
  for (const s of shapes) {
    const rate = gemmRate(be, s);
    for (const threads of threadCounts(be)) {
      const gflops = withThreads(be, threads, () => rate(seconds));
      const p = peak ? (threads === 1 ? peak.single_core_gflops : peak.all_core_gflops) : null;
      const row: GemmRow = { shape: s.name, m: s.M, n: s.N, k: s.K, threads, gflops, percent_of_peak: p ? (100 * gflops) / p : null };
      if (baseline && threads === 1) row.baseline_gflops = gemmRate(baseline, s)(seconds);
      rows.push(row);
    }
  }
  const first = shapes[0]!;
  const ref = new ReferenceBackend();
  const M = Math.min(first.M, 512); // the reference is slow: a slice of the rows measures its rate
  const A = new Float32Array(M * first.K);
  const B = new Float32Array(first.K * first.N);
  fillRandom(A);
  fillRandom(B);
  const C = new Float32Array(M * first.N);
  const tr = measure(() => ref.matmul(C, A, B, M, first.N, first.K, first.transA, first.transB, false), seconds, 1);
  const reference_gflops = (2 * M * first.N * first.K) / tr.best / 1e9;
  return { peak, rows, reference_gflops, speedup_vs_reference: rows[0]!.gflops / reference_gflops };
}

/** The yardstick of the wasm backend's benchmarks: the native backend at one thread (the target is a
 *  share of it), or null when `be` is native itself or the addon is not built. */
export function nativeBaseline(be: Backend): Backend | null {
  if (be.name !== 'wasm' || nativeUnavailableReason() !== null) return null;
  return new NativeBackend({ threads: 1 });
}

/** (query, key) pairs a banded causal attention over T tokens with window ω visits, per head and sequence. */
export function attentionPairs(T: number, window: number | null): number {
  let pairs = 0;
  for (let i = 0; i < T; i++) pairs += window === null ? i + 1 : Math.min(i + 1, window);
  return pairs;
}

/** FLOPs per (query, key) pair and head dimension: forward QKᵀ and PV (2 + 2); backward recomputes QKᵀ and
 *  forms dV, dP, dQ, dK (2 + 2 + 2 + 2 + 2). */
export const ATTENTION_FLOPS_PER_PAIR_DIM = { forward: 4, backward: 10 };

export interface AttentionRow {
  window: number;
  activation: string;
  threads: number;
  forward_gflops: number;
  forward_backward_gflops: number;
  percent_of_peak: number | null;
}

export function benchAttention(be: Backend, opts: { B: number; T: number; H: number; Dh: number; windows: number[] }, seconds = 0.5): { peak: PeakResult | null; rows: AttentionRow[] } {
  const peak = isThreaded(be) ? benchPeak(be, 0.5) : null;
  const { B, T, H, Dh } = opts;
  const n = B * T * H * Dh;
  const [q, k, v, out, dOut, dq, dk, dv] = Array.from({ length: 8 }, () => be.alloc(n));
  for (const [i, x] of [q, k, v, dOut].entries()) fillRandom(x!, 0.5, i + 1);
  const stats = be.alloc(B * H * T);
  const slopes = be.alloc(H);
  const rows: AttentionRow[] = [];
  for (const window of opts.windows) {
    for (const activation of ['sigmoid', 'softmax'] as const) {
      const s: AttentionShape = { B, Tq: T, Tk: T, kvStride: T, H, Dh, window, activation, slopes, bias: 0 };
      const pairs = B * H * attentionPairs(T, window);
      for (const threads of threadCounts(be)) {
        const fwd = withThreads(be, threads, () => measure(() => be.attentionForward(out!, stats, q!, k!, v!, s), seconds));
        const both = withThreads(be, threads, () => measure(() => {
          be.attentionForward(out!, stats, q!, k!, v!, s);
          be.attentionBackward(dq!, dk!, dv!, dOut!, q!, k!, v!, out!, stats, s);
        }, seconds));
        const fb = ((ATTENTION_FLOPS_PER_PAIR_DIM.forward + ATTENTION_FLOPS_PER_PAIR_DIM.backward) * pairs * Dh) / both.best / 1e9;
        const p = peak ? (threads === 1 ? peak.single_core_gflops : peak.all_core_gflops) : null;
        rows.push({
          window, activation, threads,
          forward_gflops: (ATTENTION_FLOPS_PER_PAIR_DIM.forward * pairs * Dh) / fwd.best / 1e9,
          forward_backward_gflops: fb,
          percent_of_peak: p ? (100 * fb) / p : null,
        });
      }
    }
  }
  return { peak, rows };
}

/** FLOPs of one training step (forward + backward) of `c` on `tokens` tokens of length T: 3× the forward
 *  matrix products, plus attention. */
export function trainStepFlops(c: SwatConfig, tokens: number, T: number): number {
  const d = c.hidden_size;
  const perTokenForward = c.num_hidden_layers * 2 * (4 * d * d + 3 * d * c.intermediate_size) + 2 * d * c.vocab_size;
  const sequences = tokens / T;
  const attn = c.num_hidden_layers * sequences * c.num_heads * attentionPairs(T, c.window_size) * (d / c.num_heads) * 14;
  return 3 * perTokenForward * tokens + attn;
}

export interface TrainBenchResult {
  backend: string;
  threads: number;
  tokens_per_s: number;
  step_s: number;
  steps: number;
  parameters: number;
  gflops: number;
  percent_of_peak: number | null;
  /** Seconds per op in one training step, when profiled. */
  breakdown?: Record<string, { seconds: number; calls: number; percent: number }>;
}

export function benchTrain(be: Backend, a: AnchorOptions, steps: number, profile: boolean): TrainBenchResult {
  const config = anchorConfig(a);
  const prof = profiled(be);
  const { model, tokens: N, step } = randomTrainingStep(profile ? prof.backend : be, a);
  const stepS = secondsPerStep(step, steps, () => prof.reset());
  const flops = trainStepFlops(config, N, a.seqLen);
  const peak = isThreaded(be) ? Math.max(...[0, 1, 2].map(() => be.peakFlops(0.2, be.threads))) : null;
  const gflops = flops / stepS / 1e9;
  const result: TrainBenchResult = {
    backend: be.name,
    threads: isThreaded(be) ? be.threads : 1,
    tokens_per_s: N / stepS,
    step_s: stepS,
    steps,
    parameters: model.parameterCount,
    gflops,
    percent_of_peak: peak ? (100 * gflops) / peak : null,
  };
  if (profile) {
    const total = stepS * steps;
    result.breakdown = Object.fromEntries([...prof.report()].sort((x, y) => y[1].seconds - x[1].seconds)
      .map(([op, r]) => [op, { seconds: r.seconds / steps, calls: r.calls / steps, percent: (100 * r.seconds) / total }]));
  }
  return result;
}

/** benchTrain of `be` and of `baseline` in turns, `rounds` times, keeping the fastest run of each: the load
 *  of a shared machine then falls on both alike, and the ratio of the two is measured in one run. */
export function benchTrainVersus(be: Backend, baseline: Backend, a: AnchorOptions, steps: number, rounds = 3): { result: TrainBenchResult; baseline: TrainBenchResult } {
  let result: TrainBenchResult | null = null;
  let base: TrainBenchResult | null = null;
  for (let i = 0; i < rounds; i++) {
    const r = benchTrain(be, a, steps, false);
    const b = benchTrain(baseline, a, steps, false);
    if (!result || r.tokens_per_s > result.tokens_per_s) result = r;
    if (!base || b.tokens_per_s > base.tokens_per_s) base = b;
  }
  return { result: result!, baseline: base! };
}

export interface TrainComparison extends TrainBenchResult {
  /** The PyTorch implementation of the same step, measured in the same run; null when not. */
  pytorch: PytorchTrainResult | null;
  /** Why no PyTorch baseline was measured (no Python, no torch); null when it was. */
  pytorch_unavailable: string | null;
  /** This backend's tokens/s over PyTorch's, both measured in this run; null without a baseline. */
  vs_pytorch: number | null;
  /** Interleaved rounds (backend, then PyTorch) whose fastest result each side keeps. */
  rounds: number;
}

/** benchTrain and the PyTorch baseline (tools/pytorch/bench_train.py run by `python`: same config, batch,
 *  length, step count and thread count) in interleaved rounds, each side keeping its fastest round: load
 *  from other work on a shared machine only ever slows a round down, and interleaving exposes both sides to
 *  the same drifts. Without a baseline, one round of the backend alone. */
export function benchTrainAgainstPytorch(be: Backend, a: AnchorOptions, steps: number, profile: boolean, python: string, rounds = 2): TrainComparison {
  let best: TrainBenchResult | null = null;
  let baseline: PytorchTrainResult | null = null;
  for (let round = 0; round < rounds; round++) {
    const r = benchTrain(be, a, steps, profile);
    if (!best || r.tokens_per_s > best.tokens_per_s) best = r;
    const b = pytorchTrainBaseline(python, anchorConfig(a), a.batch, a.seqLen, steps, r.threads);
    if ('unavailable' in b) return { ...best, pytorch: null, pytorch_unavailable: b.unavailable, vs_pytorch: null, rounds: round + 1 };
    if (!baseline || b.measured.tokens_per_s > baseline.tokens_per_s) baseline = b.measured;
  }
  return { ...best!, pytorch: baseline, pytorch_unavailable: null, vs_pytorch: best!.tokens_per_s / baseline!.tokens_per_s, rounds };
}

