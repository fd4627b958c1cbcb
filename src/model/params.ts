// The model's parameters as one flat buffer split by a table of names and shapes (SWAT.md §2 names), so the
// optimiser is one call per group and gradients are one buffer of the same layout. Weights that get weight
// decay (matrices and embeddings) come first, norm gains after, so each group is one contiguous range.

import type { SwatConfig } from '../config.js';
import type { Floats } from '../tensor.js';
import { InputError } from '../errors.js';
import type { Rng } from '../random.js';

export interface ParamSpec {
  name: string;
  shape: number[];
  /** Matrices decay; norm gains do not (the usual AdamW grouping). */
  decay: boolean;
  offset: number;
  size: number;
}

export interface LayerParamNames {
  attnNorm: string;
  q: string;
  k: string;
  v: string;
  o: string;
  mlpNorm: string;
  gateUp: string;
  down: string;
}

export function layerNames(l: number): LayerParamNames {
  const p = `model.layers.${l}`;
  return {
    attnNorm: `${p}.attn_norm.weight`,
    q: `${p}.attn.q_proj.weight`,
    k: `${p}.attn.k_proj.weight`,
    v: `${p}.attn.v_proj.weight`,
    o: `${p}.attn.o_proj.weight`,
    mlpNorm: `${p}.mlp_norm.weight`,
    gateUp: `${p}.mlp.gate_proj.weight`,
    down: `${p}.mlp.down_proj.weight`,
  };
}

export const EMBEDDINGS = 'model.embeddings.weight';
export const FINAL_NORM = 'model.norm.weight';
export const LM_HEAD = 'lm_head.weight';

/** The parameter table of a config, in flat-buffer order. */
export function paramSpecs(c: SwatConfig): ParamSpec[] {
  const d = c.hidden_size;
  const I = c.intermediate_size;
  const matrices: [string, number[]][] = [[EMBEDDINGS, [c.vocab_size, d]]];
  const gains: [string, number[]][] = [];
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const n = layerNames(l);
    matrices.push([n.q, [d, d]], [n.k, [d, d]], [n.v, [d, d]], [n.o, [d, d]], [n.gateUp, [2 * I, d]], [n.down, [d, I]]);
    gains.push([n.attnNorm, [d]], [n.mlpNorm, [d]]);
  }
  if (!c.tie_word_embeddings) matrices.push([LM_HEAD, [c.vocab_size, d]]);
  gains.push([FINAL_NORM, [d]]);
  const specs: ParamSpec[] = [];
  let offset = 0;
  for (const [group, decay] of [[matrices, true], [gains, false]] as const) {
    for (const [name, shape] of group) {
      const size = shape.reduce((a, b) => a * b, 1);
      specs.push({ name, shape, decay, offset, size });
      offset += size;
    }
  }
  return specs;
}

/** A flat buffer with a named view per parameter. Used for weights, gradients and optimiser moments alike. */
export class ParamBuffer {
  readonly specs: ParamSpec[];
  readonly flat: Floats;
  private readonly views = new Map<string, Floats>();
  /** Number of leading elements that get weight decay. */
  readonly decaySize: number;

  constructor(specs: ParamSpec[], flat: Floats) {
    const total = specs.reduce((a, s) => a + s.size, 0);
    if (flat.length !== total) throw new Error(`ParamBuffer: buffer has ${flat.length} elements, specs need ${total}`);
    this.specs = specs;
    this.flat = flat;
    for (const s of specs) this.views.set(s.name, flat.subarray(s.offset, s.offset + s.size));
    this.decaySize = specs.filter((s) => s.decay).reduce((a, s) => a + s.size, 0);
  }

  get(name: string): Floats {
    const v = this.views.get(name);
    if (!v) throw new Error(`no parameter named ${name}`);
    return v;
  }

  /** One view of parameters that lie back to back in this order (q, k and v of a layer). */
  span(names: readonly string[]): Floats {
    const specs = names.map((n) => this.specs.find((s) => s.name === n));
    specs.forEach((s, i) => {
      if (!s) throw new Error(`no parameter named ${names[i]}`);
      if (i > 0 && s.offset !== specs[i - 1]!.offset + specs[i - 1]!.size) throw new Error(`span: ${names[i]} does not follow ${names[i - 1]}`);
    });
    const first = specs[0]!;
    const last = specs[specs.length - 1]!;
    return this.flat.subarray(first.offset, last.offset + last.size);
  }

  has(name: string): boolean {
    return this.views.has(name);
  }
}

/** SWAT.md §2 initialisation: linear weights and embeddings ~ N(0, initializer_range²), gains 1. */
export function initParams(buf: ParamBuffer, c: SwatConfig, rng: Rng): void {
  for (const s of buf.specs) {
    const v = buf.get(s.name);
    if (s.decay) for (let i = 0; i < v.length; i++) v[i] = rng.normal() * c.initializer_range;
    else v.fill(1);
  }
}

/** Throws a one-line InputError naming the first id outside [0, V). */
export function checkIds(ids: ArrayLike<number>, V: number, what = 'token id'): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= V) {
      throw new InputError(`${what} ${id} at index ${i} is outside the vocabulary [0, ${V})`);
    }
  }
}
