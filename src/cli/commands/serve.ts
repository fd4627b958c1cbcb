// swat serve: the OpenAI-compatible HTTP server (src/serve/server.ts) over a model loaded in a worker.

import { basename, resolve } from 'node:path';
import { createServer, DEFAULT_SERVER } from '../../serve/server.js';
import { type CommandSpec, COUNT, POSITIVE, type Parsed, type ValueCheck, int, posInt, str } from '../args.js';
import { DTYPE_OPTION, MODEL_OPTION, loadFrom } from '../inference.js';
import { print } from '../output.js';

export const PORT: ValueCheck = { test: (s) => COUNT.test(s) && Number(s) <= 65535, expected: 'a port number from 0 to 65535' };

export const serveCommand: CommandSpec = {
  name: 'serve',
  summary: 'serve the model over HTTP: OpenAI-style /v1/completions and /v1/chat/completions, continuous batching',
  usage: '-m DIR [--host 127.0.0.1] [--port 8080] [--max-streams N] [--api-key KEY]',
  options: {
    model: MODEL_OPTION,
    dtype: DTYPE_OPTION,
    host: { type: 'string', arg: 'HOST', help: 'address to listen on', default: '127.0.0.1' },
    port: { type: 'string', arg: 'PORT', check: PORT, help: 'port (0: any free one)', default: '8080' },
    'max-streams': { type: 'string', arg: 'N', check: POSITIVE, help: 'streams computed together', default: String(DEFAULT_SERVER.maxStreams) },
    'max-queue': { type: 'string', arg: 'N', check: COUNT, help: 'requests that may wait for a stream; more get 429', default: String(DEFAULT_SERVER.maxQueue) },
    'max-tokens': { type: 'string', arg: 'N', check: POSITIVE, help: 'the most tokens one request may ask for', default: String(DEFAULT_SERVER.maxTokens) },
    'body-limit': { type: 'string', arg: 'BYTES', check: POSITIVE, help: 'largest request body; larger gets 413', default: String(DEFAULT_SERVER.bodyLimit) },
    'api-key': { type: 'string', arg: 'KEY', help: 'require Authorization: Bearer KEY on /v1/* (default: SWAT_API_KEY, else none)' },
    name: { type: 'string', arg: 'NAME', help: 'model name in responses (default: the directory name)' },
    'prefill-chunk': { type: 'string', arg: 'N', check: POSITIVE, help: 'prompt tokens read per engine step', default: '64' },
  },
};

export async function runServe(v: Parsed): Promise<void> {
  const port = int(v, 'port')!;
  const maxStreams = posInt(v, 'max-streams')!;
  const model = await loadFrom(v, 'serve', { maxStreams, prefillChunk: posInt(v, 'prefill-chunk')! });
  const app = createServer(model, {
    name: str(v, 'name') ?? basename(resolve(model.dir)),
    maxStreams,
    maxQueue: int(v, 'max-queue')!,
    maxTokens: posInt(v, 'max-tokens')!,
    bodyLimit: posInt(v, 'body-limit')!,
    apiKey: str(v, 'api-key') ?? (process.env['SWAT_API_KEY'] || null),
  });
  const address = await app.listen({ host: str(v, 'host')!, port });
  print(`swat: serving ${model.dir} (${model.backend} backend) at ${address}\n`);
  // First signal: stop accepting, let requests in flight finish, then exit. A second one exits at once.
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    print(`swat: ${signal}: finishing requests in flight, then stopping\n`);
    void app.close().then(() => model.close()).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
