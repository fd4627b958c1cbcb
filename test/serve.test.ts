// The HTTP server over real loopback connections: the official openai client for completions, chat and
// streaming; echo + logprobs as `swat score` and `swat eval tasks` compute them; batching that does not
// change a request's output; limits and faults (400, 401, 413, 429, disconnects); a bounded load test; and
// `swat serve` as a process that prints its address and stops gracefully on SIGTERM.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import OpenAI from 'openai';
import { ReferenceBackend } from '../src/backend/reference.js';
import { residentBytes } from '../src/bench/measure.js';
import { scoreChoices } from '../src/eval/choice.js';
import { readPiqa } from '../src/eval/tasks.js';
import { loadModel } from '../src/model/store.js';
import { MAIN, SWAT_ENV, ok } from './support/cli.js';
import { fixtureTree } from './support/files.js';
import { chainModelDir, randomModelDir } from './support/models.js';
import { eventually, getJson, postJson, sseData, startServer } from './support/server.js';

const { root } = fixtureTree('swat-serve-');
const randomDir = randomModelDir(root);
// After "…Assistant:" (or EOS) this model answers " Hé!" and then EOS.
const chatDir = chainModelDir(root, ': Hé!');
const FIX = fileURLToPath(new URL('../../test/fixtures/eval/', import.meta.url));

test('the openai client: completions, chat, and both streamed', async () => {
  const { url } = await startServer(chatDir);
  const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused' });
  const models = await client.models.list();
  assert.deepEqual(models.data.map((m) => m.id), ['test-model']);

  const c = await client.completions.create({ model: 'test-model', prompt: '', max_tokens: 20, temperature: 0 });
  assert.equal(c.choices[0]!.text, ': Hé!');
  assert.equal(c.choices[0]!.finish_reason, 'stop');
  assert.deepEqual(c.usage, { prompt_tokens: 1, completion_tokens: 7, total_tokens: 8 });

  let streamed = '';
  let finish: string | null = null;
  for await (const chunk of await client.completions.create({ model: 'test-model', prompt: '', max_tokens: 20, temperature: 0, stream: true })) {
    streamed += chunk.choices[0]!.text;
    finish = chunk.choices[0]!.finish_reason ?? finish;
  }
  assert.deepEqual({ streamed, finish }, { streamed: ': Hé!', finish: 'stop' });

  const messages = [{ role: 'system' as const, content: 'Be kind.' }, { role: 'user' as const, content: 'Hello?' }];
  const chat = await client.chat.completions.create({ model: 'test-model', messages, temperature: 0 });
  assert.deepEqual(chat.choices[0]!.message, { role: 'assistant', content: ' Hé!' });
  assert.equal(chat.choices[0]!.finish_reason, 'stop');

  const pieces: string[] = [];
  for await (const chunk of await client.chat.completions.create({ model: 'test-model', messages, temperature: 0, stream: true })) {
    if (chunk.choices[0]!.delta.content) pieces.push(chunk.choices[0]!.delta.content);
  }
  assert.equal(pieces.join(''), ' Hé!');
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')), 'é arrives whole');

  const stopped = await client.completions.create({ model: 'test-model', prompt: '', max_tokens: 20, temperature: 0, stop: ['é!'] });
  assert.deepEqual([stopped.choices[0]!.text, stopped.choices[0]!.finish_reason], [': H', 'stop']);
});

test('echo + logprobs with max_tokens 0 gives the log-probabilities `swat score` prints', async () => {
  const { url } = await startServer(randomDir);
  const ids = [257, 72, 101, 108, 108, 111, 44, 32, 119, 195, 182, 114, 108, 100];
  const r = await postJson(`${url}/v1/completions`, { prompt: ids, max_tokens: 0, echo: true, logprobs: 1 });
  assert.equal(r.status, 200);
  const lp = r.json.choices[0].logprobs;
  const score = JSON.parse(ok('score', '--model', randomDir, '--ids', ids.join(','))) as { logprobs: number[] };
  assert.equal(lp.token_logprobs[0], null);
  assert.equal(lp.token_logprobs.length, ids.length);
  lp.token_logprobs.slice(1).forEach((l: number, i: number) => assert.ok(Math.abs(l - score.logprobs[i]!) < 1e-5, `token ${i + 1}: ${l} vs ${score.logprobs[i]}`));
  assert.equal(r.json.choices[0].text, 'Hello, wörld');
  assert.deepEqual(r.json.usage, { prompt_tokens: ids.length, completion_tokens: 0, total_tokens: ids.length });
  lp.top_logprobs.slice(1).forEach((top: Record<string, number>, i: number) => {
    assert.equal(Object.keys(top).length, 1);
    assert.ok(Object.values(top)[0]! >= lp.token_logprobs[i + 1] - 1e-9);
  });
});

