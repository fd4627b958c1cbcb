// The page's training worker: makes the wasm backend (threads when the page is cross-origin isolated),
// prepares a TrainingSession from the texts and options it is sent (src/train/session.ts: the same step as
// `swat train`), then steps it, reporting every step and validation, until it is paused or done. It returns
// to its event loop between steps, so a pause or a request for the files is seen at once, and the buffers
// a step left as garbage can be collected (a page cannot collect synchronously).

import { createBrowserWasmBackend } from '../../backend/wasm/browser.js';
import { soon } from '../../api/soon.js';
import { parameterCount } from '../../config.js';
import { TrainingSession } from '../../train/session.js';
import type { FromTrainer, ToTrainer } from './train-protocol.js';

const scope = self as unknown as { postMessage(m: FromTrainer): void; onmessage: ((e: MessageEvent<ToTrainer>) => void) | null };
const post = (m: FromTrainer) => scope.postMessage(m);

let session: TrainingSession | null = null;
let running = false;
/** Time spent in steps since the run began, and the tokens/s window (restarted every few seconds). */
let elapsed = 0;
let window = { start: 0, tokens: 0 };

scope.onmessage = (e) => {
  const m = e.data;
  try {
    if (m.type === 'start') void start(m);
    else if (m.type === 'pause') running = false;
    else if (m.type === 'resume') run();
    else if (m.type === 'files') post({ type: 'files', files: requireSession().files() });
  } catch (err) {
    fail(err);
  }
};

async function start(m: Extract<ToTrainer, { type: 'start' }>): Promise<void> {
  try {
    const backend = await createBrowserWasmBackend(m.wasm);
    session = TrainingSession.create(m.spec, backend);
    const data = session.loop.data;
    post({
      type: 'prepared', backend: `${backend.name} (${backend.isa})`, threads: backend.threads, vocabSize: session.tokenizer.vocabSize,
      parameters: parameterCount(session.model.config), trainTokens: data.train.length, valTokens: data.val.length,
    });
    run();
  } catch (err) {
    fail(err);
  }
}

function requireSession(): TrainingSession {
  if (session === null) throw new Error('no training run yet');
  return session;
}

function run(): void {
  if (running || session === null) return;
  running = true;
  window = { start: performance.now(), tokens: 0 };
  soon(step);
}

function step(): void {
  const s = session!;
  const o = s.loop.options;
  if (!running) {
    post({ type: 'paused', step: s.loop.step });
    return;
  }
  try {
    const t0 = performance.now();
    const r = s.step();
    const now = performance.now();
    elapsed += (now - t0) / 1000;
    window.tokens += s.loop.tokensPerStep;
    const tokensPerSecond = (window.tokens * 1000) / Math.max(1, now - window.start);
    if (now - window.start > 5000) window = { start: now, tokens: 0 };
    post({ type: 'step', step: s.loop.step, maxSteps: o.maxSteps, loss: r.loss, lr: r.lr, skipped: r.skipped, tokensPerSecond, elapsed });
    const last = s.loop.step >= o.maxSteps;
    if ((o.evalInterval > 0 && s.loop.step % o.evalInterval === 0) || last) post({ type: 'eval', step: s.loop.step, valLoss: s.loop.validate() });
    if (last) {
      running = false;
      post({ type: 'done', step: s.loop.step });
      return;
    }
  } catch (err) {
    running = false;
    fail(err);
    return;
  }
  soon(step);
}

function fail(err: unknown): void {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
