// The wasm backend on a web page, the browser's counterpart of node.ts: compiles the best module this
// browser validates (relaxed SIMD where it has it), with threads when the page is cross-origin isolated
// (shared memory and module Web Workers running worker-browser.js), else on one thread with a fixed-size
// memory. The page says where the modules and the worker script are served from, as its bundler emits them.
//
// A page's main thread may not block, so there the caller spins while workers finish a job, and every op
// holds the page while it runs: training belongs in a worker, which creates its backend the same way.

import { WasmBackend } from './backend.js';
import { bestSimd, moduleFile, sharedMemoryAvailable } from './modules.js';
import { type SpawnWorker, WasmRuntime } from './runtime.js';

export interface BrowserWasmOptions {
  /** Folder URL of the modules (native/wasm/modules/), ending in '/'. */
  modules: string | URL;
  /** URL of worker-browser.js, started as a module worker for each thread. */
  worker: string | URL;
  /** Threads when cross-origin isolated; default navigator.hardwareConcurrency. */
  threads?: number;
  /** The fixed memory of a page that is not cross-origin isolated; default 1 GiB. */
  memoryBytes?: number;
}

/** The page's globals this file uses (TypeScript's DOM library is not loaded in this project). */
interface PageGlobals {
  crossOriginIsolated?: boolean;
  document?: unknown;
  navigator: { hardwareConcurrency?: number };
  fetch(url: string | URL): Promise<{ ok: boolean; status: number; arrayBuffer(): Promise<ArrayBuffer> }>;
  Worker: new (url: string | URL, options: { type: 'module' }) => { postMessage(message: unknown): void; terminate(): void };
}

export async function createBrowserWasmBackend(o: BrowserWasmOptions): Promise<WasmBackend> {
  const page = globalThis as unknown as PageGlobals;
  const threads = page.crossOriginIsolated === true && sharedMemoryAvailable();
  const url = new URL(moduleFile(bestSimd(), threads), o.modules);
  const response = await page.fetch(url);
  if (!response.ok) throw new Error(`wasm: fetching ${url.href} failed: HTTP ${response.status}`);
  // Asynchronous compilation: browsers refuse to compile modules of this size synchronously on the page.
  const module = await WebAssembly.compile(await response.arrayBuffer());
  const spawn: SpawnWorker = (init) => {
    const worker = new page.Worker(o.worker, { type: 'module' });
    worker.postMessage(init);
    return worker;
  };
  const runtime = new WasmRuntime({
    module, threads, spawn, memoryBytes: o.memoryBytes, callerBlocks: page.document === undefined,
  });
  return new WasmBackend(runtime, { threads: threads ? (o.threads ?? page.navigator.hardwareConcurrency ?? 1) : 1 });
}
