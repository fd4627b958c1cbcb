// The library's entry on a web page: `loadFromFiles(files, options)` takes a model directory's files as
// the page has them (a file picker's Files, fetched bytes, a model trained on the page) instead of a path,
// reads the config and tokenizer here (bad files fail before anything starts), then starts a Web Worker
// (browser-worker.ts) that opens the model on the wasm backend and runs the same engine as Node's worker
// thread. The TextModel it returns is the one the CLI and the server use (text-model.ts).
//
// Nothing here imports Node: a page's bundle pulls in only host-neutral modules.

import { type WeightDtype, parseWeightDtype } from '../backend/weight.js';
import { type ByteSource, memoryDir } from '../io/bytes.js';
import type { EngineOptions } from '../infer/engine.js';
import { readModelConfigFrom } from '../model/files.js';
import { TEMPLATE_FILE } from './chat.js';
import type { BrowserWorkerInit, FromWorker } from './protocol.js';
import { type EngineLink, TextModel } from './text-model.js';

/** A file's contents as a page may hold them. */
export type FileContents = Uint8Array | ArrayBuffer | Blob | string;

export interface BrowserLoadOptions {
  /** The directory's name, for messages (default 'model'). */
  name?: string;
  /** URL of the engine worker script (browser-worker.ts as bundled), started as a module worker. */
  worker: string | URL;
  /** Where the wasm backend's modules (a folder URL ending in '/') and its thread workers' script are
   *  served; threads when the page is cross-origin isolated (default: the cores the browser reports). */
  wasm: { modules: string | URL; worker: string | URL; threads?: number };
  /** The weights' dtype while computing: 'f32' (default), 'bf16', 'f16' or 'q8' (as load's). */
  dtype?: WeightDtype;
  /** Streams computed together; more requests wait (default 16). */
  maxStreams?: number;
  /** Prompt tokens read per engine step (default 64). */
  prefillChunk?: number;
  /** Where the engine's warning lines go (default: console.warn). */
  warn?: (line: string) => void;
}

/** The page's globals this file uses (this project compiles without the DOM library). */
interface PageGlobals {
  Worker: new (url: string | URL, options: { type: 'module' }) => {
    postMessage(message: unknown): void;
    addEventListener(type: 'message' | 'error', fn: (event: { data?: unknown; message?: string }) => void): void;
    terminate(): void;
  };
  console: { warn(line: string): void };
}

/** Loads a model from its files (name → contents; config.json, the weights, tokenizer.json, ...). */
export async function loadFromFiles(files: Iterable<[string, FileContents]> | Record<string, FileContents>, options: BrowserLoadOptions): Promise<TextModel> {
  const name = options.name ?? 'model';
  const entries = Symbol.iterator in files ? [...(files as Iterable<[string, FileContents]>)] : Object.entries(files);
  const bytes = new Map<string, Uint8Array>();
  for (const [file, contents] of entries) bytes.set(file, await toBytes(contents));
  const dir = memoryDir(name, bytes);
  const { config, tokenizer } = readModelConfigFrom(dir);
  const engine: Partial<EngineOptions> = {};
  if (options.maxStreams !== undefined) engine.maxStreams = options.maxStreams;
  if (options.prefillChunk !== undefined) engine.prefillChunk = options.prefillChunk;
  const init: BrowserWorkerInit = {
    name, files: Object.fromEntries(bytes), engine, dtype: parseWeightDtype(options.dtype ?? 'f32', 'dtype'),
    wasm: { modules: String(options.wasm.modules), worker: String(options.wasm.worker), ...(options.wasm.threads !== undefined ? { threads: options.wasm.threads } : {}) },
  };
  const page = globalThis as unknown as PageGlobals;
  return TextModel.connect({
    dir: name, config, tokenizer,
    host: workerLink(page, options.worker, init),
    warn: options.warn ?? ((line) => page.console.warn(line)),
    chatTemplate: () => {
      const source = dir.open(TEMPLATE_FILE);
      return source === undefined ? null : { path: dir.path(TEMPLATE_FILE), text: textOf(source) };
    },
  });
}

async function toBytes(contents: FileContents): Promise<Uint8Array> {
  if (typeof contents === 'string') return new TextEncoder().encode(contents);
  if (contents instanceof Uint8Array) return contents;
  if (contents instanceof ArrayBuffer) return new Uint8Array(contents);
  return new Uint8Array(await contents.arrayBuffer());
}

function textOf(source: ByteSource): string {
  const bytes = new Uint8Array(source.size);
  source.read(bytes, 0);
  return new TextDecoder().decode(bytes);
}

function workerLink(page: PageGlobals, url: string | URL, init: BrowserWorkerInit): EngineLink {
  const worker = new page.Worker(url, { type: 'module' });
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (fn) => worker.addEventListener('message', (e) => fn(e.data as FromWorker)),
    ref: () => {},
    unref: () => {},
    start: () => worker.postMessage(init),
    onFailure: (fn) => worker.addEventListener('error', (e) => fn(new Error(`the model worker failed: ${e.message ?? 'an error'}`))),
    close: async () => worker.terminate(),
  };
}
