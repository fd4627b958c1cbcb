// The worker thread behind a TextModel: loads the model once, then runs the engine loop, one batched step
// at a time, returning to its event loop between steps so that new requests, cancels and credit are seen
// before the next token. The main thread never computes, so a server or an app stays responsive.

import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend/index.js';
import { Engine, describe } from '../infer/engine.js';
import { loadModel } from '../model/store.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

const port = parentPort!;
const post = (m: FromWorker) => port.postMessage(m);
const init = workerData as WorkerInit;

function start(): Engine | null {
  try {
    const threads = init.threads !== undefined ? { threads: init.threads } : {};
    const backend = selectBackend(init.backend, { ...threads, warn: (line) => post({ type: 'warn', line }) });
    const { model, tokenizer } = loadModel(init.dir, backend);
    const engine = new Engine(model, tokenizer, init.engine);
    post({ type: 'ready', backend: backend.name });
    return engine;
  } catch (e) {
    post({ type: 'failed', error: describe(e) }); // the main thread ends this worker
    return null;
  }
}

const engine = start();
let scheduled = false;

function kick(): void {
  if (scheduled || !engine?.ready) return;
  scheduled = true;
  setImmediate(tick);
}

function tick(): void {
  scheduled = false;
  const r = engine!.step();
  if (r.events.length > 0 || r.tokens > 0) post({ type: 'step', ...r });
  kick();
}

port.on('message', (m: ToWorker) => {
  if (!engine) return;
  switch (m.type) {
    case 'submit':
      engine.submit(m.id, m.prompt, m.options, m.credit);
      break;
    case 'cancel':
      engine.cancel(m.id);
      break;
    case 'credit':
      for (const [id, n] of m.credits) engine.credit(id, n);
      break;
  }
  kick();
});
