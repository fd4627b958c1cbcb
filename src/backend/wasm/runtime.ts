// One instance of the WebAssembly kernels (native/wasm/) with its memory, its allocator and its workers. The
// host-neutral core of the wasm backend: no Node or browser API here, only WebAssembly, so the same code runs
// in Node and on a page; the glue (node.ts, browser.ts) brings the module's bytes and a way to start workers.
//
// Memory. Buffers the backend hands out live in the module's linear memory, so ops read them in place. Views
// of a memory detach when it grows, so:
// - with threads the memory is shared (SharedArrayBuffer-backed); growing a shared memory never detaches the
//   views made before, so it grows as needed, up to 4 GiB;
// - without threads (a page that is not cross-origin isolated) it is a plain memory created at its full,
//   fixed size and never grown; past that size, alloc fails with a one-line error.
// A buffer is freed when the Float32Array that alloc returned is garbage-collected (a FinalizationRegistry):
// keep that array, not only a subarray of it, for as long as the memory is used. Finalizers run between tasks
// of the event loop, so a long synchronous loop that allocates per iteration (decoding, a prefill that
// resizes its cache, scoring many texts) would hold its garbage until it yields. Where the host can collect
// synchronously (Node: a Collector), the runtime does so itself once it has handed out more bytes since the
// last collection than were live after it (and at least 64 MiB): memory stays within about twice what is
// live, as in any garbage-collected heap. A page has no such means and frees between tasks.

import { SwatError } from '../../errors.js';

/** The module's memory at start (build.mjs INITIAL_MEMORY): its data and the calling thread's stack. */
export const INITIAL_PAGES = 32;
/** Pages of a shared memory at most: the whole 32-bit address space. */
export const MAX_PAGES = 65536;
const PAGE = 65536;
/** Stack of each worker, taken from the heap: the kernels keep their large buffers in scratch, not on the
 *  stack. */
const WORKER_STACK = 256 * 1024;

/** The module's exports (native/wasm/exports.c and runtime.c); addresses are byte offsets in its memory. */
export interface WasmExports {
  matmul(C: number, A: number, B: number, M: number, N: number, K: number, transA: number, transB: number, accumulate: number): void;
  linear(C: number, A: number, ...args: [...weight: WeightArgs, M: number, accumulate: number]): void;
  embeddingForward(out: number, ...args: [...table: WeightArgs, ids: number, N: number]): void;
  embeddingBackward(dTable: number, dOut: number, ids: number, N: number, D: number): void;
  rmsnormForward(out: number, rstd: number, x: number, g: number, N: number, D: number, eps: number): void;
  rmsnormBackward(dx: number, dg: number, dOut: number, x: number, g: number, rstd: number, N: number, D: number): void;
  rope(x: number, B: number, T: number, H: number, Dh: number, pos0: number, theta: number, inverse: number): void;
  attentionForward(out: number, stats: number, q: number, k: number, v: number, ...shape: AttentionArgs): void;
  attentionBackward(dq: number, dk: number, dv: number, dOut: number, q: number, k: number, v: number, out: number,
    stats: number, ...shape: AttentionArgs): void;
  swigluForward(out: number, gu: number, N: number, I: number): void;
  swigluBackward(dGu: number, dOut: number, gu: number, N: number, I: number): void;
  crossEntropyForward(losses: number, logits: number, targets: number, N: number, V: number): void;
  crossEntropyBackward(dLogits: number, logits: number, targets: number, scale: number, N: number, V: number): void;
  add(out: number, a: number, b: number, n: number): void;
  scale(x: number, s: number, n: number): void;
  sumSquares(x: number, n: number): number;
  adamw(param: number, grad: number, m: number, v: number, n: number, lr: number, beta1: number, beta2: number,
    eps: number, weightDecay: number, step: number): void;
  isaSupported(isa: number): number;
  isaName(isa: number): number;
  isa(): number;
  setIsa(isa: number): void;
  peakFlops(seconds: number, threads: number): number;
  readBandwidth(x: number, n: number, passes: number): number;
  swat_alloc(bytes: number): number;
  swat_free(ptr: number): void;
  swat_worker(tid: number): void;
  swat_stop_workers(): void;
  swat_set_threads(n: number): void;
  swat_threads(): number;
  swat_set_caller_blocks(mayBlock: number): void;
  swat_fail(why: number): void;
  swat_failure(): number;
  /** Threads modules only: each worker's stack and thread-local area. */
  __stack_pointer?: WebAssembly.Global;
  __wasm_init_tls?: (at: number) => void;
  __tls_size?: WebAssembly.Global;
  __tls_align?: WebAssembly.Global;
}

