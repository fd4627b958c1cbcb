// The side of a TextModel that owns the model: loads it once, then runs the engine loop, one batched step at
// a time, returning to its event loop between steps so that new requests, cancels and credit are seen
// before the next token. It runs on a worker thread (worker.ts), so a server or an app stays responsive, or
// on the caller's thread for a one-shot command that has nothing else to do (no worker to start).

import type { MessagePort } from 'node:worker_threads';
import { selectBackend } from '../backend/index.js';
import { Engine, describe } from '../infer/engine.js';
import { loadModel } from '../model/store.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

/** The port a host talks through: a worker's parentPort, or one end of a MessageChannel. */
type Port = Pick<MessagePort, 'postMessage' | 'on'>;

export function hostEngine(port: Port, init: WorkerInit): void {
  const post = (m: FromWorker) => port.postMessage(m);
  let engine: Engine;
  try {
    const threads = init.threads !== undefined ? { threads: init.threads } : {};
    const backend = selectBackend(init.backend, { ...threads, warn: (line) => post({ type: 'warn', line }) });
    const { model, tokenizer } = loadModel(init.dir, backend, [], { dtype: init.dtype });
    engine = new Engine(model, tokenizer, init.engine);
    post({ type: 'ready', backend: backend.name });
  } catch (e) {
    post({ type: 'failed', error: describe(e) }); // the TextModel ends this host
    return;
  }

  let scheduled = false;
  const kick = () => {
    if (scheduled || !engine.ready) return;
    scheduled = true;
    setImmediate(tick);
  };
  const tick = () => {
    scheduled = false;
    const r = engine.step();
    if (r.events.length > 0 || r.tokens > 0) post({ type: 'step', ...r });
    kick();
  };

  port.on('message', (m: ToWorker) => {
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
}
