// The op table: one list of cases (op, shapes, value range, tolerance) that drives every op test, in the
// style of ggml's test-backend-ops. `runCase` runs a case's forward and backward on ANY backend and returns
// every output by name, so parity between a backend and the reference is one loop over `OP_CASES`, and the
// gradient checks (gradcheck.ts) perturb the same inputs.
//
// Inputs come from a seeded Rng and are rounded to float32, so a float32 and a float64 backend see exactly
// the same numbers and differ only in how they compute. This file holds no assertions: it is a harness.

import type { AttentionActivation, AttentionShape, Backend } from '../../src/backend/backend.js';
import { WEIGHT_DTYPES, type Weight, type WeightDtype, encodeRows, f32Weight } from '../../src/backend/weight.js';
import { Rng } from '../../src/random.js';
import type { Floats } from '../../src/tensor.js';

export type OpName =
  | 'matmul' | 'linear' | 'embedding' | 'rmsnorm' | 'rope' | 'attention' | 'swiglu' | 'crossEntropy'
  | 'add' | 'scale' | 'sumSquares' | 'adamw';

/** Named buffers: float inputs and outputs, plus integer inputs (ids, targets). */
export type Buffers = Record<string, Floats>;

export interface CaseInputs {
  floats: Record<string, Float64Array>;
  ints: Record<string, Int32Array>;
  /** Upstream gradients of the outputs in `lossOutputs`, same names. */
  dOut: Record<string, Float64Array>;
}

export interface OpCase {
  /** Unique and descriptive: op and shapes, e.g. "attention sigmoid B2 Tq11 Tk11 H2 Dh4 w4". */
  readonly name: string;
  readonly op: OpName;
  /** Float inputs are uniform in [−range, range]. */
  readonly range: number;
  /** Allowed normalised max error (see `maxError`) of a float32 backend against the float64 reference. */
  readonly tol: number;
  /** Float inputs the backward differentiates; the gradient of input `x` is backward output `dx`. */
  readonly wrt: readonly string[];
  /** Forward outputs that a loss L = Σ dOut ⊙ out reads (e.g. attention's out, not its stats). */
  readonly lossOutputs: readonly string[];
  /** Whether the finite-difference check runs on this case (small enough to perturb every element). */
  readonly gradcheck: boolean;
  /** Inputs whose gradient is identically zero for this shape (softmax over a single key, cross-entropy
   *  over a single class): the check then demands an exactly zero analytic gradient. */
  readonly zeroGrads?: readonly string[];
  makeInputs(seed: number): CaseInputs;
  forward(be: Backend, inp: CaseInputs): Buffers;
  /** Gradients of L with respect to each input in `wrt`, named `d<input>`; absent for ops without one. */
  backward?: (be: Backend, inp: CaseInputs, fwd: Buffers) => Buffers;
}

export interface CaseResult {
  inputs: CaseInputs;
  forward: Buffers;
  backward: Buffers;
}

/** Runs one case's forward, then its backward (if it has one), on `be`. */
export function runCase(be: Backend, c: OpCase, seed = 1): CaseResult {
  const inputs = c.makeInputs(seed);
  const forward = c.forward(be, inputs);
  const backward = c.backward ? c.backward(be, inputs, forward) : {};
  return { inputs, forward, backward };
}

/** L = Σ_o Σ dOut_o ⊙ out_o over the case's loss outputs, in float64. */
export function lossOf(c: OpCase, inp: CaseInputs, fwd: Buffers): number {
  let L = 0;
  for (const name of c.lossOutputs) {
    const out = fwd[name]!;
    const r = inp.dOut[name]!;
    for (let i = 0; i < out.length; i++) L += r[i]! * out[i]!;
  }
  return L;
}

/** max |actual − expected| / max |expected|: an error relative to the tensor's scale, so rows of zeros
 *  and tiny elements neither blow up nor hide a wrong large element. NaN anywhere gives Infinity. */
export function maxError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(a) || Number.isNaN(e)) return Infinity;
    diff = Math.max(diff, Math.abs(a - e));
    scale = Math.max(scale, Math.abs(e));
  }
  return diff === 0 ? 0 : diff / Math.max(scale, Number.MIN_VALUE);
}

/** A copy of `src` in the backend's own dtype. */
export function toBackend(be: Backend, src: ArrayLike<number>): Floats {
  const out = be.alloc(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]!;
  return out;
}

