// A worker of the wasm backend's thread pool, host-neutral: instantiates the module on the shared memory,
// sets up its own stack and thread-local area, and runs tasks until the pool stops (native/wasm/runtime.c,
// swat_worker). The thin entry points worker-node.ts and worker-browser.ts only hand it its WorkerInit.

import { type WasmExports, type WorkerInit, hostImports } from './runtime.js';

/** Reason code of swat_fail: this worker trapped. */
const WORKER_TRAPPED = 2;

export function runWorker(init: WorkerInit): void {
  const x = new WebAssembly.Instance(init.module, hostImports(init.memory)).exports as unknown as WasmExports;
  x.__stack_pointer!.value = init.stackTop;
  x.__wasm_init_tls!(init.tls);
  try {
    x.swat_worker(init.tid);
  } catch (e) {
    // The caller is waiting for this worker's task: tell the pool, so the caller stops instead of waiting.
    x.swat_fail(WORKER_TRAPPED);
    throw e;
  }
}
