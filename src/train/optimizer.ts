// AdamW over the flat parameter buffer (two contiguous groups: decayed matrices, then undecayed gains)
// and global-norm gradient clipping. The moments share the parameters' layout, so saving them is one
// safetensors file with a tensor per parameter.

import type { Backend } from '../backend/backend.js';
import type { ParamBuffer } from '../model/params.js';

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export class AdamW {
  readonly m: ParamBuffer;
  readonly v: ParamBuffer;
  /** Steps taken so far (bias correction uses step + 1 for the next one). */
  step = 0;

  constructor(
    private readonly backend: Backend,
    m: ParamBuffer,
    v: ParamBuffer,
    readonly options: AdamWOptions,
  ) {
    this.m = m;
    this.v = v;
  }

  /** Applies one update with learning rate `lr` to `params` using `grads`. */
  update(params: ParamBuffer, grads: ParamBuffer, lr: number): void {
    this.step++;
    const o = this.options;
    const split = params.decaySize;
    const total = params.flat.length;
    const groups: [number, number, number][] = [[0, split, o.weightDecay], [split, total, 0]];
    for (const [from, to, weightDecay] of groups) {
      if (to === from) continue;
      const r = (b: ParamBuffer) => b.flat.subarray(from, to);
      this.backend.adamw(r(params), r(grads), r(this.m), r(this.v), to - from, {
        lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay, step: this.step,
      });
    }
  }
}

/** Scales the gradients so their global L2 norm is at most `maxNorm` (0 = no clipping); returns the norm
 *  before clipping. */
export function clipGradients(backend: Backend, grads: ParamBuffer, maxNorm: number): number {
  const n = grads.flat.length;
  const norm = Math.sqrt(backend.sumSquares(grads.flat, n));
  if (maxNorm > 0 && norm > maxNorm) backend.scale(grads.flat, maxNorm / norm, n);
  return norm;
}
