// `swat bench browser`: training tokens/s of the wasm backend in headless Chromium (a Web Worker of a page
// `swat web` serves, threads when the page is cross-origin isolated, as the web app trains), against the
// native backend and the wasm backend in Node at one thread. The three take turns in the same run, each
// keeping its fastest of `rounds`, so the machine's other load falls on all of them alike. Each times the
// same step (train-step.ts) on the same random batch. Chromium is Debian's, driven by playwright-core.

import { NativeBackend, nativeUnavailableReason } from '../backend/native.js';
import type { WasmBackend } from '../backend/wasm/backend.js';
import { createWasmBackend } from '../backend/wasm/node.js';
import { InputError } from '../errors.js';
import { chromiumUnavailableReason, launchChromium } from '../web/chromium.js';
import { startWebServer } from '../web/server.js';
import type { BrowserBenchReply, BrowserBenchRequest, BrowserBenchRow } from './browser-worker.js';
import { type AnchorOptions, randomTrainingStep, secondsPerStep } from './train-step.js';

export interface NodeTrainRow {
  backend: string;
  isa: string;
  tokens_per_s: number;
  step_s: number;
}

export interface BrowserBenchResult {
  steps: number;
  rounds: number;
  chromium: string;
  cross_origin_isolated: boolean;
  /** The native backend at one thread; null when the addon is not built. */
  native: NodeTrainRow | null;
  /** The wasm backend in Node at one thread. */
  wasm_node: NodeTrainRow;
  /** The page's wasm backend at one thread and at every core the browser reports. */
  browser: BrowserBenchRow[];
}

type PageWorker = new (url: string, options: { type: 'module' }) => {
  onmessage: ((e: { data: BrowserBenchReply }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
  postMessage(m: BrowserBenchRequest): void;
  terminate(): void;
};

function timeInNode(backend: NativeBackend | WasmBackend, a: AnchorOptions, steps: number): NodeTrainRow {
  const { tokens, step } = randomTrainingStep(backend, a);
  const stepS = secondsPerStep(step, steps);
  return { backend: backend.name, isa: backend.isa, tokens_per_s: tokens / stepS, step_s: stepS };
}

const faster = <T extends { tokens_per_s: number }>(best: T | null, r: T): T => (best === null || r.tokens_per_s > best.tokens_per_s ? r : best);

export async function benchBrowser(a: AnchorOptions, steps: number, rounds: number, log: (line: string) => void): Promise<BrowserBenchResult> {
  const unavailable = await chromiumUnavailableReason();
  if (unavailable !== null) throw new InputError(`bench browser: ${unavailable}`);
  const native = nativeUnavailableReason() === null ? new NativeBackend({ threads: 1 }) : null;
  const wasm = createWasmBackend({ threads: 1 });
  const server = await startWebServer({ host: '127.0.0.1', port: 0, model: null });
  const browser = await launchChromium();
  try {
    const page = await browser.context.newPage();
    await page.goto(server.url);
    const isolated = (await page.evaluate('crossOriginIsolated')) === true;
    const cores = Number(await page.evaluate('navigator.hardwareConcurrency'));
    const chromium = /Chrome\/(\d+)/.exec(String(await page.evaluate('navigator.userAgent')))?.[1] ?? 'unknown';
    const request: BrowserBenchRequest = {
      anchor: a, steps, threads: isolated && cores > 1 ? [1, cores] : [1],
      wasm: { modules: new URL('wasm/', server.url).href, worker: new URL('wasm-worker.js', server.url).href },
    };
    const inPage = async (): Promise<BrowserBenchRow[]> => {
      const reply = await page.evaluate(([script, req]) => {
        const Worker = (globalThis as unknown as { Worker: PageWorker }).Worker;
        const worker = new Worker(script, { type: 'module' });
        return new Promise<BrowserBenchReply>((resolve) => {
          worker.onmessage = (e) => resolve(e.data);
          worker.onerror = (e) => resolve({ error: e.message ?? 'the benchmark worker did not start' });
          worker.postMessage(req);
        }).finally(() => worker.terminate());
      }, [new URL('bench-worker.js', server.url).href, request] as const);
      if ('error' in reply) throw new InputError(`bench browser: the page failed: ${reply.error}`);
      return reply.rows;
    };
    let bestNative: NodeTrainRow | null = null;
    let bestWasm: NodeTrainRow | null = null;
    const bestPage = new Map<number, BrowserBenchRow>();
    for (let round = 1; round <= rounds; round++) {
      log(`round ${round} of ${rounds}: native, wasm in Node, Chromium`);
      if (native) bestNative = faster(bestNative, timeInNode(native, a, steps));
      bestWasm = faster(bestWasm, timeInNode(wasm, a, steps));
      for (const row of await inPage()) bestPage.set(row.threads, faster(bestPage.get(row.threads) ?? null, row));
    }
    return {
      steps, rounds, chromium, cross_origin_isolated: isolated,
      native: bestNative, wasm_node: bestWasm!, browser: [...bestPage.values()],
    };
  } finally {
    await browser.close();
    await server.close();
  }
}
