// The model config: config.json field names of SWAT.md §2 (those of the authors' PyTorch implementation,
// plus this project's extra fields), strict parsing with one-line errors, ALiBi slope presets (§3.1) and
// the derived quantities (§3.2 receptive field, decode memory).

import type { AttentionActivation } from './backend/backend.js';
import { ConfigError, showJson } from './errors.js';
import { JSON_LIMITS, parseJson } from './io/json.js';
import { checkedProduct, checkedSum } from './io/sizes.js';
import { MAX_VOCAB_SIZE } from './tokenizer/tokenizer.js';

export interface SwatConfig {
  model_type: 'swat';
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_heads: number;
  /** ω, keys seen per query including itself; null = full causal attention (Transformer++). */
  window_size: number | null;
  rope_theta: number;
  intermediate_size: number;
  hidden_act: 'swish';
  norm_eps: number;
  tie_word_embeddings: boolean;
  bos_token_id: number | null;
  eos_token_id: number | null;
  initializer_range: number;
  max_position_embeddings: number;
  // Extra fields of this project (SWAT.md §2), ignored by the PyTorch implementation.
  attention_activation: AttentionActivation;
  /** Resolved per-head slopes s_h (SWAT.md §3 sign convention: negative favours recent keys). */
  alibi_slopes: number[];
  use_rope: boolean;
  sigmoid_bias: number;
}

/** Default MLP width of SWAT.md §2: 256 · ceil(floor(d · 4 · 2/3) / 256). */
export function defaultIntermediateSize(d: number): number {
  return 256 * Math.ceil(Math.floor((d * 4 * 2) / 3) / 256);
}

export type SlopeSchedule = 'code' | 'paper';

/** Slope magnitude μ_k, k ≥ 1. 'code' is the authors' runnable code, 2^(−8k/H); 'paper' is the paper's
 *  text, 2^(−k). They coincide only for H = 8 (SWAT.md §8). */
function magnitude(k: number, H: number, schedule: SlopeSchedule): number {
  return schedule === 'code' ? 2 ** ((-8 * k) / H) : 2 ** -k;
}

export const ALIBI_PRESETS = ['balanced', 'negative', 'positive', 'split:A:B', 'none'] as const;

/** Resolves an ALiBi preset (SWAT.md §3.1) or an explicit comma-separated list of H slopes. */
export function alibiSlopes(preset: string, H: number, schedule: SlopeSchedule = 'code'): number[] {
  const mu = (k: number) => magnitude(k, H, schedule);
  const range = (n: number) => Array.from({ length: n }, (_, i) => i);
  const split = (recent: number, older: number) => [
    ...range(older).map((i) => +mu(i + 1)),
    ...range(recent).map((i) => -mu(recent - i)),
  ];
  if (preset === 'balanced') {
    if (H % 2 !== 0) throw new ConfigError(`alibi preset 'balanced' needs an even number of heads, got ${H}`);
    return split(H / 2, H / 2);
  }
  if (preset === 'negative') return range(H).map((i) => -mu(i + 1));
  if (preset === 'positive') return range(H).map((i) => +mu(i + 1));
  if (preset === 'none') return range(H).map(() => 0);
  const m = /^split:(\d+):(\d+)$/.exec(preset);
  if (m) {
    const recent = Number(m[1]);
    const older = Number(m[2]);
    if (recent + older !== H) {
      throw new ConfigError(`alibi preset '${preset}' names ${recent + older} heads, the model has ${H}`);
    }
    return split(recent, older);
  }
  if (/^[-+0-9.eE,\s]+$/.test(preset)) {
    const slopes = preset.split(',').map((s) => Number(s.trim()));
    if (slopes.length !== H || slopes.some((s) => !Number.isFinite(s))) {
      throw new ConfigError(`alibi slopes '${preset}': expected ${H} comma-separated numbers`);
    }
    return slopes;
  }
  throw new ConfigError(`unknown alibi preset '${preset}' (expected one of ${ALIBI_PRESETS.join(', ')}, or ${H} comma-separated slopes)`);
}

export interface ArchitectureOptions {
  vocabSize: number;
  layers: number;
  dim: number;
  heads: number;
  window: number | null;
  attention?: AttentionActivation;
  alibi?: string;
  alibiSchedule?: SlopeSchedule;
  rope?: boolean;
  intermediateSize?: number;
  sigmoidBias?: number;
  tieEmbeddings?: boolean;
  ropeTheta?: number;
  bosId?: number | null;
  eosId?: number | null;
  maxPositionEmbeddings?: number;
}

