// The WebAssembly backend: the Backend contract on the native backend's C kernels compiled to WebAssembly
// (native/wasm/), host-neutral. Every op checks its arguments (call.ts), passes addresses in the module's
// memory and runs one exported kernel; every number is computed in the module. alloc hands out buffers of
// that memory, so parameters, activations and gradients are read in place (runtime.ts says how memory grows
// and is freed).
//
// The instruction-set level (portable C or the module's SIMD kernels) and the thread count belong to the
// runtime: backends that share a runtime share them, as native backends share the addon's.

import type { AdamWHyper, AttentionShape, Backend, MemoryLimit } from '../backend.js';
import { attentionMode } from '../checks.js';
import { InputError } from '../../errors.js';
import type { Floats } from '../../tensor.js';
import { type Weight, type WeightDtype, allocWeightWith } from '../weight.js';
import { WasmCall } from './call.js';
import type { AttentionArgs, WasmRuntime } from './runtime.js';

/** The runtime's instruction-set levels, lowest first, by their numbers in native/swat.h's enum swat_isa. */
const ISA_CODES = [0, 3];

export class WasmBackend implements Backend {
  readonly name = 'wasm';
  readonly dtype = 'float32' as const;
  readonly runtime: WasmRuntime;

  constructor(runtime: WasmRuntime, options: { threads?: number } = {}) {
    this.runtime = runtime;
    if (options.threads !== undefined) this.setThreads(options.threads);
  }

  /** Threads that take tasks: 1 without shared memory; process-wide for the runtime. */
  get threads(): number {
    return this.runtime.threads;
  }

  setThreads(n: number): void {
    if (!Number.isInteger(n) || n < 1) throw new InputError(`wasm: threads = ${n}, expected an integer >= 1`);
    this.runtime.setThreads(n);
  }

  /** Kernel levels of the module, lowest first: 'portable' and its SIMD level ('simd128' or 'relaxed-simd'). */
  isaLevels(): string[] {
    return this.levels().map((l) => l.name);
  }

  private levels(): { name: string; code: number }[] {
    const x = this.runtime.exports;
    return ISA_CODES.filter((code) => x.isaSupported(code) === 1).map((code) => ({ name: this.runtime.string(x.isaName(code)), code }));
  }

  get isa(): string {
    return this.runtime.string(this.runtime.exports.isaName(this.runtime.exports.isa()));
  }

  /** Switches the runtime's kernels to 'portable' or to the module's SIMD level. */
  setIsa(level: string): void {
    const levels = this.levels();
    const found = levels.find((l) => l.name === level);
    if (!found) throw new InputError(`wasm: instruction set '${level}' is not in this module (it has: ${levels.map((l) => l.name).join(', ')})`);
    this.runtime.exports.setIsa(found.code);
  }

  /** Measured fp32 throughput of the active kernels' multiply-add loop on `threads` threads, GFLOP/s. */
  peakFlops(seconds: number, threads: number): number {
    const before = this.threads;
    this.setThreads(threads);
    try {
      return this.runtime.call('peakFlops', () => this.runtime.exports.peakFlops(seconds, threads));
    } finally {
      this.setThreads(before);
    }
  }

  /** Measured read bandwidth of the runtime's threads streaming `x` (much larger than the caches): GB/s,
   *  the fastest of `passes` passes. */
  readBandwidth(x: Float32Array, passes: number): number {
    const c = this.call('readBandwidth');
    return c.run(() => {
      c.int('passes', passes, 1);
      return this.runtime.exports.readBandwidth(c.f32('x', x, x.length), x.length, passes);
    });
  }

  get memoryLimit(): MemoryLimit {
    return { bytes: this.runtime.maxMemoryBytes, what: "the wasm backend's memory" };
  }

  alloc(n: number): Float32Array {
    if (!Number.isInteger(n) || n < 0) throw new InputError(`wasm.alloc: n = ${n}, expected an integer >= 0`);
    return this.runtime.allocFloats(n);
  }

  private call(op: string): WasmCall {
    return new WasmCall(this.runtime, op);
  }

  matmul(C: Floats, A: Floats, B: Floats, M: number, N: number, K: number, transA: boolean, transB: boolean, accumulate: boolean): void {
    const c = this.call('matmul');
    c.run(() => {
      c.int('M', M); c.int('N', N); c.int('K', K);
      this.runtime.exports.matmul(c.f32('C', C, M * N, true), c.f32('A', A, M * K), c.f32('B', B, K * N), M, N, K,
        +transA, +transB, +accumulate);
    });
  }

