// The messages between the page and its training worker (train-worker.ts). Plain data: they cross by
// structured clone.

import type { SessionSpec } from '../../train/session.js';

/** Where the wasm backend is served: the modules' folder and its thread workers' script. */
export interface WasmUrls {
  modules: string;
  worker: string;
}

export type ToTrainer =
  | { type: 'start'; spec: SessionSpec; wasm: WasmUrls }
  | { type: 'pause' }
  | { type: 'resume' }
  /** The model directory's files as they are now. */
  | { type: 'files' };

export interface Prepared {
  backend: string;
  threads: number;
  vocabSize: number;
  parameters: number;
  trainTokens: number;
  valTokens: number;
}

export type FromTrainer =
  | ({ type: 'prepared' } & Prepared)
  | { type: 'step'; step: number; maxSteps: number; loss: number; lr: number; skipped: string | null; tokensPerSecond: number; elapsed: number }
  | { type: 'eval'; step: number; valLoss: number }
  | { type: 'paused'; step: number }
  | { type: 'done'; step: number }
  | { type: 'files'; files: Record<string, Uint8Array | string> }
  | { type: 'error'; message: string };