test('PIQA scored over HTTP the way lm-evaluation-harness does agrees with swat eval tasks', async () => {
  const { url } = await startServer(randomDir);
  const { model, tokenizer } = loadModel(randomDir, new ReferenceBackend('float32'));
  const items = readPiqa(FIX + 'piqa.jsonl', FIX + 'piqa-labels.lst');
  for (const item of items) {
    const expected = scoreChoices(model, tokenizer!, item);
    // local-completions: one batched request of context + continuation tokens, max_tokens 1, echo,
    // logprobs 1; the continuation's log-likelihood is token_logprobs[ctxlen:-1].
    const requests = item.choices.map((c) => ({ ctx: [tokenizer!.eosId, ...tokenizer!.encode(c.context)], cont: tokenizer!.encode(c.continuation) }));
    const r = await postJson(`${url}/v1/completions`, { model: 'm', prompt: requests.map((q) => [...q.ctx, ...q.cont]), temperature: 0, max_tokens: 1, logprobs: 1, seed: 1234, echo: true });
    assert.equal(r.status, 200);
    const choices = [...r.json.choices].sort((a, b) => a.index - b.index);
    choices.forEach((choice, i) => {
      const lps: number[] = choice.logprobs.token_logprobs.slice(requests[i]!.ctx.length, -1);
      assert.equal(lps.length, requests[i]!.cont.length);
      const sum = lps.reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - expected[i]!.logprob) < 1e-4, `choice ${i}: ${sum} vs ${expected[i]!.logprob}`);
    });
  }
});

test('greedy output of a request is the same alone and batched with 15 others', async () => {
  const { url } = await startServer(randomDir, { maxStreams: 16 });
  const body = (prompt: string) => ({ prompt, max_tokens: 24, temperature: 0, ignore_eos: true });
  const alone = await postJson(`${url}/v1/completions`, body('The same prompt, alone or not'));
  const together = await Promise.all([
    postJson(`${url}/v1/completions`, body('The same prompt, alone or not')),
    ...Array.from({ length: 15 }, (_, i) => postJson(`${url}/v1/completions`, { ...body(`Another prompt number ${i} `.repeat(i + 1)), temperature: 0.7, seed: i })),
  ]);
  assert.equal(together[0]!.json.choices[0].text, alone.json.choices[0].text);
  assert.equal(together[0]!.json.usage.completion_tokens, 24);
  assert.ok(together.every((r) => r.status === 200));
});

/** Opens a streaming completion and resolves once the first event arrived; `end()` drops the connection. */
function openStream(url: string, body: object): Promise<{ end: () => void; done: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      const done = new Promise<string>((r) => res.on('end', () => r(text)).on('close', () => r(text)));
      res.setEncoding('utf8');
      res.once('data', (chunk: string) => {
        text += chunk;
        res.on('data', (c: string) => (text += c));
        resolve({ end: () => req.destroy(), done });
      });
    });
    req.on('error', (e) => (e.message === 'socket hang up' ? undefined : reject(e)));
    req.end(JSON.stringify({ ...body, stream: true }));
  });
}

const endless = { prompt: '', max_tokens: 4000, temperature: 0, ignore_eos: true };

test('a client that disconnects mid-stream frees its slot; the next request gets it', async () => {
  const { url, model } = await startServer(chatDir, { maxStreams: 1, maxTokens: 4000 });
  const stream = await openStream(url, endless);
  assert.equal(model.stats().active, 1);
  stream.end();
  await eventually(async () => (await getJson(`${url}/health`)).active === 0, 'slot freed');
  const tokens = model.stats().tokens;
  assert.ok(tokens < 4000, `the stream went on to ${tokens} tokens`);
  const next = await postJson(`${url}/v1/completions`, { prompt: '', max_tokens: 3, temperature: 0 });
  assert.equal(next.json.choices[0].text, ': H');
  const metrics = await (await fetch(`${url}/metrics`)).text();
  assert.match(metrics, /swat_requests_total\{endpoint="\/v1\/completions",outcome="cancelled"\} 1/);
  assert.match(metrics, /swat_requests_total\{endpoint="\/v1\/completions",outcome="ok"\} 1/);
  assert.match(metrics, /swat_tokens_generated_total \d+/);
  assert.match(metrics, /swat_time_per_token_seconds_count \d+/);
});

test('a full queue answers 429 with Retry-After; the queued request runs once a slot frees', async () => {
  const { url } = await startServer(chatDir, { maxStreams: 1, maxQueue: 1, maxTokens: 4000 });
  const running = await openStream(url, endless);
  const queued = postJson(`${url}/v1/completions`, { prompt: '', max_tokens: 3, temperature: 0 });
  await eventually(async () => (await getJson(`${url}/health`)).queued === 1, 'request queued');
  const refused = await postJson(`${url}/v1/completions`, { prompt: '', max_tokens: 3 });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get('retry-after'), '1');
  assert.equal(refused.json.error.type, 'rate_limit_error');
  assert.match(refused.json.error.message, /^the server is busy \(1 streams running, 1 waiting\); retry shortly$/);
  running.end();
  assert.equal((await queued).json.choices[0].text, ': H');
});