/** A validated config from architecture options, with SWAT's defaults for everything not given. */
export function makeConfig(o: ArchitectureOptions): SwatConfig {
  const cfg: SwatConfig = {
    model_type: 'swat',
    vocab_size: o.vocabSize,
    hidden_size: o.dim,
    num_hidden_layers: o.layers,
    num_heads: o.heads,
    window_size: o.window,
    rope_theta: o.ropeTheta ?? 10000,
    intermediate_size: o.intermediateSize ?? defaultIntermediateSize(o.dim),
    hidden_act: 'swish',
    norm_eps: 1e-6,
    tie_word_embeddings: o.tieEmbeddings ?? true,
    bos_token_id: o.bosId ?? null,
    eos_token_id: o.eosId ?? null,
    initializer_range: 0.02,
    max_position_embeddings: o.maxPositionEmbeddings ?? 4 * (o.window ?? 512),
    attention_activation: o.attention ?? 'sigmoid',
    alibi_slopes: [],
    use_rope: o.rope ?? true,
    sigmoid_bias: o.sigmoidBias ?? 0,
  };
  checkConfig(cfg, 'model options');
  cfg.alibi_slopes = alibiSlopes(o.alibi ?? 'balanced', o.heads, o.alibiSchedule ?? 'code');
  return cfg;
}

/** Upper bounds of the sizes in a config, checked before anything is allocated from them. Each is several
 *  times what published models use, and together they keep every product of sizes exact in a double. */
export const CONFIG_LIMITS = {
  /** Token ids must fit the merge table's pair keys (tokenizer.ts); 8× the largest published vocabularies. */
  vocab_size: MAX_VOCAB_SIZE,
  /** 4× the widest published models (16,384). */
  hidden_size: 2 ** 16,
  /** 8× the deepest published models (126 layers). */
  num_hidden_layers: 1024,
  /** No more heads than width (each head is at least one channel). */
  num_heads: 2 ** 16,
  /** 4× the widest published MLPs (53,248). */
  intermediate_size: 2 ** 18,
  /** A window of a million tokens: far past any trained context here; the decode cache checks its own size. */
  window_size: 2 ** 20,
  /** Positions a full-attention model is evaluated over (eval windows); 16M tokens. */
  max_position_embeddings: 2 ** 24,
} as const;

/** The weights are written as one Buffer (model.safetensors), which Node caps at 4 GiB: 10^9 F32 weights
 *  fit with room for the header. */
export const MAX_PARAMETERS = 1_000_000_000;

type Check = (v: unknown) => boolean;
const isPosInt: Check = (v) => Number.isInteger(v) && (v as number) > 0;
const isNonNegInt: Check = (v) => Number.isInteger(v) && (v as number) >= 0;
const isFiniteNum: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const isPosNum: Check = (v) => isFiniteNum(v) && (v as number) > 0;
const isBool: Check = (v) => typeof v === 'boolean';
const isHeadCount = (v: unknown): v is number => isPosInt(v) && (v as number) <= CONFIG_LIMITS.num_heads;

interface FieldRule {
  check: Check;
  expected: string;
  /** Upper bound (CONFIG_LIMITS), checked after the type. */
  max?: number;
  /** Used when the field is absent; fields without a default are required. */
  fallback?: (c: Record<string, unknown>) => unknown;
}

// The fields every SWAT config must state, then those with a default (SWAT.md §2 values), so a config
// written by the PyTorch implementation (which lacks this project's extra fields) loads as SWAT.
const FIELDS: Record<keyof SwatConfig, FieldRule> = {
  model_type: { check: (v) => v === 'swat', expected: '"swat"' },
  vocab_size: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.vocab_size },
  hidden_size: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.hidden_size },
  num_hidden_layers: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.num_hidden_layers },
  num_heads: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.num_heads },
  window_size: { check: (v) => v === null || isPosInt(v), expected: 'a positive integer or null', max: CONFIG_LIMITS.window_size },
  rope_theta: { check: isPosNum, expected: 'a positive number', fallback: () => 10000 },
  intermediate_size: {
    check: isPosInt,
    expected: 'a positive integer',
    max: CONFIG_LIMITS.intermediate_size,
    fallback: (c) => (isPosInt(c['hidden_size']) ? defaultIntermediateSize(c['hidden_size'] as number) : undefined),
  },
  hidden_act: { check: (v) => v === 'swish' || v === 'silu', expected: '"swish"', fallback: () => 'swish' },
  norm_eps: { check: isPosNum, expected: 'a positive number', fallback: () => 1e-6 },
  tie_word_embeddings: { check: isBool, expected: 'true or false', fallback: () => true },
  bos_token_id: { check: (v) => v === null || isNonNegInt(v), expected: 'a token id or null', fallback: () => null },
  eos_token_id: { check: (v) => v === null || isNonNegInt(v), expected: 'a token id or null', fallback: () => null },
  initializer_range: { check: isPosNum, expected: 'a positive number', fallback: () => 0.02 },
  max_position_embeddings: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.max_position_embeddings, fallback: () => 2048 },
  attention_activation: {
    check: (v) => v === 'sigmoid' || v === 'softmax',
    expected: '"sigmoid" or "softmax"',
    fallback: () => 'sigmoid',
  },
  alibi_slopes: {
    check: (v) => Array.isArray(v) && v.every(isFiniteNum),
    expected: 'an array of numbers',
    fallback: (c) => (isHeadCount(c['num_heads']) && c['num_heads'] % 2 === 0 ? alibiSlopes('balanced', c['num_heads']) : undefined),
  },
  use_rope: { check: isBool, expected: 'true or false', fallback: () => true },
  sigmoid_bias: { check: isFiniteNum, expected: 'a number', fallback: () => 0 },
};

