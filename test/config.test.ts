// Pins SWAT.md §2 and §3.1: slope presets equal the spec's test vectors, config.json parses strictly and
// round-trips, derived quantities follow §3.2; configs in the shape of the authors' SWATConfig load with its
// defaults and derivations, or are refused with the reason when a field changes the computation.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  alibiSlopes,
  configToJson,
  defaultIntermediateSize,
  makeConfig,
  parameterCount,
  parseConfig,
  receptiveField,
  slopePreset,
  swatOnlyOptions,
} from '../src/config.js';
import { paramSpecs } from '../src/model/params.js';
import { ConfigError } from '../src/errors.js';

const close = (a: number[], b: number[], tol = 1e-4) => {
  assert.equal(a.length, b.length);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]!) < tol, `slope ${i}: ${x} vs ${b[i]}`));
};

test('balanced preset equals the H = 8 test vector of SWAT.md §3.1 exactly', () => {
  assert.deepEqual(alibiSlopes('balanced', 8), [1 / 2, 1 / 4, 1 / 8, 1 / 16, -1 / 16, -1 / 8, -1 / 4, -1 / 2]);
});

test('balanced preset equals the H = 12 test vector of SWAT.md §3.1', () => {
  close(alibiSlopes('balanced', 12), [0.63, 0.3969, 0.25, 0.1575, 0.0992, 0.0625, -0.0625, -0.0992, -0.1575, -0.25, -0.3969, -0.63]);
});

test('negative, positive, none and split presets follow the table of SWAT.md §3.1', () => {
  const mu = (k: number) => 2 ** (-8 * k / 4);
  assert.deepEqual(alibiSlopes('negative', 4), [-mu(1), -mu(2), -mu(3), -mu(4)]);
  assert.deepEqual(alibiSlopes('positive', 4), [mu(1), mu(2), mu(3), mu(4)]);
  assert.deepEqual(alibiSlopes('none', 3), [0, 0, 0]);
  // split:A:B = A recent-favouring, B older-favouring; older group first: +μ_1 … +μ_B, then −μ_A … −μ_1.
  const m12 = (k: number) => 2 ** (-8 * k / 12);
  close(alibiSlopes('split:8:4', 12), [m12(1), m12(2), m12(3), m12(4), ...[8, 7, 6, 5, 4, 3, 2, 1].map((k) => -m12(k))], 1e-12);
  assert.deepEqual(alibiSlopes('split:4:4', 8), alibiSlopes('balanced', 8));
});

test("the paper's magnitude schedule 2^(−k) coincides with the code's only for H = 8", () => {
  assert.deepEqual(alibiSlopes('balanced', 8, 'paper'), alibiSlopes('balanced', 8, 'code'));
  assert.deepEqual(alibiSlopes('balanced', 4, 'paper'), [1 / 2, 1 / 4, -1 / 4, -1 / 2]);
  assert.notDeepEqual(alibiSlopes('balanced', 4, 'code'), alibiSlopes('balanced', 4, 'paper'));
});

test('explicit slopes and preset errors', () => {
  assert.deepEqual(alibiSlopes('0.5,-0.25', 2), [0.5, -0.25]);
  assert.throws(() => alibiSlopes('balanced', 3), { message: "alibi preset 'balanced' needs an even number of heads, got 3" });
  assert.throws(() => alibiSlopes('split:3:2', 4), { message: "alibi preset 'split:3:2' names 5 heads, the model has 4" });
  assert.throws(() => alibiSlopes('0.5', 2), { message: "alibi slopes '0.5': expected 2 comma-separated numbers" });
  assert.throws(() => alibiSlopes('steep', 2), ConfigError);
});

test('default intermediate size follows SWAT.md §2', () => {
  assert.equal(defaultIntermediateSize(1024), 2816); // floor(2730.67) = 2730 → 11 × 256
  assert.equal(defaultIntermediateSize(128), 512);
  assert.equal(defaultIntermediateSize(96), 256);
});

test('receptive field is 1 + (ω − 1)·L, unbounded without a window', () => {
  assert.equal(receptiveField(makeConfig({ vocabSize: 10, layers: 3, dim: 8, heads: 2, window: 5 })), 13);
  assert.equal(receptiveField(makeConfig({ vocabSize: 10, layers: 3, dim: 8, heads: 2, window: null })), null);
});

