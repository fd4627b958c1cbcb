// The worker thread behind a TextModel in Node: it only hosts the engine (engine-host.ts), so the caller's
// thread never computes.

import { parentPort, workerData } from 'node:worker_threads';
import { hostEngine } from './engine-host.js';
import { enginePort, openDir } from './model.js';
import type { WorkerInit } from './protocol.js';

const init = workerData as WorkerInit;
void hostEngine(enginePort(parentPort!), (warn) => openDir(init, warn), init.engine);
