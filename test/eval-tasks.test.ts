// Zero-shot tasks: each published layout read into the prompts lm-evaluation-harness builds, one-line
// errors for bad files, acc / acc_norm against an independent computation from full-sequence scores, a
// trained model that must get obvious items right, LAMBADA, perplexity, and passkey prompts.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ReferenceBackend } from '../src/backend/reference.js';
import { makeConfig } from '../src/config.js';
import { evaluateChoices, evaluateLambada, evaluatePerplexity, scoreChoices } from '../src/eval/choice.js';
import { withWindow } from '../src/eval/score.js';
import { passkeyPrompt, passkeyRetrieval } from '../src/eval/passkey.js';
import {
  type ChoiceItem, hellaswagPreprocess, readArc, readBoolq, readChoiceTask, readHellaswag, readLambada, readPiqa, readSiqa, readWinogrande,
} from '../src/eval/tasks.js';
import { scoreTokens } from '../src/infer/generate.js';
import { SwatModel } from '../src/model/model.js';
import { ByteLevelTokenizer } from '../src/tokenizer/byte-level.js';
import { AdamW } from '../src/train/optimizer.js';

const FIX = fileURLToPath(new URL('../../test/fixtures/eval/', import.meta.url));
const be = new ReferenceBackend('float32');
const tok = new ByteLevelTokenizer();

function model(seed = 5): SwatModel {
  return SwatModel.create(makeConfig({ vocabSize: 258, layers: 2, dim: 32, heads: 2, window: 8, intermediateSize: 64, bosId: 256, eosId: 257 }), be, seed);
}

/** A model trained until it has memorised one repeated sentence (documents start after EOS, as in the
 *  corpus streams). */
const trained = (() => {
  const m = model();
  const ids = Int32Array.from([257, ...tok.encode('the cat sat on the mat. '.repeat(40))]);
  const grads = m.zerosLike();
  const opt = new AdamW(be, m.zerosLike(), m.zerosLike(), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0 });
  const T = 24;
  const B = 4;
  for (let step = 0; step < 150; step++) {
    const x = new Int32Array(B * T);
    const y = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      const o = (step * 7 + b * 13) % (ids.length - T - 1) * (b === 0 ? 0 : 1);
      x.set(ids.subarray(o, o + T), b * T);
      y.set(ids.subarray(o + 1, o + T + 1), b * T);
    }
    grads.flat.fill(0);
    m.forward(x, y, B, T);
    m.backward(y, grads);
    opt.update(m.params, grads, 1e-2);
  }
  return m;
})();

test('PIQA: harness prompt, labels from the separate file; a short labels file and a bad field are one-line errors', () => {
  const items = readPiqa(FIX + 'piqa.jsonl', FIX + 'piqa-labels.lst');
  assert.equal(items.length, 3); // the blank line is skipped
  assert.deepEqual(items[0]!.choices[0], { context: 'Question: How do you keep a door from slamming?\nAnswer:', continuation: ' Put a rubber stop under it.' });
  assert.deepEqual(items.map((i) => i.label), [0, 1, 0]);
  assert.throws(() => readPiqa(FIX + 'piqa.jsonl', FIX + 'piqa-labels-short.lst'), /piqa-labels-short\.lst: 2 labels for 3 items/);
  assert.throws(() => readPiqa(FIX + 'bad-field.jsonl', FIX + 'piqa-labels-short.lst'), /bad-field\.jsonl line 2: field "goal" is 7, expected a string/);
  assert.throws(() => readPiqa(FIX + 'piqa.jsonl'), /line 1: field "label" is missing/);
  assert.throws(() => readPiqa(FIX + 'nope.jsonl'), /task file not found/);
});

test('HellaSwag: activity label, ctx_a + capitalised ctx_b, bracket artefacts removed; ctx when ctx_a is absent', () => {
  const [a, b] = readHellaswag(FIX + 'hellaswag.jsonl');
  assert.equal(a!.choices[0]!.context, 'Baking cookies: A woman mixes flour and sugar in a bowl. She then');
  assert.equal(a!.choices[0]!.continuation, ' pours the dough onto a tray.. Bake it.'); // the harness replaces ' [title]' by '. '
  assert.equal(a!.choices[2]!.continuation, ' sings to the moon loudly.');
  assert.equal(b!.choices.length, 2);
  assert.equal(b!.choices[0]!.context, 'Running: A man ties his shoes and');
  assert.equal(b!.label, 0);
  assert.equal(hellaswagPreprocess(' x [header] y  z '), 'x y z');
});

