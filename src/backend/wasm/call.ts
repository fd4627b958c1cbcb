// One call of a wasm kernel: the checks native/addon.c makes natively (integer dimensions, buffers long
// enough for them), turned into addresses in the module's memory. A kernel that reads past a buffer would
// not crash here, it would read or write another buffer of the same memory, so nothing reaches the module
// unchecked. An array that is not in the module's memory (a plain Float32Array or Int32Array of the caller)
// is copied in for the call and, if the kernel writes it, copied back after: correct for any array, free of
// copies for the backend's own buffers.

import { float32 } from '../checks.js';
import { DTYPE_CODES, type Weight, q8Blocks } from '../weight.js';
import { InputError } from '../../errors.js';
import type { Floats } from '../../tensor.js';
import type { WasmRuntime, WeightArgs } from './runtime.js';

type Staging = Float32Array | Int32Array | Uint16Array | Int8Array;

/** Largest dimension the kernels take: they count in 32-bit integers. */
const MAX_DIM = 2 ** 31 - 1;

interface Staged {
  ptr: number;
  n: number;
  written: boolean;
}

export class WasmCall {
  private readonly staged = new Map<Staging, Staged>();

  constructor(private readonly rt: WasmRuntime, readonly op: string) {}

  private fail(message: string): never {
    throw new InputError(`wasm.${this.op}: ${message}`);
  }

  /** A dimension or count: an integer from `lo` to 2^31 − 1. */
  int(name: string, v: number, lo = 0): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < lo) this.fail(`${name} = ${String(v)}, expected an integer >= ${lo}`);
    if (v > MAX_DIM) this.fail(`${name} = ${v}, expected at most ${MAX_DIM}`);
    return v;
  }

  /** A real-valued argument (eps, theta, a scale, a hyper-parameter). */
  num(name: string, v: number): number {
    if (typeof v !== 'number') this.fail(`${name} must be a number`);
    return v;
  }

  /** The address of a float buffer with at least `need` elements; `written` when the kernel writes it. */
  f32(name: string, a: Floats, need: number, written = false): number {
    return this.address(name, float32('wasm', this.op, a), need, written);
  }

  /** The address of ids or targets: `need` int32 values. */
  i32(name: string, a: Int32Array, need: number): number {
    if (!(a instanceof Int32Array)) this.fail(`${name} must be an Int32Array`);
    return this.address(name, a, need, false);
  }

  /** A weight's arguments: its values' and scales' addresses, dtype code and shape (checked as addon.c does). */
  weight(name: string, w: Weight): WeightArgs {
    this.int('rows', w.rows);
    this.int('cols', w.cols);
    const n = w.rows * w.cols;
    const want = { f32: Float32Array, bf16: Uint16Array, f16: Uint16Array, q8: Int8Array }[w.dtype];
    if (want === undefined) this.fail(`${name} has dtype ${String(w.dtype)}, expected f32, bf16, f16 or q8`);
    if (w.dtype === 'f32') float32('wasm', this.op, w.data as Floats);
    else if (!(w.data instanceof want)) this.fail(`${name} (${w.dtype}) must be a ${want.name}`);
    const data = this.address(name, w.data as Staging, n, false);
    const scales = w.dtype === 'q8' ? this.address(`${name} scales`, w.scales!, w.rows * q8Blocks(w.cols), false) : 0;
    return [data, scales, DTYPE_CODES[w.dtype], w.rows, w.cols];
  }

  private address(name: string, a: Staging, need: number, written: boolean): number {
    if (a.length < need) this.fail(`${name} has ${a.length} elements, the dimensions need ${need}`);
    if (this.rt.owns(a)) return a.byteOffset;
    const known = this.staged.get(a);
    if (known) {
      known.written ||= written;
      return known.ptr;
    }
    const ptr = this.rt.malloc(Math.max(need, 1) * a.BYTES_PER_ELEMENT);
    this.staged.set(a, { ptr, n: need, written });
    this.view(a, ptr, need).set(a.subarray(0, need));
    return ptr;
  }

  private view(a: Staging, ptr: number, n: number): Staging {
    return this.rt.view(a.constructor as new (b: ArrayBufferLike, at: number, n: number) => Staging, ptr, n);
  }

  /** Runs the kernel, then copies written staged arrays back and frees every staged copy. */
  run<T>(kernel: () => T): T {
    try {
      const result = this.rt.call(this.op, kernel);
      for (const [a, s] of this.staged) if (s.written) a.set(this.view(a, s.ptr, s.n));
      return result;
    } finally {
      for (const s of this.staged.values()) this.rt.free(s.ptr);
    }
  }

  /** Fails unless every id is a row of a table with `rows` rows. */
  ids(name: string, ids: Int32Array, N: number, rows: number): void {
    for (let n = 0; n < N; n++) {
      if (ids[n]! < 0 || ids[n]! >= rows) this.fail(`${name}[${n}] = ${ids[n]} is outside the table's ${rows} rows`);
    }
  }

  /** Fails unless every target is −1 (ignored) or a class below V. */
  targets(targets: Int32Array, N: number, V: number): void {
    for (let n = 0; n < N; n++) {
      if (targets[n]! < -1 || targets[n]! >= V) this.fail(`targets[${n}] = ${targets[n]} is outside [-1, ${V})`);
    }
  }
}
