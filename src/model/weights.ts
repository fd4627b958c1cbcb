// The weights a forward reads, as the backend's Weights in one inference dtype (backend/weight.ts): f32
// views of the training parameters (no copy, so the optimiser's updates are what the forward sees), or
// bf16, f16 or q8 matrices made for inference, which store.ts fills from the file. Per layer the query,
// key and value projections are one matrix (3D, D), so a decoding token runs them as one product; the norm
// gains stay f32 (a few KB). Not here: reading files (store.ts), computing (model.ts).

import type { Backend } from '../backend/backend.js';
import { type Weight, type WeightDtype, f32Weight, weightBytes, weightRows } from '../backend/weight.js';
import type { SwatConfig } from '../config.js';
import type { Floats } from '../tensor.js';
import { EMBEDDINGS, FINAL_NORM, LM_HEAD, type ParamBuffer, layerNames } from './params.js';

export interface LayerWeights {
  /** (3D, D): the rows of q, k and v, in that order. */
  qkv: Weight;
  q: Weight;
  k: Weight;
  v: Weight;
  o: Weight;
  /** (2I, D): gate rows, then up rows. */
  gateUp: Weight;
  down: Weight;
  attnNorm: Floats;
  mlpNorm: Floats;
}

/** Where a parameter of SWAT.md §2 lives: rows of a matrix from `row` on, or a gain vector. */
export type WeightTarget = { weight: Weight; row: number } | { gain: Floats };

export class ModelWeights {
  private readonly targets = new Map<string, WeightTarget>();

  private constructor(
    readonly dtype: WeightDtype,
    readonly layers: readonly LayerWeights[],
    readonly embeddings: Weight,
    /** The output projection: the embedding matrix itself when tied. */
    readonly head: Weight,
    readonly finalNorm: Floats,
    config: SwatConfig,
  ) {
    const D = config.hidden_size;
    this.targets.set(EMBEDDINGS, { weight: embeddings, row: 0 });
    if (!config.tie_word_embeddings) this.targets.set(LM_HEAD, { weight: head, row: 0 });
    this.targets.set(FINAL_NORM, { gain: finalNorm });
    layers.forEach((w, l) => {
      const n = layerNames(l);
      this.targets.set(n.q, { weight: w.qkv, row: 0 });
      this.targets.set(n.k, { weight: w.qkv, row: D });
      this.targets.set(n.v, { weight: w.qkv, row: 2 * D });
      this.targets.set(n.o, { weight: w.o, row: 0 });
      this.targets.set(n.gateUp, { weight: w.gateUp, row: 0 });
      this.targets.set(n.down, { weight: w.down, row: 0 });
      this.targets.set(n.attnNorm, { gain: w.attnNorm });
      this.targets.set(n.mlpNorm, { gain: w.mlpNorm });
    });
  }

  /** f32 weights that are views of the training parameters. */
  static fromParams(config: SwatConfig, params: ParamBuffer): ModelWeights {
    const { hidden_size: D, intermediate_size: I, vocab_size: V } = config;
    const m = (name: string, rows: number, cols: number) => f32Weight(params.get(name), rows, cols);
    const layers = Array.from({ length: config.num_hidden_layers }, (_, l) => {
      const n = layerNames(l);
      const qkv = f32Weight(params.span([n.q, n.k, n.v]), 3 * D, D);
      return layer(qkv, D, m(n.o, D, D), m(n.gateUp, 2 * I, D), m(n.down, D, I), params.get(n.attnNorm), params.get(n.mlpNorm));
    });
    const embeddings = m(EMBEDDINGS, V, D);
    const head = config.tie_word_embeddings ? embeddings : m(LM_HEAD, V, D);
    return new ModelWeights('f32', layers, embeddings, head, params.get(FINAL_NORM), config);
  }

  /** Zeroed weights of `dtype` in the backend's memory, to be filled through `target`. */
  static alloc(config: SwatConfig, backend: Backend, dtype: WeightDtype): ModelWeights {
    const { hidden_size: D, intermediate_size: I, vocab_size: V } = config;
    const m = (rows: number, cols: number) => backend.allocWeight(dtype, rows, cols);
    const gain = (n: number) => backend.alloc(n);
    const layers = Array.from({ length: config.num_hidden_layers }, () => layer(m(3 * D, D), D, m(D, D), m(2 * I, D), m(D, I), gain(D), gain(D)));
    const embeddings = m(V, D);
    const head = config.tie_word_embeddings ? embeddings : m(V, D);
    return new ModelWeights(dtype, layers, embeddings, head, gain(D), config);
  }

  /** Where parameter `name` (SWAT.md §2 names) is stored. */
  target(name: string): WeightTarget {
    const t = this.targets.get(name);
    if (!t) throw new Error(`no parameter named ${name}`);
    return t;
  }

  /** Bytes of weights a decoded token reads: every layer's matrices and gains, the final gain and the head
   *  (one embedding row besides, which is negligible). */
  get bytesPerToken(): number {
    const matrix = (w: Weight) => weightBytes(w.dtype, w.rows, w.cols);
    const gains = (this.layers.length * 2 + 1) * this.finalNorm.length * this.finalNorm.BYTES_PER_ELEMENT;
    return this.layers.reduce((a, w) => a + matrix(w.qkv) + matrix(w.o) + matrix(w.gateUp) + matrix(w.down), 0) + matrix(this.head) + gains;
  }
}

function layer(qkv: Weight, D: number, o: Weight, gateUp: Weight, down: Weight, attnNorm: Floats, mlpNorm: Floats): LayerWeights {
  return { qkv, q: weightRows(qkv, 0, D), k: weightRows(qkv, D, 2 * D), v: weightRows(qkv, 2 * D, 3 * D), o, gateUp, down, attnNorm, mlpNorm };
}
