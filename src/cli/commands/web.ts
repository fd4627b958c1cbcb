// swat web: serves the web app (src/web/), which trains and generates on the page, with a model
// directory to load when --model names one.

import { startWebServer } from '../../web/server.js';
import { type CommandSpec, type Parsed, int, str } from '../args.js';
import { print } from '../output.js';
import { PORT } from './serve.js';

export const webCommand: CommandSpec = {
  name: 'web',
  summary: 'serve the web app: train a model and generate from it in the browser (WebAssembly, threads when cross-origin isolated)',
  usage: '[--port 8000] [--host 127.0.0.1] [--model DIR]',
  options: {
    port: { type: 'string', arg: 'PORT', check: PORT, help: 'port (0: any free one)', default: '8000' },
    host: { type: 'string', arg: 'HOST', help: 'address to listen on', default: '127.0.0.1' },
    model: { type: 'string', arg: 'DIR', short: 'm', help: 'model directory the page loads at start' },
  },
};

export async function runWeb(v: Parsed): Promise<void> {
  const model = str(v, 'model') ?? null;
  const server = await startWebServer({ host: str(v, 'host')!, port: int(v, 'port')!, model });
  print(`swat: web app at ${server.url}${model === null ? '' : ` (model: ${model})`}; Ctrl-C stops it\n`);
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
