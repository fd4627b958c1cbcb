// A small tensor type: a typed array plus a row-major shape. No strides, no broadcasting, no autograd:
// the model calls fused backend ops on `.data` directly; the shape is there for checks and for files.

/** Float buffers. Backends compute in Float32Array; the reference backend also runs in Float64Array,
 *  which the gradient checks use so finite differences are not drowned by rounding. */
export type Floats = Float32Array | Float64Array;

export class Tensor {
  readonly data: Floats;
  readonly shape: readonly number[];

  constructor(data: Floats, shape: readonly number[]) {
    const size = shapeSize(shape);
    if (data.length !== size) {
      throw new Error(`Tensor: data has ${data.length} elements, shape [${shape.join(', ')}] needs ${size}`);
    }
    this.data = data;
    this.shape = shape;
  }

  get size(): number {
    return this.data.length;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) {
    if (!Number.isInteger(s) || s < 0) throw new Error(`invalid dimension ${s} in shape [${shape.join(', ')}]`);
    n *= s;
  }
  return n;
}

/** Index of the first NaN or ±Infinity in `x`, or −1. */
export function firstNonFinite(x: ArrayLike<number>): number {
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    // v − v is 0 for every finite v and NaN for NaN and ±Infinity: one subtraction, no call.
    if (v - v !== 0) return i;
  }
  return -1;
}
