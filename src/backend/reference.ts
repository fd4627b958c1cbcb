// reference: no tiling, no SIMD, no threads.
//
// The plain-TypeScript backend: every op of backend.ts written as simple loops, in Float32Array or
// Float64Array. It is the oracle the other backends are tested against, and it is also fast enough to train
// tiny models on a laptop: loops run in cache-friendly order, sums accumulate in float64 (JS numbers) and
// are rounded once when stored, and hot loops allocate nothing (a few small per-call scratch rows at most).
// It deliberately is not clever: no blocking, no precomputed tables beyond one call, no shape inference.

import { totalmem } from 'node:os';
import type { AdamWHyper, AttentionShape, Backend, MemoryLimit } from './backend.js';
import { InputError } from '../errors.js';
import type { Floats } from '../tensor.js';
import { PLAIN_ARRAYS, type Weight, type WeightDtype, allocWeightWith, decodeRow } from './weight.js';

export class ReferenceBackend implements Backend {
  readonly name = 'reference';
  readonly dtype: 'float32' | 'float64';

  constructor(dtype: 'float32' | 'float64' = 'float32') {
    if (dtype !== 'float32' && dtype !== 'float64') {
      throw new InputError(`ReferenceBackend: dtype must be 'float32' or 'float64', got ${String(dtype)}`);
    }
    this.dtype = dtype;
  }

  get memoryLimit(): MemoryLimit {
    return { bytes: totalmem(), what: "this machine's memory" };
  }

  alloc(n: number): Floats {
    return this.dtype === 'float64' ? new Float64Array(n) : new Float32Array(n);
  }

  matmul(
    C: Floats, A: Floats, B: Floats,
    M: number, N: number, K: number,
    transA: boolean, transB: boolean, accumulate: boolean,
  ): void {
    if (transB) matmulDot(C, A, B, M, N, K, transA, accumulate);
    else matmulRows(C, A, B, M, N, K, transA, accumulate);
  }

  allocWeight(dtype: WeightDtype, rows: number, cols: number): Weight {
    // f32 weights in this backend's float type, so the float64 gradient checks see exact parameters.
    return dtype === 'f32' ? { dtype, rows, cols, data: this.alloc(rows * cols), scales: null } : allocWeightWith(PLAIN_ARRAYS, dtype, rows, cols);
  }

  linear(C: Floats, A: Floats, W: Weight, M: number, accumulate: boolean): void {
    const { rows: N, cols: K } = W;
    if (W.dtype === 'f32') {
      matmulDot(C, A, W.data as Floats, M, N, K, false, accumulate);
      return;
    }
    // Each row of W decoded once (weight.ts defines the values), then its dot product with every row of A.
    const w = new Float64Array(K);
    for (let j = 0; j < N; j++) {
      decodeRow(W, j, w);
      for (let i = 0; i < M; i++) {
        let sum = 0;
        for (let k = 0; k < K; k++) sum += A[i * K + k]! * w[k]!;
        C[i * N + j] = accumulate ? C[i * N + j]! + sum : sum;
      }
    }
  }

  embeddingForward(out: Floats, table: Weight, ids: Int32Array, N: number): void {
    const D = table.cols;
    for (let n = 0; n < N; n++) decodeRow(table, ids[n]!, out.subarray(n * D, (n + 1) * D));
  }

  embeddingBackward(dTable: Floats, dOut: Floats, ids: Int32Array, N: number, D: number): void {
    for (let n = 0; n < N; n++) {
      const dst = ids[n]! * D;
      for (let d = 0; d < D; d++) dTable[dst + d] += dOut[n * D + d]!;
    }
  }

  rmsnormForward(out: Floats, rstd: Floats, x: Floats, g: Floats, N: number, D: number, eps: number): void {
    for (let n = 0; n < N; n++) {
      const row = n * D;
      let ss = 0;
      for (let d = 0; d < D; d++) ss += x[row + d]! * x[row + d]!;
      const r = 1 / Math.sqrt(ss / D + eps);
      rstd[n] = r;
      for (let d = 0; d < D; d++) out[row + d] = x[row + d]! * r * g[d]!;
    }
  }

