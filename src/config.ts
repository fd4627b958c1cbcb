// The model config: config.json field names of SWAT.md §2 (those of the authors' PyTorch implementation,
// plus this project's extra fields), strict parsing with one-line errors, ALiBi slope presets (§3.1) and
// the derived quantities (§3.2 receptive field, decode memory).
//
// A config.json written by the authors' SWATConfig (flash-linear-attention's `swat` model) reads with that
// class's defaults and derivations: intermediate_size null → from hidden_ratio, tie_word_embeddings absent →
// untied, bos/eos absent → 1/2. Its other fields are honoured where they leave SWAT.md's computation as it
// is (norm_first only moves the norm weights, fuse_* pick kernels) and refused, with the reason, where they
// change it (grouped key/value heads, projection biases, query/key norms). The sizes and the window have
// no default here: a model's shape is never guessed.

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
  pad_token_id: number | null;
  initializer_range: number;
  max_position_embeddings: number;
  /** The authors' layout with the two norms inside the attention and MLP modules (weights
   *  `attn.norm.weight`, `mlp.norm.weight`): the same computation, other weight names. */
  norm_first: boolean;
  // Extra fields of this project (SWAT.md §2), ignored by the PyTorch implementation.
  attention_activation: AttentionActivation;
  /** Resolved per-head slopes s_h (SWAT.md §3 sign convention: negative favours recent keys). */
  alibi_slopes: number[];
  use_rope: boolean;
  sigmoid_bias: number;
}

/** Default MLP width of SWAT.md §2: 256 · ceil(floor(d · 4 · 2/3) / 256); the authors derive it the same
 *  way from their `hidden_ratio` (4 by default), in the same order of operations. */
export function defaultIntermediateSize(d: number, hiddenRatio = 4): number {
  return 256 * Math.ceil(Math.trunc((d * hiddenRatio * 2) / 3) / 256);
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
  padId?: number | null;
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
    pad_token_id: o.padId ?? null,
    initializer_range: 0.02,
    max_position_embeddings: o.maxPositionEmbeddings ?? 4 * (o.window ?? 512),
    norm_first: false,
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
  /** Used when the field is absent (or null, with `nullIsAbsent`); fields without one are required. */
  fallback?: (c: Record<string, unknown>) => unknown;
  nullIsAbsent?: boolean;
  /** What the authors' SWATConfig would take for a required field, for the message that asks for it. */
  authorsDefault?: string;
}

const isTokenIdOrNull: Check = (v) => v === null || isNonNegInt(v);

// The fields every SWAT config must state, then those with a default: the authors' SWATConfig defaults,
// and SWAT.md §2 values for this project's extra fields, so a config written by the PyTorch implementation
// (which lacks them) loads as SWAT.
const FIELDS: Record<keyof SwatConfig, FieldRule> = {
  model_type: { check: (v) => v === 'swat', expected: '"swat"' },
  vocab_size: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.vocab_size, authorsDefault: '32000' },
  hidden_size: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.hidden_size, authorsDefault: '2048' },
  num_hidden_layers: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.num_hidden_layers, authorsDefault: '24' },
  num_heads: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.num_heads, authorsDefault: '32' },
  window_size: {
    check: (v) => v === null || isPosInt(v),
    expected: 'a positive integer or null',
    max: CONFIG_LIMITS.window_size,
    authorsDefault: 'null, full attention',
  },
  rope_theta: { check: isPosNum, expected: 'a positive number', fallback: () => 10000 },
  intermediate_size: {
    check: isPosInt,
    expected: 'a positive integer',
    max: CONFIG_LIMITS.intermediate_size,
    nullIsAbsent: true,
    fallback: (c) => (isPosInt(c['hidden_size']) ? defaultIntermediateSize(c['hidden_size'] as number, hiddenRatio(c)) : undefined),
  },
  hidden_act: { check: (v) => v === 'swish' || v === 'silu', expected: '"swish"', fallback: () => 'swish' },
  norm_eps: { check: isPosNum, expected: 'a positive number', fallback: () => 1e-6 },
  tie_word_embeddings: { check: isBool, expected: 'true or false', fallback: () => false },
  bos_token_id: { check: isTokenIdOrNull, expected: 'a token id or null', fallback: () => 1 },
  eos_token_id: { check: isTokenIdOrNull, expected: 'a token id or null', fallback: () => 2 },
  pad_token_id: { check: isTokenIdOrNull, expected: 'a token id or null', fallback: () => null },
  initializer_range: { check: isPosNum, expected: 'a positive number', fallback: () => 0.02 },
  max_position_embeddings: { check: isPosInt, expected: 'a positive integer', max: CONFIG_LIMITS.max_position_embeddings, fallback: () => 2048 },
  norm_first: { check: isBool, expected: 'true or false', fallback: () => false },
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