/** A weight: its values' address, its q8 scales' address (0 when none), dtype code, rows, cols. */
export type WeightArgs = [data: number, scales: number, dtype: number, rows: number, cols: number];

/** B, Tq, Tk, kvStride, H, Dh, window (−1 = none), softmax (0/1), slopes (address), bias. */
export type AttentionArgs = [number, number, number, number, number, number, number, number, number, number];

/** What the module imports: its memory, and the math and clock of the host (native/wasm/runtime.c). */
export function hostImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return {
    env: { memory, exp: Math.exp, log: Math.log, pow: Math.pow, cos: Math.cos, sin: Math.sin, now: () => performance.now() },
  };
}

/** What a worker needs to join the pool: the same module on the same memory, and its own stack and
 *  thread-local area (addresses in that memory). */
export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  tid: number;
  stackTop: number;
  tls: number;
}

/** Starts a thread that calls runWorker(init) (worker.ts). It may start late; the pool never waits for it. */
export type SpawnWorker = (init: WorkerInit) => { terminate(): void };

export interface RuntimeOptions {
  module: WebAssembly.Module;
  /** Whether the module was built with threads (it then imports a shared memory). */
  threads: boolean;
  /** Without threads: the memory's fixed size in bytes. */
  memoryBytes?: number;
  /** How to start workers; without it (or without threads) the runtime has one thread. */
  spawn?: SpawnWorker;
  /** Whether the calling thread may block while workers finish (not on a browser's main thread). */
  callerBlocks?: boolean;
  /** A way to free garbage buffers synchronously (Node has one). */
  collector?: Collector;
}

/** Frees, synchronously, the buffers whose arrays are garbage: `collect` runs a full garbage collection,
 *  after which the finalizers of a registry made by `Registry` can be run at once (its cleanupSome). */
export interface Collector {
  collect(): void;
  Registry: typeof FinalizationRegistry;
}

/** Bytes handed out between collections at least (see the header). */
const COLLECT_AFTER = 64 * 2 ** 20;

/** Reasons of native/wasm/runtime.c's swat_failure(). */
const FAILURES: Record<number, string> = { 1: 'it ran out of memory', 2: 'a worker thread failed' };

export class WasmRuntime {
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly exports: WasmExports;
  /** Whether the memory is shared (and may grow, and may have workers). */
  readonly shared: boolean;
  private readonly spawn: SpawnWorker | undefined;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private readonly collector: Collector | undefined;
  private readonly registry: FinalizationRegistry<{ ptr: number; bytes: number }> & { cleanupSome?(): void };
  /** Bytes of buffers handed out and not yet freed, and handed out since the last collection. */
  private live = 0;
  private sinceCollect = 0;
  private liveAfterCollect = 0;
  private readonly workers: { terminate(): void }[] = [];
  /** Set once a trap left the pool unusable; every later call reports it. */
  private stopped: string | null = null;
  private disposed = false;

  constructor(o: RuntimeOptions) {
    this.module = o.module;
    this.shared = o.threads;
    if (o.threads) {
      this.memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    } else {
      const pages = Math.max(INITIAL_PAGES, Math.min(MAX_PAGES, Math.ceil((o.memoryBytes ?? 2 ** 30) / PAGE)));
      this.memory = new WebAssembly.Memory({ initial: pages, maximum: pages });
    }
    this.exports = new WebAssembly.Instance(o.module, hostImports(this.memory)).exports as unknown as WasmExports;
    this.spawn = o.threads ? o.spawn : undefined;
    this.exports.swat_set_caller_blocks(o.callerBlocks === false ? 0 : 1);
    this.collector = o.collector;
    this.registry = new (o.collector?.Registry ?? FinalizationRegistry)<{ ptr: number; bytes: number }>(({ ptr, bytes }) => {
      this.exports.swat_free(ptr);
      this.live -= bytes;
    });
  }

  /** Frees every buffer whose array is garbage, now, if the host can (a Collector); whether it could. */
  collect(): boolean {
    if (!this.collector || typeof this.registry.cleanupSome !== 'function') return false;
    this.collector.collect();
    this.registry.cleanupSome();
    this.sinceCollect = 0;
    this.liveAfterCollect = this.live;
    return true;
  }

  /** Most threads this runtime can run: 1 without shared memory or a way to start workers, or once disposed. */
  get maxThreads(): number {
    return this.spawn && !this.disposed ? 1024 : 1;
  }