test('ARC: both the AI2 and the flattened layout; the answer key indexes the choice labels', () => {
  const [a, b] = readArc(FIX + 'arc.jsonl');
  assert.equal(a!.choices[0]!.context, 'Question: Which of these is a source of light?\nAnswer:');
  assert.deepEqual(a!.choices.map((c) => c.continuation), [' the Sun', ' a rock', ' a shadow']);
  assert.equal(a!.label, 0);
  assert.equal(b!.label, 1);
  assert.equal(b!.choices.length, 4);
});

test('WinoGrande: partial scoring, one context per option and the same continuation', () => {
  const [a] = readWinogrande(FIX + 'winogrande.jsonl');
  assert.deepEqual(a!.choices, [
    { context: 'The trophy did not fit in the case because the trophy', continuation: ' was too big.' },
    { context: 'The trophy did not fit in the case because the case', continuation: ' was too big.' },
  ]);
  assert.equal(a!.label, 0);
});

test('SIQA, BoolQ and LAMBADA layouts', () => {
  const s = readSiqa(FIX + 'siqa.jsonl', FIX + 'siqa-labels.lst');
  assert.equal(s[0]!.choices[1]!.context, 'Q: Tracy forgot her umbrella and it started to rain. How would Tracy feel?\nA:');
  assert.equal(s[0]!.choices[1]!.continuation, ' wet and annoyed');
  assert.deepEqual(s.map((i) => i.label), [1, 0]);
  assert.throws(() => readSiqa(FIX + 'siqa.jsonl'), /line 1: field "label" is missing, expected an integer in \[1, 3\]/);
  const q = readBoolq(FIX + 'boolq.jsonl');
  assert.equal(q[0]!.choices[1]!.context, 'The Sun is the star at the centre of the Solar System.\nQuestion: is the sun a star?\nAnswer:');
  assert.deepEqual(q[0]!.choices.map((c) => c.continuation), [' no', ' yes']);
  assert.deepEqual(q.map((i) => i.label), [1, 0]);
  const l = readLambada(FIX + 'lambada.jsonl');
  assert.deepEqual(l[0], { context: 'the cat sat on the mat. the cat sat on the', target: ' mat' });
  assert.equal(readChoiceTask('winogrande', FIX + 'winogrande.jsonl').length, 2);
});

test('acc and acc_norm agree with an independent computation from full-sequence scores', () => {
  const m = model(9);
  const items = [...readArc(FIX + 'arc.jsonl'), ...readHellaswag(FIX + 'hellaswag.jsonl'), ...readWinogrande(FIX + 'winogrande.jsonl')];
  let acc = 0;
  let norm = 0;
  for (const item of items) {
    const scores = item.choices.map((c) => {
      const ctx = [257, ...tok.encode(c.context)];
      const cont = tok.encode(c.continuation);
      const lp = scoreTokens(m, [...ctx, ...cont]).slice(ctx.length - 1).reduce((a, b) => a + b, 0);
      return { lp, norm: lp / Buffer.byteLength(c.continuation) };
    });
    const best = (k: 'lp' | 'norm') => scores.reduce((bi, s, i) => (s[k] > scores[bi]![k] ? i : bi), 0);
    acc += best('lp') === item.label ? 1 : 0;
    norm += best('norm') === item.label ? 1 : 0;
    const mine = scoreChoices(m, tok, item);
    mine.forEach((s, i) => assert.ok(Math.abs(s.logprob - scores[i]!.lp) < 1e-3));
  }
  const r = evaluateChoices(m, tok, items);
  assert.equal(r.items, items.length);
  assert.equal(r.acc, acc / items.length);
  assert.equal(r.accNorm, norm / items.length);
  assert.equal(evaluateChoices(m, tok, items, { limit: 2 }).items, 2);
  assert.throws(() => evaluateChoices(m, tok, items, { limit: 0 }), /positive integer/);
});

