// Weight matrices in the dtypes inference computes with, defined once, in plain TypeScript: how a float32
// value is stored in each (`encodeRows`) and which value each stored element stands for (`decodeRow`).
// The reference backend computes from `decodeRow`; the native and wasm kernels read the same bytes and are
// tested against it, so this file is the definition of every format:
//
//   f32   the float32 values.
//   bf16  the top 16 bits of the float32, rounded to nearest even (half.ts).
//   f16   IEEE binary16, rounded to nearest even (half.ts); a value beyond ±65504 is refused.
//   q8    each row cut into blocks of Q8_BLOCK columns (the last one may be shorter); a block stores one
//         float32 scale s = max |x| / 127 and int8 values q = round(x / s) (half away from zero), so
//         x ≈ q · s. An all-zero block has s = 0.
//
// Not here: computing with weights (the backends), files (io/safetensors.ts), which matrices a model has.

import { InputError } from '../errors.js';
import { HALF_EXPONENT, HALF_MAX, f16Table, f32BitsToBf16, f32BitsToF16 } from '../half.js';
import type { Floats } from '../tensor.js';

export const WEIGHT_DTYPES = ['f32', 'bf16', 'f16', 'q8'] as const;
export type WeightDtype = (typeof WEIGHT_DTYPES)[number];

/** Each dtype's number in the C kernels (native/swat.h: enum swat_dtype). */
export const DTYPE_CODES: Record<WeightDtype, number> = { f32: 0, bf16: 1, f16: 2, q8: 3 };

/** Columns per q8 block (one scale each). */
export const Q8_BLOCK = 32;

/** A matrix (rows, cols), row-major, as inference reads it: y = x · Wᵀ.
 *  f32: `data` holds the values; bf16 and f16: their 16-bit patterns; q8: the int8 values, and `scales`
 *  one float32 per block, row after row (rows · q8Blocks(cols)). */
export interface Weight {
  readonly dtype: WeightDtype;
  readonly rows: number;
  readonly cols: number;
  readonly data: Floats | Uint16Array | Int8Array;
  readonly scales: Float32Array | null;
}

/** q8 blocks per row. */
export function q8Blocks(cols: number): number {
  return Math.ceil(cols / Q8_BLOCK);
}

/** Bytes a weight of this dtype and shape occupies (values and scales). */
export function weightBytes(dtype: WeightDtype, rows: number, cols: number): number {
  switch (dtype) {
    case 'f32': return 4 * rows * cols;
    case 'bf16':
    case 'f16': return 2 * rows * cols;
    case 'q8': return rows * cols + 4 * rows * q8Blocks(cols);
  }
}

/** How a backend hands out zero-filled arrays (in its own memory). */
export interface ArrayAllocator {
  floats(n: number): Float32Array;
  halves(n: number): Uint16Array;
  bytes(n: number): Int8Array;
}

export const PLAIN_ARRAYS: ArrayAllocator = {
  floats: (n) => new Float32Array(n),
  halves: (n) => new Uint16Array(n),
  bytes: (n) => new Int8Array(n),
};

/** A zero-filled weight from `alloc`: what Backend.allocWeight returns. */
export function allocWeightWith(alloc: ArrayAllocator, dtype: WeightDtype, rows: number, cols: number): Weight {
  if (!(WEIGHT_DTYPES as readonly string[]).includes(dtype)) {
    throw new InputError(`weight dtype ${String(dtype)} is unknown (expected one of ${WEIGHT_DTYPES.join(', ')})`);
  }
  if (!Number.isSafeInteger(rows) || rows < 0 || !Number.isSafeInteger(cols) || cols < 0) {
    throw new InputError(`weight shape [${rows}, ${cols}] must be non-negative integers`);
  }
  const n = rows * cols;
  switch (dtype) {
    case 'f32': return { dtype, rows, cols, data: alloc.floats(n), scales: null };
    case 'bf16':
    case 'f16': return { dtype, rows, cols, data: alloc.halves(n), scales: null };
    case 'q8': return { dtype, rows, cols, data: alloc.bytes(n), scales: alloc.floats(rows * q8Blocks(cols)) };
  }
}

/** An f32 weight over existing values (rows · cols of them), without a copy: training's parameters. */
export function f32Weight(data: Floats, rows: number, cols: number): Weight {
  if (data.length !== rows * cols) throw new Error(`f32Weight: ${data.length} values for a [${rows}, ${cols}] matrix`);
  return { dtype: 'f32', rows, cols, data, scales: null };
}

/** Rows [r0, r1) of `w`, sharing its storage. */
export function weightRows(w: Weight, r0: number, r1: number): Weight {
  if (!(r0 >= 0 && r0 <= r1 && r1 <= w.rows)) throw new Error(`weightRows: rows [${r0}, ${r1}) of ${w.rows}`);
  const nb = q8Blocks(w.cols);
  return {
    dtype: w.dtype, rows: r1 - r0, cols: w.cols,
    data: w.data.subarray(r0 * w.cols, r1 * w.cols),
    scales: w.scales ? w.scales.subarray(r0 * nb, r1 * nb) : null,
  };
}