  allocWeight(dtype: WeightDtype, rows: number, cols: number): Weight {
    const rt = this.runtime;
    return allocWeightWith({ floats: (n) => rt.allocFloats(n), halves: (n) => rt.allocArray(Uint16Array, n), bytes: (n) => rt.allocArray(Int8Array, n) }, dtype, rows, cols);
  }

  linear(C: Floats, A: Floats, W: Weight, M: number, accumulate: boolean): void {
    const c = this.call('linear');
    c.run(() => {
      c.int('M', M);
      const w = c.weight('W', W);
      this.runtime.exports.linear(c.f32('C', C, M * W.rows, true), c.f32('A', A, M * W.cols), ...w, M, +accumulate);
    });
  }

  embeddingForward(out: Floats, table: Weight, ids: Int32Array, N: number): void {
    const c = this.call('embeddingForward');
    c.run(() => {
      c.int('N', N);
      const pIds = c.i32('ids', ids, N);
      const w = c.weight('table', table);
      c.ids('ids', ids, N, table.rows);
      this.runtime.exports.embeddingForward(c.f32('out', out, N * table.cols, true), ...w, pIds, N);
    });
  }

  embeddingBackward(dTable: Floats, dOut: Floats, ids: Int32Array, N: number, D: number): void {
    const c = this.call('embeddingBackward');
    c.run(() => {
      c.int('N', N); c.int('D', D);
      const pIds = c.i32('ids', ids, N);
      c.ids('ids', ids, N, D > 0 ? Math.floor(dTable.length / D) : Infinity);
      this.runtime.exports.embeddingBackward(c.f32('dTable', dTable, dTable.length, true), c.f32('dOut', dOut, N * D), pIds, N, D);
    });
  }

  rmsnormForward(out: Floats, rstd: Floats, x: Floats, g: Floats, N: number, D: number, eps: number): void {
    const c = this.call('rmsnormForward');
    c.run(() => {
      c.int('N', N); c.int('D', D); c.num('eps', eps);
      this.runtime.exports.rmsnormForward(c.f32('out', out, N * D, true), c.f32('rstd', rstd, N, true), c.f32('x', x, N * D),
        c.f32('g', g, D), N, D, eps);
    });
  }

  rmsnormBackward(dx: Floats, dg: Floats, dOut: Floats, x: Floats, g: Floats, rstd: Floats, N: number, D: number): void {
    const c = this.call('rmsnormBackward');
    c.run(() => {
      c.int('N', N); c.int('D', D);
      this.runtime.exports.rmsnormBackward(c.f32('dx', dx, N * D, true), c.f32('dg', dg, D, true), c.f32('dOut', dOut, N * D),
        c.f32('x', x, N * D), c.f32('g', g, D), c.f32('rstd', rstd, N), N, D);
    });
  }

  rope(x: Floats, B: number, T: number, H: number, Dh: number, pos0: number, theta: number, inverse: boolean): void {
    const c = this.call('rope');
    c.run(() => {
      c.int('B', B); c.int('T', T); c.int('H', H); c.int('Dh', Dh); c.num('theta', theta);
      if (!Number.isSafeInteger(pos0) || pos0 < 0) throw new InputError(`wasm.rope: pos0 = ${pos0}, expected an integer >= 0`);
      if (Dh % 2 !== 0) throw new InputError(`wasm.rope: Dh = ${Dh}, expected an even head width`);
      this.runtime.exports.rope(c.f32('x', x, B * T * H * Dh, true), B, T, H, Dh, pos0, theta, +inverse);
    });
  }

  /** The shape as the kernel takes it, checked as native/addon.c checks it. */
  private attentionArgs(c: WasmCall, s: AttentionShape): AttentionArgs {
    const { window, softmax } = attentionMode('wasm', c.op, s);
    for (const k of ['B', 'Tq', 'Tk', 'kvStride', 'H', 'Dh'] as const) c.int(k, s[k]);
    c.num('bias', s.bias);
    if (s.Tq > s.Tk) throw new InputError(`wasm.${c.op}: Tq = ${s.Tq}, expected at most Tk (${s.Tk}): every query needs its own key`);
    if (s.Tk > s.kvStride) throw new InputError(`wasm.${c.op}: Tk = ${s.Tk}, expected at most kvStride (${s.kvStride})`);
    return [s.B, s.Tq, s.Tk, s.kvStride, s.H, s.Dh, window, +softmax, c.f32('slopes', s.slopes, s.H), s.bias];
  }

