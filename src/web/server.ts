// The web app's server (`swat web`): the bundle of dist/web/ with the headers that make the page
// cross-origin isolated (so the wasm backend gets shared memory and threads), a public-domain book to try
// training on, and, with a model directory, that directory's model files for the page to load. Static
// files only: the page computes everything itself. Only names known in advance are served (the bundle's
// files as listed at start, the model's files by name), so no request reaches another path.
//
// Not here: the OpenAI-style API (src/serve/ is that server).

import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, extname, join, resolve } from 'node:path';
import { builtinCorpusPaths } from '../data/builtin.js';
import { InputError } from '../errors.js';
import { GENERATION_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, TOKENIZER_CONFIG_FILE } from '../model/companions.js';
import { CONFIG_FILE } from '../model/files.js';
import { readModelConfig } from '../model/store.js';
import { isWeightsFile } from '../io/sharded.js';
import { TOKENIZER_FILE } from '../tokenizer/hf-json.js';
import { fileURLToPath } from 'node:url';

/** Where the bundle is (build.ts writes it): dist/web/. */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url)); // from dist/src/web/

export interface WebServerOptions {
  host: string;
  port: number;
  /** A model directory to offer the page, or null. */
  model: string | null;
  /** The bundle to serve (default: dist/web/). */
  appDir?: string;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** The headers of every response: cross-origin isolation (COOP + COEP), and nothing guessed or cached. */
export const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json', '.json': 'application/json', '.txt': 'text/plain; charset=utf-8', '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
};

/** The book offered as a sample text. */
const SAMPLE_BOOK = 'carroll-alice.txt';

/** The files of a model directory the page needs: config, weights (one file or shards), tokenizer and
 *  the Hugging Face companions; never training state. */
function modelFileNames(dir: string): string[] {
  const wanted = (name: string) =>
    [CONFIG_FILE, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SPECIAL_TOKENS_MAP_FILE, GENERATION_CONFIG_FILE].includes(name) || isWeightsFile(name);
  return readdirSync(dir).filter((name) => wanted(name) && statSync(join(dir, name)).isFile()).sort();
}

/** The bundle's files by URL path ('/main.js', '/wasm/swat-simd128.wasm'). */
function appFiles(dir: string): Map<string, string> {
  if (!existsSync(join(dir, 'index.html'))) throw new InputError(`the web app is not built (${dir} has no index.html): run npm run build:web`);
  const files = new Map<string, string>();
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? entry.name : `${sub}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else files.set(`/${rel}`, join(dir, rel));
    }
  };
  walk('');
  files.set('/', join(dir, 'index.html'));
  return files;
}

export async function startWebServer(o: WebServerOptions): Promise<WebServer> {
  const files = appFiles(o.appDir ?? WEB_DIR);
  // A bad directory is one line now, naming it as typed (as the other commands do), not an error on the page.
  if (o.model !== null) readModelConfig(o.model);
  const modelDir = o.model === null ? null : resolve(o.model);
  const send = (res: ServerResponse, status: number, type: string, body: Buffer | string) => {
    res.writeHead(status, { ...ISOLATION_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, TYPES['.txt']!, 'only GET and HEAD\n');
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = files.get(path);
    if (file !== undefined) return send(res, 200, TYPES[extname(file)] ?? 'application/octet-stream', readFileSync(file));
    if (path === '/sample.txt') {
      const book = builtinCorpusPaths().find((p) => basename(p) === SAMPLE_BOOK);
      return book ? send(res, 200, TYPES['.txt']!, readFileSync(book)) : send(res, 404, TYPES['.txt']!, 'no sample text\n');
    }
    if (path === '/model/files.json') {
      // Without --model the list is null, not a 404 (a page's failed fetch shows as an error in its console).
      const listing = modelDir === null ? null : { name: basename(modelDir), files: modelFileNames(modelDir) };
      return send(res, 200, TYPES['.json']!, JSON.stringify(listing));
    }
    if (modelDir !== null && path.startsWith('/model/')) {
      const name = path.slice('/model/'.length);
      if (modelFileNames(modelDir).includes(name)) return send(res, 200, TYPES[extname(name)] ?? 'application/octet-stream', readFileSync(join(modelDir, name)));
    }
    send(res, 404, TYPES['.txt']!, 'not found\n');
  };
  const server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (e) {
      if (!res.headersSent) send(res, 500, TYPES['.txt']!, `${(e as Error).message}\n`);
    }
  });
  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, resolvePromise);
  });
  const { port } = server.address() as AddressInfo;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}/`,
    close: () => new Promise((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}