/** The authors' hidden_ratio (null or absent: 4, as their MLP takes it). */
function hiddenRatio(c: Record<string, unknown>): number {
  const r = c['hidden_ratio'];
  return typeof r === 'number' ? r : 4;
}

/** The authors' SWATConfig fields that swat does not keep: each is checked, and a value that would change
 *  the computation is refused with the reason (a problem string; null when the value is fine). Absent and
 *  null are their defaults. */
const AUTHORS_FIELDS: Record<string, (v: unknown, c: Record<string, unknown>) => string | null> = {
  num_kv_heads: (v, c) => {
    if (v === c['num_heads']) return null;
    if (!isPosInt(v)) return 'expected a positive integer or null';
    return `grouped key/value heads (${v} for num_heads ${showJson(c['num_heads'])}) change the attention; swat has one key/value head per query head (set it to null)`;
  },
  hidden_ratio: (v) => (isPosNum(v) ? null : 'expected a positive number or null'),
  attention_bias: (v) => refuseTrue(v, 'biases on the attention projections are not part of SWAT (SWAT.md §2: no biases anywhere)'),
  qkv_bias: (v) => refuseTrue(v, 'biases on the query, key and value projections are not part of SWAT (SWAT.md §2: no biases anywhere)'),
  qk_norm: (v) => refuseTrue(v, 'RMSNorm on queries and keys is not part of SWAT (SWAT.md §3)'),
  // The authors' model builds its norms with gains whatever this says; kernels and caching change no value.
  elementwise_affine: (v) => (isBool(v) ? null : 'expected true or false'),
  use_cache: (v) => (isBool(v) ? null : 'expected true or false'),
  fuse_norm: (v) => (isBool(v) ? null : 'expected true or false'),
  fuse_swiglu: (v) => (isBool(v) ? null : 'expected true or false'),
  fuse_cross_entropy: (v) => (isBool(v) ? null : 'expected true or false'),
  fuse_linear_cross_entropy: (v) => (isBool(v) ? null : 'expected true or false'),
};

function refuseTrue(v: unknown, why: string): string | null {
  if (v === false) return null;
  return v === true ? why : 'expected true or false';
}

