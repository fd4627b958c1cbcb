// The OpenAI-compatible HTTP server over a TextModel: /v1/completions, /v1/chat/completions, /v1/models,
// /health and /metrics. Handlers only check, admit and relay: the model's worker runs every request's
// stream in one continuous-batching engine. Limits are enforced before any work: the body size (413), the
// schema (400, no coercion), max_tokens against the server's cap (400), the queue (429 with Retry-After),
// the API key (401). A client that disconnects cancels its streams at once, and a slow reader holds back
// only its own stream (the engine runs a stream at most one token ahead of what was sent).

import { timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { StreamEvent, StreamRequest, TextModel } from '../api/model.js';
import { SwatError, showValue } from '../errors.js';
import type { TokenLogprob } from '../infer/logprobs.js';
import type { FinishReason } from '../infer/stream.js';
import { ServerMetrics, type Outcome, outcomeOf } from './metrics.js';
import {
  CHAT_SCHEMA, COMPLETION_SCHEMA, type ChatBody, type CompletionBody, FIELD_FORMS, LogprobsBuilder,
  chatChoice, chatDelta, chatMessages, completionChoice, errorBody, promptList, streamRequest, usage,
} from './openai.js';

export interface ServerOptions {
  /** The model's name in responses and /v1/models. */
  name: string;
  /** Streams computed at once (the model's engine slots) and requests that may wait for one. */
  maxStreams: number;
  maxQueue: number;
  /** The most tokens one request may ask for; also the default of a chat answer. */
  maxTokens: number;
  /** Request bodies larger than this many bytes get 413. */
  bodyLimit: number;
  /** When set, /v1/* needs `Authorization: Bearer <key>`. */
  apiKey: string | null;
}

export const DEFAULT_SERVER: Omit<ServerOptions, 'name'> = { maxStreams: 16, maxQueue: 64, maxTokens: 4096, bodyLimit: 1 << 20, apiKey: null };

/** OpenAI's default max_tokens of a completion. */
const COMPLETION_DEFAULT_TOKENS = 16;

/** A request error with its HTTP status and the field it is about. */
class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly param: string | null = null, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

class ClientGone extends Error {
  override name = 'ClientGone';
}

const ERROR_TYPES: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 404: 'not_found_error', 413: 'invalid_request_error', 429: 'rate_limit_error' };

