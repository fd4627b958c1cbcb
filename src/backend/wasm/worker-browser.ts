// Entry point of a wasm backend worker on a page (a module Web Worker, see browser.ts): its WorkerInit is the
// first message it receives.

import type { WorkerInit } from './runtime.js';
import { runWorker } from './worker.js';

const scope = globalThis as unknown as { onmessage: ((event: { data: WorkerInit }) => void) | null };
scope.onmessage = (event) => {
  scope.onmessage = null;
  runWorker(event.data);
};
