// swat info: what a model directory holds, what running it costs, and what a PyTorch loader must
// understand to compute it.

import { type SwatConfig, receptiveField, swatOnlyOptions } from '../../config.js';
import { dirSource } from '../../io/files.js';
import { WeightFiles } from '../../io/sharded.js';
import { paramSpecs } from '../../model/params.js';
import { readModelConfig } from '../../model/store.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { type CommandSpec, type Parsed, flag, required, str } from '../args.js';
import { print } from '../output.js';

export const infoCommand: CommandSpec = {
  name: 'info',
  summary: 'parameters, window, receptive field and decoding memory of a model',
  usage: '--model DIR [--json]',
  options: {
    model: { type: 'string', arg: 'DIR', help: 'model directory' },
    json: { type: 'boolean', help: 'print JSON' },
  },
};

export interface ModelFacts {
  parameters: number;
  layers: number;
  width: number;
  heads: number;
  window: number | null;
  attention: string;
  alibi_slopes: number[];
  rope: boolean;
  vocab_size: number;
  tokenizer: string;
  receptive_field: number | null;
  /** Bytes of keys and values a decoding sequence holds: the last ω tokens per layer (SWAT.md §4). */
  decode_cache_bytes_per_sequence: number | null;
  weights_bytes: number;
  /** Options the authors' PyTorch class ignores (config.ts: swatOnlyOptions): a loader must implement them. */
  pytorch_loader_must_understand: string[];
}

export function modelFacts(c: SwatConfig, tokenizer: Tokenizer | null): ModelFacts {
  const parameters = paramSpecs(c).reduce((a, s) => a + s.size, 0);
  return {
    parameters,
    layers: c.num_hidden_layers,
    width: c.hidden_size,
    heads: c.num_heads,
    window: c.window_size,
    attention: c.attention_activation,
    alibi_slopes: c.alibi_slopes,
    rope: c.use_rope,
    vocab_size: c.vocab_size,
    tokenizer: tokenizer ? (tokenizer.description ?? `${tokenizer.vocabSize} tokens`) : 'none (raw ids)',
    receptive_field: receptiveField(c),
    decode_cache_bytes_per_sequence: c.window_size === null ? null : 2 * c.num_hidden_layers * c.window_size * c.hidden_size * 4,
    weights_bytes: parameters * 4,
    pytorch_loader_must_understand: swatOnlyOptions(c),
  };
}

function bytes(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`;
}

export function describeModel(c: SwatConfig, tokenizer: Tokenizer | null): string {
  const f = modelFacts(c, tokenizer);
  const slopes = f.alibi_slopes.map((s) => (s === 0 ? '0' : s.toPrecision(3))).join(', ');
  return [
    `parameters        ${f.parameters.toLocaleString('en-US')} (${bytes(f.weights_bytes)} as F32)`,
    `layers × width    ${f.layers} × ${f.width}, ${f.heads} heads of ${f.width / f.heads}, MLP ${c.intermediate_size}`,
    `attention         ${f.attention}, window ${f.window ?? 'none (full causal)'}, RoPE ${f.rope ? 'on' : 'off'}, bias ${c.sigmoid_bias}`,
    `ALiBi slopes      [${slopes}]`,
    `vocabulary        ${f.vocab_size}, tokenizer: ${f.tokenizer}`,
    `receptive field   ${f.receptive_field === null ? 'unbounded (full attention)' : `${f.receptive_field} tokens (1 + (ω−1)·L)`}`,
    `decode memory     ${f.decode_cache_bytes_per_sequence === null ? 'grows with the text (full attention)' : `${bytes(f.decode_cache_bytes_per_sequence)} of keys and values per sequence, at any length`}`,
    `PyTorch           ${pytorchLine(f.pytorch_loader_must_understand)}`,
  ].join('\n');
}

function pytorchLine(options: string[]): string {
  if (options.length === 0) return "the authors' SWATForCausalLM computes this model";
  return `a loader must understand ${options.join(', ')} (the authors' SWATForCausalLM ignores them and computes other logits)`;
}

/** "3 shards (model.safetensors.index.json), BF16", from the headers only; null without weights. */
function describeWeights(dir: string): string | null {
  let files: WeightFiles;
  try {
    files = WeightFiles.openDir(dirSource(dir));
  } catch {
    return null; // info describes the config; loading the model reports what is wrong with the weights
  }
  const layout = files.shards.length === 1 ? 'model.safetensors' : `${files.shards.length} shards (model.safetensors.index.json)`;
  return `${layout}, ${files.dtypes.join(' and ')}`;
}

export function runInfo(v: Parsed): void {
  const dir = required(str(v, 'model'), 'model', 'info');
  const { config, tokenizer } = readModelConfig(dir);
  const weights = describeWeights(dir);
  if (flag(v, 'json')) print(JSON.stringify({ ...modelFacts(config, tokenizer), weights }) + '\n');
  else print(`${describeModel(config, tokenizer)}${weights === null ? '' : `\nweights           ${weights}`}\n`);
}
