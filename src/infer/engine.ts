// Continuous batching: the scheduler that owns the model and every stream's slot. Each `step` is one
// batched forward (`advance`): every active stream that may produce a token moves by one, and new prompts
// are read in chunks of a bounded budget in between, so a long prompt never stalls the streams already
// decoding. Requests beyond the slots wait in arrival order and take a slot as soon as one frees.
//
// Flow control: a stream produces a token only while it holds credit, which its consumer returns as it
// takes tokens, so a slow or gone reader never makes the engine run ahead (or buffer) more than `credit`
// tokens, and a cancel takes effect before the next step.
//
// Not here: threads (the library runs this in a worker), HTTP, queue limits (the caller bounds what it
// submits).

import { InputError, SwatError } from '../errors.js';
import type { SwatModel } from '../model/model.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type StepOutput, Stream, type StreamOptions, advance } from './stream.js';

export interface EngineOptions {
  /** Streams computed together at most; more requests wait for a slot. */
  maxStreams: number;
  /** Prompt tokens read per step, shared by every stream still reading its prompt. */
  prefillChunk: number;
  /** Spare cache rows per stream (KvCache slack): memory per stream stays near the window's. */
  cacheSlack: number;
}

export const DEFAULT_ENGINE: EngineOptions = { maxStreams: 16, prefillChunk: 64, cacheSlack: 8 };

export type EngineEvent =
  | { id: number; kind: 'start'; promptTokens: number }
  | { id: number; kind: 'out'; out: StepOutput }
  | { id: number; kind: 'error'; error: { name: string; message: string } };

export interface StepReport {
  events: EngineEvent[];
  /** Seconds the forward took, and tokens it sampled (0 when the step only read prompts). */
  seconds: number;
  tokens: number;
  /** Bytes of the active streams' caches after the step (each stays near its window, SWAT.md §4). */
  cacheBytes: number;
}

interface Pending {
  id: number;
  prompt: string | readonly number[];
  options: Partial<StreamOptions>;
  credit: number;
}

interface Slot {
  id: number;
  stream: Stream;
  credit: number;
}

export class Engine {
  private readonly options: EngineOptions;
  private readonly queue: Pending[] = [];
  private readonly slots: Slot[] = [];

  constructor(readonly model: SwatModel, readonly tokenizer: Tokenizer | null, options: Partial<EngineOptions> = {}) {
    this.options = { ...DEFAULT_ENGINE, ...options };
    for (const k of ['maxStreams', 'prefillChunk', 'cacheSlack'] as const) {
      const v = this.options[k];
      if (!Number.isInteger(v) || v < 1) throw new InputError(`engine: ${k} must be a positive integer, got ${v}`);
    }
  }

  /** Queues a request. `credit`: tokens it may produce before the consumer returns credit (Infinity: no
   *  flow control). */
  submit(id: number, prompt: string | readonly number[], options: Partial<StreamOptions>, credit = Infinity): void {
    this.queue.push({ id, prompt, options, credit });
  }

  /** Ends a request wherever it is; returns whether it was known. */
  cancel(id: number): boolean {
    const q = this.queue.findIndex((p) => p.id === id);
    if (q >= 0) {
      this.queue.splice(q, 1);
      return true;
    }
    const s = this.slots.findIndex((x) => x.id === id);
    if (s >= 0) this.slots.splice(s, 1);
    return s >= 0;
  }

  /** Gives a request `n` more tokens of credit. */
  credit(id: number, n: number): void {
    const entry = this.slots.find((x) => x.id === id) ?? this.queue.find((p) => p.id === id);
    if (entry) entry.credit += n;
  }

  get active(): number {
    return this.slots.length;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Whether a step would do anything: a queued request and a free slot, or a stream with credit. */
  get ready(): boolean {
    return (this.queue.length > 0 && this.slots.length < this.options.maxStreams) || this.slots.some((s) => s.credit > 0);
  }

  /** Starts queued requests in free slots, then runs one batched forward. */
  step(): StepReport {
    const events: EngineEvent[] = [];
    while (this.queue.length > 0 && this.slots.length < this.options.maxStreams) {
      const p = this.queue.shift()!;
      try {
        const stream = new Stream(this.model, this.promptIds(p.prompt), p.options, this.tokenizer, this.options.cacheSlack);
        this.slots.push({ id: p.id, stream, credit: p.credit });
        events.push({ id: p.id, kind: 'start', promptTokens: stream.pendingPrompt });
        // A request with nothing to compute (no tokens wanted) ends here.
        if (stream.finish !== null) this.finish(p.id, { token: null, text: '', promptLogprobs: [], logprob: null, finish: stream.finish }, events);
      } catch (e) {
        events.push({ id: p.id, kind: 'error', error: describe(e) });
      }
    }
    const stepping = this.slots.filter((s) => s.credit > 0);
    if (stepping.length === 0) return this.report(events, 0, 0);
    const t0 = performance.now();
    let outs: (StepOutput | null)[];
    try {
      outs = advance(this.model, stepping.map((s) => s.stream), this.options.prefillChunk);
    } catch (e) {
      // A failure inside the forward is a bug, not the request's fault; every stream in it ends.
      for (const s of stepping) this.finishWithError(s.id, e, events);
      return this.report(events, (performance.now() - t0) / 1000, 0);
    }
    const seconds = (performance.now() - t0) / 1000;
    let tokens = 0;
    stepping.forEach((s, i) => {
      const out = outs[i];
      if (!out) return;
      if (out.token !== null) {
        tokens++;
        s.credit--;
      }
      if (out.finish !== null) this.finish(s.id, out, events);
      else if (out.token !== null || out.promptLogprobs.length > 0) events.push({ id: s.id, kind: 'out', out });
    });
    return this.report(events, seconds, tokens);
  }

  private report(events: EngineEvent[], seconds: number, tokens: number): StepReport {
    return { events, seconds, tokens, cacheBytes: this.slots.reduce((n, s) => n + s.stream.cache.bytes, 0) };
  }

  private finish(id: number, out: StepOutput, events: EngineEvent[]): void {
    this.cancel(id);
    events.push({ id, kind: 'out', out });
  }

  private finishWithError(id: number, e: unknown, events: EngineEvent[]): void {
    this.cancel(id);
    events.push({ id, kind: 'error', error: describe(e) });
  }

  /** The prompt's ids; an empty prompt starts a document (EOS, else BOS), as every training text does. */
  private promptIds(prompt: string | readonly number[]): readonly number[] {
    let ids = prompt;
    if (typeof prompt === 'string') {
      if (!this.tokenizer) throw new InputError('the model has no tokenizer (raw token ids): give the prompt as token ids');
      ids = this.tokenizer.encode(prompt);
    }
    if (ids.length > 0) return ids as readonly number[];
    const start = this.model.config.eos_token_id ?? this.model.config.bos_token_id;
    if (start === null) throw new InputError('the prompt is empty and the model has no EOS or BOS token to start from');
    return [start];
  }
}

/** An error as plain data for a message across threads; user errors keep their class name. */
export function describe(e: unknown): { name: string; message: string } {
  if (e instanceof SwatError) return { name: e.name, message: e.message };
  return { name: 'Error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) };
}
