// Model directories moving between swat and the PyTorch / Hugging Face side, through the real swat process:
// checkpoints written by the PyTorch fixture script (tools/pytorch/make_checkpoints.py: the authors' config
// shapes, sharded BF16, the norm_first layout in F16) score as PyTorch computed them; every directory swat
// writes carries the Hugging Face companion files; swat export writes F16, BF16 and shards that score like
// the original within the dtype's precision and round-trip, refuses what would lose work, and says which
// options the authors' PyTorch class would ignore.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readSafetensorsFile } from '../src/io/files.js';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors.js';
import { fails, ok, succeeds } from './support/cli.js';
import { fixtureTree } from './support/files.js';
import { pythonWith } from './support/python.js';

const CHECKPOINTS = fileURLToPath(new URL('../../test/fixtures/checkpoints/', import.meta.url));
const TRANSFORMERS_IDS = fileURLToPath(new URL('../../tools/tokenizers/transformers_ids.py', import.meta.url));

const { root } = fixtureTree('swat-interop-');

interface Expected {
  ids: number[];
  logprobs: number[];
  logprobs_original: number[];
}

function score(dir: string, ids: readonly number[]): number[] {
  return (JSON.parse(ok('score', '--model', dir, '--ids', ids.join(','))) as { logprobs: number[] }).logprobs;
}

function maxDiff(a: readonly number[], b: readonly number[]): number {
  assert.equal(a.length, b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - b[i]!)));
}

const json = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
const files = (dir: string) => readdirSync(dir).filter((f) => !f.startsWith('.')).sort();

/** A copy of a fixture checkpoint to work on (reading a model directory may settle it, which writes). */
function checkpoint(name: string): string {
  const dir = join(root, `fixture-${name}`);
  if (!existsSync(dir)) cpSync(join(CHECKPOINTS, name), dir, { recursive: true });
  return dir;
}

describe('checkpoints written on the PyTorch side', () => {
  // The stored weights give PyTorch's float64 numbers to float32 rounding; the original float32 weights
  // differ from them by what the dtype rounds away.
  const cases = [
    { name: 'authors-bf16-sharded', tolerance: 5e-2, weights: '4 shards (model.safetensors.index.json), BF16' },
    { name: 'norm-first-f16', tolerance: 5e-3, weights: 'model.safetensors, F16' },
    { name: 'legacy-f32', tolerance: 1e-4, weights: 'model.safetensors, F32' },
  ];
  for (const c of cases) {
    it(`${c.name} scores as PyTorch computes it, and like its float32 original within the dtype's precision`, () => {
      const dir = checkpoint(c.name);
      const expected = json(join(dir, 'expected.json')) as Expected;
      const logprobs = score(dir, expected.ids);
      assert.ok(maxDiff(logprobs, expected.logprobs) < 1e-4, `vs PyTorch: ${maxDiff(logprobs, expected.logprobs)}`);
      const fromOriginal = maxDiff(logprobs, expected.logprobs_original);
      assert.ok(fromOriginal < c.tolerance, `vs the float32 original: ${fromOriginal}`);
      assert.equal(JSON.parse(ok('info', '--model', dir, '--json')).weights, c.weights);
    });
  }

  it("a config without tie_word_embeddings is untied, as the authors' class reads it: a missing head is named", () => {
    const dir = join(root, 'untied-by-default');
    cpSync(checkpoint('legacy-f32'), dir, { recursive: true });
    const config = json(join(dir, 'config.json'));
    delete config['tie_word_embeddings'];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    fails(
      `${join(dir, 'model.safetensors')}: missing tensor "lm_head.weight": config.json has tie_word_embeddings false ` +
        "(also what its absence means to the authors' SWATConfig); set it to true if the head is the embedding",
      'score', '--model', dir, '--ids', '1,2',
    );
  });

  it('the norm_first layout exports with its own weight names and the same numbers', () => {
    const dir = checkpoint('norm-first-f16');
    const out = join(root, 'norm-first-export');
    ok('export', '--model', dir, '--out', out);
    assert.equal(json(join(out, 'config.json'))['norm_first'], true);
    const names = [...readSafetensorsFile(join(out, 'model.safetensors')).tensors.keys()];
    assert.ok(names.includes('model.layers.1.attn.norm.weight') && names.includes('model.layers.1.mlp.norm.weight'));
    assert.ok(!names.some((n) => n.includes('attn_norm') || n.includes('mlp_norm')));
    const ids = (json(join(dir, 'expected.json')) as Expected).ids;
    assert.deepEqual(score(out, ids), score(dir, ids)); // F16 values are exact in F32
  });
});