/** n float32-exact values uniform in [−range, range]. */
export function uniform(rng: Rng, n: number, range: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.fround((2 * rng.uniform() - 1) * range);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// One builder per op. Each returns an OpCase whose closures capture its shapes.

const DEFAULT_TOL = 1e-5;

/** The fields every case builder fills the same way from its options. */
function caseDefaults(o: CaseOptions): Pick<OpCase, 'range' | 'tol' | 'gradcheck' | 'zeroGrads'> {
  return { range: o.range ?? 1, tol: o.tol ?? DEFAULT_TOL, gradcheck: o.gradcheck ?? true, zeroGrads: o.zeroGrads ?? [] };
}

interface CaseOptions {
  range?: number;
  tol?: number;
  gradcheck?: boolean;
  zeroGrads?: readonly string[];
}

/** What an output holds before the call: what an accumulating call adds to, or garbage (NaN) that a
 *  writing call must ignore. */
function initialOutput(rng: Rng, n: number, range: number, accumulate: boolean): Float64Array {
  return accumulate ? uniform(rng, n, range) : new Float64Array(n).fill(NaN);
}

export interface MatmulParams {
  M: number; N: number; K: number;
  transA: boolean; transB: boolean; accumulate: boolean;
}

export function matmulCase(p: MatmulParams, o: CaseOptions = {}): OpCase {
  const { M, N, K, transA, transB, accumulate } = p;
  const layout = `${transA ? 'T' : 'N'}${transB ? 'T' : 'N'}`;
  return {
    name: `matmul ${M}x${N}x${K} ${layout}${accumulate ? ' acc' : ''}`,
    op: 'matmul',
    ...caseDefaults(o),
    wrt: ['A', 'B'],
    lossOutputs: ['C'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      const r = o.range ?? 1;
      const C0 = initialOutput(rng, M * N, r, accumulate);
      return {
        floats: { A: uniform(rng, M * K, r), B: uniform(rng, K * N, r), C0 },
        ints: {},
        dOut: { C: uniform(rng, M * N, 1) },
      };
    },
    forward(be, inp) {
      const C = toBackend(be, inp.floats.C0!);
      be.matmul(C, toBackend(be, inp.floats.A!), toBackend(be, inp.floats.B!), M, N, K, transA, transB, accumulate);
      return { C };
    },
    backward(be, inp) {
      // With op(A) (M, K), op(B) (K, N): d op(A) = dC·op(B)ᵀ and d op(B) = op(A)ᵀ·dC, each mapped back to
      // the stored layout; the gradients are added into zeros, as parameter gradients are.
      const A = toBackend(be, inp.floats.A!);
      const B = toBackend(be, inp.floats.B!);
      const dC = toBackend(be, inp.dOut.C!);
      const dA = be.alloc(M * K);
      const dB = be.alloc(K * N);
      if (transA) be.matmul(dA, B, dC, K, M, N, transB, true, true); // dA (K, M) = op(B)·dCᵀ
      else be.matmul(dA, dC, B, M, K, N, false, !transB, true); // dA (M, K) = dC·op(B)ᵀ
      if (transB) be.matmul(dB, dC, A, N, K, M, true, transA, true); // dB (N, K) = dCᵀ·op(A)
      else be.matmul(dB, A, dC, K, N, M, !transA, false, true); // dB (K, N) = op(A)ᵀ·dC
      return { dA, dB };
    },
  };
}

/** `values` (rows · cols, row-major) stored in `dtype` in the backend's memory (backend/weight.ts formats). */
export function encodedWeight(be: Backend, dtype: WeightDtype, values: ArrayLike<number>, rows: number, cols: number): Weight {
  const w = be.allocWeight(dtype, rows, cols);
  encodeRows(w, 0, Float32Array.from(values), `${dtype} weight`);
  return w;
}

export interface LinearParams {
  /** Rows of A (M ≤ 16 takes the native few-row kernels, more the packed product), W rows, W columns. */
  M: number; N: number; K: number;
  dtype: WeightDtype;
  accumulate: boolean;
}

/** C (M, N) = A (M, K) · Wᵀ with W (N, K) stored in `dtype`, and the lookup of rows `ids` of the same W:
 *  the reference computes from the values the dtype stores (weight.ts), so this pins each backend's
 *  conversion and sums, not the rounding. Inference only: no backward. */
export function linearCase(p: LinearParams, ids: readonly number[], o: CaseOptions = {}): OpCase {
  const { M, N, K, dtype, accumulate } = p;
  return {
    name: `linear ${dtype} ${M}x${N}x${K}${accumulate ? ' acc' : ''} lookup[${ids.join(',')}]`,
    op: 'linear',
    ...caseDefaults({ ...o, gradcheck: false }),
    wrt: [],
    lossOutputs: ['C', 'rows'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      const r = o.range ?? 1;
      const C0 = initialOutput(rng, M * N, r, accumulate);
      return {
        floats: { A: uniform(rng, M * K, r), W: uniform(rng, N * K, r), C0 },
        ints: { ids: Int32Array.from(ids) },
        dOut: { C: uniform(rng, M * N, 1), rows: uniform(rng, ids.length * K, 1) },
      };
    },
    forward(be, inp) {
      const W = encodedWeight(be, dtype, inp.floats.W!, N, K);
      const C = toBackend(be, inp.floats.C0!);
      be.linear(C, toBackend(be, inp.floats.A!), W, M, accumulate);
      const rows = be.alloc(ids.length * K);
      be.embeddingForward(rows, W, inp.ints.ids!, ids.length);
      return { C, rows };
    },
  };
}

export function embeddingCase(V: number, D: number, ids: readonly number[], o: CaseOptions = {}): OpCase {
  const N = ids.length;
  return {
    name: `embedding V${V} D${D} N${N} ids[${ids.join(',')}]`,
    op: 'embedding',
    ...caseDefaults(o),
    wrt: ['table'],
    lossOutputs: ['out'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      return {
        floats: { table: uniform(rng, V * D, o.range ?? 1) },
        ints: { ids: Int32Array.from(ids) },
        dOut: { out: uniform(rng, N * D, 1) },
      };
    },
    forward(be, inp) {
      const out = nanFilled(be, N * D);
      be.embeddingForward(out, f32Weight(toBackend(be, inp.floats.table!), V, D), inp.ints.ids!, N);
      return { out };
    },
    backward(be, inp) {
      const dtable = be.alloc(V * D);
      be.embeddingBackward(dtable, toBackend(be, inp.dOut.out!), inp.ints.ids!, N, D);
      return { dtable };
    },
  };
}

export function rmsnormCase(N: number, D: number, o: CaseOptions & { eps?: number } = {}): OpCase {
  const eps = o.eps ?? 1e-6;
  return {
    name: `rmsnorm N${N} D${D} eps${eps} range${o.range ?? 1}`,
    op: 'rmsnorm',
    ...caseDefaults(o),
    wrt: ['x', 'g'],
    lossOutputs: ['out'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      const g = uniform(rng, D, 1).map((v) => Math.fround(1 + 0.5 * v)); // gains near their init of 1
      return {
        floats: { x: uniform(rng, N * D, o.range ?? 1), g },
        ints: {},
        dOut: { out: uniform(rng, N * D, 1) },
      };
    },
    forward(be, inp) {
      const out = nanFilled(be, N * D);
      const rstd = nanFilled(be, N);
      be.rmsnormForward(out, rstd, toBackend(be, inp.floats.x!), toBackend(be, inp.floats.g!), N, D, eps);
      return { out, rstd };
    },
    backward(be, inp, fwd) {
      const dx = be.alloc(N * D);
      const dg = be.alloc(D);
      const x = toBackend(be, inp.floats.x!);
      const g = toBackend(be, inp.floats.g!);
      be.rmsnormBackward(dx, dg, toBackend(be, inp.dOut.out!), x, g, fwd.rstd!, N, D);
      return { dx, dg };
    },
  };
}

export interface RopeParams {
  B: number; T: number; H: number; Dh: number; pos0: number; theta: number;
}

export function ropeCase(p: RopeParams, o: CaseOptions = {}): OpCase {
  const { B, T, H, Dh, pos0, theta } = p;
  const n = B * T * H * Dh;
  return {
    name: `rope B${B} T${T} H${H} Dh${Dh} pos0 ${pos0} theta${theta}`,
    op: 'rope',
    ...caseDefaults(o),
    wrt: ['x'],
    lossOutputs: ['out'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      return { floats: { x: uniform(rng, n, o.range ?? 1) }, ints: {}, dOut: { out: uniform(rng, n, 1) } };
    },
    forward(be, inp) {
      const out = toBackend(be, inp.floats.x!);
      be.rope(out, B, T, H, Dh, pos0, theta, false);
      return { out };
    },
    backward(be, inp) {
      // The rotation is orthogonal: its transpose, the backward, is the inverse rotation.
      const dx = toBackend(be, inp.dOut.out!);
      be.rope(dx, B, T, H, Dh, pos0, theta, true);
      return { dx };
    },
  };
}

export interface AttentionParams {
  B: number; Tq: number; Tk?: number; kvStride?: number; H: number; Dh: number;
  window: number | null;
  activation: AttentionActivation;
  slopes?: readonly number[];
  bias?: number;
}

/** The AttentionShape of a case; slopes default to 0 (no ALiBi), Tk to Tq, kvStride to Tk. */
export function attentionShape(be: Backend, p: AttentionParams): AttentionShape {
  const Tk = p.Tk ?? p.Tq;
  return {
    B: p.B, Tq: p.Tq, Tk, kvStride: p.kvStride ?? Tk, H: p.H, Dh: p.Dh,
    window: p.window, activation: p.activation,
    slopes: toBackend(be, p.slopes ?? new Array<number>(p.H).fill(0)),
    bias: p.bias ?? 0,
  };
}

export function attentionCase(p: AttentionParams, o: CaseOptions = {}): OpCase {
  const Tk = p.Tk ?? p.Tq;
  const kvStride = p.kvStride ?? Tk;
  const qSize = p.B * p.Tq * p.H * p.Dh;
  const kvSize = p.B * kvStride * p.H * p.Dh;
  const alibi = p.slopes ? ` slopes[${p.slopes.join(',')}]` : '';
  return {
    name:
      `attention ${p.activation} B${p.B} Tq${p.Tq} Tk${Tk} kvStride${kvStride} H${p.H} Dh${p.Dh} ` +
      `w${p.window ?? 'null'}${alibi}${p.bias ? ` bias${p.bias}` : ''} range${o.range ?? 1}`,
    op: 'attention',
    ...caseDefaults(o),
    wrt: ['q', 'k', 'v'],
    lossOutputs: ['out'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      const r = o.range ?? 1;
      return {
        floats: { q: uniform(rng, qSize, r), k: uniform(rng, kvSize, r), v: uniform(rng, kvSize, 1) },
        ints: {},
        dOut: { out: uniform(rng, qSize, 1) },
      };
    },
    forward(be, inp): Buffers {
      const out = nanFilled(be, qSize);
      const stats = nanFilled(be, p.B * p.H * p.Tq);
      const f = inp.floats;
      be.attentionForward(out, stats, toBackend(be, f.q!), toBackend(be, f.k!), toBackend(be, f.v!), attentionShape(be, p));
      return p.activation === 'softmax' ? { out, stats } : { out }; // sigmoid stats are unspecified
    },
    backward(be, inp, fwd) {
      const f = inp.floats;
      const dq = nanFilled(be, qSize);
      const dk = nanFilled(be, kvSize);
      const dv = nanFilled(be, kvSize);
      const stats = fwd.stats ?? be.alloc(p.B * p.H * p.Tq);
      be.attentionBackward(
        dq, dk, dv, toBackend(be, inp.dOut.out!),
        toBackend(be, f.q!), toBackend(be, f.k!), toBackend(be, f.v!), fwd.out!, stats, attentionShape(be, p),
      );
      return { dq, dk, dv };
    },
  };
}

export function swigluCase(N: number, I: number, o: CaseOptions = {}): OpCase {
  return {
    name: `swiglu N${N} I${I} range${o.range ?? 1}`,
    op: 'swiglu',
    ...caseDefaults(o),
    wrt: ['gu'],
    lossOutputs: ['out'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      return {
        floats: { gu: uniform(rng, N * 2 * I, o.range ?? 1) },
        ints: {},
        dOut: { out: uniform(rng, N * I, 1) },
      };
    },
    forward(be, inp) {
      const out = nanFilled(be, N * I);
      be.swigluForward(out, toBackend(be, inp.floats.gu!), N, I);
      return { out };
    },
    backward(be, inp) {
      const dgu = nanFilled(be, N * 2 * I);
      be.swigluBackward(dgu, toBackend(be, inp.dOut.out!), toBackend(be, inp.floats.gu!), N, I);
      return { dgu };
    },
  };
}

/** targets: one per row, −1 for an ignored row. The upstream gradient is one scalar for every row, since
 *  that is all crossEntropyBackward takes (the model passes 1 / number of counted rows). */
export function crossEntropyCase(V: number, targets: readonly number[], o: CaseOptions = {}): OpCase {
  const N = targets.length;
  return {
    name: `crossEntropy N${N} V${V} targets[${targets.join(',')}] range${o.range ?? 1}`,
    op: 'crossEntropy',
    ...caseDefaults(o),
    wrt: ['logits'],
    lossOutputs: ['losses'],
    makeInputs(seed) {
      const rng = new Rng(seed);
      const logits = uniform(rng, N * V, o.range ?? 1);
      const scale = Math.fround(0.5 + rng.uniform());
      return { floats: { logits }, ints: { targets: Int32Array.from(targets) }, dOut: { losses: new Float64Array(N).fill(scale) } };
    },
    forward(be, inp) {
      const losses = nanFilled(be, N);
      be.crossEntropyForward(losses, toBackend(be, inp.floats.logits!), inp.ints.targets!, N, V);
      return { losses };
    },
    backward(be, inp) {
      const dlogits = nanFilled(be, N * V);
      const scale = inp.dOut.losses![0] ?? 1;
      be.crossEntropyBackward(dlogits, toBackend(be, inp.floats.logits!), inp.ints.targets!, scale, N, V);
      return { dlogits };
    },
  };
}

/** add, scale and sumSquares in one case: elementwise helpers the optimiser and clipping use. */
export function elementwiseCase(op: 'add' | 'scale' | 'sumSquares', n: number, o: CaseOptions = {}): OpCase {
  return {
    name: `${op} n${n} range${o.range ?? 1}`,
    op,
    ...caseDefaults(o),
    wrt: [],
    lossOutputs: [],
    gradcheck: false,
    makeInputs(seed) {
      const rng = new Rng(seed);
      const r = o.range ?? 1;
      return { floats: { a: uniform(rng, n, r), b: uniform(rng, n, r) }, ints: {}, dOut: {} };
    },
    forward(be, inp) {
      const a = toBackend(be, inp.floats.a!);
      if (op === 'add') {
        const out = nanFilled(be, n);
        be.add(out, a, toBackend(be, inp.floats.b!), n);
        return { out };
      }
      if (op === 'scale') {
        be.scale(a, -0.375, n);
        return { out: a };
      }
      return { out: Float64Array.of(be.sumSquares(a, n)) };
    },
  };
}

export function adamwCase(n: number, steps: number, o: CaseOptions = {}): OpCase {
  return {
    name: `adamw n${n} steps${steps}`,
    op: 'adamw',
    ...caseDefaults(o),
    wrt: [],
    lossOutputs: [],
    gradcheck: false,
    makeInputs(seed) {
      const rng = new Rng(seed);
      const floats: Record<string, Float64Array> = { param: uniform(rng, n, o.range ?? 1) };
      for (let s = 1; s <= steps; s++) floats[`grad${s}`] = uniform(rng, n, o.range ?? 1);
      return { floats, ints: {}, dOut: {} };
    },
    forward(be, inp) {
      const param = toBackend(be, inp.floats.param!);
      const m = be.alloc(n);
      const v = be.alloc(n);
      for (let step = 1; step <= steps; step++) {
        const grad = toBackend(be, inp.floats[`grad${step}`]!);
        be.adamw(param, grad, m, v, n, { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, step });
      }
      return { param, m, v };
    },
  };
}

function nanFilled(be: Backend, n: number): Floats {
  return be.alloc(n).fill(NaN);
}

// ---------------------------------------------------------------------------------------------------------
// The table.

const BAL2 = [0.5, -0.5]; // balanced ALiBi, H = 2 (SWAT.md §3.1 shape, magnitudes exaggerated)
const BAL4 = [0.5, 0.25, -0.25, -0.5];

function matmulCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      for (const accumulate of [false, true]) {
        cases.push(matmulCase({ M: 1, N: 1, K: 1, transA, transB, accumulate }));
        cases.push(matmulCase({ M: 7, N: 13, K: 5, transA, transB, accumulate }));
      }
      cases.push(matmulCase({ M: 33, N: 17, K: 64, transA, transB, accumulate: false }, { gradcheck: false }));
    }
  }
  return cases;
}