/** Parses and validates config.json text. Unknown fields (the PyTorch side writes more) are ignored. */
export function parseConfig(text: string, fileName: string): SwatConfig {
  const raw = parseJson(text, fileName, { maxSize: JSON_LIMITS.config, error: ConfigError });
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${fileName}: expected a JSON object`);
  }
  const src = raw as Record<string, unknown>;
  // hidden_ratio first: intermediate_size may be derived from it.
  const authorsField = (name: string, values: Record<string, unknown>) => {
    const v = Object.hasOwn(src, name) ? src[name] : undefined;
    const why = v === undefined || v === null ? null : AUTHORS_FIELDS[name]!(v, values);
    if (why !== null) throw new ConfigError(`${fileName}: field "${name}" is ${showJson(v)}: ${why}`);
  };
  authorsField('hidden_ratio', src);
  const out: Record<string, unknown> = {};
  for (const [name, rule] of Object.entries(FIELDS)) {
    let v = Object.hasOwn(src, name) ? src[name] : undefined;
    if (v === null && rule.nullIsAbsent) v = undefined;
    if (v === undefined && rule.fallback) v = rule.fallback(src);
    if (v === undefined) {
      const theirs = rule.authorsDefault ? `; the authors' SWATConfig would take ${rule.authorsDefault}` : '';
      throw new ConfigError(`${fileName}: missing field "${name}" (${rule.expected}${theirs})`);
    }
    if (!rule.check(v)) {
      throw new ConfigError(`${fileName}: field "${name}" is ${showJson(v)}, expected ${rule.expected}`);
    }
    out[name] = v;
  }
  out['hidden_act'] = 'swish';
  const derived = out['intermediate_size'] as number;
  if ((src['intermediate_size'] ?? null) === null && !(derived <= CONFIG_LIMITS.intermediate_size)) {
    const why = `with intermediate_size null it makes an MLP width of ${derived}, more than the limit of ${CONFIG_LIMITS.intermediate_size}`;
    throw new ConfigError(`${fileName}: field "hidden_ratio" is ${showJson(src['hidden_ratio'])}: ${why}`);
  }
  const cfg = out as unknown as SwatConfig;
  checkConfig(cfg, fileName);
  for (const name of Object.keys(AUTHORS_FIELDS)) authorsField(name, out);
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
  for (const name of ['bos_token_id', 'eos_token_id', 'pad_token_id'] as const) {
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

/** torch_dtype names of the weight dtypes. */
export const TORCH_DTYPES = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' } as const;

/** config.json text: the authors' field names in their order, stated explicitly where their class's
 *  default would mean something else (tie_word_embeddings, bos/eos), the architecture class
 *  `transformers` instantiates, the weights' dtype, then this project's extra fields. */
export function configToJson(c: SwatConfig, dtype: keyof typeof TORCH_DTYPES = 'F32'): string {
  const json = {
    model_type: c.model_type,
    architectures: ['SWATForCausalLM'],
    vocab_size: c.vocab_size,
    hidden_size: c.hidden_size,
    num_hidden_layers: c.num_hidden_layers,
    num_heads: c.num_heads,
    num_kv_heads: null, // the authors' one key/value head per query head, and unaffected by an edit of num_heads
    window_size: c.window_size,
    rope_theta: c.rope_theta,
    max_position_embeddings: c.max_position_embeddings,
    intermediate_size: c.intermediate_size,
    hidden_act: c.hidden_act,
    initializer_range: c.initializer_range,
    norm_first: c.norm_first,
    norm_eps: c.norm_eps,
    attention_bias: false,
    pad_token_id: c.pad_token_id,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    tie_word_embeddings: c.tie_word_embeddings,
    torch_dtype: TORCH_DTYPES[dtype],
    attention_activation: c.attention_activation,
    alibi_slopes: c.alibi_slopes,
    use_rope: c.use_rope,
    sigmoid_bias: c.sigmoid_bias,
  };
  return JSON.stringify(json, null, 2) + '\n';
}

/** The options of `c` that the authors' PyTorch class does not have: it ignores these fields (it always
 *  computes sigmoid attention with RoPE, no bias and the balanced slopes of the code's schedule), so a
 *  model using them loads there without an error and computes a different function. Each entry is the
 *  field and its value, for people; none means that class computes this model. */
export function swatOnlyOptions(c: SwatConfig): string[] {
  const out: string[] = [];
  if (c.attention_activation !== 'sigmoid') out.push(`attention_activation "${c.attention_activation}"`);
  if (c.sigmoid_bias !== 0) out.push(`sigmoid_bias ${c.sigmoid_bias}`);
  if (!c.use_rope) out.push('use_rope false');
  const preset = slopePreset(c.alibi_slopes);
  if (preset !== 'balanced') out.push(`alibi_slopes (${preset})`);
  return out;
}

/** Which preset (SWAT.md §3.1) the slopes are, with the paper's schedule named when it is that one:
 *  "balanced", "negative, paper schedule", …, or "explicit". */
export function slopePreset(slopes: readonly number[]): string {
  const H = slopes.length;
  const same = (s: number[]) => s.length === H && s.every((x, i) => x === slopes[i]);
  for (const preset of ['balanced', 'negative', 'positive', 'none']) {
    for (const schedule of ['code', 'paper'] as const) {
      if (preset === 'balanced' && H % 2 !== 0) continue;
      if (same(alibiSlopes(preset, H, schedule))) return schedule === 'code' || preset === 'none' ? preset : `${preset}, paper schedule`;
    }
  }
  return 'explicit';
}

export function headDim(c: SwatConfig): number {
  return c.hidden_size / c.num_heads;
}

/** SWAT.md §3.2: the farthest earlier position that can influence a token, 1 + (ω − 1)·L; null = unbounded. */
export function receptiveField(c: SwatConfig): number | null {
  return c.window_size === null ? null : 1 + (c.window_size - 1) * c.num_hidden_layers;
}