  get threads(): number {
    return this.exports.swat_threads();
  }

  /** Sets how many threads take tasks, starting workers the first time a count is reached. Workers are
   *  never stopped by a smaller count, only left idle, so a count can be raised again at no cost. */
  setThreads(n: number): void {
    const want = Math.min(n, this.maxThreads);
    while (this.workers.length + 1 < want) {
      const tlsSize = (this.exports.__tls_size!.value as number) || 1;
      const init: WorkerInit = {
        module: this.module, memory: this.memory, tid: this.workers.length + 1,
        stackTop: this.malloc(WORKER_STACK) + WORKER_STACK, tls: this.malloc(tlsSize),
      };
      this.workers.push(this.spawn!(init));
    }
    this.exports.swat_set_threads(want);
  }

  /** Ends the workers for good; the runtime stays usable on one thread. */
  dispose(): void {
    this.disposed = true;
    this.exports.swat_set_threads(1);
    this.exports.swat_stop_workers();
    for (const w of this.workers.splice(0)) w.terminate();
  }

  /** Bytes the memory can span at most: 4 GiB when shared (it grows), else its fixed size. */
  get maxMemoryBytes(): number {
    return this.shared ? MAX_PAGES * PAGE : this.memoryBytes;
  }

  /** Bytes the memory spans now. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** The memory's current buffer, remembered as one of this runtime's (a shared memory that grew gives a new
   *  buffer object; views of the old ones stay valid). */
  private buffer(): ArrayBufferLike {
    const b = this.memory.buffer;
    this.buffers.add(b);
    return b;
  }

  /** Whether `a` is a view of this runtime's memory, so that its byteOffset is its address. */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  /** `bytes` of the heap, 64-byte aligned and zero-filled, or a SwatError when the memory cannot grow that far
   *  even after freeing the garbage. */
  malloc(bytes: number): number {
    this.check();
    const tryAlloc = () => (bytes <= 0xffffffff ? this.exports.swat_alloc(bytes) >>> 0 : 0);
    let ptr = tryAlloc();
    if (ptr === 0 && this.collect()) ptr = tryAlloc();
    if (ptr === 0) {
      throw new SwatError(`wasm: out of memory: cannot allocate ${bytes} bytes (the backend's memory holds at most ${this.maxMemoryBytes / 2 ** 20} MiB)`);
    }
    return ptr;
  }

  free(ptr: number): void {
    this.exports.swat_free(ptr);
  }

  /** A zero-filled Float32Array of n floats in the module's memory, freed when the array is collected. */
  allocFloats(n: number): Float32Array {
    return this.allocArray(Float32Array, n);
  }

  /** A zero-filled typed array of n elements in the module's memory, freed when the array is collected. */
  allocArray<T extends Float32Array | Uint16Array | Int8Array>(type: new (b: ArrayBufferLike, at: number, n: number) => T & { BYTES_PER_ELEMENT: number }, n: number): T {
    const bytes = n * (type as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
    if (this.sinceCollect > Math.max(COLLECT_AFTER, this.liveAfterCollect)) this.collect();
    const ptr = this.malloc(bytes);
    const view = new type(this.buffer(), ptr, n);
    this.registry.register(view, { ptr, bytes });
    this.live += bytes;
    this.sinceCollect += bytes;
    return view;
  }

  /** A view of n elements of `type` at `ptr` (staging copies). */
  view<T>(type: new (b: ArrayBufferLike, at: number, n: number) => T, ptr: number, n: number): T {
    return new type(this.buffer(), ptr, n);
  }

  /** The NUL-terminated string at `ptr`. */
  string(ptr: number): string {
    const bytes = new Uint8Array(this.buffer(), ptr);
    // A copy: TextDecoder refuses views of shared memory.
    return new TextDecoder().decode(bytes.slice(0, bytes.indexOf(0)));
  }

  /** Runs a call into the module; a trap that stopped the pool (out of memory, a failed worker) becomes one
   *  SwatError now and for every later call. */
  call<T>(op: string, fn: () => T): T {
    this.check();
    try {
      return fn();
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      this.stopped = FAILURES[this.exports.swat_failure()] ?? `it trapped (${e.message})`;
      throw new SwatError(`wasm.${op}: the wasm backend stopped: ${this.stopped}`);
    }
  }

  private check(): void {
    if (this.stopped !== null) throw new SwatError(`wasm: the wasm backend stopped earlier: ${this.stopped}`);
  }
}