/** Parses and validates config.json text. Unknown fields (the PyTorch implementation has more) are ignored. */
export function parseConfig(text: string, fileName: string): SwatConfig {
  const raw = parseJson(text, fileName, { maxSize: JSON_LIMITS.config, error: ConfigError });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${fileName}: expected a JSON object`);
  }
  const src = raw as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(FIELDS)) {
    let v = Object.hasOwn(src, name) ? src[name] : undefined;
    if (v === undefined && rule.fallback) v = rule.fallback(src);
    if (v === undefined) throw new ConfigError(`${fileName}: missing field "${name}" (${rule.expected})`);
    if (!rule.check(v)) {
      throw new ConfigError(`${fileName}: field "${name}" is ${showJson(v)}, expected ${rule.expected}`);
    }
    out[name] = v;
  }
  out['hidden_act'] = 'swish';
  const cfg = out as unknown as SwatConfig;
  checkConfig(cfg, fileName);
  return cfg;
}

/** Cross-field checks shared by parsed and constructed configs: types, limits, then the sizes they imply. */
function checkConfig(c: SwatConfig, where: string): void {
  for (const [name, rule] of Object.entries(FIELDS) as [keyof SwatConfig, FieldRule][]) {
    const v = c[name];
    if (name === 'alibi_slopes') continue; // resolved after these checks by makeConfig
    if (!rule.check(v)) throw new ConfigError(`${where}: field "${name}" is ${showJson(v)}, expected ${rule.expected}`);
    if (rule.max !== undefined && typeof v === 'number' && v > rule.max) {
      throw new ConfigError(`${where}: field "${name}" is ${showJson(v)}, more than the limit of ${rule.max}`);
    }
  }
  if (c.hidden_size % c.num_heads !== 0) {
    throw new ConfigError(`${where}: hidden_size ${c.hidden_size} is not divisible by num_heads ${c.num_heads}`);
  }
  const dh = c.hidden_size / c.num_heads;
  if (c.use_rope && dh % 2 !== 0) {
    throw new ConfigError(`${where}: RoPE needs an even head width, hidden_size / num_heads = ${dh}`);
  }
  if (c.alibi_slopes.length !== 0 && c.alibi_slopes.length !== c.num_heads) {
    throw new ConfigError(`${where}: field "alibi_slopes" has ${c.alibi_slopes.length} entries, num_heads is ${c.num_heads}`);
  }
  for (const name of ['bos_token_id', 'eos_token_id'] as const) {
    const id = c[name];
    if (id !== null && id >= c.vocab_size) {
      throw new ConfigError(`${where}: field "${name}" is ${showJson(id)}, outside the vocabulary of ${c.vocab_size}`);
    }
  }
  const parameters = parameterCount(c);
  if (parameters > MAX_PARAMETERS) {
    const count = parameters === Infinity ? 'more than 2^53' : String(parameters);
    throw new ConfigError(`${where}: the config makes ${count} parameters, more than the limit of ${MAX_PARAMETERS}`);
  }
}

/** Parameters of a config (SWAT.md §2 layout, params.ts's table): embeddings, per layer four D×D attention
 *  matrices, the gate/up and down projections and two norm gains, the final norm, the head when untied.
 *  Exact, or Infinity past 2^53. */
export function parameterCount(c: SwatConfig): number {
  const { vocab_size: V, hidden_size: D, intermediate_size: I, num_hidden_layers: L } = c;
  const perLayer = checkedSum([checkedProduct(4, D, D), checkedProduct(3, I, D), checkedProduct(2, D)]);
  const embeddings = checkedProduct(c.tie_word_embeddings ? 1 : 2, V, D);
  return checkedSum([embeddings, checkedProduct(L, perLayer), D]);
}

export function configToJson(c: SwatConfig): string {
  return JSON.stringify(c, null, 2) + '\n';
}

export function headDim(c: SwatConfig): number {
  return c.hidden_size / c.num_heads;
}

/** SWAT.md §3.2: the farthest earlier position that can influence a token, 1 + (ω − 1)·L; null = unbounded. */
export function receptiveField(c: SwatConfig): number | null {
  return c.window_size === null ? null : 1 + (c.window_size - 1) * c.num_hidden_layers;
}
