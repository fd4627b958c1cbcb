// The library API over its worker thread: the same tokens as the synchronous path, aborts that stop within
// one token, an event loop that keeps running while the model works, whole characters, scoring, chat
// prompts, errors that keep their class and message, and the terminal chat's Ctrl-C.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { type TextModel, load } from '../src/api/model.js';
import { terminalChat } from '../src/api/terminal-chat.js';
import { ReferenceBackend } from '../src/backend/reference.js';
import { nativeUnavailableReason } from '../src/backend/native.js';
import { generate, scoreTokens } from '../src/infer/generate.js';
import { loadModel } from '../src/model/store.js';
import { fixtureTree } from './support/files.js';
import { chainModelDir, randomModelDir } from './support/models.js';

const { root } = fixtureTree('swat-api-');
let randomDir = '';
let chainDir = '';
let random: TextModel;
let chain: TextModel;

before(async () => {
  randomDir = randomModelDir(root);
  chainDir = chainModelDir(root, 'né€😀');
  random = await load(randomDir, { backend: 'reference', prefillChunk: 16 });
  chain = await load(chainDir, { backend: 'reference' });
});
after(async () => {
  await random.close();
  await chain.close();
});

const sampling = { maxTokens: 40, seed: 7, temperature: 0.9, topP: 0.9, stopAtEos: false };

for (const backend of ['reference', 'native']) {
  const skip = backend === 'native' && nativeUnavailableReason() !== null ? 'native backend not built' : false;
  test(`the async API samples the same tokens as the synchronous generate for a seed (${backend})`, { skip }, async () => {
    const m = backend === 'reference' ? random : await load(randomDir, { backend, prefillChunk: 16 });
    try {
      const { model, tokenizer } = loadModel(randomDir, m.backend === 'reference' ? new ReferenceBackend('float32') : (await import('../src/backend/index.js')).selectBackend(backend));
      const prompt = 'Once upon a time, there was';
      const sync = [...generate(model, tokenizer!.encode(prompt), { maxNewTokens: 40, seed: 7, temperature: 0.9, topP: 0.9, stopId: null, prefillChunk: 16 })];
      const done = await m.complete(prompt, sampling);
      assert.deepEqual(done.tokens, sync);
      assert.equal(done.finishReason, 'length');
      assert.equal(done.promptTokens, tokenizer!.encode(prompt).length);
      let pieces = '';
      for await (const p of m.generate(prompt, sampling)) pieces += p;
      assert.equal(pieces, done.text);
      assert.equal(done.text, new TextDecoder().decode(tokenizer!.decodeBytes(sync)));
    } finally {
      if (m !== random) await m.close();
    }
  });
}

test('inProcess runs the same engine on this thread: the same tokens, scores and errors', async () => {
  const here = await load(randomDir, { backend: 'reference', prefillChunk: 16, inProcess: true });
  try {
    assert.deepEqual((await here.complete('Once upon a time', sampling)).tokens, (await random.complete('Once upon a time', sampling)).tokens);
    assert.deepEqual(await here.score('Hello'), await random.score('Hello'));
    await assert.rejects(here.complete([1, 999]), { name: 'InputError', message: 'token id 999 at index 1 is outside the vocabulary [0, 258)' });
  } finally {
    await here.close();
  }
});

test('an abort stops the stream within one token of what the reader saw', async () => {
  for (const k of [1, 5]) {
    const before = chain.stats().tokens;
    const controller = new AbortController();
    let seen = 0;
    await assert.rejects(async () => {
      for await (const e of chain.events('', { maxTokens: 100_000, stopIds: [], signal: controller.signal })) {
        if (e.type === 'step' && e.token !== null && ++seen === k) controller.abort();
      }
    }, { name: 'AbortError' });
    // Messages to the worker keep their order: once this one-token request is answered, the worker has
    // handled the cancel and reported every token it made before it.
    await chain.complete('', { maxTokens: 1 });
    const made = chain.stats().tokens - before - 1;
    assert.ok(made >= k && made <= k + 1, `read ${k} tokens, the worker made ${made}`);
    assert.deepEqual({ active: chain.stats().active, queued: chain.stats().queued }, { active: 0, queued: 0 });
  }
});

test('the event loop keeps running while the worker computes (and does not while the synchronous path does)', async () => {
  const text = 'All work and no play makes a dull model. '.repeat(60);
  let ticks = 0;
  let running = true;
  const spin = () => {
    ticks++;
    if (running) setImmediate(spin);
  };
  setImmediate(spin);
  await random.score(text);
  running = false;
  assert.ok(ticks >= 10, `only ${ticks} turns of the event loop while scoring ${text.length} bytes`);

  const { model, tokenizer } = loadModel(randomDir, new ReferenceBackend('float32'));
  ticks = 0;
  running = true;
  setImmediate(spin);
  scoreTokens(model, tokenizer!.encode(text));
  const during = ticks;
  running = false;
  assert.equal(during, 0);
});

