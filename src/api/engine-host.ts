// The side of a TextModel that owns the model: opens it once, then runs the engine loop, one batched step at
// a time, returning to its event loop between steps so that new requests, cancels and credit are seen
// before the next token. Host-neutral: it runs on a Node worker thread (worker.ts), on the caller's thread
// for a one-shot command that has nothing else to do (no worker to start), or in a page's Web Worker
// (browser-worker.ts); each says how to open the model and hands over a port.

import { Engine, type EngineOptions, describe } from '../infer/engine.js';
import type { SwatModel } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { soon } from './soon.js';

/** The port a host talks through: a worker's parentPort, one end of a MessageChannel, a Web Worker's scope. */
export interface EnginePort {
  postMessage(m: FromWorker): void;
  onMessage(fn: (m: ToWorker) => void): void;
}

export interface HostedModel {
  model: SwatModel;
  tokenizer: Tokenizer | null;
}

/** Opens the model (`open` may warn, e.g. of a backend fallback) and serves the engine on `port`. The
 *  TextModel posts nothing before 'ready', so requests are listened for from then on. */
export async function hostEngine(port: EnginePort, open: (warn: (line: string) => void) => HostedModel | Promise<HostedModel>,
  options: Partial<EngineOptions>): Promise<void> {
  const post = (m: FromWorker) => port.postMessage(m);
  let engine: Engine;
  try {
    const { model, tokenizer } = await open((line) => post({ type: 'warn', line }));
    engine = new Engine(model, tokenizer, options);
    post({ type: 'ready', backend: model.backend.name });
  } catch (e) {
    post({ type: 'failed', error: describe(e) }); // the TextModel ends this host
    return;
  }

  let scheduled = false;
  const kick = () => {
    if (scheduled || !engine.ready) return;
    scheduled = true;
    soon(tick);
  };
  const tick = () => {
    scheduled = false;
    const r = engine.step();
    if (r.events.length > 0 || r.tokens > 0) post({ type: 'step', ...r });
    kick();
  };

  port.onMessage((m) => {
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
