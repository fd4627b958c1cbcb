// The OpenAI wire format the server speaks: JSON schemas of the request bodies (checked by the HTTP layer
// before anything runs, no type coercion: a wrong type is a 400), the mapping of their fields onto the
// engine's stream options, and the response and server-sent-event shapes, including the `logprobs` object
// of completions that lm-evaluation-harness's `local-completions` model reads (echo + logprobs scores a
// prompt's tokens). Not here: routing, limits, metrics (server.ts).

import type { ChatMessage } from '../api/chat.js';
import type { StreamRequest } from '../api/model.js';
import type { TokenLogprob } from '../infer/logprobs.js';
import type { FinishReason } from '../infer/stream.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';

/** OpenAI's limits: 4 stop strings, 5 alternatives per completion token (chat allows 20). */
const MAX_STOPS = 4;
export const MAX_COMPLETION_LOGPROBS = 5;

const nullable = (schema: { type: string } & Record<string, unknown>) => ({ ...schema, type: [schema.type, 'null'] });
const tokenArray = { type: 'array', items: { type: 'integer', minimum: 0 } };

/** Sampling fields both endpoints share; top_k, min_p, repetition_penalty and ignore_eos are the usual
 *  extensions of local OpenAI-compatible servers. */
const SAMPLING_FIELDS = {
  model: { type: 'string' },
  max_tokens: nullable({ type: 'integer', minimum: 0 }),
  temperature: nullable({ type: 'number', minimum: 0, maximum: 2 }),
  top_p: nullable({ type: 'number', exclusiveMinimum: 0, maximum: 1 }),
  top_k: nullable({ type: 'integer', minimum: 0 }),
  min_p: nullable({ type: 'number', minimum: 0, maximum: 1 }),
  repetition_penalty: nullable({ type: 'number', exclusiveMinimum: 0 }),
  stop: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: MAX_STOPS }, { type: 'null' }] },
  seed: nullable({ type: 'integer' }),
  stream: nullable({ type: 'boolean' }),
  n: nullable({ type: 'integer', minimum: 1, maximum: 1 }),
  ignore_eos: nullable({ type: 'boolean' }),
  user: { type: 'string' },
};

export const COMPLETION_SCHEMA = {
  type: 'object',
  required: ['prompt'],
  properties: {
    ...SAMPLING_FIELDS,
    prompt: {
      anyOf: [
        { type: 'string' },
        { type: 'array', items: { type: 'string' }, minItems: 1 },
        { ...tokenArray, minItems: 1 },
        { type: 'array', items: { ...tokenArray, minItems: 1 }, minItems: 1 },
      ],
    },
    echo: nullable({ type: 'boolean' }),
    logprobs: nullable({ type: 'integer', minimum: 0, maximum: MAX_COMPLETION_LOGPROBS }),
  },
};

const messageContent = {
  anyOf: [
    { type: 'string' },
    { type: 'array', items: { type: 'object', required: ['type', 'text'], properties: { type: { const: 'text' }, text: { type: 'string' } } } },
  ],
};

export const CHAT_SCHEMA = {
  type: 'object',
  required: ['messages'],
  properties: {
    ...SAMPLING_FIELDS,
    messages: {
      type: 'array',
      minItems: 1,
      items: { type: 'object', required: ['role', 'content'], properties: { role: { enum: ['system', 'developer', 'user', 'assistant'] }, content: messageContent } },
    },
    max_completion_tokens: nullable({ type: 'integer', minimum: 0 }),
  },
};

/** What the fields with several accepted forms must be, for error messages. */
export const FIELD_FORMS: Record<string, string> = {
  prompt: 'a string, a list of strings, a list of token ids, or a list of token-id lists',
  stop: `a string or a list of at most ${MAX_STOPS} strings`,
  content: 'a string or a list of {type: "text", text} parts',
};

type Nullable<T> = T | null | undefined;

export interface SamplingBody {
  model?: string;
  max_tokens?: Nullable<number>;
  temperature?: Nullable<number>;
  top_p?: Nullable<number>;
  top_k?: Nullable<number>;
  min_p?: Nullable<number>;
  repetition_penalty?: Nullable<number>;
  stop?: Nullable<string | string[]>;
  seed?: Nullable<number>;
  stream?: Nullable<boolean>;
  ignore_eos?: Nullable<boolean>;
}

export interface CompletionBody extends SamplingBody {
  prompt: string | string[] | number[] | number[][];
  echo?: Nullable<boolean>;
  logprobs?: Nullable<number>;
}

export interface ChatBody extends SamplingBody {
  messages: { role: 'system' | 'developer' | 'user' | 'assistant'; content: string | { type: 'text'; text: string }[] }[];
  max_completion_tokens?: Nullable<number>;
}

/** The prompts of a completion request: one string or token array, or a list of them. */
export function promptList(prompt: CompletionBody['prompt']): (string | number[])[] {
  if (typeof prompt === 'string') return [prompt];
  if (prompt.length > 0 && typeof prompt[0] === 'number') return [prompt as number[]];
  return prompt as (string | number[])[];
}

/** OpenAI messages as the chat format's: "developer" is the newer name of "system"; text parts are joined. */
export function chatMessages(body: ChatBody): ChatMessage[] {
  return body.messages.map((m) => ({
    role: m.role === 'developer' ? 'system' : m.role,
    content: typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
}

/** The engine's options for a request. Without a seed each request draws one, as OpenAI's API does. */
export function streamRequest(body: SamplingBody, maxTokens: number, eos: number | null, extraStops: readonly string[] = []): StreamRequest {
  const stop = body.stop == null ? [] : typeof body.stop === 'string' ? [body.stop] : body.stop;
  return {
    maxTokens,
    temperature: body.temperature ?? 1,
    topP: body.top_p ?? 1,
    topK: body.top_k ?? 0,
    minP: body.min_p ?? 0,
    repetitionPenalty: body.repetition_penalty ?? 1,
    seed: body.seed ?? Math.floor(Math.random() * 2 ** 32),
    stop: [...extraStops, ...stop],
    stopIds: body.ignore_eos || eos === null ? [] : [eos],
  };
}

export interface LogprobsObject {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}

/** Accumulates the completion `logprobs` object token by token (prompt tokens first when echoed). */
export class LogprobsBuilder {
  readonly value: LogprobsObject = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
  private offset = 0;

  constructor(private readonly tokenizer: Tokenizer, private readonly top: number) {}

  add(t: TokenLogprob): void {
    const text = this.tokenizer.decode([t.id]);
    this.value.tokens.push(text);
    this.value.token_logprobs.push(t.logprob);
    this.value.top_logprobs.push(t.logprob === null ? null : Object.fromEntries((t.top ?? []).slice(0, this.top).map((x) => [this.tokenizer.decode([x.id]), x.logprob])));
    this.value.text_offset.push(this.offset);
    this.offset += text.length;
  }
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export function usage(prompt: number, completion: number): Usage {
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

export function completionChoice(index: number, text: string, logprobs: LogprobsObject | null, finish: FinishReason | null) {
  return { index, text, logprobs, finish_reason: finish };
}

export function chatChoice(index: number, content: string, finish: FinishReason | null) {
  return { index, message: { role: 'assistant', content }, logprobs: null, finish_reason: finish };
}

export function chatDelta(index: number, delta: { role?: 'assistant'; content?: string }, finish: FinishReason | null) {
  return { index, delta, logprobs: null, finish_reason: finish };
}

/** OpenAI's error object. */
export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null) {
  return { error: { message, type, param, code } };
}