  rmsnormBackward(dx: Floats, dg: Floats, dOut: Floats, x: Floats, g: Floats, rstd: Floats, N: number, D: number): void {
    // y = x·r·g with r = (mean(x²) + eps)^(−1/2), so dr/dx_d = −r³·x_d / D and
    // dx_d = r·g_d·dy_d − x_d·r³/D · Σ_e dy_e·g_e·x_e.
    // dg is summed over rows in float64 and added once, so a second call adds exactly the same amount.
    const dgSum = new Float64Array(D);
    for (let n = 0; n < N; n++) {
      const row = n * D;
      const r = rstd[n]!;
      let dot = 0;
      for (let d = 0; d < D; d++) {
        dot += dOut[row + d]! * g[d]! * x[row + d]!;
        dgSum[d]! += dOut[row + d]! * x[row + d]! * r;
      }
      const c = (dot * r * r * r) / D;
      for (let d = 0; d < D; d++) dx[row + d] += r * g[d]! * dOut[row + d]! - x[row + d]! * c;
    }
    for (let d = 0; d < D; d++) dg[d] += dgSum[d]!;
  }

  rope(x: Floats, B: number, T: number, H: number, Dh: number, pos0: number, theta: number, inverse: boolean): void {
    if (Dh % 2 !== 0) throw new InputError(`reference.rope: Dh must be even, got ${Dh}`);
    const half = Dh / 2;
    const freqs = new Float64Array(half); // θ_i = theta^(−2i/Dh), SWAT.md §3
    for (let i = 0; i < half; i++) freqs[i] = Math.pow(theta, (-2 * i) / Dh);
    const sign = inverse ? -1 : 1;
    for (let t = 0; t < T; t++) {
      const pos = pos0 + t;
      for (let i = 0; i < half; i++) {
        // The angle is formed in float64 so far positions keep their precision.
        const angle = pos * freqs[i]!;
        const c = Math.cos(angle);
        const s = sign * Math.sin(angle);
        for (let b = 0; b < B; b++) {
          for (let h = 0; h < H; h++) {
            const base = ((b * T + t) * H + h) * Dh;
            const x0 = x[base + i]!;
            const x1 = x[base + i + half]!;
            x[base + i] = x0 * c - x1 * s;
            x[base + i + half] = x1 * c + x0 * s;
          }
        }
      }
    }
  }

