// Finite-difference gradient check for one op case: the analytic gradient of L = Σ dOut ⊙ out (from the
// case's backward) against central differences of L, for every element of every input in `wrt`. Meant for
// a float64 backend, where rounding stays far below the 1e-6 tolerances the tests use. Not an assertion
// library: it returns the errors and the caller decides.

import type { Backend } from '../../src/backend/backend.js';
import { lossOf, runCase, type OpCase } from './opcases.js';

export interface GradError {
  input: string;
  /** max_i |analytic_i − numeric_i| / (|numeric_i| + 1e-3·max|numeric|): relative per element, with a floor
   *  so elements whose true gradient is zero are judged against the tensor's scale. */
  error: number;
  /** max |numeric|: a check of an all-zero gradient would prove nothing, so callers assert it is > 0. */
  scale: number;
}

export function gradcheck(be: Backend, c: OpCase, seed = 1, h = 1e-5): GradError[] {
  if (!c.backward) throw new Error(`gradcheck: ${c.name} has no backward`);
  const { inputs, backward } = runCase(be, c, seed);
  return c.wrt.map((name) => {
    const x = inputs.floats[name]!;
    const analytic = backward[`d${name}`]!;
    const numeric = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const saved = x[i]!;
      // The step follows the case's scale, so inputs of ~1e-3 are not moved by 1% nor ~100 by 1e-10 %.
      const step = h * Math.max(c.range, Math.abs(saved));
      x[i] = saved + step;
      const up = lossOf(c, inputs, c.forward(be, inputs));
      x[i] = saved - step;
      const down = lossOf(c, inputs, c.forward(be, inputs));
      x[i] = saved;
      numeric[i] = (up - down) / (2 * step);
    }
    return { input: name, ...compare(analytic, numeric) };
  });
}

function compare(analytic: ArrayLike<number>, numeric: Float64Array): { error: number; scale: number } {
  let scale = 0;
  for (const v of numeric) scale = Math.max(scale, Math.abs(v));
  let error = analytic.length === numeric.length ? 0 : Infinity;
  for (let i = 0; i < numeric.length; i++) {
    const e = Math.abs(analytic[i]! - numeric[i]!) / (Math.abs(numeric[i]!) + 1e-3 * scale + 1e-300);
    error = Number.isNaN(e) ? Infinity : Math.max(error, e);
  }
  return { error, scale };
}