/** Every dtype through the few-row kernels (1, 5 and 16 rows: one, a partial and a full tile of rows) and
 *  the packed product (17 rows); K = 7, 45 and 300 end in a partial SIMD step and a short q8 block, and
 *  600 × 300 splits across tasks. */
function linearCases(): OpCase[] {
  return WEIGHT_DTYPES.flatMap((dtype) => [
    linearCase({ M: 1, N: 13, K: 45, dtype, accumulate: true }, [0, 12]),
    linearCase({ M: 5, N: 70, K: 64, dtype, accumulate: false }, [69, 3, 3]),
    linearCase({ M: 16, N: 33, K: 7, dtype, accumulate: false }, [32]),
    linearCase({ M: 17, N: 13, K: 45, dtype, accumulate: true }, [5]),
    linearCase({ M: 3, N: 600, K: 300, dtype, accumulate: false }, [599, 0], { tol: 2e-5 }),
  ]);
}

function attentionCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const activation of ['sigmoid', 'softmax'] as const) {
    const a = { activation };
    cases.push(
      attentionCase({ ...a, B: 1, Tq: 3, H: 2, Dh: 4, window: 5, slopes: BAL2 }), // Tq < ω
      attentionCase({ ...a, B: 1, Tq: 4, H: 2, Dh: 4, window: 4, slopes: BAL2 }), // Tq = ω
      attentionCase({ ...a, B: 2, Tq: 12, H: 2, Dh: 4, window: 3, slopes: BAL2 }), // Tq = 4ω
      attentionCase({ ...a, B: 1, Tq: 11, H: 4, Dh: 6, window: 4, slopes: BAL4, bias: -1.5 }), // 11: no multiple
      attentionCase({ ...a, B: 2, Tq: 7, H: 1, Dh: 4, window: 3 }), // H = 1, no ALiBi
      attentionCase({ ...a, B: 1, Tq: 6, H: 2, Dh: 2, window: 2, slopes: [0.3, -0.7] }), // Dh = 2
      // window 1: a query sees only itself; softmax over one key is 1 whatever q and k are.
      attentionCase({ ...a, B: 1, Tq: 5, H: 2, Dh: 4, window: 1, slopes: BAL2 },
        { zeroGrads: activation === 'softmax' ? ['q', 'k'] : [] }),
      attentionCase({ ...a, B: 1, Tq: 7, H: 2, Dh: 4, window: null, slopes: BAL2, bias: 0.5 }), // full causal
      attentionCase({ ...a, B: 1, Tq: 5, H: 2, Dh: 4, window: 9, slopes: BAL2 }), // window > T
      attentionCase({ ...a, B: 2, Tq: 3, Tk: 7, kvStride: 9, H: 2, Dh: 4, window: 4, slopes: BAL2 }), // chunked prefill
      attentionCase({ ...a, B: 1, Tq: 1, Tk: 5, kvStride: 8, H: 2, Dh: 4, window: 3, slopes: BAL2 }), // decode step
      attentionCase({ ...a, B: 1, Tq: 2, Tk: 6, kvStride: 6, H: 1, Dh: 4, window: null, bias: -1 }), // Tq < Tk, no window
      attentionCase({ ...a, B: 1, Tq: 40, H: 3, Dh: 8, window: 8, slopes: [0.25, -0.125, 0] }, { gradcheck: false }),
    );
  }
  return cases;
}