test('config.json round-trips and uses the field names of SWAT.md §2', () => {
  const c = makeConfig({ vocabSize: 258, layers: 2, dim: 16, heads: 4, window: 8, attention: 'softmax', alibi: 'negative', rope: false, sigmoidBias: -2, bosId: 256, eosId: 257 });
  const text = configToJson(c);
  const raw = JSON.parse(text) as Record<string, unknown>;
  for (const f of ['model_type', 'hidden_size', 'num_hidden_layers', 'num_heads', 'window_size', 'rope_theta', 'intermediate_size', 'hidden_act', 'norm_eps', 'tie_word_embeddings', 'vocab_size', 'bos_token_id', 'eos_token_id', 'initializer_range', 'max_position_embeddings', 'attention_activation', 'alibi_slopes', 'use_rope', 'sigmoid_bias']) {
    assert.ok(f in raw, `config.json lacks ${f}`);
  }
  assert.equal(raw['hidden_act'], 'swish');
  assert.deepEqual(parseConfig(text, 'config.json'), c);
  const full = makeConfig({ vocabSize: 10, layers: 1, dim: 8, heads: 2, window: null });
  assert.equal(JSON.parse(configToJson(full)).window_size, null);
  assert.deepEqual(parseConfig(configToJson(full), 'x'), full);
});

test('config.json states what the PyTorch side reads: the architecture class, the dtype, tying, one KV head per head', () => {
  const c = makeConfig({ vocabSize: 258, layers: 2, dim: 16, heads: 4, window: 8, bosId: 257, eosId: 257 });
  const raw = JSON.parse(configToJson(c)) as Record<string, unknown>;
  assert.deepEqual(raw['architectures'], ['SWATForCausalLM']);
  assert.equal(raw['torch_dtype'], 'float32');
  assert.equal(JSON.parse(configToJson(c, 'BF16')).torch_dtype, 'bfloat16');
  assert.equal(JSON.parse(configToJson(c, 'F16')).torch_dtype, 'float16');
  assert.equal(raw['tie_word_embeddings'], true);
  assert.equal(raw['num_kv_heads'], null);
  assert.equal(raw['attention_bias'], false);
  assert.equal(raw['norm_first'], false);
  assert.equal(raw['pad_token_id'], null);
  assert.deepEqual(parseConfig(configToJson(c, 'BF16'), 'x'), c);
});

/** config.json as the authors' SWATConfig.save_pretrained writes it: every field of the class. */
const AUTHORS = {
  architectures: ['SWATForCausalLM'], attention_bias: false, bos_token_id: 1, elementwise_affine: true, eos_token_id: 2,
  fuse_cross_entropy: true, fuse_norm: true, hidden_act: 'swish', hidden_ratio: 4, hidden_size: 1024, initializer_range: 0.02,
  intermediate_size: null, max_position_embeddings: 2048, model_type: 'swat', norm_eps: 1e-6, norm_first: false, num_heads: 16,
  num_hidden_layers: 24, num_kv_heads: null, pad_token_id: null, rope_theta: 10000.0, tie_word_embeddings: false,
  torch_dtype: 'bfloat16', transformers_version: '4.46.0', use_cache: true, vocab_size: 32000, window_size: 256,
};

test("the authors' config loads with their defaults and derivations: intermediate_size from hidden_ratio, untied unless stated", () => {
  const c = parseConfig(JSON.stringify(AUTHORS), 'config.json');
  assert.equal(c.intermediate_size, 2816); // 256 · ceil(int(1024 · 4 · 2/3) / 256)
  assert.equal(c.tie_word_embeddings, false);
  assert.deepEqual([c.bos_token_id, c.eos_token_id, c.pad_token_id], [1, 2, null]);
  assert.equal(c.norm_first, false);
  const ratio = (patch: Record<string, unknown>) => parseConfig(JSON.stringify({ ...AUTHORS, ...patch }), 'config.json').intermediate_size;
  assert.equal(ratio({ hidden_ratio: 3 }), 2048); // int(2048) → 8 × 256
  assert.equal(ratio({ hidden_ratio: 2.5 }), 1792); // int(1706.67) = 1706 → 7 × 256
  assert.equal(ratio({ hidden_ratio: null }), 2816); // the MLP's own default, 4
  assert.equal(ratio({ hidden_ratio: 3, intermediate_size: 100 }), 100); // an explicit size wins
  assert.equal(defaultIntermediateSize(1024, 2.5), 1792);
  // Their legacy training config states a handful of fields: the rest are the class's defaults.
  const legacy = parseConfig(JSON.stringify({
    attention_bias: false, bos_token_id: 1, eos_token_id: 2, fuse_cross_entropy: true, fuse_norm: true, hidden_act: 'swish',
    hidden_size: 1024, initializer_range: 0.02, max_position_embeddings: 8192, model_type: 'swat', num_heads: 16,
    num_hidden_layers: 24, norm_eps: 1e-6, tie_word_embeddings: true, use_cache: true, vocab_size: 32000, window_size: 256,
  }), 'config.json');
  assert.deepEqual([legacy.intermediate_size, legacy.rope_theta, legacy.tie_word_embeddings, legacy.max_position_embeddings], [2816, 10000, true, 8192]);
  // Fields that pick kernels or caching, or that the authors' class ignores, change nothing.
  const same = parseConfig(JSON.stringify({ ...AUTHORS, fuse_norm: false, fuse_swiglu: false, fuse_linear_cross_entropy: true, use_cache: false, elementwise_affine: false, num_kv_heads: 16 }), 'config.json');
  assert.deepEqual(same, parseConfig(JSON.stringify(AUTHORS), 'config.json'));
  assert.equal(parseConfig(JSON.stringify({ ...AUTHORS, norm_first: true }), 'config.json').norm_first, true);
});

