// A server on a loopback port over a model loaded in its worker, for the HTTP tests, and small HTTP
// helpers. Every wait is bounded by a count of attempts, so a test that goes wrong fails instead of hanging.

import assert from 'node:assert/strict';
import { after } from 'node:test';
import { type LoadOptions, type TextModel, load } from '../../src/api/model.js';
import { DEFAULT_SERVER, type ServerOptions, createServer } from '../../src/serve/server.js';

export interface TestServer {
  url: string;
  model: TextModel;
  close(): Promise<void>;
}

export async function startServer(dir: string, options: Partial<ServerOptions> = {}, loadOptions: LoadOptions = {}): Promise<TestServer> {
  const o = { ...DEFAULT_SERVER, name: 'test-model', ...options };
  const model = await load(dir, { backend: 'reference', maxStreams: o.maxStreams, ...loadOptions });
  const app = createServer(model, o);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    await app.close();
    await model.close();
  };
  after(close);
  return { url, model, close };
}

export async function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, json: await r.json(), headers: r.headers };
}

export async function getJson(url: string): Promise<any> {
  return (await fetch(url)).json();
}

/** Polls `probe` until it returns true, at most `tries` times, `ms` apart. */
export async function eventually(probe: () => Promise<boolean>, what: string, tries = 500, ms = 20): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, ms));
  }
  assert.fail(`${what}: not reached after ${tries} tries`);
}

/** The data lines of a server-sent-event body, parsed, up to [DONE] (which must end it). */
export function sseData(body: string): any[] {
  const lines = body.split('\n\n').filter((x) => x !== '').map((x) => x.replace(/^data: /, ''));
  assert.equal(lines[lines.length - 1], '[DONE]');
  return lines.slice(0, -1).map((x) => JSON.parse(x));
}
