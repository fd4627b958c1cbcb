// The Web Worker behind a TextModel on a page (browser.ts starts it): its first message holds the model's
// files and where the wasm backend is served; it opens the model from those bytes on the wasm backend
// (threads when the page is cross-origin isolated) and hosts the same engine as Node's worker thread.

import { createBrowserWasmBackend } from '../backend/wasm/browser.js';
import { memoryDir } from '../io/bytes.js';
import { openModel } from '../model/files.js';
import { type EnginePort, hostEngine } from './engine-host.js';
import type { BrowserWorkerInit, ToWorker } from './protocol.js';

interface WorkerScope {
  onmessage: ((event: { data: unknown }) => void) | null;
  postMessage(message: unknown): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = (first) => {
  const init = first.data as BrowserWorkerInit;
  scope.onmessage = null;
  const port: EnginePort = {
    postMessage: (m) => scope.postMessage(m),
    onMessage: (fn) => (scope.onmessage = (e) => fn(e.data as ToWorker)),
  };
  void hostEngine(port, async () => {
    const backend = await createBrowserWasmBackend(init.wasm);
    return openModel(memoryDir(init.name, new Map(Object.entries(init.files))), backend, { dtype: init.dtype });
  }, init.engine);
};
