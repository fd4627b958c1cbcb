// The backend contract: the few fused operations every numerical step of the model goes through.
//
// Conventions (one place, so every backend agrees):
// - Buffers are row-major typed arrays; dimensions are passed explicitly. Notation of SWAT.md:
//   B batch, T tokens, D = H·Dh width, H heads, Dh head width, V vocabulary, I MLP width, N = B·T rows.
// - Activations (B, T, D) are the same memory as (B, T, H, Dh): head h of row t is columns h·Dh … h·Dh+Dh−1.
// - "writes" means the output is overwritten (=); "adds" means it is accumulated (+=). Parameter gradients
//   are always added, so gradient accumulation is just "call backward again".
// - Outputs never alias inputs unless the method says so.
// - Backends compute in Float32Array. The reference backend also accepts Float64Array (see `dtype`), which
//   the finite-difference gradient checks use; other backends may reject it.
// - Weight matrices that inference reads (`linear`, `embeddingForward`) are `Weight`s: stored in f32, bf16,
//   f16 or the 8-bit block format q8 (weight.ts defines each format), always computed on with float32 (or
//   better) sums. Training keeps f32 parameters and differentiates through `matmul`.

import type { Floats } from '../tensor.js';
import type { Weight, WeightDtype } from './weight.js';

export type AttentionActivation = 'sigmoid' | 'softmax';

/** Shapes and constants of one windowed attention call (SWAT.md §3).
 *
 *  Queries: `q` (B, Tq, H, Dh). Keys and values: `k`, `v` (B, kvStride, H, Dh), of which the first `Tk` rows
 *  of each sequence are used. The last query and the last key are the same position: query i sits at key
 *  index `i + Tk − Tq`, so a decode step (Tq = 1) sees every cached key and a training call has Tq = Tk.
 *  Query i attends key j iff `0 ≤ (i + Tk − Tq) − j < window` (no lower bound when window is null).
 *  q and k arrive already rotated by RoPE (if the model uses it): the op itself only needs distances. */
export interface AttentionShape {
  B: number;
  Tq: number;
  Tk: number;
  /** Rows per sequence in the k and v buffers (≥ Tk); lets a decode cache keep spare capacity. */
  kvStride: number;
  H: number;
  Dh: number;
  /** ω: number of keys a query sees including itself; null = full causal attention. */
  window: number | null;
  activation: AttentionActivation;
  /** (H) ALiBi slopes s_h in SWAT.md's sign convention: score += s_h · (m − n). */
  slopes: Floats;
  /** Constant b added to every score (SWAT uses 0). */
  bias: number;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step number, for bias correction. */
  step: number;
}

export interface MemoryLimit {
  bytes: number;
  /** "this machine's memory" */
  what: string;
}

export interface Backend {
  readonly name: string;
  readonly dtype: 'float32' | 'float64';
  /** The most bytes of buffers this backend can hold, and what sets that bound (for messages): sizes are
   *  checked against it before they are allocated. */
  readonly memoryLimit: MemoryLimit;
  /** A zero-filled float buffer of this backend's dtype. */
  alloc(n: number): Floats;

  /** C (M, N) = op(A) · op(B), or C += … when `accumulate`. op(A) is (M, K): A is stored (M, K), or (K, M)
   *  when `transA`. op(B) is (K, N): B is stored (K, N), or (N, K) when `transB`. */
  matmul(
    C: Floats, A: Floats, B: Floats,
    M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
  ): void;

  /** A zero-filled weight matrix (rows, cols) of `dtype` in this backend's memory (weight.ts: layouts). */
  allocWeight(dtype: WeightDtype, rows: number, cols: number): Weight;

  /** A linear layer: C (M, W.rows) = A (M, W.cols) · Wᵀ, or C += … when `accumulate`, W read in its dtype.
   *  Decoding (M of one or a few rows) is a pass over W, so its speed is the memory's read bandwidth. */
  linear(C: Floats, A: Floats, W: Weight, M: number, accumulate: boolean): void;

