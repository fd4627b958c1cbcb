// The messages between a TextModel and the engine host that owns the model (a worker thread, a Web Worker,
// or the caller's own thread). Plain data only: they cross threads by structured clone.

import type { WeightDtype } from '../backend/weight.js';
import type { EngineEvent, EngineOptions } from '../infer/engine.js';
import type { StreamOptions } from '../infer/stream.js';

/** What a Node worker needs to load a model directory. */
export interface WorkerInit {
  dir: string;
  backend: string | undefined;
  threads: number | undefined;
  dtype: WeightDtype;
  engine: Partial<EngineOptions>;
}

/** What a page's engine worker needs: the model's files and where the wasm backend's parts are served. */
export interface BrowserWorkerInit {
  /** A name for messages (the directory's name). */
  name: string;
  /** File name → contents (config.json, model.safetensors or shards, tokenizer.json, ...). */
  files: Record<string, Uint8Array>;
  /** The wasm modules' folder URL (ending in '/') and the URL of its thread workers' script. */
  wasm: { modules: string; worker: string; threads?: number };
  dtype: WeightDtype;
  engine: Partial<EngineOptions>;
}

export type ToWorker =
  | { type: 'submit'; id: number; prompt: string | number[]; options: Partial<StreamOptions>; credit: number }
  | { type: 'cancel'; id: number }
  | { type: 'credit'; credits: [id: number, n: number][] };

export type FromWorker =
  | { type: 'ready'; backend: string }
  | { type: 'failed'; error: { name: string; message: string } }
  | { type: 'warn'; line: string }
  | { type: 'step'; events: EngineEvent[]; seconds: number; tokens: number; cacheBytes: number };
