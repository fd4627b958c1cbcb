// Which of the four WebAssembly modules (native/wasm/build.mjs) an engine runs: relaxed SIMD where the
// engine validates it (its fused multiply-add), else SIMD128; with threads where memory can be shared with
// workers, else the one-thread module. Host-neutral: the glue says whether threads are possible.

export const SIMD_LEVELS = ['simd128', 'relaxed-simd'] as const;
export type SimdLevel = (typeof SIMD_LEVELS)[number];

/** The module's file name, as native/wasm/build.mjs writes it. */
export function moduleFile(simd: SimdLevel, threads: boolean): string {
  return `swat-${simd}${threads ? '-threads' : ''}.wasm`;
}

/** The smallest module with one f32x4.relaxed_madd: (func (param v128 v128 v128) (result v128)). */
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128, v128, v128) → v128
  0x03, 0x02, 0x01, 0x00, // function 0 has type 0
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // relaxed_madd
]);

/** The best SIMD level this engine runs. */
export function bestSimd(): SimdLevel {
  return WebAssembly.validate(RELAXED_PROBE) ? 'relaxed-simd' : 'simd128';
}

/** Whether this engine can make a WebAssembly memory that workers share. */
export function sharedMemoryAvailable(): boolean {
  try {
    return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
  } catch {
    return false;
  }
}
