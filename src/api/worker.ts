// The worker thread behind a TextModel: it only hosts the engine (engine-host.ts), so the caller's thread
// never computes.

import { parentPort, workerData } from 'node:worker_threads';
import { hostEngine } from './engine-host.js';
import type { WorkerInit } from './protocol.js';

hostEngine(parentPort!, workerData as WorkerInit);