  attentionForward(out: Floats, stats: Floats, q: Floats, k: Floats, v: Floats, s: AttentionShape): void {
    checkAttentionShape('attentionForward', s);
    const { B, Tq, H, Dh } = s;
    const scores = new Float64Array(maxKeys(s)); // one row of the band: at most min(Tk, ω) scores
    const acc = new Float64Array(Dh);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        for (let i = 0; i < Tq; i++) {
          const [lo, hi] = keyRange(s, i);
          const n = rowScores(scores, q, k, s, b, h, i, lo, hi);
          const lse = s.activation === 'softmax' ? softmaxInPlace(scores, n) : sigmoidInPlace(scores, n);
          acc.fill(0);
          for (let j = lo; j <= hi; j++) {
            const w = scores[j - lo]!;
            const vRow = kvOffset(s, b, j, h);
            for (let d = 0; d < Dh; d++) acc[d]! += w * v[vRow + d]!;
          }
          const oRow = qOffset(s, b, i, h);
          for (let d = 0; d < Dh; d++) out[oRow + d] = acc[d]!;
          stats[(b * H + h) * Tq + i] = lse;
        }
      }
    }
  }

  attentionBackward(
    dq: Floats, dk: Floats, dv: Floats,
    dOut: Floats, q: Floats, k: Floats, v: Floats, out: Floats, stats: Floats, s: AttentionShape,
  ): void {
    checkAttentionShape('attentionBackward', s);
    const { B, Tq, Tk, kvStride, H, Dh } = s;
    const scale = 1 / Math.sqrt(Dh);
    const scores = new Float64Array(maxKeys(s));
    const dqRow = new Float64Array(Dh);
    // dk and dv of one (b, h) summed in float64 over all queries, then stored: O(Tk·Dh), not Tq × Tk.
    const dkAcc = new Float64Array(Tk * Dh);
    const dvAcc = new Float64Array(Tk * Dh);
    dk.fill(0, 0, B * kvStride * H * Dh);
    dv.fill(0, 0, B * kvStride * H * Dh);
    for (let b = 0; b < B; b++) {
      for (let h = 0; h < H; h++) {
        dkAcc.fill(0);
        dvAcc.fill(0);
        for (let i = 0; i < Tq; i++) {
          const [lo, hi] = keyRange(s, i);
          // Recompute the weights (flash-style) instead of keeping them from the forward; softmax
          // normalises with the forward's saved log-sum-exp rather than summing the row again.
          const n = rowScores(scores, q, k, s, b, h, i, lo, hi);
          if (s.activation === 'softmax') {
            const lse = stats[(b * H + h) * Tq + i]!;
            for (let c = 0; c < n; c++) scores[c] = Math.exp(scores[c]! - lse);
          } else {
            sigmoidInPlace(scores, n);
          }
          const qRow = qOffset(s, b, i, h);
          // Σ_j p_j·dp_j = <dOut_i, out_i> for softmax, since out_i = Σ_j p_j·v_j.
          let rowDot = 0;
          if (s.activation === 'softmax') {
            for (let d = 0; d < Dh; d++) rowDot += dOut[qRow + d]! * out[qRow + d]!;
          }
          dqRow.fill(0);
          for (let j = lo; j <= hi; j++) {
            const p = scores[j - lo]!;
            const kvRow = kvOffset(s, b, j, h);
            let dp = 0;
            for (let d = 0; d < Dh; d++) {
              dp += dOut[qRow + d]! * v[kvRow + d]!;
              dvAcc[j * Dh + d]! += p * dOut[qRow + d]!;
            }
            // sigmoid: dz = dp·σ(1 − σ); softmax: dz = p·(dp − Σ_j p·dp).
            const dz = (s.activation === 'sigmoid' ? dp * (1 - p) * p : p * (dp - rowDot)) * scale;
            for (let d = 0; d < Dh; d++) {
              dqRow[d]! += dz * k[kvRow + d]!;
              dkAcc[j * Dh + d]! += dz * q[qRow + d]!;
            }
          }
          for (let d = 0; d < Dh; d++) dq[qRow + d] = dqRow[d]!;
        }
        for (let j = 0; j < Tk; j++) {
          const kvRow = kvOffset(s, b, j, h);
          for (let d = 0; d < Dh; d++) {
            dk[kvRow + d] = dkAcc[j * Dh + d]!;
            dv[kvRow + d] = dvAcc[j * Dh + d]!;
          }
        }
      }
    }
  }

  swigluForward(out: Floats, gu: Floats, N: number, I: number): void {
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < I; c++) {
        const a = gu[n * 2 * I + c]!;
        const bb = gu[n * 2 * I + I + c]!;
        out[n * I + c] = a * sigmoid(a) * bb;
      }
    }
  }

  swigluBackward(dGu: Floats, dOut: Floats, gu: Floats, N: number, I: number): void {
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < I; c++) {
        const a = gu[n * 2 * I + c]!;
        const bb = gu[n * 2 * I + I + c]!;
        const sa = sigmoid(a);
        const dy = dOut[n * I + c]!;
        // silu'(a) = σ(a)·(1 + a·(1 − σ(a)))
        dGu[n * 2 * I + c] = dy * bb * sa * (1 + a * (1 - sa));
        dGu[n * 2 * I + I + c] = dy * a * sa;
      }
    }
  }

  crossEntropyForward(losses: Floats, logits: Floats, targets: Int32Array, N: number, V: number): void {
    for (let n = 0; n < N; n++) {
      const t = checkTarget('crossEntropyForward', targets, n, V);
      losses[n] = t < 0 ? 0 : logSumExp(logits, n * V, V) - logits[n * V + t]!;
    }
  }

  crossEntropyBackward(dLogits: Floats, logits: Floats, targets: Int32Array, scale: number, N: number, V: number): void {
    for (let n = 0; n < N; n++) {
      const t = checkTarget('crossEntropyBackward', targets, n, V);
      const row = n * V;
      if (t < 0) {
        dLogits.fill(0, row, row + V);
        continue;
      }
      // The row's log-sum-exp is complete before the first write, and each element is read before it is
      // overwritten, so dLogits may be the logits buffer itself.
      const lse = logSumExp(logits, row, V);
      for (let c = 0; c < V; c++) {
        const p = Math.exp(logits[row + c]! - lse);
        dLogits[row + c] = scale * (c === t ? p - 1 : p);
      }
    }
  }

  add(out: Floats, a: Floats, b: Floats, n: number): void {
    for (let i = 0; i < n; i++) out[i] = a[i]! + b[i]!;
  }

  scale(x: Floats, s: number, n: number): void {
    for (let i = 0; i < n; i++) x[i] *= s;
  }

  sumSquares(x: Floats, n: number): number {
    let sum = 0; // a JS number: float64 whatever the buffer's type
    for (let i = 0; i < n; i++) sum += x[i]! * x[i]!;
    return sum;
  }

  adamw(param: Floats, grad: Floats, m: Floats, v: Floats, n: number, h: AdamWHyper): void {
    const { lr, beta1, beta2, eps, weightDecay, step } = h;
    const bc1 = 1 - Math.pow(beta1, step);
    const bc2 = 1 - Math.pow(beta2, step);
    const decay = 1 - lr * weightDecay;
    for (let i = 0; i < n; i++) {
      const g = grad[i]!;
      const mi = beta1 * m[i]! + (1 - beta1) * g;
      const vi = beta2 * v[i]! + (1 - beta2) * g * g;
      m[i] = mi;
      v[i] = vi;
      // Decoupled weight decay first (PyTorch AdamW), then the bias-corrected Adam step.
      param[i] = param[i]! * decay - (lr * (mi / bc1)) / (Math.sqrt(vi / bc2) + eps);
    }
  }
}