test("the authors' fields that would change the computation are refused with the reason", () => {
  const bad = (patch: Record<string, unknown>, message: string) => {
    assert.throws(() => parseConfig(JSON.stringify({ ...AUTHORS, ...patch }), 'm/config.json'), { name: 'ConfigError', message: `m/config.json: ${message}` });
  };
  bad({ num_kv_heads: 4 }, 'field "num_kv_heads" is 4: grouped key/value heads (4 for num_heads 16) change the attention; swat has one key/value head per query head (set it to null)');
  bad({ num_kv_heads: 'all' }, 'field "num_kv_heads" is "all": expected a positive integer or null');
  bad({ attention_bias: true }, 'field "attention_bias" is true: biases on the attention projections are not part of SWAT (SWAT.md §2: no biases anywhere)');
  bad({ qkv_bias: true }, 'field "qkv_bias" is true: biases on the query, key and value projections are not part of SWAT (SWAT.md §2: no biases anywhere)');
  bad({ qk_norm: true }, 'field "qk_norm" is true: RMSNorm on queries and keys is not part of SWAT (SWAT.md §3)');
  bad({ fuse_norm: 'yes' }, 'field "fuse_norm" is "yes": expected true or false');
  bad({ hidden_ratio: 0 }, 'field "hidden_ratio" is 0: expected a positive number or null');
  bad({ hidden_ratio: 1e6 }, 'field "hidden_ratio" is 1000000: with intermediate_size null it makes an MLP width of 682666752, more than the limit of 262144');
  bad({ hidden_act: 'gelu' }, 'field "hidden_act" is "gelu", expected "swish"');
  bad({ model_type: 'transformer' }, 'field "model_type" is "transformer", expected "swat"');
  bad({ pad_token_id: 32000 }, 'field "pad_token_id" is 32000, outside the vocabulary of 32000');
  bad({ norm_first: 1 }, 'field "norm_first" is 1, expected true or false');
});

test('swat-only options are those the authors\' class ignores, and slopes are named by their preset', () => {
  const base = { vocabSize: 10, layers: 1, dim: 8, heads: 4, window: 4 };
  assert.deepEqual(swatOnlyOptions(makeConfig(base)), []);
  assert.deepEqual(swatOnlyOptions(makeConfig({ ...base, attention: 'softmax', rope: false, sigmoidBias: -1.5, alibi: 'negative' })), [
    'attention_activation "softmax"', 'sigmoid_bias -1.5', 'use_rope false', 'alibi_slopes (negative)',
  ]);
  assert.deepEqual(swatOnlyOptions(makeConfig({ ...base, alibiSchedule: 'paper' })), ['alibi_slopes (balanced, paper schedule)']);
  assert.equal(slopePreset(alibiSlopes('balanced', 8, 'paper')), 'balanced'); // the schedules agree at H = 8
  assert.equal(slopePreset(alibiSlopes('none', 4)), 'none');
  assert.equal(slopePreset(alibiSlopes('positive', 6, 'paper')), 'positive, paper schedule');
  assert.equal(slopePreset([0.5, -0.5, 0.1, 0]), 'explicit');
  assert.equal(slopePreset(alibiSlopes('split:3:1', 4)), 'explicit');
});

test('a PyTorch-side config without the extra fields loads as SWAT (sigmoid, balanced, RoPE, b = 0)', () => {
  const c = parseConfig(JSON.stringify({ model_type: 'swat', vocab_size: 32000, hidden_size: 1024, num_hidden_layers: 24, num_heads: 16, window_size: 256, fuse_norm: true }), 'config.json');
  assert.equal(c.attention_activation, 'sigmoid');
  assert.deepEqual(c.alibi_slopes, alibiSlopes('balanced', 16));
  assert.equal(c.use_rope, true);
  assert.equal(c.sigmoid_bias, 0);
  assert.equal(c.intermediate_size, 2816);
});

