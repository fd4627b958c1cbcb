/* AVX2 + FMA kernels, compiled with function-level target attributes so the rest of the addon stays
 * baseline x86-64; cpu.c selects them only when cpuid reports both features. On other architectures the
 * table falls back to the portable kernels. */
#include "swat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma")))
#define MR 6
#define NR 16

/* Asks for the C tile's lines before the k loop: when the tile accumulates across K blocks it has usually
 * left L1 (often L2), and its loads at the end would otherwise stall the kernel for a cache miss. */
TARGET static inline void prefetch_c(const float *c, long ldc) {
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    __builtin_prefetch(c + i * ldc, 1, 3);
    __builtin_prefetch(c + i * ldc + NR - 1, 1, 3);
  }
}

/* 6 × 16 register block: 12 accumulators, 2 loads of B and 6 broadcasts of A per k, so 12 FMAs per 8
 * loads. That fits the 16 ymm registers and keeps both FMA ports busy (latency 4 × 2 ports < 12 chains). */
TARGET static void kernel_avx2(long kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
  __m256 c0[MR], c1[MR];
  prefetch_c(c, ldc);
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm256_setzero_ps();
  for (long k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR;
    b += NR;
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    float *row = c + i * ldc;
    if (accumulate) {
      c0[i] = _mm256_add_ps(c0[i], _mm256_loadu_ps(row));
      c1[i] = _mm256_add_ps(c1[i], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, c0[i]);
    _mm256_storeu_ps(row + 8, c1[i]);
  }
}

/* kernel_avx2 with A read in place from mr row pointers: one index register walks all six rows. */
TARGET static void kernel_rm_avx2(long kc, const float *a, long lda, const float *b, float *c, long ldc,
                                  int accumulate) {
  __m256 c0[MR], c1[MR];
  const float *row[MR];
  prefetch_c(c, ldc);
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    c0[i] = c1[i] = _mm256_setzero_ps();
    row[i] = a + i * lda;
  }
  for (long k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(b);
    const __m256 b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; i++) {
      const __m256 ai = _mm256_broadcast_ss(row[i] + k);
      c0[i] = _mm256_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm256_fmadd_ps(ai, b1, c1[i]);
    }
    b += NR;
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    float *out = c + i * ldc;
    if (accumulate) {
      c0[i] = _mm256_add_ps(c0[i], _mm256_loadu_ps(out));
      c1[i] = _mm256_add_ps(c1[i], _mm256_loadu_ps(out + 8));
    }
    _mm256_storeu_ps(out, c0[i]);
    _mm256_storeu_ps(out + 8, c1[i]);
  }
}

/* exp by range reduction x = n·ln2 + r, |r| ≤ ln2/2, and a degree-6 polynomial (Cephes expf): a few ulp.
 * The clamp keeps 2^n a normal float; callers only pass x ≤ 0 (shifted logits, −|z|), where it means
 * exp(x) ≥ 2^−126 instead of an exact 0 far below any tolerance. Clamping with the input as the second
 * operand keeps NaN a NaN. */
TARGET static inline __m256 exp256(__m256 x) {
  x = _mm256_max_ps(_mm256_set1_ps(-87.33f), x);
  x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
  const __m256 fx = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  const __m256 r2 = _mm256_mul_ps(r, r);
  p = _mm256_fmadd_ps(p, r2, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i n = _mm256_cvtps_epi32(fx);
  const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

TARGET static void vexp_avx2(float *y, const float *x, long n) {
  long i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, exp256(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float in[8] = {0}, out[8];
    for (long j = i; j < n; j++) in[j - i] = x[j];
    _mm256_storeu_ps(out, exp256(_mm256_loadu_ps(in)));
    for (long j = i; j < n; j++) y[j] = out[j - i];
  }
}

TARGET static float vmax_avx2(const float *x, long n) {
  float m = x[0];
  long i = 0;
  if (n >= 16) {
    __m256 m0 = _mm256_loadu_ps(x), m1 = _mm256_loadu_ps(x + 8);
    for (i = 16; i + 16 <= n; i += 16) {
      m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + i));
      m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + i + 8));
    }
    float lanes[8];
    _mm256_storeu_ps(lanes, _mm256_max_ps(m0, m1));
    for (int l = 0; l < 8; l++) m = lanes[l] > m ? lanes[l] : m;
  }
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/* σ(x) = (x ≥ 0 ? 1 : e) / (1 + e) with e = exp(−|x|): no overflow, no branch. Setting the sign bit
 * gives −|x|. */
TARGET static inline __m256 sigmoid256(__m256 x) {
  const __m256 e = exp256(_mm256_or_ps(_mm256_set1_ps(-0.0f), x));
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 num = _mm256_blendv_ps(e, one, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_GE_OQ));
  return _mm256_div_ps(num, _mm256_add_ps(one, e));
}

TARGET static void sigmoid_avx2(float *y, const float *x, long n) {
  long i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, sigmoid256(_mm256_loadu_ps(x + i)));
  if (i < n) {
    float in[8] = {0}, out[8];
    for (long j = i; j < n; j++) in[j - i] = x[j];
    _mm256_storeu_ps(out, sigmoid256(_mm256_loadu_ps(in)));
    for (long j = i; j < n; j++) y[j] = out[j - i];
  }
}

/* 12 independent FMA chains: enough to cover 2 ports × 4–5 cycles of latency. */
TARGET static double fma_loop_avx2(double deadline) {
  __m256 acc[12];
  for (int i = 0; i < 12; i++) acc[i] = _mm256_set1_ps((float)i * 1e-3f);
  const __m256 m = _mm256_set1_ps(0.999999f), add = _mm256_set1_ps(1e-7f);
  long rounds = 0;
  do {
    for (int r = 0; r < 4096; r++) {
#pragma GCC unroll 12
      for (int i = 0; i < 12; i++) acc[i] = _mm256_fmadd_ps(acc[i], m, add);
    }
    rounds += 4096;
  } while (swat_now() < deadline);
  __m256 s = acc[0];
  for (int i = 1; i < 12; i++) s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return (double)rounds * 12 * 8 * 2;
}

const swat_isa_ops swat_ops_avx2 = {
    .isa = ISA_AVX2,
    .name = "avx2",
    .mr = MR,
    .nr = NR,
    .kernel = kernel_avx2,
    .kernel_rm = kernel_rm_avx2,
    .decode = &swat_decode_avx2,
    .vexp = vexp_avx2,
    .vmax = vmax_avx2,
    .sigmoid = sigmoid_avx2,
    .fma_loop = fma_loop_avx2,
};

#else
const swat_isa_ops swat_ops_avx2 = {0};
#endif