  attentionForward(out: Floats, stats: Floats, q: Floats, k: Floats, v: Floats, s: AttentionShape): void {
    const c = this.call('attentionForward');
    c.run(() => {
      const shape = this.attentionArgs(c, s);
      const nq = s.B * s.Tq * s.H * s.Dh;
      const nkv = s.B * s.kvStride * s.H * s.Dh;
      this.runtime.exports.attentionForward(c.f32('out', out, nq, true), c.f32('stats', stats, s.B * s.H * s.Tq, true),
        c.f32('q', q, nq), c.f32('k', k, nkv), c.f32('v', v, nkv), ...shape);
    });
  }

  attentionBackward(
    dq: Floats, dk: Floats, dv: Floats,
    dOut: Floats, q: Floats, k: Floats, v: Floats, out: Floats, stats: Floats, s: AttentionShape,
  ): void {
    const c = this.call('attentionBackward');
    c.run(() => {
      const shape = this.attentionArgs(c, s);
      const nq = s.B * s.Tq * s.H * s.Dh;
      const nkv = s.B * s.kvStride * s.H * s.Dh;
      this.runtime.exports.attentionBackward(
        c.f32('dq', dq, nq, true), c.f32('dk', dk, nkv, true), c.f32('dv', dv, nkv, true), c.f32('dOut', dOut, nq),
        c.f32('q', q, nq), c.f32('k', k, nkv), c.f32('v', v, nkv), c.f32('out', out, nq),
        c.f32('stats', stats, s.B * s.H * s.Tq), ...shape,
      );
    });
  }

  swigluForward(out: Floats, gu: Floats, N: number, I: number): void {
    const c = this.call('swigluForward');
    c.run(() => {
      c.int('N', N); c.int('I', I);
      this.runtime.exports.swigluForward(c.f32('out', out, N * I, true), c.f32('gu', gu, 2 * N * I), N, I);
    });
  }

  swigluBackward(dGu: Floats, dOut: Floats, gu: Floats, N: number, I: number): void {
    const c = this.call('swigluBackward');
    c.run(() => {
      c.int('N', N); c.int('I', I);
      this.runtime.exports.swigluBackward(c.f32('dGu', dGu, 2 * N * I, true), c.f32('dOut', dOut, N * I), c.f32('gu', gu, 2 * N * I), N, I);
    });
  }

  crossEntropyForward(losses: Floats, logits: Floats, targets: Int32Array, N: number, V: number): void {
    const c = this.call('crossEntropyForward');
    c.run(() => {
      c.int('N', N); c.int('V', V);
      const pTargets = c.i32('targets', targets, N);
      c.targets(targets, N, V);
      this.runtime.exports.crossEntropyForward(c.f32('losses', losses, N, true), c.f32('logits', logits, N * V), pTargets, N, V);
    });
  }

  crossEntropyBackward(dLogits: Floats, logits: Floats, targets: Int32Array, scale: number, N: number, V: number): void {
    const c = this.call('crossEntropyBackward');
    c.run(() => {
      c.int('N', N); c.int('V', V); c.num('scale', scale);
      const pTargets = c.i32('targets', targets, N);
      c.targets(targets, N, V);
      // dLogits may be logits itself: the same array is staged once, and the kernel allows the alias.
      this.runtime.exports.crossEntropyBackward(c.f32('dLogits', dLogits, N * V, true), c.f32('logits', logits, N * V),
        pTargets, scale, N, V);
    });
  }

  add(out: Floats, a: Floats, b: Floats, n: number): void {
    const c = this.call('add');
    c.run(() => {
      c.int('n', n);
      this.runtime.exports.add(c.f32('out', out, n, true), c.f32('a', a, n), c.f32('b', b, n), n);
    });
  }

  scale(x: Floats, s: number, n: number): void {
    const c = this.call('scale');
    c.run(() => {
      c.int('n', n); c.num('s', s);
      this.runtime.exports.scale(c.f32('x', x, n, true), s, n);
    });
  }

  sumSquares(x: Floats, n: number): number {
    const c = this.call('sumSquares');
    return c.run(() => {
      c.int('n', n);
      return this.runtime.exports.sumSquares(c.f32('x', x, n), n);
    });
  }

  adamw(param: Floats, grad: Floats, m: Floats, v: Floats, n: number, h: AdamWHyper): void {
    const c = this.call('adamw');
    c.run(() => {
      c.int('n', n);
      for (const k of ['lr', 'beta1', 'beta2', 'eps', 'weightDecay', 'step'] as const) c.num(k, h[k]);
      this.runtime.exports.adamw(c.f32('param', param, n, true), c.f32('grad', grad, n), c.f32('m', m, n, true),
        c.f32('v', v, n, true), n, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.step);
    });
  }
}
