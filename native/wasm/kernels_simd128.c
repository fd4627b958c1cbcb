/* WebAssembly SIMD128 kernels: the same algorithms as kernels_avx2.c on 4-float registers, for the
 * WebAssembly build of the kernels. Built twice: plain SIMD128 (a multiply and an add), and with relaxed
 * SIMD, whose f32x4.relaxed_madd is one fused multiply-add where the engine and CPU have it; the host
 * picks the module its engine validates. Not compiled into the native addon. */
#include <wasm_simd128.h>

#include "../swat.h"

#ifdef __wasm_relaxed_simd__
#define MADD(a, b, c) wasm_f32x4_relaxed_madd(a, b, c)
#define ISA_NAME "relaxed-simd"
#else
#define MADD(a, b, c) wasm_f32x4_add(wasm_f32x4_mul(a, b), c)
#define ISA_NAME "simd128"
#endif

/* 4 × 8 register block: 8 accumulators, 2 loads of B and 4 broadcasts of A per k. Engines map WebAssembly
 * to 16 vector registers on x86-64 and a multiply-add without FMA needs a temporary, so a taller block
 * (6 × 8, 12 accumulators) spills: measured slower in V8. */
#define MR 4
#define NR 8
#define NV (NR / 4) /* vectors per row of the block */

/* The block's k loop, shared by both kernels: A(i, k) is at a_row(i)[k·a_step]. */
#define BLOCK_LOOP(a_at, a_advance)                                      \
  for (long k = 0; k < kc; k++) {                                        \
    v128_t bv[NV];                                                       \
    _Pragma("clang loop unroll(full)") for (int j = 0; j < NV; j++) bv[j] = wasm_v128_load(b + 4 * j); \
    _Pragma("clang loop unroll(full)") for (int i = 0; i < MR; i++) {    \
      const v128_t ai = wasm_v128_load32_splat(a_at);                    \
      _Pragma("clang loop unroll(full)") for (int j = 0; j < NV; j++) acc[i][j] = MADD(ai, bv[j], acc[i][j]); \
    }                                                                    \
    a_advance;                                                           \
    b += NR;                                                             \
  }

static inline void store_block(v128_t acc[MR][NV], float *c, long ldc, int accumulate) {
#pragma clang loop unroll(full)
  for (int i = 0; i < MR; i++) {
    float *row = c + i * ldc;
#pragma clang loop unroll(full)
    for (int j = 0; j < NV; j++) {
      v128_t v = acc[i][j];
      if (accumulate) v = wasm_f32x4_add(v, wasm_v128_load(row + 4 * j));
      wasm_v128_store(row + 4 * j, v);
    }
  }
}

static void kernel_simd128(long kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
  v128_t acc[MR][NV];
#pragma clang loop unroll(full)
  for (int i = 0; i < MR; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < NV; j++) acc[i][j] = wasm_f32x4_const_splat(0.0f);
  }
  BLOCK_LOOP(a + i, a += MR)
  store_block(acc, c, ldc, accumulate);
}

/* kernel_simd128 with A read in place from MR row pointers. */
static void kernel_rm_simd128(long kc, const float *a, long lda, const float *b, float *c, long ldc, int accumulate) {
  v128_t acc[MR][NV];
  const float *row[MR];
#pragma clang loop unroll(full)
  for (int i = 0; i < MR; i++) {
    row[i] = a + i * lda;
#pragma clang loop unroll(full)
    for (int j = 0; j < NV; j++) acc[i][j] = wasm_f32x4_const_splat(0.0f);
  }
  BLOCK_LOOP(row[i] + k, (void)0)
  store_block(acc, c, ldc, accumulate);
}

/* The exp of kernels_avx2.c (Cephes expf: x = n·ln2 + r, degree-6 polynomial; same constants and the same
 * clamp reasoning) on 4 lanes, in the instructions engines map one to one on x86: pmin/pmax (with the
 * input first, so a NaN input stays NaN) instead of min/max, and n rounded by adding 1.5·2^23, whose low
 * mantissa bits then hold n, instead of a rounding and a saturating conversion. */