  /** out (N, W.cols) = row ids[n] of the table W, as floats (writes). ids are checked against W.rows. */
  embeddingForward(out: Floats, table: Weight, ids: Int32Array, N: number): void;
  /** dTable[ids[n]] += dOut[n] (adds; repeated ids accumulate). */
  embeddingBackward(dTable: Floats, dOut: Floats, ids: Int32Array, N: number, D: number): void;

  /** RMSNorm (SWAT.md §2): out = x / sqrt(mean(x²) + eps) ⊙ g. Writes out (N, D) and rstd (N), the saved
   *  1/sqrt(mean(x²) + eps) that the backward needs. */
  rmsnormForward(out: Floats, rstd: Floats, x: Floats, g: Floats, N: number, D: number, eps: number): void;
  /** Adds into dx (N, D) and dg (D). */
  rmsnormBackward(dx: Floats, dg: Floats, dOut: Floats, x: Floats, g: Floats, rstd: Floats, N: number, D: number): void;

  /** RoPE, rotate-half layout (SWAT.md §3), in place on x (B, T, H, Dh): row t of every sequence is at
   *  absolute position pos0 + t. `inverse` rotates by the negative angle, which is the backward (the
   *  rotation is orthogonal). Dh is even. */
  rope(x: Floats, B: number, T: number, H: number, Dh: number, pos0: number, theta: number, inverse: boolean): void;

  /** Windowed attention (SWAT.md §3). Writes out (B, Tq, H, Dh) and stats (B, H, Tq): for softmax the
   *  log-sum-exp of each row's scores, for sigmoid unused (any value). Cost O(B·Tq·min(Tk, ω)·H·Dh);
   *  never materialises a Tq × Tk matrix. */
  attentionForward(out: Floats, stats: Floats, q: Floats, k: Floats, v: Floats, s: AttentionShape): void;
  /** Writes dq (B, Tq, H, Dh), dk and dv (B, kvStride, H, Dh; rows ≥ Tk are zeroed), given the forward's
   *  inputs, its output and its stats. */
  attentionBackward(
    dq: Floats, dk: Floats, dv: Floats,
    dOut: Floats, q: Floats, k: Floats, v: Floats, out: Floats, stats: Floats, s: AttentionShape,
  ): void;

  /** SwiGLU (SWAT.md §2): gu (N, 2I) holds the gate a in columns 0…I−1 and b in I…2I−1; writes
   *  out (N, I) = silu(a) ⊙ b. */
  swigluForward(out: Floats, gu: Floats, N: number, I: number): void;
  /** Writes dGu (N, 2I). */
  swigluBackward(dGu: Floats, dOut: Floats, gu: Floats, N: number, I: number): void;

  /** Writes losses (N): logsumexp(logits[n]) − logits[n, targets[n]]; rows whose target is −1 get 0. */
  crossEntropyForward(losses: Floats, logits: Floats, targets: Int32Array, N: number, V: number): void;
  /** Writes dLogits (N, V) = scale · (softmax(logits[n]) − onehot(targets[n])), 0 for rows whose target is
   *  −1. dLogits may be the logits buffer itself (in place), so logits are never held twice. */
  crossEntropyBackward(dLogits: Floats, logits: Floats, targets: Int32Array, scale: number, N: number, V: number): void;

  /** out (n) = a + b; out may alias a or b. */
  add(out: Floats, a: Floats, b: Floats, n: number): void;
  /** x *= s in place. */
  scale(x: Floats, s: number, n: number): void;
  /** Σ x², accumulated in float64. */
  sumSquares(x: Floats, n: number): number;

  /** One AdamW step in place (decoupled weight decay: p −= lr·wd·p before the Adam update, as in
   *  PyTorch's AdamW): m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr · (m̂ / (sqrt(v̂) + eps)). */
  adamw(param: Floats, grad: Floats, m: Floats, v: Floats, n: number, h: AdamWHyper): void;
}