/** Stores float32 `values` (whole rows) into `w` from row r0 on, in w's format. A value the format cannot
 *  hold (non-finite, or beyond the 16-bit formats' range) is refused: an InputError naming `what`, the
 *  value and its index in `values`. */
export function encodeRows(w: Weight, r0: number, values: Float32Array, what: string): void {
  const { cols } = w;
  const rows = values.length / cols;
  if (!Number.isInteger(rows) || r0 < 0 || r0 + rows > w.rows) throw new Error(`encodeRows: ${values.length} values at row ${r0} of a [${w.rows}, ${cols}] matrix`);
  const at = r0 * cols;
  const refuse = (i: number, why: string): never => {
    throw new InputError(`${what}: value ${values[i]} at index ${i} ${why}`);
  };
  const finite = (i: number) => {
    if (!Number.isFinite(values[i]!)) refuse(i, 'is not finite');
  };
  switch (w.dtype) {
    case 'f32': {
      for (let i = 0; i < values.length; i++) finite(i);
      (w.data as Floats).set(values, at);
      return;
    }
    case 'bf16':
    case 'f16': {
      const dtype = w.dtype;
      const toBits = dtype === 'f16' ? f32BitsToF16 : f32BitsToBf16;
      const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
      const out = w.data as Uint16Array;
      for (let i = 0; i < values.length; i++) {
        const h = toBits(bits[i]!);
        if ((h & HALF_EXPONENT[dtype]) === HALF_EXPONENT[dtype]) {
          finite(i);
          refuse(i, `is beyond the largest finite ${dtype} value (${HALF_MAX[dtype]})`);
        }
        out[at + i] = h;
      }
      return;
    }
    case 'q8': {
      const nb = q8Blocks(cols);
      const q = w.data as Int8Array;
      const scales = w.scales!;
      for (let r = 0; r < rows; r++) {
        for (let b = 0; b < nb; b++) {
          const lo = r * cols + b * Q8_BLOCK;
          const hi = Math.min(lo + Q8_BLOCK, (r + 1) * cols);
          let max = 0;
          for (let i = lo; i < hi; i++) {
            finite(i);
            max = Math.max(max, Math.abs(values[i]!));
          }
          // The scale is stored as float32, and q is computed from the stored scale, so that q · s is the
          // closest this block can come to x.
          const s = Math.fround(max / 127);
          scales[(r0 + r) * nb + b] = s;
          for (let i = lo; i < hi; i++) {
            const x = s === 0 ? 0 : values[i]! / s;
            q[at + i] = Math.max(-127, Math.min(127, Math.sign(x) * Math.round(Math.abs(x))));
          }
        }
      }
      return;
    }
  }
}

/** Row r of `w` as the values it stands for, into out[0 … cols). */
export function decodeRow(w: Weight, r: number, out: Floats): void {
  const { cols } = w;
  const at = r * cols;
  switch (w.dtype) {
    case 'f32':
      out.set((w.data as Floats).subarray(at, at + cols));
      return;
    case 'bf16': {
      const bits = w.data as Uint16Array;
      const f = new Float32Array(1);
      const u = new Uint32Array(f.buffer);
      for (let c = 0; c < cols; c++) {
        u[0] = bits[at + c]! << 16;
        out[c] = f[0]!;
      }
      return;
    }
    case 'f16': {
      const table = f16Table();
      const bits = w.data as Uint16Array;
      for (let c = 0; c < cols; c++) out[c] = table[bits[at + c]!]!;
      return;
    }
    case 'q8': {
      const q = w.data as Int8Array;
      const nb = q8Blocks(cols);
      const scales = w.scales!;
      for (let c = 0; c < cols; c++) out[c] = q[at + c]! * scales[r * nb + Math.floor(c / Q8_BLOCK)]!;
      return;
    }
  }
}

/** The first stored value of `w` that is not finite (a 16-bit pattern of infinity or NaN, a non-finite
 *  float or q8 scale), or null. */
export function firstNonFiniteStored(w: Weight): { index: number; scale: boolean } | null {
  const bad = (x: ArrayLike<number>) => {
    for (let i = 0; i < x.length; i++) if (x[i]! - x[i]! !== 0) return i;
    return -1;
  };
  if (w.dtype === 'bf16' || w.dtype === 'f16') {
    const exponent = HALF_EXPONENT[w.dtype];
    const bits = w.data as Uint16Array;
    for (let i = 0; i < bits.length; i++) if ((bits[i]! & exponent) === exponent) return { index: i, scale: false };
    return null;
  }
  const i = bad(w.dtype === 'q8' ? w.scales! : (w.data as Floats));
  return i >= 0 ? { index: i, scale: w.dtype === 'q8' } : null;
}

/** Checks a dtype name (a flag or an option), returning it typed. */
export function parseWeightDtype(value: unknown, where: string): WeightDtype {
  if (typeof value === 'string' && (WEIGHT_DTYPES as readonly string[]).includes(value)) return value as WeightDtype;
  throw new InputError(`${where} = ${String(value).slice(0, 40)}, expected one of ${WEIGHT_DTYPES.join(', ')}`);
}
