// Size arithmetic for numbers read from files: products that stay exact or say they are too large, and the
// largest buffer one typed array can be. Readers compare these against their limits before allocating.
// Not here: the limits themselves (each reader states its own, with the reason).

/** V8's longest typed array (Node 20 to 22, 64-bit): a Float32Array of 16 GiB. */
export const MAX_ARRAY_ELEMENTS = 2 ** 32;

/** The product of non-negative integers, exact, or Infinity once it passes 2^53 (where doubles stop
 *  counting exactly) or when a factor is not a non-negative safe integer: `checkedProduct(a, b) > LIMIT` is
 *  then a safe test for any inputs. */
export function checkedProduct(...factors: readonly number[]): number {
  if (!factors.every((f) => Number.isSafeInteger(f) && f >= 0)) return Infinity;
  if (factors.includes(0)) return 0;
  let p = 1;
  for (const f of factors) {
    p *= f;
    if (p > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return p;
}

/** The sum of non-negative safe integers, exact, or Infinity once it passes 2^53. */
export function checkedSum(terms: readonly number[]): number {
  let s = 0;
  for (const t of terms) {
    if (!Number.isSafeInteger(t) || t < 0) return Infinity;
    s += t;
    if (s > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return s;
}
