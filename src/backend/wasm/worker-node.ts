// Entry point of a wasm backend worker in Node (worker_threads): its WorkerInit arrives as workerData.

import { workerData } from 'node:worker_threads';

import type { WorkerInit } from './runtime.js';
import { runWorker } from './worker.js';

runWorker(workerData as WorkerInit);
