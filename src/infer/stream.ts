// One generation stream and the decode step every caller shares. A stream owns its rolling cache (SWAT.md
// §4, one sequence), its sampler (seeded, so its tokens do not depend on what it was batched with), the last
// few tokens for the repetition penalty and, with a tokenizer, its text decoder and stop strings. `advance`
// moves a set of streams by one batched forward: every decoding stream by one token, and prompts by chunks
// taken from a prefill budget. `generate` (one stream) and the server's engine (many) both call it, so a
// faster decode kernel lands in one place.
//
// Memory per stream: the cache (≈ L · 2 · ω · d floats) plus O(V + stop strings + repeatLastN); nothing
// grows with the text except the prompt the caller handed in.

import { InputError } from '../errors.js';
import { KvCache } from '../model/cache.js';
import type { StreamSegment, SwatModel } from '../model/model.js';
import { checkIds } from '../model/params.js';
import { Rng } from '../random.js';
import type { Floats } from '../tensor.js';
import type { Tokenizer } from '../tokenizer/tokenizer.js';
import { type TokenLogprob, tokenLogprob } from './logprobs.js';
import { DEFAULT_SAMPLING, type SamplingOptions, checkFiniteOutput, checkSampling, sampleToken } from './sample.js';
import { TextStream } from './text.js';

export type FinishReason = 'stop' | 'length';

export interface StreamOptions extends SamplingOptions {
  /** Tokens to generate at most (0: only read the prompt, e.g. to score it). */
  maxTokens: number;
  seed: number;
  /** Sampling one of these ends the stream (usually EOS); it produces no text. */
  stopIds: readonly number[];
  /** Producing one of these texts ends the stream; the text before it is the output. Needs a tokenizer. */
  stop: readonly string[];
  /** Return the log-probability of every prompt token (the first one's is null). */
  echo: boolean;
  /** Return the log-probability of every sampled token with this many alternatives; null = none. */
  logprobs: number | null;
}

export const DEFAULT_STREAM: StreamOptions = {
  ...DEFAULT_SAMPLING, maxTokens: 200, seed: 0, stopIds: [], stop: [], echo: false, logprobs: null,
};

/** The most alternatives a caller may ask for per token. */
export const MAX_TOP_LOGPROBS = 20;

/** What one step produced for one stream. */
export interface StepOutput {
  /** The token sampled in this step, if any. */
  token: number | null;
  /** Text safe to show now (with a tokenizer). */
  text: string;
  /** Log-probabilities of the prompt tokens read in this step (echo). */
  promptLogprobs: TokenLogprob[];
  /** Log-probability of the sampled token (logprobs). */
  logprob: TokenLogprob | null;
  /** Set when the stream has ended. */
  finish: FinishReason | null;
}

export function checkStreamOptions(o: StreamOptions, V: number): void {
  checkSampling(o);
  if (!Number.isInteger(o.maxTokens) || o.maxTokens < 0) throw new InputError(`max tokens must be a non-negative integer, got ${o.maxTokens}`);
  if (o.logprobs !== null && (!Number.isInteger(o.logprobs) || o.logprobs < 0 || o.logprobs > MAX_TOP_LOGPROBS)) {
    throw new InputError(`logprobs must be an integer from 0 to ${MAX_TOP_LOGPROBS}, got ${o.logprobs}`);
  }
  checkIds(o.stopIds, V, 'stop token id');
}

export class Stream {
  readonly cache: KvCache;
  readonly options: StreamOptions;
  private readonly prompt: readonly number[];
  /** Prompt tokens fed to the model so far. */
  private fed = 0;
  private readonly rng: Rng;
  /** The latest tokens, oldest first, for the repetition penalty (at most repeatLastN). */
  private recent: number[] = [];
  /** The token to feed next while decoding. */
  private last = -1;
  generated = 0;
  finish: FinishReason | null = null;
  private readonly text: TextStream | null;

  /** `prompt` must be non-empty (start a document with EOS or BOS). `slack`: see KvCache. */
  constructor(model: SwatModel, prompt: readonly number[], options: Partial<StreamOptions>, tokenizer: Tokenizer | null = null, slack?: number) {
    const o = { ...DEFAULT_STREAM, ...options };
    checkStreamOptions(o, model.config.vocab_size);
    if (prompt.length === 0) throw new InputError('the prompt is empty: start it with the EOS or BOS token');
    checkIds(prompt, model.config.vocab_size);
    if (o.stop.length > 0 && tokenizer === null) throw new InputError('stop strings need a model with a tokenizer');
    this.options = o;
    this.prompt = prompt;
    this.cache = new KvCache(model.config, model.backend, 1, slack);
    this.rng = new Rng(o.seed);
    this.text = tokenizer ? new TextStream(tokenizer, o.stop) : null;
    for (const id of prompt.slice(-o.repeatLastN)) this.remember(id);
    // Nothing to compute: no token wanted and the prompt's own log-probabilities not asked for.
    if (o.maxTokens === 0 && !o.echo) this.finish = 'length';
  }