describe('companion files', () => {
  it('init writes what Hugging Face tools read: BOS, EOS, the architecture, the dtype, and a post-processor adding BOS', () => {
    const dir = join(root, 'init-byte');
    ok('init', '--out', dir, '--layers', '1', '--dim', '16', '--heads', '2', '--window', '4');
    assert.deepEqual(files(dir), [
      'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json',
    ]);
    const config = json(join(dir, 'config.json'));
    assert.deepEqual([config['architectures'], config['torch_dtype'], config['tie_word_embeddings']], [['SWATForCausalLM'], 'float32', true]);
    // swat separates documents by EOS and starts every text with it: EOS is also the document-start token.
    assert.deepEqual([config['bos_token_id'], config['eos_token_id']], [257, 257]);
    assert.deepEqual(json(join(dir, 'generation_config.json')), { bos_token_id: 257, eos_token_id: 257 });
    assert.deepEqual(json(join(dir, 'special_tokens_map.json')), { bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' });
    const tc = json(join(dir, 'tokenizer_config.json'));
    assert.deepEqual(
      [tc['tokenizer_class'], tc['bos_token'], tc['eos_token'], tc['add_bos_token'], tc['add_eos_token']],
      ['PreTrainedTokenizerFast', '<|endoftext|>', '<|endoftext|>', true, false],
    );
    assert.deepEqual(tc['added_tokens_decoder']['257'], { content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
    assert.deepEqual(json(join(dir, 'tokenizer.json'))['post_processor'], {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<|endoftext|>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<|endoftext|>', type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<|endoftext|>': { id: '<|endoftext|>', ids: [257], tokens: ['<|endoftext|>'] } },
    });
    // swat's own encode is unchanged by the post-processor: it never adds BOS.
    assert.equal(ok('tokenizer', 'encode', '--tokenizer', dir, '--text', 'hi'), '104,105\n');
  });

  const python = pythonWith('transformers');
  it('transformers reads them: BOS and EOS, BOS added by default, the same ids as swat (where a Python with transformers is at hand)', {
    skip: python === null ? 'no Python with the transformers package here (set SWAT_TEST_PYTHON): companion files not read by transformers' : false,
  }, () => {
    const texts = ['Hello world', ' a leading space', 'a<|endoftext|>b </s> <s>x', 'naïve café 😀\n\ttabs'];
    for (const tokenizer of ['byte', 'llama2']) {
      const dir = join(root, `transformers-${tokenizer}`);
      ok('init', '--out', dir, '--tokenizer', tokenizer, '--layers', '1', '--dim', '16', '--heads', '2', '--window', '4');
      const r = spawnSync(python!, [TRANSFORMERS_IDS, dir, JSON.stringify(texts)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const hf = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, any>;
      const eos = tokenizer === 'byte' ? ['<|endoftext|>', 257] : ['</s>', 2];
      assert.deepEqual([hf['bos_token'], hf['bos_token_id'], hf['eos_token'], hf['eos_token_id']], [eos[0], eos[1], eos[0], eos[1]]);
      assert.deepEqual(hf['generation'], { bos_token_id: eos[1], eos_token_id: eos[1] });
      texts.forEach((text, i) => {
        const ours = ok('tokenizer', 'encode', '--tokenizer', dir, '--text', text).trim().split(',').map(Number);
        assert.deepEqual(hf['plain'][i], ours, text);
        assert.deepEqual(hf['ids'][i], [eos[1], ...ours], text);
      });
    }
  });

  it('a model over raw ids has no tokenizer files, and its generation config no ids it does not have', () => {
    const dir = join(root, 'init-raw');
    ok('init', '--out', dir, '--vocab-size', '50', '--layers', '1', '--dim', '16', '--heads', '2', '--window', '4', '--untied');
    assert.deepEqual(files(dir), ['config.json', 'generation_config.json', 'model.safetensors']);
    assert.deepEqual(json(join(dir, 'generation_config.json')), {});
    assert.equal(json(join(dir, 'config.json'))['tie_word_embeddings'], false);
  });

  it('train writes them with every checkpoint', () => {
    const corpus = join(root, 'corpus.txt');
    const words = 'the cat sat on a mat and then ran off to see the world again'.split(' ');
    writeFileSync(corpus, Array.from({ length: 12 }, (_, d) => Array.from({ length: 60 }, (_, i) => words[(d * 7 + i * i) % words.length]).join(' ')).join('\n\n'));
    const dir = join(root, 'trained');
    succeeds('train', '--data', corpus, '--tokenizer', 'byte', '--layers', '1', '--dim', '16', '--heads', '2', '--window', '4', '--seq-len', '8',
      '--batch-size', '2', '--steps', '2', '--eval-interval', '0', '--checkpoint-interval', '0', '--sample-tokens', '0', '--out', dir);
    for (const f of ['generation_config.json', 'special_tokens_map.json', 'tokenizer_config.json']) assert.ok(existsSync(join(dir, f)), f);
    assert.equal(json(join(dir, 'tokenizer.json'))['post_processor']['type'], 'TemplateProcessing');
    assert.equal(json(join(dir, 'config.json'))['torch_dtype'], 'float32');
  });
});

describe('swat export', () => {
  const model = join(root, 'export-source');
  const ids = '72,101,108,108,111,44,32,119,111,114,108,100,33,32,72,101,108,108,111';
  const logprobs = (dir: string) => score(dir, ids.split(',').map(Number));
  ok('init', '--out', model, '--layers', '2', '--dim', '32', '--heads', '4', '--window', '4', '--seed', '5');

  it('F16, BF16 and sharded F32 score like the original within the dtype precision', () => {
    const original = logprobs(model);
    const cases: [string, string[], number, string][] = [
      ['f32-sharded', ['--max-shard-size', '20KB'], 0, '7 shards (model.safetensors.index.json), F32'],
      ['f16', ['--dtype', 'f16'], 5e-3, 'model.safetensors, F16'],
      ['bf16-sharded', ['--dtype', 'bf16', '--max-shard-size', '40KB'], 5e-2, '5 shards (model.safetensors.index.json), BF16'],
    ];
    for (const [name, flags, tolerance, weights] of cases) {
      const out = join(root, `export-${name}`);
      ok('export', '--model', model, '--out', out, ...flags);
      const d = maxDiff(logprobs(out), original);
      assert.ok(tolerance === 0 ? d === 0 : d < tolerance, `${name}: ${d}`);
      assert.equal(JSON.parse(ok('info', '--model', out, '--json')).weights, weights);
      assert.equal(json(join(out, 'config.json'))['torch_dtype'], { 'f32-sharded': 'float32', f16: 'float16', 'bf16-sharded': 'bfloat16' }[name]);
    }
  });

  it('round-trips: F32 shards back to one file give the original directory byte for byte; BF16 again is BF16 unchanged', () => {
    const sharded = join(root, 'rt-sharded');
    const single = join(root, 'rt-single');
    ok('export', '--model', model, '--out', sharded, '--max-shard-size', '30000');
    ok('export', '--model', sharded, '--out', single);
    assert.deepEqual(files(single), files(model));
    for (const f of files(model)) assert.ok(readFileSync(join(single, f)).equals(readFileSync(join(model, f))), f);
    const bf16 = join(root, 'rt-bf16');
    const again = join(root, 'rt-bf16-again');
    ok('export', '--model', model, '--out', bf16, '--dtype', 'bf16', '--max-shard-size', '20KB');
    ok('export', '--model', bf16, '--out', again, '--dtype', 'bf16', '--max-shard-size', '20KB');
    assert.deepEqual(files(again), files(bf16));
    for (const f of files(bf16)) assert.ok(readFileSync(join(again, f)).equals(readFileSync(join(bf16, f))), f);
  });

  it('replaces a model only with --force, leaving no stale weights of the other layout', () => {
    const out = join(root, 'export-force');
    ok('export', '--model', model, '--out', out, '--max-shard-size', '20KB');
    fails(
      `${out} already holds a model (config.json, model.safetensors.index.json, tokenizer.json): pass --force to replace it, or choose another --out`,
      'export', '--model', model, '--out', out,
    );
    ok('export', '--model', model, '--out', out, '--force');
    assert.deepEqual(files(out), files(model));
    ok('export', '--model', model, '--out', out, '--force', '--max-shard-size', '100KB', '--dtype', 'bf16');
    assert.ok(!existsSync(join(out, 'model.safetensors')), 'the single file would win over the new shards');
    assert.equal(files(out).filter((f) => f.endsWith('.safetensors')).length, 2);
  });

  it('refuses bad arguments in one line before reading the model', () => {
    fails(`--out ${model} is the model directory itself: export writes a new directory`, 'export', '--model', model, '--out', model);
    fails("--dtype must be one of f32, f16, bf16, q8, got 'f8'", 'export', '--model', model, '--out', join(root, 'x'), '--dtype', 'f8');
    fails("--max-shard-size must be a size such as 5GB, 500MB, 2GiB or a number of bytes, got '5 parsecs'", 'export', '--model', model, '--out', join(root, 'x'), '--max-shard-size', '5 parsecs');
    fails('swat export: --model is required (see swat export --help)', 'export', '--out', join(root, 'x'));
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    fails(`--out ${file} is a file, not a directory`, 'export', '--model', model, '--out', file);
  });

  it('refuses F16 for a weight beyond its range, naming it; BF16 holds it', () => {
    const big = join(root, 'export-big');
    cpSync(model, big, { recursive: true });
    const path = join(big, 'model.safetensors');
    const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
    tensors.get('model.layers.0.attn.q_proj.weight')!.data[3] = 1e5;
    writeFileSync(path, encodeSafetensors(new Map([...tensors].map(([n, t]) => [n, { data: t.data, shape: t.shape }])), metadata));
    fails(
      'encodeSafetensors: tensor "model.layers.0.attn.q_proj.weight" has 100000 at index 3, beyond the largest finite F16 value (65504)',
      'export', '--model', big, '--out', join(root, 'export-big-f16'), '--dtype', 'f16',
    );
    assert.ok(!existsSync(join(root, 'export-big-f16', 'config.json')), 'nothing written');
    ok('export', '--model', big, '--out', join(root, 'export-big-bf16'), '--dtype', 'bf16');
  });

  it("warns about the options the authors' PyTorch class ignores; info names them", () => {
    const dir = join(root, 'softmax-model');
    ok('init', '--out', dir, '--layers', '1', '--dim', '16', '--heads', '2', '--window', '4', '--attention', 'softmax', '--no-rope');
    const r = succeeds('export', '--model', dir, '--out', join(root, 'softmax-export'));
    assert.equal(
      r.err,
      `warning: ${dir} uses options the authors' PyTorch class does not have: attention_activation "softmax", use_rope false. ` +
        'SWATForCausalLM ignores these config.json fields: the model loads there without an error and computes other logits. ' +
        'A loader must implement them (docs/pytorch.md).\n',
    );
    assert.match(ok('info', '--model', dir), /\nPyTorch {11}a loader must understand attention_activation "softmax", use_rope false \(the authors' SWATForCausalLM ignores them and computes other logits\)\n/);
    assert.deepEqual(JSON.parse(ok('info', '--model', dir, '--json')).pytorch_loader_must_understand, ['attention_activation "softmax"', 'use_rope false']);
    assert.equal(succeeds('export', '--model', model, '--out', join(root, 'swat-export')).err, '', 'no warning for a SWAT model');
    assert.match(ok('info', '--model', model), /\nPyTorch {11}the authors' SWATForCausalLM computes this model\n/);
  });
});
