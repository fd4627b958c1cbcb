// Argument checks that the native and WebAssembly backends share: both compute in float32 only and pass the
// attention shape's window and activation to C as numbers, so both reject the same values with the same
// words before C sees them. Everything else a C kernel needs checked is checked next to its call
// (native/addon.c, src/backend/wasm/call.ts).

import type { AttentionShape } from './backend.js';
import { InputError } from '../errors.js';
import type { Floats } from '../tensor.js';

/** `x` as the Float32Array the kernels read; a Float64Array (the reference's gradient-check dtype) is a
 *  caller error, reported as `<backend>.<op>: …`. */
export function float32(backend: string, op: string, x: Floats): Float32Array {
  if (x instanceof Float32Array) return x;
  const kind = x instanceof Float64Array ? 'a Float64Array' : 'not a Float32Array';
  throw new InputError(`${backend}.${op}: got ${kind}; the ${backend} backend computes in float32 only`);
}

/** The window as C takes it (−1 = none) and whether the activation is softmax, after checking both. */
export function attentionMode(backend: string, op: string, s: AttentionShape): { window: number; softmax: boolean } {
  if (s.activation !== 'sigmoid' && s.activation !== 'softmax') {
    throw new InputError(`${backend}.${op}: activation = ${String(s.activation)}, expected 'sigmoid' or 'softmax'`);
  }
  if (s.window !== null && (!Number.isInteger(s.window) || s.window < 1)) {
    throw new InputError(`${backend}.${op}: window = ${String(s.window)}, expected null or an integer ≥ 1`);
  }
  return { window: s.window ?? -1, softmax: s.activation === 'softmax' };
}