  get prefilling(): boolean {
    return this.fed < this.prompt.length;
  }

  /** Prompt tokens still to be read. */
  get pendingPrompt(): number {
    return this.prompt.length - this.fed;
  }

  /** This stream's rows for the next step: one token while decoding, else up to `budget` prompt tokens
   *  (null when the budget is spent or the stream has ended). */
  segment(budget: number): StreamSegment | null {
    if (this.finish !== null) return null;
    if (!this.prefilling) return { ids: Int32Array.of(this.last), cache: this.cache, logits: 'last' };
    if (budget < 1) return null;
    const ids = Int32Array.from(this.prompt.slice(this.fed, this.fed + budget));
    const lastChunk = this.fed + ids.length === this.prompt.length;
    return { ids, cache: this.cache, logits: this.options.echo ? 'all' : lastChunk ? 'last' : 'none' };
  }

  /** Takes the logits of the rows `segment` asked for (rows × V) after the forward. */
  accept(seg: StreamSegment, logits: Floats, V: number): StepOutput {
    const out: StepOutput = { token: null, text: '', promptLogprobs: [], logprob: null, finish: null };
    let lastRow: Floats | null = logits.length ? logits.subarray(logits.length - V) : null;
    if (this.prefilling) {
      if (this.options.echo) {
        const top = this.options.logprobs ?? 0;
        if (this.fed === 0) out.promptLogprobs.push({ id: this.prompt[0]!, logprob: null, ...(top > 0 ? { top: [] } : {}) });
        const scored: TokenLogprob[] = [];
        for (let r = 0; r < seg.ids.length; r++) {
          const next = this.fed + r + 1;
          if (next < this.prompt.length) scored.push(tokenLogprob(logits.subarray(r * V, (r + 1) * V), this.prompt[next]!, top));
        }
        checkFiniteOutput(scored.map((t) => -t.logprob!), 'loss');
        out.promptLogprobs.push(...scored);
      }
      this.fed += seg.ids.length;
      if (this.prefilling) return out;
      if (this.options.maxTokens === 0) lastRow = null;
    }
    if (lastRow === null) return this.end(out, 'length');
    const id = sampleToken(lastRow, this.options, this.rng, this.recent);
    this.generated++;
    this.last = id;
    this.remember(id);
    out.token = id;
    if (this.options.logprobs !== null) out.logprob = tokenLogprob(lastRow, id, this.options.logprobs);
    if (this.options.stopIds.includes(id)) return this.end(out, 'stop');
    if (this.text) {
      out.text = this.text.push(id);
      if (this.text.stopped) return this.end(out, 'stop');
    }
    if (this.generated >= this.options.maxTokens) return this.end(out, 'length');
    return out;
  }

  private end(out: StepOutput, reason: FinishReason): StepOutput {
    if (this.text) out.text += this.text.end();
    this.finish = reason;
    out.finish = reason;
    return out;
  }

  private remember(id: number): void {
    if (this.options.repeatLastN === 0) return;
    if (this.recent.length === this.options.repeatLastN) this.recent.shift();
    this.recent.push(id);
  }
}

/** One batched forward over `streams`: each decoding stream advances by one token, prefilling streams read
 *  prompt chunks while `prefillBudget` tokens last (in order, so the first one always gets a chunk and
 *  every step makes progress). Returns each stream's output, null for those that sat this step out. */
export function advance(model: SwatModel, streams: readonly Stream[], prefillBudget: number): (StepOutput | null)[] {
  if (!Number.isInteger(prefillBudget) || prefillBudget < 1) throw new InputError(`prefill chunk must be a positive integer, got ${prefillBudget}`);
  const segments: (StreamSegment | null)[] = [];
  let budget = prefillBudget;
  for (const s of streams) {
    const seg = s.segment(budget);
    if (seg && s.prefilling) budget -= seg.ids.length;
    segments.push(seg);
  }
  const active = segments.filter((x): x is StreamSegment => x !== null);
  if (active.length === 0) return streams.map(() => null);
  const logits = model.forwardStreams(active);
  const V = model.config.vocab_size;
  let row = 0;
  return streams.map((s, i) => {
    const seg = segments[i];
    if (!seg) return null;
    const rows = seg.logits === 'all' ? seg.ids.length : seg.logits === 'last' ? 1 : 0;
    const out = s.accept(seg, logits.subarray(row * V, (row + rows) * V), V);
    row += rows;
    return out;
  });
}
