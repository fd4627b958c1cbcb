// One call of a wasm kernel: the checks native/addon.c makes natively (integer dimensions, buffers long
// enough for them), turned into addresses in the module's memory. A kernel that reads past a buffer would
// not crash here, it would read or write another buffer of the same memory, so nothing reaches the module
// unchecked. An array that is not in the module's memory (a plain Float32Array or Int32Array of the caller)
// is copied in for the call and, if the kernel writes it, copied back after: correct for any array, free of
// copies for the backend's own buffers.

import { float32 } from '../checks.js';
import { InputError } from '../../errors.js';
import type { Floats } from '../../tensor.js';
import type { WasmRuntime } from './runtime.js';

/** Largest dimension the kernels take: they count in 32-bit integers. */
const MAX_DIM = 2 ** 31 - 1;

interface Staged {
  ptr: number;
  n: number;
  written: boolean;
}

export class WasmCall {
  private readonly staged = new Map<Float32Array | Int32Array, Staged>();

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

  private address(name: string, a: Float32Array | Int32Array, need: number, written: boolean): number {
    if (a.length < need) this.fail(`${name} has ${a.length} elements, the dimensions need ${need}`);
    if (this.rt.owns(a)) return a.byteOffset;
    const known = this.staged.get(a);
    if (known) {
      known.written ||= written;
      return known.ptr;
    }
    const ptr = this.rt.malloc(Math.max(need, 1) * 4);
    this.staged.set(a, { ptr, n: need, written });
    this.view(a, ptr, need).set(a.subarray(0, need));
    return ptr;
  }

  private view(a: Float32Array | Int32Array, ptr: number, n: number): Float32Array | Int32Array {
    return a instanceof Float32Array ? this.rt.floats(ptr, n) : this.rt.ints(ptr, n);
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