/** C = op(A)·Bᵀ with B stored (N, K): each C[i, j] is one dot product over contiguous rows of B. */
function matmulDot(
  C: Floats, A: Floats, B: Floats, M: number, N: number, K: number, transA: boolean, accumulate: boolean,
): void {
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let sum = 0;
      if (transA) for (let k = 0; k < K; k++) sum += A[k * M + i]! * B[j * K + k]!;
      else for (let k = 0; k < K; k++) sum += A[i * K + k]! * B[j * K + k]!;
      C[i * N + j] = accumulate ? C[i * N + j]! + sum : sum;
    }
  }
}

/** C = op(A)·B with B stored (K, N): i-k-j order, so the inner loop streams a row of B into a float64 row
 *  of C, which is rounded and stored once. */
function matmulRows(
  C: Floats, A: Floats, B: Floats, M: number, N: number, K: number, transA: boolean, accumulate: boolean,
): void {
  const row = new Float64Array(N);
  for (let i = 0; i < M; i++) {
    row.fill(0);
    for (let k = 0; k < K; k++) {
      const a = transA ? A[k * M + i]! : A[i * K + k]!;
      const bRow = k * N;
      for (let j = 0; j < N; j++) row[j]! += a * B[bRow + j]!;
    }
    for (let j = 0; j < N; j++) C[i * N + j] = accumulate ? C[i * N + j]! + row[j]! : row[j]!;
  }
}

/** Logistic sigmoid that never overflows: exp is only taken of a non-positive number (SWAT.md §3). */
function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log Σ_c exp(x[off + c]), shifted by the row maximum so no term overflows. */
function logSumExp(x: Floats, off: number, V: number): number {
  let max = -Infinity;
  for (let c = 0; c < V; c++) if (x[off + c]! > max) max = x[off + c]!;
  let sum = 0;
  for (let c = 0; c < V; c++) sum += Math.exp(x[off + c]! - max);
  return max + Math.log(sum);
}