test('text pieces never split a multi-byte character; a stop string may span tokens', async () => {
  const pieces: string[] = [];
  for await (const p of chain.generate('', { maxTokens: 44, temperature: 0, stopAtEos: false })) pieces.push(p);
  assert.equal(pieces.join(''), 'né€😀'.repeat(4));
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')), JSON.stringify(pieces));
  const stopped = await chain.complete('', { maxTokens: 44, temperature: 0, stop: '€😀' });
  assert.deepEqual({ text: stopped.text, finishReason: stopped.finishReason }, { text: 'né', finishReason: 'stop' });
  const eos = await chain.complete('', { maxTokens: 44, temperature: 0 });
  assert.deepEqual({ text: eos.text, finishReason: eos.finishReason, completionTokens: eos.completionTokens }, { text: 'né€😀', finishReason: 'stop', completionTokens: 11 });
});

test('score: token log-probabilities as the synchronous scorer gives them, their sum, perplexity and bits per byte', async () => {
  const text = 'Hello, wörld';
  const s = await random.score(text);
  const { model, tokenizer } = loadModel(randomDir, new ReferenceBackend('float32'));
  const expected = scoreTokens(model, tokenizer!.encode(text));
  assert.deepEqual(s.tokens, tokenizer!.encode(text));
  assert.equal(s.logprobs.length, expected.length);
  s.logprobs.forEach((l, i) => assert.ok(Math.abs(l - expected[i]!) < 1e-5, `token ${i}: ${l} vs ${expected[i]}`));
  const sum = expected.reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(s.sum - sum) < 1e-4);
  assert.ok(Math.abs(s.perplexity - Math.exp(-sum / expected.length)) < 1e-3);
  assert.ok(Math.abs(s.bitsPerByte! - -sum / Math.LN2 / (Buffer.byteLength(text) - 1)) < 1e-4);
});

test('load errors keep their class and message, from this thread or the worker', async () => {
  const missing = join(root, 'missing');
  await assert.rejects(load(missing), { name: 'InputError', message: `model directory not found: ${missing}` });
  const broken = randomModelDir(root, 'broken');
  writeFileSync(join(broken, 'model.safetensors'), 'not a safetensors file');
  await assert.rejects(load(broken, { backend: 'reference' }), (e: Error) => e.name === 'FormatError' && e.message.startsWith(join(broken, 'model.safetensors')));
  await assert.rejects(random.complete('x', { temperature: -1 }), { name: 'InputError', message: 'temperature must be a number ≥ 0, got -1' });
});

test('chat prompts: the plain format, a model’s own template with its special tokens, history trimmed to what the model sees', async () => {
  const tokenizer = random.tokenizer!;
  const plain = random.chatPrompt([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]);
  assert.deepEqual(plain.ids, [tokenizer.eosId, ...tokenizer.encode('System: Be brief.\n\nUser: Hi\n\nAssistant:')]);
  assert.deepEqual(plain.stop, ['\nUser:', '\nSystem:']);

  const dir = randomModelDir(root, 'templated');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({
    eos_token: '<|endoftext|>',
    chat_template: "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}",
  }));
  const templated = await load(dir, { backend: 'reference' });
  try {
    const t = templated.chatPrompt([{ role: 'user', content: 'Hi' }]);
    assert.deepEqual(t.ids, [...tokenizer.encode('<|user|>Hi'), tokenizer.eosId, ...tokenizer.encode('<|assistant|>')]);
    let answer = '';
    for await (const p of templated.chat([{ role: 'user', content: 'Hi' }], { maxTokens: 5 })) answer += p;
    assert.equal(answer, (await templated.complete(t.ids, { maxTokens: 5 })).text);
  } finally {
    await templated.close();
  }

  // The random model (2 layers, ω = 8) sees 15 tokens at most: older turns go, the system message stays.
  const long = [{ role: 'system' as const, content: 'S' }, { role: 'user' as const, content: 'a'.repeat(40) }, { role: 'assistant' as const, content: 'b' }, { role: 'user' as const, content: 'c' }];
  assert.deepEqual(random.chatPrompt(long).ids, [tokenizer.eosId, ...tokenizer.encode('System: S\n\nUser: c\n\nAssistant:')]);
  assert.deepEqual(random.chatPrompt([{ role: 'user', content: 'c' }]).ids, [tokenizer.eosId, ...tokenizer.encode('User: c\n\nAssistant:')]);
  assert.throws(() => random.chatPrompt([{ role: 'robot' as 'user', content: 'x' }]), { name: 'InputError', message: "messages[0].role must be one of system, user, assistant, got 'robot'" });
});

test('terminal chat: answers stream, Ctrl-C stops an answer and keeps the session, /reset, end of input quits', async () => {
  const input = new PassThrough();
  const output = new PassThrough();
  output.resume();
  let written = '';
  let interrupted = false;
  const session = terminalChat(chain, { maxTokens: 100_000, temperature: 0, stopAtEos: false }, {
    input, output, prompt: true, write: (t) => {
      written += t;
      if (interrupted) return;
      interrupted = true;
      input.write('\x03'); // Ctrl-C once the endless answer has started
    },
  });
  input.write('hello\n');
  await until(() => written.includes('[stopped]'));
  input.write('/reset\n');
  await until(() => written.includes('(conversation reset)'));
  input.end();
  await session;
  assert.match(written, /^[^]+ \[stopped\]\n\(conversation reset\)\n$/);
  assert.equal(chain.stats().active, 0);
});

/** Waits (a bounded number of event-loop turns) for a condition that the code under test makes true. */
async function until(condition: () => boolean, turns = 100_000): Promise<void> {
  for (let i = 0; i < turns && !condition(); i++) await new Promise((r) => setImmediate(r));
  assert.ok(condition(), 'condition not reached');
}

