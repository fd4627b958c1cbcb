// The library's high-level API: `load(dir)` starts a worker thread that owns the model (on the best backend
// available) and runs the continuous-batching engine; the returned TextModel talks to it by messages, so
// no compute ever runs on the caller's event loop. Every call is a stream of the engine: `generate` yields
// text pieces (never a split character), `complete` gathers them, `score` reads a text's log-probabilities,
// `chat` renders a conversation first. Many calls at once are batched together.
//
// Not here: HTTP (src/serve/), the engine itself (src/infer/engine.ts).

import { MessageChannel, Worker } from 'node:worker_threads';
import { nativeUnavailableReason } from '../backend/native.js';
import { type WeightDtype, parseWeightDtype } from '../backend/weight.js';
import type { SwatConfig } from '../config.js';
import { ConfigError, DataError, FormatError, InputError, SwatError } from '../errors.js';
import type { EngineOptions } from '../infer/engine.js';
import type { TokenLogprob } from '../infer/logprobs.js';
import { DEFAULT_SAMPLING } from '../infer/sample.js';
import type { FinishReason, StepOutput, StreamOptions } from '../infer/stream.js';
import { readModelConfig } from '../model/store.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Channel } from './channel.js';
import { hostEngine } from './engine-host.js';
import { type ChatFormat, type ChatMessage, chatFormat, checkMessages, historyBudget, trimHistory } from './chat.js';
import type { FromWorker, ToWorker, WorkerInit } from './protocol.js';

export interface LoadOptions {
  /** 'native' or 'reference'; default SWAT_BACKEND, else native when it is built. */
  backend?: string;
  /** Native backend threads; default SWAT_THREADS, else all cores. */
  threads?: number;
  /** The weights' dtype while computing: 'f32' (default), 'bf16' or 'f16' (half the memory and, decoding,
   *  about twice the speed), or 'q8' (8-bit blocks of 32 with a scale each: a quarter of the memory). Sums
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

export interface CompletionOptions {
  /** Tokens to generate at most (default 200). */
  maxTokens?: number;
  /** 0 = greedy (default 0.8). */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  repetitionPenalty?: number;
  repeatLastN?: number;
  /** Text that ends the completion (not included). */
  stop?: string | readonly string[];
  /** Sampling seed (default 0: the same call gives the same text). */
  seed?: number;
  /** Stop at the end-of-text token (default true). */
  stopAtEos?: boolean;
  signal?: AbortSignal;
}

export interface Completion {
  text: string;
  /** The generated token ids (including a final EOS). */
  tokens: number[];
  promptTokens: number;
  completionTokens: number;
  finishReason: FinishReason;
}

export interface ScoreResult {
  tokens: number[];
  /** logprobs[i] = log p(tokens[i+1] | tokens[0..i]). */
  logprobs: number[];
  sum: number;
  /** exp(−sum / scored tokens). */
  perplexity: number;
  /** −sum / ln 2 / UTF-8 bytes of the scored tokens; null without a tokenizer. */
  bitsPerByte: number | null;
}

/** What the engine reports for a stream: its start (prompt length), then each step's output. */
export type StreamEvent = { type: 'start'; promptTokens: number } | ({ type: 'step' } & StepOutput);

/** Low-level options of one engine stream: everything the engine understands (the server maps the OpenAI
 *  fields onto these). */
export type StreamRequest = Partial<StreamOptions> & { signal?: AbortSignal };

export interface ModelStats {
  /** Streams with a slot, and requests waiting for one. */
  active: number;
  queued: number;
  /** Tokens sampled since load. */
  tokens: number;
}

/** Tokens a stream may run ahead of its reader: one being read, one being computed. So an abort (or a
 *  reader that went away) stops the stream within one token of what was read. */
const LOOKAHEAD = 2;

const ERROR_CLASSES: Record<string, new (message: string) => Error> = { SwatError, InputError, FormatError, ConfigError, DataError };

function rebuild(e: { name: string; message: string }): Error {
  return new (ERROR_CLASSES[e.name] ?? Error)(e.message);
}

export class TextModel {
  readonly dir: string;
  readonly config: SwatConfig;
  /** null for a model over raw token ids (prompts are then id arrays). */
  readonly tokenizer: Tokenizer | null;
  /** The backend the worker computes on. */
  backend = '';
  private readonly host: EngineLink;
  private readonly requests = new Map<number, Channel<StreamEvent>>();
  private readonly started = new Set<number>();
  private nextId = 1;
  private credits = new Map<number, number>();
  private creditFlush: NodeJS.Immediate | null = null;
  private readonly stepListeners: ((seconds: number, tokens: number) => void)[] = [];
  private tokens = 0;
  private format: ChatFormat | null = null;
  private closed: Error | null = null;

  private constructor(dir: string, config: SwatConfig, tokenizer: Tokenizer | null, host: EngineLink) {
    this.dir = dir;
    this.config = config;
    this.tokenizer = tokenizer;
    this.host = host;
  }