export function createServer(model: TextModel, options: ServerOptions): FastifyInstance {
  const o = options;
  const app = Fastify({ bodyLimit: o.bodyLimit, ajv: { customOptions: { coerceTypes: false, removeAdditional: false } } });
  const metrics = new ServerMetrics(model);
  const created = Math.floor(Date.now() / 1000);
  const tokenizer = model.tokenizer;
  const eos = model.config.eos_token_id;

  const send = (reply: FastifyReply, status: number, message: string, param: string | null = null) =>
    reply.code(status).send(errorBody(message, ERROR_TYPES[status] ?? (status >= 500 ? 'server_error' : 'invalid_request_error'), param));

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown; code?: string }, _req, reply) => {
    if (err instanceof HttpError) {
      void reply.headers(err.headers);
      return send(reply, err.status, err.message, err.param);
    }
    if (err.validation) {
      // A value that fits none of a field's forms fails every branch; the field's own description says more.
      const errors = err.validation as { instancePath: string; keyword: string; message?: string }[];
      const first = errors.find((e) => e.keyword === 'anyOf') ?? errors[0];
      const param = first?.instancePath.slice(1).replace(/\//g, '.') || null;
      const value = param === null ? undefined : valueAt(_req.body, first!.instancePath);
      const shown = value === undefined ? '' : `, got ${showValue(JSON.stringify(value))}`;
      const field = param?.split('.').pop() ?? '';
      const rule = first?.keyword === 'anyOf' && field in FIELD_FORMS
        ? `must be ${FIELD_FORMS[field]}`
        : (first?.message ?? 'is invalid').replace(/^must be (\w+),null$/, 'must be $1 or null');
      return send(reply, 400, `${param ?? 'the request body'} ${rule}${shown}`, param);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return send(reply, 413, `the request body is larger than the server's limit of ${o.bodyLimit} bytes`);
    if (err instanceof SwatError) return send(reply, 400, err.message);
    if (err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) return send(reply, err.statusCode, err.message);
    return send(reply, 500, `internal error: ${err.message}`);
  });
  app.setNotFoundHandler((req, reply) => send(reply, 404, `no route ${req.method} ${req.url}`));

  app.addHook('onRequest', async (req) => {
    if (o.apiKey === null || !req.url.startsWith('/v1/')) return;
    const given = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1] ?? '';
    if (!sameSecret(given, o.apiKey)) throw new HttpError(401, 'invalid or missing API key (send Authorization: Bearer <key>)');
  });
  // Requests whose handler knew better (a client that left, a stream's end) are counted there.
  const count = (req: FastifyRequest, outcome: Outcome) => {
    (req as Counted).counted = true;
    metrics.request(req.routeOptions.url ?? req.url, outcome);
  };
  app.addHook('onResponse', async (req, reply) => {
    if (req.url.startsWith('/v1/') && !(req as Counted).counted) count(req, outcomeOf(reply.statusCode));
  });

  app.get('/health', async () => ({ status: 'ok', ...model.stats() }));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  app.get('/v1/models', async () => ({ object: 'list', data: [{ id: o.name, object: 'model', created, owned_by: 'swat' }] }));

  /** Refuses a request that would overflow the queue, before anything starts. */
  const admit = (streams: number) => {
    const { active, queued } = model.stats();
    if (active + queued + streams > o.maxStreams + o.maxQueue) {
      throw new HttpError(429, `the server is busy (${active} streams running, ${queued} waiting); retry shortly`, null, { 'Retry-After': '1' });
    }
  };

  const tokenBudget = (requested: number | null | undefined, fallback: number, param: string) => {
    const n = requested ?? fallback;
    if (n > o.maxTokens) throw new HttpError(400, `${param} must be at most ${o.maxTokens} on this server, got ${n}`, param);
    return n;
  };

  const requireTokenizer = () => {
    if (!tokenizer) throw new HttpError(400, 'this model has no tokenizer (raw token ids): only token-array prompts without text output are possible');
    return tokenizer;
  };

  app.post('/v1/completions', { schema: { body: COMPLETION_SCHEMA } }, async (req, reply) => {
    const body = req.body as CompletionBody;
    const prompts = promptList(body.prompt);
    const tok = requireTokenizer();
    for (const p of prompts) if (typeof p !== 'string') checkTokenIds(p, model.config.vocab_size);
    const maxTokens = tokenBudget(body.max_tokens, COMPLETION_DEFAULT_TOKENS, 'max_tokens');
    const top = body.logprobs ?? null;
    const base: StreamRequest = { ...streamRequest(body, maxTokens, eos), echo: body.echo === true && top !== null, logprobs: top };
    admit(prompts.length);
    const id = `cmpl-${randomId()}`;
    const head = { id, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: o.name };
    const gone = watchClient(reply.raw);

    if (body.stream) {
      const sse = startEvents(reply);
      const outcome = await runAll(prompts, (prompt, index) => consume(model.events(prompt, { ...base, signal: gone.signal }), {
        onText: (text, finish) => sse.send({ ...head, choices: [completionChoice(index, text, null, finish)] }),
      }), sse, gone);
      count(req, outcome);
      return;
    }
    const results = await collectAll(prompts, (prompt, index) => {
      const lp = top !== null ? new LogprobsBuilder(tok, top) : null;
      let text = body.echo ? (typeof prompt === 'string' ? prompt : tok.decode(prompt)) : '';
      return consume(model.events(prompt, { ...base, signal: gone.signal }), {
        onText: (t) => (text += t),
        onLogprob: (l) => lp?.add(l),
      }).then((r) => ({ ...r, choice: completionChoice(index, text, lp?.value ?? null, r.finish) }));
    }, gone);
    if (!results) return leave(req, reply);
    return { ...head, choices: results.map((r) => r.choice), usage: sumUsage(results) };
  });

  app.post('/v1/chat/completions', { schema: { body: CHAT_SCHEMA } }, async (req, reply) => {
    const body = req.body as ChatBody;
    requireTokenizer();
    const maxTokens = tokenBudget(body.max_completion_tokens ?? body.max_tokens, o.maxTokens, body.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens');
    const { ids, stop } = model.chatPrompt(chatMessages(body));
    const request = streamRequest(body, maxTokens, eos, stop);
    admit(1);
    const head = { id: `chatcmpl-${randomId()}`, created: Math.floor(Date.now() / 1000), model: o.name };
    const gone = watchClient(reply.raw);

    if (body.stream) {
      const sse = startEvents(reply);
      const chunk = (delta: { role?: 'assistant'; content?: string }, finish: FinishReason | null) => sse.send({ ...head, object: 'chat.completion.chunk', choices: [chatDelta(0, delta, finish)] });
      chunk({ role: 'assistant', content: '' }, null);
      const outcome = await runAll([ids], (prompt) => consume(model.events(prompt, { ...request, signal: gone.signal }), {
        onText: (text, finish) => {
          if (text !== '') chunk({ content: text }, null);
          if (finish) chunk({}, finish);
        },
      }), sse, gone);
      count(req, outcome);
      return;
    }
    let content = '';
    const results = await collectAll([ids], (prompt) => consume(model.events(prompt, { ...request, signal: gone.signal }), { onText: (t) => (content += t) }), gone);
    if (!results) return leave(req, reply);
    return { ...head, object: 'chat.completion', choices: [chatChoice(0, content, results[0]!.finish)], usage: sumUsage(results) };
  });

  /** A client that left gets no answer; its connection is already closed. */
  const leave = (req: FastifyRequest, reply: FastifyReply) => {
    count(req, 'cancelled');
    reply.hijack();
    reply.raw.destroy();
  };

  return app;
}