/** Every case, in one list. Small cases are gradient-checked too; a few larger ones are parity only. */
export const OP_CASES: readonly OpCase[] = [
  ...matmulCases(),
  ...linearCases(),
  embeddingCase(5, 3, [0, 4, 2]),
  embeddingCase(4, 3, [1, 3, 1, 1, 0, 3]), // repeated ids accumulate
  embeddingCase(1, 1, [0]),
  rmsnormCase(3, 8),
  // D = 1: dx = r·g·dy·eps/(x² + eps) is a cancellation, so float32 (with its stored rstd) keeps few digits.
  rmsnormCase(1, 1, { tol: 0.1 }),
  rmsnormCase(4, 5, { range: 100 }),
  rmsnormCase(2, 6, { range: 1e-3, eps: 1e-6 }), // eps matters when mean(x²) ~ eps
  ropeCase({ B: 1, T: 3, H: 1, Dh: 2, pos0: 0, theta: 10000 }),
  ropeCase({ B: 2, T: 5, H: 3, Dh: 8, pos0: 7, theta: 10000 }),
  ropeCase({ B: 1, T: 4, H: 2, Dh: 6, pos0: 100000, theta: 500 }), // far positions
  ...attentionCases(),
  swigluCase(3, 4),
  swigluCase(1, 1),
  swigluCase(2, 5, { range: 30 }), // saturated gates both ways
  crossEntropyCase(7, [0, 6, -1, 3]),
  crossEntropyCase(1, [0, -1], { zeroGrads: ['logits'] }),
  crossEntropyCase(11, [2, 10, 5], { range: 20 }),
  elementwiseCase('add', 17),
  elementwiseCase('scale', 9),
  elementwiseCase('sumSquares', 33),
  adamwCase(13, 1),
  adamwCase(13, 3),
];
