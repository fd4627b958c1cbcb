// The server's Prometheus metrics (text format at GET /metrics): requests by endpoint and outcome, active
// and queued streams, tokens generated, and time per token (the duration of the engine step that produced
// it: every stream in a step gets its token after that long). One registry per server, so several servers
// in one process (tests) do not share counts.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TextModel } from '../api/model.js';

export type Outcome = 'ok' | 'invalid' | 'unauthorized' | 'rejected' | 'cancelled' | 'error';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'endpoint' | 'outcome'>;
  private readonly tokens: Counter;
  private readonly timePerToken: Histogram;

  constructor(model: TextModel) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'swat_requests_total', help: 'HTTP requests by endpoint and outcome', labelNames: ['endpoint', 'outcome'], registers });
    new Gauge({ name: 'swat_streams_active', help: 'Streams being computed', registers, collect() { this.set(model.stats().active); } });
    new Gauge({ name: 'swat_streams_queued', help: 'Requests waiting for a stream slot', registers, collect() { this.set(model.stats().queued); } });
    this.tokens = new Counter({ name: 'swat_tokens_generated_total', help: 'Tokens sampled', registers });
    this.timePerToken = new Histogram({
      name: 'swat_time_per_token_seconds', help: 'Time per generated token (its engine step)', registers,
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    });
    model.onStepDone((seconds, tokens) => {
      if (tokens === 0) return;
      this.tokens.inc(tokens);
      for (let i = 0; i < tokens; i++) this.timePerToken.observe(seconds);
    });
  }

  request(endpoint: string, outcome: Outcome): void {
    this.requests.inc({ endpoint, outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The outcome an HTTP status stands for. */
export function outcomeOf(status: number): Outcome {
  if (status < 400) return 'ok';
  if (status === 401) return 'unauthorized';
  if (status === 429) return 'rejected';
  return status < 500 ? 'invalid' : 'error';
}