test('a config.json with a missing or wrong field gives a one-line error naming file, field and value', () => {
  const good = JSON.parse(configToJson(makeConfig({ vocabSize: 10, layers: 1, dim: 8, heads: 2, window: 4 }))) as Record<string, unknown>;
  const bad = (patch: Record<string, unknown>, message: string) => {
    const obj = { ...good, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete obj[k];
    assert.throws(() => parseConfig(JSON.stringify(obj), 'm/config.json'), { name: 'ConfigError', message });
  };
  bad({ hidden_size: undefined }, `m/config.json: missing field "hidden_size" (a positive integer; the authors' SWATConfig would take 2048)`);
  bad({ window_size: undefined }, `m/config.json: missing field "window_size" (a positive integer or null; the authors' SWATConfig would take null, full attention)`);
  bad({ num_heads: 'four' }, 'm/config.json: field "num_heads" is "four", expected a positive integer');
  bad({ window_size: 0 }, 'm/config.json: field "window_size" is 0, expected a positive integer or null');
  bad({ model_type: 'llama' }, 'm/config.json: field "model_type" is "llama", expected "swat"');
  bad({ attention_activation: 'relu' }, 'm/config.json: field "attention_activation" is "relu", expected "sigmoid" or "softmax"');
  bad({ num_heads: 3 }, 'm/config.json: hidden_size 8 is not divisible by num_heads 3');
  bad({ alibi_slopes: [1, 2, 3] }, 'm/config.json: field "alibi_slopes" has 3 entries, num_heads is 2');
  bad({ eos_token_id: 10 }, 'm/config.json: field "eos_token_id" is 10, outside the vocabulary of 10');
  assert.throws(() => parseConfig('{', 'm/config.json'), (e: Error) => e.name === 'ConfigError' && e.message.startsWith('m/config.json: not valid JSON ('));
  assert.throws(() => parseConfig('[]', 'm/config.json'), { message: 'm/config.json: expected a JSON object' });
});

test('sizes are bounded: each field by its limit, the parameter count overflow-safely, before anything is built', () => {
  const good = JSON.parse(configToJson(makeConfig({ vocabSize: 10, layers: 1, dim: 8, heads: 2, window: 4 }))) as Record<string, unknown>;
  const bad = (patch: Record<string, unknown>, message: string) => {
    assert.throws(() => parseConfig(JSON.stringify({ ...good, ...patch }), 'm/config.json'), { name: 'ConfigError', message: `m/config.json: ${message}` });
  };
  // Number.isInteger(1e21) is true: an integer check alone lets these through.
  bad({ vocab_size: 1e21 }, 'field "vocab_size" is 1e+21, more than the limit of 2097152');
  bad({ window_size: 1e9 }, 'field "window_size" is 1000000000, more than the limit of 1048576');
  bad({ num_hidden_layers: 1e9 }, 'field "num_hidden_layers" is 1000000000, more than the limit of 1024');
  bad({ hidden_size: 2 ** 17, num_heads: 2 }, 'field "hidden_size" is 131072, more than the limit of 65536');
  bad({ intermediate_size: 1e12 }, 'field "intermediate_size" is 1000000000000, more than the limit of 262144');
  bad({ max_position_embeddings: 1e300 }, 'field "max_position_embeddings" is 1e+300, more than the limit of 16777216');
  // num_heads is bounded before its default slopes are computed from it (an array of that length).
  bad({ num_heads: 1e15, alibi_slopes: undefined }, 'missing field "alibi_slopes" (an array of numbers)');
  // Within every field's limit, but together too many parameters: 2^21 · 2^16 embeddings, 4 · 2^32 attention weights.
  bad({ vocab_size: 2 ** 21, hidden_size: 2 ** 16, num_heads: 2 }, 'the config makes 154669350912 parameters, more than the limit of 1000000000');
  bad({ eos_token_id: 1e15 }, 'field "eos_token_id" is 1000000000000000, outside the vocabulary of 10');
  // A nested value is refused by the reader's depth limit, never serialised into the message.
  assert.throws(() => parseConfig(`{"window_size": ${'['.repeat(5000)}${']'.repeat(5000)}}`, 'm/config.json'), {
    name: 'ConfigError',
    message: 'm/config.json: JSON nested deeper than 64 levels (at column 80)',
  });
  bad({ window_size: [[[[1]]]] }, 'field "window_size" is [[[[1]]]], expected a positive integer or null');
  assert.throws(() => makeConfig({ vocabSize: 1e21, layers: 1, dim: 8, heads: 2, window: 4 }), {
    name: 'ConfigError',
    message: 'model options: field "vocab_size" is 1e+21, more than the limit of 2097152',
  });
});

test('parameterCount agrees with the parameter table, tied and untied', () => {
  for (const tieEmbeddings of [true, false]) {
    const c = makeConfig({ vocabSize: 300, layers: 3, dim: 16, heads: 4, window: 8, intermediateSize: 40, tieEmbeddings });
    assert.equal(parameterCount(c), paramSpecs(c).reduce((a, s) => a + s.size, 0));
  }
});
