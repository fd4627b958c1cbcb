// The library's entry in Node: `load(dir)` reads the config and tokenizer here (a bad directory fails at
// once), then starts a worker thread that owns the model (on the best backend available) and runs the
// continuous-batching engine, or runs that engine on this thread (`inProcess`). The TextModel it returns is
// host-neutral (text-model.ts); a page gets one from browser.ts instead.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, type MessagePort, Worker } from 'node:worker_threads';
import { selectBackend } from '../backend/index.js';
import { type WeightDtype, parseWeightDtype } from '../backend/weight.js';
import type { EngineOptions } from '../infer/engine.js';
import { loadModel, readModelConfig } from '../model/store.js';
import { type ChatTemplate, TEMPLATE_FILE } from './chat.js';
import { type EnginePort, type HostedModel, hostEngine } from './engine-host.js';
import type { FromWorker, WorkerInit } from './protocol.js';
import { type EngineLink, TextModel } from './text-model.js';

export {
  TextModel, type CompletionOptions, type Completion, type ScoreResult, type StreamEvent, type StreamRequest, type ModelStats,
} from './text-model.js';

export interface LoadOptions {
  /** 'native', 'wasm' or 'reference'; default SWAT_BACKEND, else native when it is built. */
  backend?: string;
  /** Native or wasm backend threads; default SWAT_THREADS, else all cores. */
  threads?: number;
  /** The weights' dtype while computing: 'f32' (default), 'bf16' or 'f16' (half the memory and, decoding,
   *  about 1.6× the speed), or 'q8' (8-bit blocks of 32 with a scale each: a quarter of the memory, about
   *  2.5× the speed). Sums
   *  are float32 in every case. */
  dtype?: WeightDtype;
  /** Streams computed together; more requests wait (default 16). */
  maxStreams?: number;
  /** Prompt tokens read per engine step, shared by the prompts being read (default 64). */
  prefillChunk?: number;
  /** Where the one-line backend fallback warning goes (default: stderr). */
  warn?: (line: string) => void;
  /** Run the engine on this thread instead of a worker: for a one-shot command with nothing else to do,
   *  which then need not start a worker (compute blocks this thread between messages). Default false. */
  inProcess?: boolean;
}

/** Loads a model directory on the best available backend (see LoadOptions). */
export async function load(dir: string, options: LoadOptions = {}): Promise<TextModel> {
  const { config, tokenizer } = readModelConfig(dir);
  const engine: Partial<EngineOptions> = {};
  if (options.maxStreams !== undefined) engine.maxStreams = options.maxStreams;
  if (options.prefillChunk !== undefined) engine.prefillChunk = options.prefillChunk;
  const dtype = parseWeightDtype(options.dtype ?? 'f32', 'dtype');
  const init: WorkerInit = { dir, backend: options.backend, threads: options.threads, dtype, engine };
  return TextModel.connect({
    dir, config, tokenizer,
    host: options.inProcess ? inProcessHost(init) : workerHost(init),
    warn: options.warn ?? ((line: string) => process.stderr.write(line + '\n')),
    chatTemplate: () => readTemplate(dir),
  });
}

/** The engine's model of a worker's init: the directory on the backend it names. */
export function openDir(init: WorkerInit, warn: (line: string) => void): HostedModel {
  const threads = init.threads !== undefined ? { threads: init.threads } : {};
  return loadModel(init.dir, selectBackend(init.backend, { ...threads, warn }), [], { dtype: init.dtype });
}

/** A Node MessagePort (a worker's parentPort, one end of a MessageChannel) as the engine's port. */
export function enginePort(port: Pick<MessagePort, 'postMessage' | 'on'>): EnginePort {
  return { postMessage: (m) => port.postMessage(m), onMessage: (fn) => port.on('message', fn) };
}

function readTemplate(dir: string): ChatTemplate | null {
  const path = join(dir, TEMPLATE_FILE);
  return existsSync(path) ? { path, text: readFileSync(path, 'utf8') } : null;
}

function workerHost(init: WorkerInit): EngineLink {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  return {
    post: (m) => worker.postMessage(m),
    onMessage: (fn) => worker.on('message', fn),
    ref: () => worker.ref(),
    unref: () => worker.unref(),
    start: () => {},
    onFailure: (fn) => {
      worker.on('error', fn);
      worker.on('exit', () => fn(new Error('the model worker has stopped')));
    },
    close: async () => void (await worker.terminate()),
  };
}

function inProcessHost(init: WorkerInit): EngineLink {
  const { port1, port2 } = new MessageChannel();
  return {
    post: (m) => port1.postMessage(m),
    onMessage: (fn: (m: FromWorker) => void) => port1.on('message', fn),
    ref: () => port1.ref(),
    unref: () => port1.unref(),
    start: () => void hostEngine(enginePort(port2), (warn) => openDir(init, warn), init.engine),
    onFailure: () => {},
    close: async () => {
      port1.close();
      port2.close();
    },
  };
}
