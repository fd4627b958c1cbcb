// The library's high-level model, host-neutral: a TextModel talks by messages to the engine that owns the
// model (on a worker thread in Node, in a Web Worker on a page, or on the caller's own thread), so no
// compute runs on the caller's event loop. Every call is a stream of the engine: `generate` yields text
// pieces (never a split character), `complete` gathers them, `score` reads a text's log-probabilities,
// `chat` renders a conversation first. Many calls at once are batched together.
//
// Not here: starting the engine (model.ts in Node, browser.ts on a page), HTTP (src/serve/), the engine
// itself (src/infer/engine.ts).

import type { SwatConfig } from '../config.js';
import { ConfigError, DataError, FormatError, InputError, SwatError } from '../errors.js';
import type { TokenLogprob } from '../infer/logprobs.js';
import { DEFAULT_SAMPLING } from '../infer/sample.js';
import type { FinishReason, StepOutput, StreamOptions } from '../infer/stream.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { Channel } from './channel.js';
import { type ChatFormat, type ChatMessage, type ChatTemplate, chatFormat, checkMessages, historyBudget, trimHistory } from './chat.js';
import type { FromWorker, ToWorker } from './protocol.js';
import { soon } from './soon.js';

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
  /** Bytes of the active streams' window caches after the engine's last step. */
  cacheBytes: number;
}

/** Tokens a stream may run ahead of its reader: one being read, one being computed. So an abort (or a
 *  reader that went away) stops the stream within one token of what was read. */
const LOOKAHEAD = 2;

const ERROR_CLASSES: Record<string, new (message: string) => Error> = { SwatError, InputError, FormatError, ConfigError, DataError };

function rebuild(e: { name: string; message: string }): Error {
  return new (ERROR_CLASSES[e.name] ?? Error)(e.message);
}

export class TextModel {
  /** The model's directory, or the name of the files a page was given. */
  readonly dir: string;
  readonly config: SwatConfig;
  /** null for a model over raw token ids (prompts are then id arrays). */
  readonly tokenizer: Tokenizer | null;
  /** The backend the worker computes on. */
  backend = '';
  private readonly host: EngineLink;
  private readonly chatTemplate: () => ChatTemplate | null;
  private readonly requests = new Map<number, Channel<StreamEvent>>();
  private readonly started = new Set<number>();
  private nextId = 1;
  private credits = new Map<number, number>();
  private creditFlush = false;
  private readonly stepListeners: ((seconds: number, tokens: number) => void)[] = [];
  private tokens = 0;
  private cacheBytes = 0;
  private format: ChatFormat | null = null;
  private closed: Error | null = null;

  private constructor(dir: string, config: SwatConfig, tokenizer: Tokenizer | null, host: EngineLink, chatTemplate: () => ChatTemplate | null) {
    this.dir = dir;
    this.config = config;
    this.tokenizer = tokenizer;
    this.host = host;
    this.chatTemplate = chatTemplate;
  }

  /** The model behind `host` once its engine is ready (its config and tokenizer were read by the caller,
   *  so a bad directory fails before the engine starts): the load functions of each host call this. */
  static async connect(o: ConnectOptions): Promise<TextModel> {
    const { host } = o;
    const model = new TextModel(o.dir, o.config, o.tokenizer, host, o.chatTemplate);
    await new Promise<void>((resolve, reject) => {
      host.onMessage((m: FromWorker) => {
        if (m.type === 'ready') {
          model.backend = m.backend;
          resolve();
        } else if (m.type === 'failed') {
          void host.close();
          reject(rebuild(m.error));
        } else if (m.type === 'warn') {
          o.warn(m.line);
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
    return { active: this.started.size, queued: this.requests.size - this.started.size, tokens: this.tokens, cacheBytes: this.cacheBytes };
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
    this.format ??= chatFormat(this.chatTemplate(), this.config, tokenizer);
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
    this.cacheBytes = m.cacheBytes;
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
    if (this.creditFlush) return;
    this.creditFlush = true;
    soon(() => {
      this.creditFlush = false;
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
    if (!this.closed) this.host.post(m);
  }

  /** The worker keeps the process alive only while a request is in flight. */
  private updateRef(): void {
    if (this.requests.size > 0) this.host.ref();
    else this.host.unref();
  }

  private shutDown(reason: Error): void {
    if (this.closed) return;
    this.closed = reason;
    for (const channel of this.requests.values()) channel.fail(reason);
    this.requests.clear();
    this.started.clear();
  }
}

/** Where the engine runs, seen from the TextModel: how to talk to it, whether it keeps the process alive,
 *  how it ends, and failures that are not a request's (a worker that crashed). */
export interface EngineLink {
  post(m: ToWorker): void;
  onMessage(fn: (m: FromWorker) => void): void;
  /** Whether the link keeps a Node process alive (no-ops elsewhere). */
  ref(): void;
  unref(): void;
  start(): void;
  onFailure(fn: (e: Error) => void): void;
  close(): Promise<void>;
}

export interface ConnectOptions {
  dir: string;
  config: SwatConfig;
  tokenizer: Tokenizer | null;
  host: EngineLink;
  /** Where the warning lines of the engine's host go. */
  warn: (line: string) => void;
  /** The model's tokenizer_config.json, read when a chat first needs it (null: the directory has none). */
  chatTemplate: () => ChatTemplate | null;
}
