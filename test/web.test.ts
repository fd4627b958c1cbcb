// The web app's Node-side parts, without a browser: the in-memory training session the page runs (falling
// loss, files that load back bit for bit, the one-line errors), model files read from memory as the page
// reads them (the same checks and values as from disk, shards included), and `swat web`'s server (the
// isolation headers on every response, only the bundle's and the model's files, one-line errors).

import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference.js';
import { createWasmBackend } from '../src/backend/wasm/node.js';
import { readBuiltinCorpus } from '../src/data/builtin.js';
import { DataError, InputError, TrainingError } from '../src/errors.js';
import { memoryDir } from '../src/io/bytes.js';
import { openModel } from '../src/model/files.js';
import { loadModel } from '../src/model/store.js';
import type { TrainOptions } from '../src/train/loop.js';
import { type SessionSpec, TrainingSession } from '../src/train/session.js';
import { ISOLATION_HEADERS, WEB_DIR, type WebServer, startWebServer } from '../src/web/server.js';
import { fails, failsWith, ok } from './support/cli.js';
import { fixtureTree } from './support/files.js';

const { root } = fixtureTree('swat-web-');
const alice = readBuiltinCorpus().find((d) => d.source.endsWith('carroll-alice.txt'))!.text;

const TRAIN: TrainOptions = {
  seqLen: 64, batchSize: 4, gradAccum: 1, maxSteps: 40, lr: 3e-3, minLr: 3e-4, warmupSteps: 5, weightDecay: 0.1, beta1: 0.9,
  beta2: 0.95, adamEps: 1e-8, gradClip: 1, evalInterval: 0, evalBatches: 2, checkpointInterval: 0, seed: 7,
};

function spec(o: Partial<SessionSpec> = {}, train: Partial<TrainOptions> = {}): SessionSpec {
  return {
    texts: [alice.slice(0, 60_000)], tokenizer: { kind: 'byte' },
    architecture: { layers: 2, dim: 32, heads: 2, window: 16 }, train: { ...TRAIN, ...train }, ...o,
  };
}

function bytesOf(files: Record<string, Uint8Array | string>): Map<string, Uint8Array> {
  return new Map(Object.entries(files).map(([name, data]) => [name, typeof data === 'string' ? new TextEncoder().encode(data) : data]));
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected an error');
}