test('a model that memorised a sentence picks its continuation and predicts its last word (LAMBADA)', () => {
  const items: ChoiceItem[] = [
    { choices: [{ context: 'the cat sat on the', continuation: ' mat.' }, { context: 'the cat sat on the', continuation: ' zqx.' }], label: 0 },
    { choices: [{ context: 'the cat', continuation: ' dog on the mat.' }, { context: 'the cat', continuation: ' sat on the mat.' }], label: 1 },
  ];
  const r = evaluateChoices(trained, tok, items);
  assert.equal(r.acc, 1);
  assert.equal(r.accNorm, 1);
  const l = evaluateLambada(trained, tok, readLambada(FIX + 'lambada.jsonl'));
  assert.equal(l.acc, 1);
  assert.ok(l.perplexity >= 1 && l.perplexity < 2, `perplexity ${l.perplexity}`);
  assert.equal(evaluateLambada(model(), tok, readLambada(FIX + 'lambada.jsonl')).acc, 0); // untrained
});

test('perplexity: per token equals per byte for ASCII bytes; bits per byte = log2 of byte perplexity; truncation at a line', () => {
  const text = 'the cat sat on the mat.\nthe cat sat on the mat.\n';
  const r = evaluatePerplexity(trained, tok, text);
  assert.equal(r.tokens, r.bytes);
  assert.equal(r.words, 12);
  assert.ok(Math.abs(r.tokenPerplexity - r.bytePerplexity) < 1e-9);
  assert.ok(Math.abs(r.bitsPerByte - Math.log2(r.bytePerplexity)) < 1e-9);
  assert.ok(r.bytePerplexity < evaluatePerplexity(model(), tok, text).bytePerplexity);
  assert.equal(evaluatePerplexity(trained, tok, text, 30).bytes, 24);
  assert.equal(r.context, null); // windowed: one pass
});

test('perplexity of a full-attention model: disjoint windows of its context, each after the previous token', () => {
  const full = withWindow(trained, null);
  const text = 'the cat sat on the mat. '.repeat(4);
  const ids = [257, ...tok.encode(text)];
  const r = evaluatePerplexity(full, tok, text, undefined, 10);
  assert.equal(r.context, 10);
  let nats = 0;
  for (let s = 0; s + 1 < ids.length; s += 10) nats -= scoreTokens(full, ids.slice(s, s + 11)).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(r.tokenPerplexity - Math.exp(nats / (ids.length - 1))) < 1e-6 * r.tokenPerplexity);
  // One window covering everything is plain full-sequence scoring.
  const whole = -scoreTokens(full, ids).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(evaluatePerplexity(full, tok, text, undefined, 1000).tokenPerplexity - Math.exp(whole / (ids.length - 1))) < 1e-6 * r.tokenPerplexity);
  assert.equal(evaluatePerplexity(full, tok, text).context, full.config.max_position_embeddings);
  assert.throws(() => evaluatePerplexity(full, tok, text, undefined, 0), /context must be a positive integer/);
});

test('passkey prompts: the key is stated twice, the distance is what was asked for, and trials are scored', () => {
  const p = passkeyPrompt(tok, '48213', 120, 16);
  const text = tok.decode(p.prompt);
  assert.equal(text.split('48213').length - 1, 2);
  assert.ok(text.endsWith('What is the pass key? The pass key is'));
  assert.equal(tok.decode(p.answer), ' 48213');
  assert.equal(p.actual, 120);
  // The last mention starts `actual` tokens before the end.
  assert.equal(tok.decode(p.prompt.slice(p.prompt.length - p.actual, p.prompt.length - p.actual + 6)), ' 48213');
  assert.ok(passkeyPrompt(tok, '48213', 5, 16).actual > 5); // shorter than the fixed tail: as close as it gets
  const rows = passkeyRetrieval(model(), tok, { distances: [60, 200], trials: 2 });
  assert.deepEqual(rows.map((r) => [r.distance, r.trials]), [[60, 2], [200, 2]]);
  for (const r of rows) assert.ok(r.accuracy >= 0 && r.accuracy <= 1 && r.keyLogprob < 0);
  assert.throws(() => passkeyRetrieval(model(), tok, { distances: [-1] }), /non-negative integer/);
});