static inline v128_t exp128(v128_t x) {
  x = wasm_f32x4_pmax(x, wasm_f32x4_splat(-87.33f));
  x = wasm_f32x4_pmin(x, wasm_f32x4_splat(88.0f));
  const v128_t magic = wasm_f32x4_splat(12582912.0f);
  const v128_t shifted = wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504088896341f)), magic);
  const v128_t fx = wasm_f32x4_sub(shifted, magic);
  v128_t r = wasm_f32x4_sub(x, wasm_f32x4_mul(fx, wasm_f32x4_splat(0.693359375f)));
  r = wasm_f32x4_sub(r, wasm_f32x4_mul(fx, wasm_f32x4_splat(-2.12194440e-4f)));
  v128_t p = wasm_f32x4_splat(1.9875691500e-4f);
  p = MADD(p, r, wasm_f32x4_splat(1.3981999507e-3f));
  p = MADD(p, r, wasm_f32x4_splat(8.3334519073e-3f));
  p = MADD(p, r, wasm_f32x4_splat(4.1665795894e-2f));
  p = MADD(p, r, wasm_f32x4_splat(1.6666665459e-1f));
  p = MADD(p, r, wasm_f32x4_splat(5.0000001201e-1f));
  p = MADD(p, wasm_f32x4_mul(r, r), wasm_f32x4_add(r, wasm_f32x4_splat(1.0f)));
  /* 2^n: n + 127 into the exponent field; the magic's own bits (0x4b400000 + n) minus 0x4b400000 give n. */
  const v128_t e = wasm_i32x4_shl(wasm_i32x4_sub(shifted, wasm_i32x4_splat(0x4b400000 - 127)), 23);
  return wasm_f32x4_mul(p, e);
}

/* σ(x) = (x ≥ 0 ? 1 : e) / (1 + e) with e = exp(−|x|): no overflow, no branch. */
static inline v128_t sigmoid128(v128_t x) {
  const v128_t e = exp128(wasm_v128_or(wasm_f32x4_splat(-0.0f), x));
  const v128_t one = wasm_f32x4_splat(1.0f);
  const v128_t num = wasm_v128_bitselect(one, e, wasm_f32x4_ge(x, wasm_f32x4_const_splat(0.0f)));
  return wasm_f32x4_div(num, wasm_f32x4_add(one, e));
}

/* y[i] = f(x[i]) four lanes at a time; the tail goes through a zero-padded vector. */
#define DEFINE_MAP(name, f)                                                \
  static void name(float *y, const float *x, long n) {                     \
    long i = 0;                                                            \
    for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, f(wasm_v128_load(x + i))); \
    if (i < n) {                                                           \
      float in[4] = {0}, out[4];                                           \
      for (long j = i; j < n; j++) in[j - i] = x[j];                       \
      wasm_v128_store(out, f(wasm_v128_load(in)));                         \
      for (long j = i; j < n; j++) y[j] = out[j - i];                      \
    }                                                                      \
  }
DEFINE_MAP(vexp_simd128, exp128)
DEFINE_MAP(sigmoid_simd128, sigmoid128)

static float vmax_simd128(const float *x, long n) {
  float m = x[0];
  long i = 0;
  if (n >= 8) {
    /* pmax is x86's maxps (no NaN propagation), one instruction. */
    v128_t m0 = wasm_v128_load(x), m1 = wasm_v128_load(x + 4);
    for (i = 8; i + 8 <= n; i += 8) {
      m0 = wasm_f32x4_pmax(m0, wasm_v128_load(x + i));
      m1 = wasm_f32x4_pmax(m1, wasm_v128_load(x + i + 4));
    }
    float lanes[4];
    wasm_v128_store(lanes, wasm_f32x4_pmax(m0, m1));
    for (int l = 0; l < 4; l++) m = lanes[l] > m ? lanes[l] : m;
  }
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/* 12 independent multiply-add chains: enough to cover the latency of two pipes. */
static double fma_loop_simd128(double deadline) {
  v128_t acc[12];
  for (int i = 0; i < 12; i++) acc[i] = wasm_f32x4_splat((float)i * 1e-3f);
  const v128_t m = wasm_f32x4_splat(0.999999f), add = wasm_f32x4_splat(1e-7f);
  long rounds = 0;
  do {
    for (int r = 0; r < 4096; r++) {
#pragma clang loop unroll(full)
      for (int i = 0; i < 12; i++) acc[i] = MADD(acc[i], m, add);
    }
    rounds += 4096;
  } while (swat_now() < deadline);
  v128_t s = acc[0];
  for (int i = 1; i < 12; i++) s = wasm_f32x4_add(s, acc[i]);
  volatile float sink = wasm_f32x4_extract_lane(s, 0);
  (void)sink;
  return (double)rounds * 12 * 4 * 2;
}

const swat_isa_ops swat_ops_simd128 = {
    .isa = ISA_SIMD128,
    .name = ISA_NAME,
    .mr = MR,
    .nr = NR,
    .kernel = kernel_simd128,
    .kernel_rm = kernel_rm_simd128,
    .vexp = vexp_simd128,
    .vmax = vmax_simd128,
    .sigmoid = sigmoid_simd128,
    .fma_loop = fma_loop_simd128,
};
