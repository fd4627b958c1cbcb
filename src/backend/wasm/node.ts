// The wasm backend in Node: reads the committed modules (native/wasm/modules/), compiles the best one this
// Node runs (relaxed SIMD needs an engine that has it; Node 20 only with --experimental-wasm-relaxed-simd),
// and starts worker_threads for the pool. Node always has shared memory, so the threads module is used even
// on one thread: its memory grows without detaching views. One runtime per module per process, as the
// native addon is one per process: backends made here share buffers, threads and instruction set.
//
// V8 runs a new module in its baseline compiler and recompiles a function optimised only after it got hot,
// and a running call keeps its code: a long kernel call (a big product, the peak loop) can run wholly in
// baseline code at a third of the speed. Node compiles the module optimised from the start instead
// (--no-liftoff, process-wide, set before the first compile); a page cannot, and warms up as V8 decides.
//
// Node can also free garbage buffers synchronously (runtime.ts: a Collector), from a context of its own
// where V8 offers gc() and FinalizationRegistry.prototype.cleanupSome once their flags are set.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { createContext, runInContext } from 'node:vm';
import { Worker } from 'node:worker_threads';

import { InputError } from '../../errors.js';
import { WasmBackend } from './backend.js';
import { SIMD_LEVELS, type SimdLevel, bestSimd, moduleFile, sharedMemoryAvailable } from './modules.js';
import { type Collector, type SpawnWorker, WasmRuntime } from './runtime.js';

const MODULES = new URL('../../../../native/wasm/modules/', import.meta.url); // from dist/src/backend/wasm/
const WORKER = new URL('./worker-node.js', import.meta.url);

export interface WasmOptions {
  /** Threads of the pool (process-wide for the module); default 1. */
  threads?: number;
  /** Force a SIMD level; default SWAT_WASM_SIMD, else the best this engine validates. */
  simd?: SimdLevel;
  /** false: the one-thread module on a fixed-size plain memory (what a page without cross-origin isolation
   *  gets); for tests of that module. */
  sharedMemory?: boolean;
}

const runtimes = new Map<string, WasmRuntime>();
const compiled = new Map<string, WebAssembly.Module | string>();

/** The compiled module of a file, or why there is none (read once per process). */
function compile(file: string): WebAssembly.Module | string {
  let entry = compiled.get(file);
  if (entry === undefined) {
    const path = fileURLToPath(new URL(file, MODULES));
    try {
      const bytes = readFileSync(path);
      setFlagsFromString('--no-liftoff');
      entry = WebAssembly.validate(bytes)
        ? new WebAssembly.Module(bytes)
        : `${file} does not validate in this JavaScript engine (it needs WebAssembly SIMD)`;
    } catch (e) {
      entry = `cannot read native/wasm/modules/${file} (${(e as NodeJS.ErrnoException).code ?? String(e)}; npm run build:wasm makes it)`;
    }
    compiled.set(file, entry);
  }
  return entry;
}

function simdLevel(o: WasmOptions): SimdLevel {
  const forced = o.simd ?? process.env['SWAT_WASM_SIMD'];
  if (forced === undefined || forced === '') return bestSimd();
  if (!(SIMD_LEVELS as readonly string[]).includes(forced)) {
    throw new InputError(`SWAT_WASM_SIMD = ${forced}, expected one of ${SIMD_LEVELS.join(', ')}`);
  }
  return forced as SimdLevel;
}

function moduleOf(o: WasmOptions): string {
  return moduleFile(simdLevel(o), o.sharedMemory !== false && sharedMemoryAvailable());
}

/** Why the wasm backend cannot run here, or null when it can. */
export function wasmUnavailableReason(o: WasmOptions = {}): string | null {
  const m = compile(moduleOf(o));
  return typeof m === 'string' ? m : null;
}

const spawnNode: SpawnWorker = (init) => {
  const worker = new Worker(WORKER, { workerData: init });
  // Idle workers wait inside the module; they must not keep the process alive.
  worker.unref();
  // A worker that fails reports it through the pool (worker.ts); the event only needs a listener.
  worker.on('error', () => {});
  return { terminate: () => void worker.terminate() };
};

/** gc() and a FinalizationRegistry with cleanupSome, or undefined where this V8 has no such flags. */
function nodeCollector(): Collector | undefined {
  setFlagsFromString('--expose-gc');
  setFlagsFromString('--harmony-weak-refs-with-cleanup-some');
  const context = createContext({});
  const gc = runInContext('typeof gc === "function" ? gc : undefined', context) as (() => void) | undefined;
  const Registry = runInContext('FinalizationRegistry', context) as typeof FinalizationRegistry;
  return gc && typeof (Registry.prototype as { cleanupSome?: unknown }).cleanupSome === 'function' ? { collect: gc, Registry } : undefined;
}

/** The process-wide runtime of the module these options pick. */
export function wasmRuntime(o: WasmOptions = {}): WasmRuntime {
  const file = moduleOf(o);
  let rt = runtimes.get(file);
  if (!rt) {
    const module = compile(file);
    if (typeof module === 'string') throw new InputError(`backend 'wasm' is unavailable: ${module}`);
    const threads = file.endsWith('-threads.wasm');
    rt = new WasmRuntime({ module, threads, spawn: spawnNode, collector: nodeCollector() });
    runtimes.set(file, rt);
  }
  return rt;
}

export function createWasmBackend(o: WasmOptions = {}): WasmBackend {
  return new WasmBackend(wasmRuntime(o), { threads: o.threads ?? 1 });
}