describe('training in memory (the page’s session)', () => {
  it('trains with falling loss on the wasm backend, and its files load back bit for bit', () => {
    const session = TrainingSession.create(spec(), createWasmBackend({ threads: 1 }));
    const losses = Array.from({ length: 40 }, () => session.step().loss);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    assert.ok(mean(losses.slice(-5)) < mean(losses.slice(0, 5)) - 1, `${losses[0]} → ${losses.at(-1)}`);
    assert.ok(session.loop.validate() < losses[0]!);
    const files = session.files();
    assert.deepEqual(Object.keys(files).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json']);
    const back = openModel(memoryDir('trained', bytesOf(files)), new ReferenceBackend('float32'));
    assert.deepEqual(back.model.config, session.model.config);
    assert.deepEqual(back.model.params.flat, session.model.params.flat);
    assert.deepEqual(back.metadata, { format: 'pt', step: '40' });
    assert.equal(back.tokenizer?.decode(back.tokenizer.encode('Alice')), 'Alice');
  });

  it('learns a BPE vocabulary from the text when asked', () => {
    const session = TrainingSession.create(spec({ tokenizer: { kind: 'bpe', vocabSize: 400 } }), new ReferenceBackend('float32'));
    assert.equal(session.tokenizer.vocabSize, 400);
    assert.equal(session.model.config.vocab_size, 400);
    assert.ok(session.tokenizer.encode('the Queen').length < 'the Queen'.length);
  });

  it('says in one line when there is no text, or too little for a sequence', () => {
    const be = new ReferenceBackend('float32');
    const e = errorOf(() => TrainingSession.create(spec({ texts: ['', ''] }), be));
    assert.ok(e instanceof DataError);
    assert.equal(e.message, 'no training text: paste or add some text first');
    const short = errorOf(() => TrainingSession.create(spec({ texts: ['Down the Rabbit-Hole'] }), be));
    assert.ok(short instanceof DataError);
    assert.equal(short.message, 'the text is 21 tokens; sequences of 64 tokens need at least 130 (one to train on, one held out): add text or shorten the sequence length');
  });

  it('stops a diverging run with a TrainingError instead of training on', () => {
    const session = TrainingSession.create(spec({}, { lr: 1e30, warmupSteps: 0, gradClip: 0 }), new ReferenceBackend('float32'));
    const e = errorOf(() => {
      for (let i = 0; i < 40; i++) session.step();
    });
    assert.ok(e instanceof TrainingError, String(e));
    assert.match(e.message, /^training diverged at step \d+: .*; lower the learning rate \(peak 1e\+30, gradient clipping off\)$/);
  });
});

describe('model files from memory', () => {
  it('load as from disk, a sharded export included, and name the file in their errors', () => {
    const dir = join(root, 'model');
    ok('init', '--out', dir, '--tokenizer', 'byte', '--layers', '2', '--dim', '32', '--heads', '2', '--window', '8');
    const sharded = join(root, 'sharded');
    ok('export', '--model', dir, '--out', sharded, '--dtype', 'bf16', '--max-shard-size', '10KB');
    const be = new ReferenceBackend('float32');
    for (const d of [dir, sharded]) {
      const files = new Map(readdirSync(d).map((name) => [name, new Uint8Array(readFileSync(join(d, name)))]));
      assert.deepEqual(openModel(memoryDir('m', files), be).model.params.flat, loadModel(d, be).model.params.flat);
    }
    const files = new Map(readdirSync(sharded).map((name) => [name, new Uint8Array(readFileSync(join(sharded, name)))]));
    const index = 'model.safetensors.index.json';
    const missing = [...files.keys()].find((n) => n.startsWith('model-00002'))!;
    files.delete(missing);
    assert.equal(errorOf(() => openModel(memoryDir('m', files), be)).message, `m/${index} names shard "${missing}", which is not in the directory`);
    const e = errorOf(() => openModel(memoryDir('m', new Map()), be));
    assert.ok(e instanceof InputError);
    assert.equal(e.message, 'm/config.json not found: not a model directory');
  });
});

describe('swat web', () => {
  let server: WebServer;
  let modelDir = '';
  before(async () => {
    modelDir = join(root, 'served');
    ok('init', '--out', modelDir, '--tokenizer', 'byte', '--layers', '1', '--dim', '16', '--heads', '2', '--window', '4');
    writeFileSync(join(modelDir, 'optimizer.safetensors'), 'training state');
    writeFileSync(join(modelDir, 'trainer_state.json'), '{}');
    server = await startWebServer({ host: '127.0.0.1', port: 0, model: modelDir });
  });
  after(() => server.close());

  const get = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(new URL(path, server.url), init);
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) assert.equal(r.headers.get(name), value, `${name} on ${path}`);
    return r;
  };

  it('serves the bundle with the headers of cross-origin isolation, each file with its type', async () => {
    for (const [path, type] of [['/', 'text/html; charset=utf-8'], ['/main.js', 'text/javascript; charset=utf-8'], ['/wasm/swat-simd128-threads.wasm', 'application/wasm'], ['/sample.txt', 'text/plain; charset=utf-8']]) {
      const r = await get(path!);
      assert.equal(r.status, 200, path);
      assert.equal(r.headers.get('content-type'), type, path);
    }
    assert.equal(await (await get('/index.html')).text(), readFileSync(join(WEB_DIR, 'index.html'), 'utf8'));
    assert.match(await (await get('/sample.txt')).text(), /^\[Alice's Adventures in Wonderland/);
  });

  it('serves the model’s files and nothing else of its directory, nor anything outside', async () => {
    assert.deepEqual(await (await get('/model/files.json')).json(), {
      name: 'served', files: ['config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json'],
    });
    assert.deepEqual(new Uint8Array(await (await get('/model/model.safetensors')).arrayBuffer()), new Uint8Array(readFileSync(join(modelDir, 'model.safetensors'))));
    for (const path of ['/model/optimizer.safetensors', '/model/trainer_state.json', '/model/..%2Fpackage.json', '/%2e%2e/package.json', '/model/', '/nothing']) {
      assert.equal((await get(path)).status, 404, path);
    }
    assert.equal((await get('/', { method: 'POST' })).status, 405);
  });

  it('lists no model without --model, and fails in one line on a bad one or an unbuilt bundle', async () => {
    const bare = await startWebServer({ host: '127.0.0.1', port: 0, model: null });
    try {
      assert.equal(await (await fetch(new URL('/model/files.json', bare.url))).json(), null);
    } finally {
      await bare.close();
    }
    fails(`model directory not found: ${join(root, 'nothing')}`, 'web', '--port', '0', '--model', join(root, 'nothing'));
    fails('model directory not found: nothing', 'web', '--port', '0', '--model', 'nothing');
    fails("--port must be a port number from 0 to 65535, got '70000'", 'web', '--port', '70000');
    await assert.rejects(startWebServer({ host: '127.0.0.1', port: 0, model: null, appDir: root }), {
      name: 'InputError', message: `the web app is not built (${root} has no index.html): run npm run build:web`,
    });
  });
});

describe('swat bench browser', () => {
  it('says in one line, before measuring anything, that there is no Chromium to drive', () => {
    const missing = join(root, 'no-chromium');
    failsWith({ SWAT_CHROMIUM: missing }, `bench browser: no Chromium at ${missing} (apt-get install chromium, or set SWAT_CHROMIUM)`, 'bench', 'browser');
  });
});