function checkTarget(op: string, targets: Int32Array, n: number, V: number): number {
  const t = targets[n]!;
  if (t < -1 || t >= V) throw new InputError(`reference.${op}: targets[${n}] = ${t} is outside [−1, ${V})`);
  return t;
}

function checkAttentionShape(op: string, s: AttentionShape): void {
  const fail = (field: string, value: unknown, want: string): never => {
    throw new InputError(`reference.${op}: ${field} = ${String(value)}, expected ${want}`);
  };
  for (const f of ['B', 'Tq', 'Tk', 'kvStride', 'H', 'Dh'] as const) {
    if (!Number.isInteger(s[f]) || s[f] < 0) fail(f, s[f], 'a non-negative integer');
  }
  if (s.Tq > s.Tk) fail('Tq', s.Tq, `at most Tk (${s.Tk}): every query needs its own key`);
  if (s.Tk > s.kvStride) fail('Tk', s.Tk, `at most kvStride (${s.kvStride})`);
  if (s.window !== null && (!Number.isInteger(s.window) || s.window < 1)) fail('window', s.window, 'null or an integer ≥ 1');
  if (s.slopes.length < s.H) fail('slopes.length', s.slopes.length, `at least H (${s.H})`);
  if (s.activation !== 'sigmoid' && s.activation !== 'softmax') fail('activation', s.activation, "'sigmoid' or 'softmax'");
}

/** Scratch length for one row of the band: min(Tk, ω). */
function maxKeys(s: AttentionShape): number {
  return s.window === null ? s.Tk : Math.min(s.Tk, s.window);
}

/** Keys [lo, hi] of query i: it sits at key index m = i + Tk − Tq and sees m − ω < j ≤ m. */
function keyRange(s: AttentionShape, i: number): [number, number] {
  const m = i + s.Tk - s.Tq;
  return [s.window === null ? 0 : Math.max(0, m - s.window + 1), m];
}

function qOffset(s: AttentionShape, b: number, i: number, h: number): number {
  return ((b * s.Tq + i) * s.H + h) * s.Dh;
}

function kvOffset(s: AttentionShape, b: number, j: number, h: number): number {
  return ((b * s.kvStride + j) * s.H + h) * s.Dh;
}

/** Fills scores[0 … hi−lo] with the raw scores of query i over keys lo … hi and returns their count.
 *  z = <q, k>/sqrt(Dh) + s_h·(m − j) + b (SWAT.md §3). */
function rowScores(
  scores: Float64Array, q: Floats, k: Floats, s: AttentionShape,
  b: number, h: number, i: number, lo: number, hi: number,
): number {
  const scale = 1 / Math.sqrt(s.Dh);
  const slope = s.slopes[h]!;
  const qRow = qOffset(s, b, i, h);
  for (let j = lo; j <= hi; j++) {
    const kRow = kvOffset(s, b, j, h);
    let dot = 0;
    for (let d = 0; d < s.Dh; d++) dot += q[qRow + d]! * k[kRow + d]!;
    // m − n = hi − j: the distance back from the query's own position.
    scores[j - lo] = dot * scale + slope * (hi - j) + s.bias;
  }
  return hi - lo + 1;
}

/** σ of each score, unnormalised (SWAT's attention). Returns 0, the value stored as the unused stat. */
function sigmoidInPlace(scores: Float64Array, n: number): number {
  for (let c = 0; c < n; c++) scores[c] = sigmoid(scores[c]!);
  return 0;
}

/** Softmax over the row in place; returns its log-sum-exp, which the backward reuses. */
function softmaxInPlace(scores: Float64Array, n: number): number {
  let max = -Infinity;
  for (let c = 0; c < n; c++) if (scores[c]! > max) max = scores[c]!;
  let sum = 0;
  for (let c = 0; c < n; c++) sum += Math.exp(scores[c]! - max);
  const lse = max + Math.log(sum);
  for (let c = 0; c < n; c++) scores[c] = Math.exp(scores[c]! - lse);
  return lse;
}
