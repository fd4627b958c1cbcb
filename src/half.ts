// The two 16-bit float formats as bit patterns: float32 → IEEE binary16 (f16) and bfloat16 (bf16), rounded
// to nearest even, and back. One definition for the safetensors files that store them and the weight
// formats inference computes with (backend/weight.ts). Not here: arrays, files, the choice of a format.

/** IEEE binary16 bits of the float32 with bits `f`, rounded to nearest even (subnormals included); a
 *  finite value too large becomes infinity, NaN stays NaN. */
export function f32BitsToF16(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  const mantissa = f & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const e = exponent - 127 + 15; // the binary16 exponent field this value would have
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // A binary16 subnormal m · 2^-24: m = M · 2^(e − 14) with M the 24-bit significand (float32
    // subnormals, whose implicit bit is 0, are far below 2^-25 and round to zero like the rest).
    const shift = 14 - e;
    if (shift > 24) return sign;
    const significand = mantissa | 0x800000;
    return sign | roundShift(significand, shift);
  }
  // A carry out of the mantissa moves into the exponent, up to infinity: what rounding should do.
  return sign | roundShift((e << 23) | mantissa, 13);
}

/** bfloat16 bits of the float32 with bits `f`: its top half rounded to nearest even (a carry runs into the
 *  exponent, up to infinity); NaN stays NaN. */
export function f32BitsToBf16(f: number): number {
  const u = f >>> 0;
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff) !== 0) return ((u >>> 16) & 0xffff) | 0x40;
  // Adding 0x7fff, plus the lowest kept bit, rounds half to even; the sum stays below 2^32 for every
  // non-NaN pattern.
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** x >> shift, rounded to nearest, ties to even (x an unsigned 32-bit integer, 1 ≤ shift ≤ 24). */
function roundShift(x: number, shift: number): number {
  const kept = Math.floor(x / 2 ** shift);
  const rest = x - kept * 2 ** shift;
  const half = 2 ** (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

let halfCache: Float32Array | null = null;

/** All 65536 binary16 values as float32, built once: a lookup beats bit fiddling per element. */
export function f16Table(): Float32Array {
  if (halfCache !== null) return halfCache;
  halfCache = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) halfCache[h] = f16ToNumber(h);
  return halfCache;
}

function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24; // zero and subnormals
  if (exponent === 31) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The largest finite value of each 16-bit format (a larger float32 rounds to infinity). */
export const HALF_MAX = { f16: 65504, bf16: 3.3895313892515355e38 } as const;

/** The exponent bits of each format: all set means infinity or NaN. */
export const HALF_EXPONENT = { f16: 0x7c00, bf16: 0x7f80 } as const;