interface Counted extends FastifyRequest {
  counted?: boolean;
}

interface StreamResult {
  promptTokens: number;
  completionTokens: number;
  finish: FinishReason;
}

/** Reads one request's engine events, handing text and log-probabilities on as they come. */
async function consume(
  events: AsyncGenerator<StreamEvent>,
  on: { onText: (text: string, finish: FinishReason | null) => void; onLogprob?: (l: TokenLogprob) => void },
): Promise<StreamResult> {
  const r: StreamResult = { promptTokens: 0, completionTokens: 0, finish: 'length' };
  for await (const e of events) {
    if (e.type === 'start') {
      r.promptTokens = e.promptTokens;
      continue;
    }
    for (const l of e.promptLogprobs) on.onLogprob?.(l);
    if (e.logprob) on.onLogprob?.(e.logprob);
    if (e.token !== null) r.completionTokens++;
    if (e.finish) r.finish = e.finish;
    if (e.text !== '' || e.finish) on.onText(e.text, e.finish);
  }
  return r;
}

/** Runs a non-streaming request's prompts together; null when the client left (nothing to answer). */
async function collectAll<T>(prompts: (string | number[])[], run: (p: string | number[], i: number) => Promise<T>, gone: ClientWatch): Promise<T[] | null> {
  try {
    return await Promise.all(prompts.map(run));
  } catch (e) {
    if (gone.signal.aborted) return null;
    throw e;
  } finally {
    gone.stop();
  }
}

/** Streams a request's prompts together as server-sent events, then `data: [DONE]`; returns the outcome.
 *  An error after the headers went out can only be told as one more event. */
async function runAll(prompts: (string | number[])[], run: (p: string | number[], i: number) => Promise<unknown>, sse: EventSink, gone: ClientWatch): Promise<Outcome> {
  try {
    await Promise.all(prompts.map(run));
    sse.done();
    return 'ok';
  } catch (e) {
    if (gone.signal.aborted) return 'cancelled';
    const invalid = e instanceof SwatError;
    sse.send(errorBody((e as Error).message, invalid ? 'invalid_request_error' : 'server_error'));
    sse.done();
    return invalid ? 'invalid' : 'error';
  } finally {
    gone.stop();
  }
}

interface EventSink {
  send(data: unknown): void;
  done(): void;
}

function startEvents(reply: FastifyReply): EventSink {
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
  return {
    send: (data) => {
      if (!raw.destroyed) raw.write(`data: ${JSON.stringify(data)}\n\n`);
    },
    done: () => {
      if (!raw.destroyed) raw.end('data: [DONE]\n\n');
    },
  };
}

interface ClientWatch {
  signal: AbortSignal;
  stop(): void;
}

/** An abort signal that fires when the client's connection closes before the response is complete. */
function watchClient(res: ServerResponse): ClientWatch {
  const controller = new AbortController();
  const onClose = () => {
    if (!res.writableFinished) controller.abort(new ClientGone('the client disconnected'));
  };
  res.on('close', onClose);
  return { signal: controller.signal, stop: () => res.off('close', onClose) };
}

function sumUsage(results: StreamResult[]) {
  return usage(results.reduce((a, r) => a + r.promptTokens, 0), results.reduce((a, r) => a + r.completionTokens, 0));
}

function checkTokenIds(ids: number[], V: number): void {
  const bad = ids.findIndex((id) => id >= V);
  if (bad >= 0) throw new HttpError(400, `prompt token id ${ids[bad]} at index ${bad} is outside the vocabulary [0, ${V})`, 'prompt');
}

/** The value at a JSON pointer ("/messages/0/role") of a request body. */
function valueAt(body: unknown, pointer: string): unknown {
  let x = body;
  for (const key of pointer.split('/').slice(1)) x = typeof x === 'object' && x !== null ? (x as Record<string, unknown>)[key] : undefined;
  return x;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function randomId(): string {
  return Math.random().toString(36).slice(2, 14);
}
