// Extra op cases for the native backend, beyond the shared table (opcases.ts): shapes large and odd enough
// to cross the native kernels' internal boundaries, which the table's tiny shapes never reach. Matmul
// sizes are not multiples of any micro-tile (1, 7, 13, 65, 257) and K crosses the 256-deep packing block;
// attention covers Tq < ω, Tq ≫ ω (several query tiles), head width 64, windows wide enough to need more
// than one key chunk (over 1024 keys), cache-shaped calls (Tq < Tk < kvStride), and a key range too long to
// pack per head.
//
// Tolerances: these compare float32 native results with the float64 reference. Sums of up to 1100 float32
// products carry relative rounding of about √n·2⁻²⁴ ≈ 2e-6 of the largest element, so 2e-5 leaves a
// margin of ten without letting a wrong index or a missed key through (those give errors of order 1).

import { attentionCase, matmulCase, type OpCase } from './opcases.js';

const SIZES: readonly [number, number, number][] = [
  [1, 257, 65], [257, 1, 13], [7, 65, 257], [65, 257, 7], [257, 13, 257], [13, 7, 1], [65, 65, 300],
];

export const NATIVE_TOL = 2e-5;

export function nativeMatmulCases(): OpCase[] {
  const cases: OpCase[] = [];
  for (const [M, N, K] of SIZES) {
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const accumulate = (M + N + K + Number(transA) + 2 * Number(transB)) % 2 === 1;
        cases.push(matmulCase({ M, N, K, transA, transB, accumulate }, { tol: NATIVE_TOL, gradcheck: false }));
      }
    }
  }
  return cases;
}

const BAL4 = [0.25, 0.0625, -0.0625, -0.25];

export function nativeAttentionCases(): OpCase[] {
  const cases: OpCase[] = [];
  const o = { tol: NATIVE_TOL, gradcheck: false };
  for (const activation of ['sigmoid', 'softmax'] as const) {
    const a = { activation };
    cases.push(
      attentionCase({ ...a, B: 1, Tq: 50, H: 2, Dh: 64, window: 128, slopes: [0.25, -0.25] }, o), // Tq < ω
      attentionCase({ ...a, B: 2, Tq: 300, H: 4, Dh: 64, window: 32, slopes: BAL4 }, o), // Tq ≫ ω, many tiles
      attentionCase({ ...a, B: 1, Tq: 200, H: 1, Dh: 18, window: 129, bias: -1 }, o), // odd width and window
      attentionCase({ ...a, B: 1, Tq: 1100, H: 1, Dh: 8, window: null, slopes: [-0.01] }, o), // > 1 key chunk
      attentionCase({ ...a, B: 1, Tq: 1100, H: 1, Dh: 8, window: 1050 }, o), // windowed, > 1 key chunk
      attentionCase({ ...a, B: 2, Tq: 7, Tk: 200, kvStride: 256, H: 2, Dh: 64, window: 128, slopes: [0.5, -0.5] }, o),
      attentionCase({ ...a, B: 1, Tq: 1, Tk: 255, kvStride: 256, H: 4, Dh: 64, window: 128, slopes: BAL4 }, o),
      // A long prefill: more keys than the kernels pack per head at once (2^21 floats), so keys are packed
      // chunk by chunk per query tile.
      attentionCase({ ...a, B: 1, Tq: 70, Tk: 33000, kvStride: 33001, H: 1, Dh: 64, window: 1100, slopes: [-0.001] }, o),
    );
  }
  return cases;
}