  /** Reads the config and tokenizer here (so a bad directory fails at once), the weights in the worker. */
  static async load(dir: string, options: LoadOptions = {}): Promise<TextModel> {
    const { config, tokenizer } = readModelConfig(dir);
    // The native addon's thread pool belongs to the process, and Node unloads an addon that only a worker
    // loaded when that worker exits, under the pool threads' feet (a later load then deadlocks in the
    // pool). Loading it here too keeps it mapped for the life of the process.
    if (options.backend !== 'reference' && !options.inProcess) nativeUnavailableReason();
    const engine: Partial<EngineOptions> = {};
    if (options.maxStreams !== undefined) engine.maxStreams = options.maxStreams;
    if (options.prefillChunk !== undefined) engine.prefillChunk = options.prefillChunk;
    const dtype = parseWeightDtype(options.dtype ?? 'f32', 'dtype');
    const init: WorkerInit = { dir, backend: options.backend, threads: options.threads, dtype, engine };
    const host = options.inProcess ? inProcessHost(init) : workerHost(init);
    const model = new TextModel(dir, config, tokenizer, host);
    const warn = options.warn ?? ((line: string) => process.stderr.write(line + '\n'));
    await new Promise<void>((resolve, reject) => {
      host.port.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          model.backend = m.backend;
          resolve();
        } else if (m.type === 'failed') {
          void host.close();
          reject(rebuild(m.error));
        } else if (m.type === 'warn') {
          warn(m.line);
        } else {
          model.onStep(m);
        }
      });
      host.onFailure((e) => {
        reject(e);
        model.shutDown(e);
      });
      // The in-process host starts after the listener above exists, so that its first message is seen.
      host.start();
    });
    model.updateRef();
    return model;
  }

  /** Each engine step's duration and the tokens it sampled (for metrics). */
  onStepDone(listener: (seconds: number, tokens: number) => void): void {
    this.stepListeners.push(listener);
  }

  stats(): ModelStats {
    return { active: this.started.size, queued: this.requests.size - this.started.size, tokens: this.tokens };
  }

  /** The engine's events for one request, in order. Breaking out of the loop or aborting `signal` cancels
   *  the request; an abort rejects with the signal's reason. */
  async *events(prompt: string | readonly number[], request: StreamRequest = {}): AsyncGenerator<StreamEvent> {
    if (this.closed) throw this.closed;
    const { signal, ...options } = request;
    signal?.throwIfAborted();
    const id = this.nextId++;
    const channel = new Channel<StreamEvent>();
    this.requests.set(id, channel);
    this.updateRef();
    const onAbort = () => channel.fail(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    this.post({ type: 'submit', id, prompt: typeof prompt === 'string' ? prompt : [...prompt], options, credit: LOOKAHEAD });
    try {
      for (;;) {
        const event = await channel.next();
        if (event === null) return;
        yield event;
        if (event.type === 'step' && event.token !== null) this.giveCredit(id);
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (this.requests.has(id)) {
        this.post({ type: 'cancel', id });
        this.forget(id);
      }
    }
  }

  /** Text pieces of a completion as they are generated; no piece ends inside a UTF-8 character. */
  async *generate(prompt: string | readonly number[], options: CompletionOptions = {}): AsyncGenerator<string> {
    for await (const e of this.events(prompt, this.streamOptions(options))) if (e.type === 'step' && e.text !== '') yield e.text;
  }

  /** The whole completion with its token counts and why it ended. */
  async complete(prompt: string | readonly number[], options: CompletionOptions = {}): Promise<Completion> {
    let text = '';
    const tokens: number[] = [];
    let promptTokens = 0;
    let finishReason: FinishReason = 'length';
    for await (const e of this.events(prompt, this.streamOptions(options))) {
      if (e.type === 'start') {
        promptTokens = e.promptTokens;
        continue;
      }
      text += e.text;
      if (e.token !== null) tokens.push(e.token);
      if (e.finish) finishReason = e.finish;
    }
    return { text, tokens, promptTokens, completionTokens: tokens.length, finishReason };
  }

  /** Log-probability of every token of `input` given those before it (token ids are scored as given; text
   *  is encoded first, without adding a document start). */
  async score(input: string | readonly number[], options: { signal?: AbortSignal } = {}): Promise<ScoreResult> {
    const ids = typeof input === 'string' ? this.requireTokenizer().encode(input) : [...input];
    if (ids.length === 0) throw new InputError('score: the text is empty');
    const logprobs: TokenLogprob[] = [];
    for await (const e of this.events(ids, { maxTokens: 0, echo: true, ...options })) if (e.type === 'step') logprobs.push(...e.promptLogprobs);
    const values = logprobs.slice(1).map((l) => l.logprob!);
    const sum = values.reduce((a, b) => a + b, 0);
    const bytes = this.tokenizer ? this.tokenizer.decodeBytes(ids.slice(1)).length : 0;
    return {
      tokens: ids, logprobs: values, sum, perplexity: values.length ? Math.exp(-sum / values.length) : NaN,
      bitsPerByte: this.tokenizer && bytes > 0 ? -sum / Math.LN2 / bytes : null,
    };
  }

  /** The assistant's answer to a conversation, in text pieces. History the model cannot see any more is
   *  dropped from the oldest turn on (see chat.ts for the format). */
  async *chat(messages: readonly ChatMessage[], options: CompletionOptions = {}): AsyncGenerator<string> {
    const { ids, stop } = this.chatPrompt(messages);
    const extra = typeof options.stop === 'string' ? [options.stop] : options.stop ?? [];
    yield* this.generate(ids, { ...options, stop: [...stop, ...extra] });
  }

  /** A conversation's prompt ids and the stop strings of the chat format. */
  chatPrompt(messages: readonly ChatMessage[]): { ids: number[]; stop: readonly string[] } {
    const tokenizer = this.requireTokenizer();
    this.format ??= chatFormat(this.dir, this.config, tokenizer);
    const kept = trimHistory(this.format, checkMessages(messages), historyBudget(this.config));
    return { ids: this.format.encode(kept), stop: this.format.stop };
  }

  /** Ends the worker; requests still running fail. */
  async close(): Promise<void> {
    this.shutDown(new SwatError('the model was closed'));
    await this.host.close();
  }

  /** The engine's options for a library call. */
  streamOptions(o: CompletionOptions): StreamRequest {
    const eos = this.config.eos_token_id;
    const pick = <K extends keyof CompletionOptions>(k: K) => (o[k] !== undefined ? { [k]: o[k] } : {});
    return {
      ...pick('topK'), ...pick('topP'), ...pick('minP'), ...pick('repetitionPenalty'), ...pick('repeatLastN'), ...pick('seed'), ...pick('signal'),
      maxTokens: o.maxTokens ?? 200,
      stop: typeof o.stop === 'string' ? [o.stop] : [...(o.stop ?? [])],
      stopIds: o.stopAtEos === false || eos === null ? [] : [eos],
      temperature: o.temperature ?? DEFAULT_SAMPLING.temperature,
    };
  }

  private requireTokenizer(): Tokenizer {
    if (!this.tokenizer) throw new InputError(`${this.dir} has no tokenizer (raw token ids): give token ids instead of text`);
    return this.tokenizer;
  }

  private onStep(m: Extract<FromWorker, { type: 'step' }>): void {
    this.tokens += m.tokens;
    if (m.seconds > 0) for (const l of this.stepListeners) l(m.seconds, m.tokens);
    for (const e of m.events) {
      const channel = this.requests.get(e.id);
      if (!channel) continue;
      if (e.kind === 'start') {
        this.started.add(e.id);
        channel.push({ type: 'start', promptTokens: e.promptTokens });
      } else if (e.kind === 'error') {
        channel.fail(rebuild(e.error));
        this.forget(e.id);
      } else {
        channel.push({ type: 'step', ...e.out });
        if (e.out.finish !== null) {
          channel.end();
          this.forget(e.id);
        }
      }
    }
  }

  private giveCredit(id: number): void {
    this.credits.set(id, (this.credits.get(id) ?? 0) + 1);
    // Credits of one turn of the event loop travel in one message.
    this.creditFlush ??= setImmediate(() => {
      this.creditFlush = null;
      const credits = [...this.credits].filter(([rid]) => this.requests.has(rid));
      this.credits.clear();
      if (credits.length > 0) this.post({ type: 'credit', credits });
    });
  }

  private forget(id: number): void {
    this.requests.delete(id);
    this.started.delete(id);
    this.updateRef();
  }

  private post(m: ToWorker): void {
    if (!this.closed) this.host.port.postMessage(m);
  }

  /** The worker keeps the process alive only while a request is in flight. */
  private updateRef(): void {
    if (this.requests.size > 0) this.host.port.ref();
    else this.host.port.unref();
  }

  private shutDown(reason: Error): void {
    if (this.closed) return;
    this.closed = reason;
    for (const channel of this.requests.values()) channel.fail(reason);
    this.requests.clear();
    this.started.clear();
  }
}

/** Loads a model directory on the best available backend (see LoadOptions). */
export function load(dir: string, options: LoadOptions = {}): Promise<TextModel> {
  return TextModel.load(dir, options);
}

/** Where the engine runs, seen from the TextModel: a port to talk through, how it ends, and failures that
 *  are not a request's (a worker that crashed). */
interface EngineLink {
  port: {
    postMessage(m: ToWorker): void;
    on(event: 'message', fn: (m: FromWorker) => void): void;
    ref(): void;
    unref(): void;
  };
  start(): void;
  onFailure(fn: (e: Error) => void): void;
  close(): Promise<void>;
}

function workerHost(init: WorkerInit): EngineLink {
  const worker = new Worker(new URL('./worker.js', import.meta.url), { workerData: init });
  return {
    port: worker,
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
    port: port1,
    start: () => hostEngine(port2, init),
    onFailure: () => {},
    close: async () => {
      port1.close();
      port2.close();
    },
  };
}
