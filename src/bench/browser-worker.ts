// The Web Worker of `swat bench browser` (browser.ts drives it in headless Chromium): makes the page's wasm
// backend (threads when the page is cross-origin isolated) and times the benchmarks' training step
// (train-step.ts, the step `swat bench train` times in Node) at each thread count it is asked for.

import { createBrowserWasmBackend } from '../backend/wasm/browser.js';
import { type AnchorOptions, randomTrainingStep, secondsPerStep } from './train-step.js';

export interface BrowserBenchRequest {
  anchor: AnchorOptions;
  steps: number;
  /** Thread counts to time, in order; a page that is not cross-origin isolated times one thread. */
  threads: number[];
  /** Where the page serves the wasm modules and the thread worker's script. */
  wasm: { modules: string; worker: string };
}

export interface BrowserBenchRow {
  threads: number;
  /** The wasm module's instruction set: 'relaxed-simd' or 'simd128'. */
  isa: string;
  tokens_per_s: number;
  step_s: number;
}

export type BrowserBenchReply = { rows: BrowserBenchRow[] } | { error: string };

interface WorkerScope {
  onmessage: ((event: { data: BrowserBenchRequest }) => void) | null;
  postMessage(message: BrowserBenchReply): void;
}

const scope = globalThis as unknown as WorkerScope;
scope.onmessage = ({ data: r }) => {
  void (async () => {
    try {
      const backend = await createBrowserWasmBackend({ ...r.wasm, threads: Math.max(...r.threads) });
      const rows: BrowserBenchRow[] = [];
      for (const n of r.threads.filter((n) => n <= backend.threads)) {
        backend.setThreads(n);
        const { tokens, step } = randomTrainingStep(backend, r.anchor);
        const stepS = secondsPerStep(step, r.steps);
        rows.push({ threads: n, isa: backend.isa, tokens_per_s: tokens / stepS, step_s: stepS });
      }
      scope.postMessage({ rows });
    } catch (e) {
      scope.postMessage({ error: e instanceof Error ? e.message : String(e) });
    }
  })();
};
