// The messages between a TextModel (main thread) and the worker thread that owns the model and runs the
// engine. Plain data only: they cross threads by structured clone.

import type { WeightDtype } from '../backend/weight.js';
import type { EngineEvent, EngineOptions } from '../infer/engine.js';
import type { StreamOptions } from '../infer/stream.js';

export interface WorkerInit {
  dir: string;
  backend: string | undefined;
  threads: number | undefined;
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
  | { type: 'step'; events: EngineEvent[]; seconds: number; tokens: number };