test('bad requests: malformed JSON, wrong types, unknown fields of the wrong kind, too large, over the cap, bad key', async () => {
  const { url } = await startServer(randomDir, { bodyLimit: 2000, maxTokens: 100, apiKey: 'sesame' });
  const auth = { authorization: 'Bearer sesame' };
  const cases: [unknown, number, string, string | null][] = [
    ['{"prompt": "x"', 400, "Body is not valid JSON but content-type is set to 'application/json'", null],
    [{ prompt: 'x', max_tokens: '5' }, 400, `max_tokens must be integer or null, got '"5"'`, 'max_tokens'],
    [{ prompt: 'x', temperature: 3 }, 400, 'temperature must be <= 2, got \'3\'', 'temperature'],
    [{ max_tokens: 5 }, 400, "the request body must have required property 'prompt'", null],
    [{ prompt: [[1, 2], 'x'] }, 400, 'prompt must be a string, a list of strings, a list of token ids, or a list of token-id lists, got \'[[1,2],"x"]\'', 'prompt'],
    [{ prompt: 'x', stop: ['a', 'b', 'c', 'd', 'e'] }, 400, 'stop must be a string or a list of at most 4 strings, got \'["a","b","c","d","e"]\'', 'stop'],
    [{ prompt: [1, 999] }, 400, 'prompt token id 999 at index 1 is outside the vocabulary [0, 258)', 'prompt'],
    [{ prompt: 'x', max_tokens: 101 }, 400, 'max_tokens must be at most 100 on this server, got 101', 'max_tokens'],
    [{ prompt: 'x'.repeat(3000) }, 413, "the request body is larger than the server's limit of 2000 bytes", null],
  ];
  for (const [body, status, message, param] of cases) {
    const r = await postJson(`${url}/v1/completions`, body, auth);
    assert.equal(r.status, status, JSON.stringify(r.json));
    assert.deepEqual(r.json, { error: { message, type: 'invalid_request_error', param, code: null } });
  }
  const chat = await postJson(`${url}/v1/chat/completions`, { messages: [{ role: 'robot', content: 'x' }] }, auth);
  assert.equal(chat.status, 400);
  assert.equal(chat.json.error.param, 'messages.0.role');
  const noKey = await postJson(`${url}/v1/completions`, { prompt: 'x' });
  assert.equal(noKey.status, 401);
  assert.equal(noKey.json.error.type, 'authentication_error');
  assert.equal((await postJson(`${url}/v1/completions`, { prompt: 'x', max_tokens: 1 }, { authorization: 'Bearer wrong' })).status, 401);
  assert.equal((await fetch(`${url}/health`)).status, 200, 'health needs no key');
  assert.equal((await postJson(`${url}/v1/completions`, { prompt: 'x', max_tokens: 2 }, auth)).status, 200);
  const missing = await fetch(`${url}/v2/nothing`);
  assert.equal(missing.status, 404);
});

test('load: 64 clients × 4 requests end without errors, in bounded memory', async () => {
  const { url, model } = await startServer(randomDir, { maxStreams: 16, maxQueue: 64 });
  const before = residentBytes();
  const statuses: number[] = [];
  await Promise.all(Array.from({ length: 64 }, async (_, client) => {
    for (let i = 0; i < 4; i++) {
      const r = await postJson(`${url}/v1/completions`, { prompt: `client ${client} request ${i}`, max_tokens: 8, seed: client, ignore_eos: true });
      statuses.push(r.status);
      assert.equal(r.json.usage.completion_tokens, 8);
    }
  }));
  assert.equal(statuses.length, 256);
  assert.ok(statuses.every((s) => s === 200), `statuses: ${[...new Set(statuses)].join(', ')}`);
  assert.deepEqual({ active: model.stats().active, queued: model.stats().queued }, { active: 0, queued: 0 });
  const grown = residentBytes() - before;
  assert.ok(grown < 64 * 2 ** 20, `resident memory grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
});

test('swat serve prints its address, serves, and on SIGTERM finishes the request in flight, then exits 0', async () => {
  const child = spawn(process.execPath, [MAIN, 'serve', '-m', chatDir, '--port', '0', '--max-tokens', '4000'], { env: SWAT_ENV });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await eventually(async () => /at http:\/\/127\.0\.0\.1:\d+\n/.test(out), 'address printed');
  const url = /at (http:\/\/127\.0\.0\.1:\d+)\n/.exec(out)![1]!;
  assert.equal((await getJson(`${url}/health`)).status, 'ok');
  const inFlight = await openStream(url, { ...endless, max_tokens: 300 });
  child.kill('SIGTERM');
  const events = sseData(await inFlight.done);
  assert.equal(events[events.length - 1].choices[0].finish_reason, 'length');
  assert.equal(await exited, 0);
  assert.match(out, /swat: SIGTERM: finishing requests in flight, then stopping\n$/);
});
