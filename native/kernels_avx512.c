/* AVX-512F kernels, compiled with function-level target attributes and chosen by cpu.c only when cpuid
 * reports AVX-512F. Same algorithms as kernels_avx2.c on 16-float registers. */
#include "swat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))
#define MR 12
#define NR 32

/* 12 × 32 register block: 24 accumulators of the 32 zmm registers, 2 loads of B and 12 broadcasts of A
 * per k, enough independent chains for two FMA ports. */
TARGET static void kernel_avx512(long kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
  for (long k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    a += MR;
    b += NR;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    float *row = c + i * ldc;
    if (accumulate) {
      c0[i] = _mm512_add_ps(c0[i], _mm512_loadu_ps(row));
      c1[i] = _mm512_add_ps(c1[i], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, c0[i]);
    _mm512_storeu_ps(row + 16, c1[i]);
  }
}

/* kernel_avx512 with A read in place from mr row pointers. */
TARGET static void kernel_rm_avx512(long kc, const float *a, long lda, const float *b, float *c, long ldc,
                                    int accumulate) {
  __m512 c0[MR], c1[MR];
  const float *row[MR];
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    c0[i] = c1[i] = _mm512_setzero_ps();
    row[i] = a + i * lda;
  }
  for (long k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      const __m512 ai = _mm512_set1_ps(row[i][k]);
      c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
      c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
    }
    b += NR;
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; i++) {
    float *out = c + i * ldc;
    if (accumulate) {
      c0[i] = _mm512_add_ps(c0[i], _mm512_loadu_ps(out));
      c1[i] = _mm512_add_ps(c1[i], _mm512_loadu_ps(out + 16));
    }
    _mm512_storeu_ps(out, c0[i]);
    _mm512_storeu_ps(out + 16, c1[i]);
  }
}

/* The exp of kernels_avx2.c (same constants, same clamp reasoning) on 16 lanes. */
TARGET static inline __m512 exp512(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-87.33f), x);
  x = _mm512_min_ps(_mm512_set1_ps(88.0f), x);
  const __m512 fx = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(fx, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 r2 = _mm512_mul_ps(r, r);
  p = _mm512_fmadd_ps(p, r2, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  const __m512i n = _mm512_cvtps_epi32(fx);
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23);
  return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

TARGET static void vexp_avx512(float *y, const float *x, long n) {
  long i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, exp512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mask = (__mmask16)((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, mask, exp512(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

TARGET static float vmax_avx512(const float *x, long n) {
  float m = x[0];
  long i = 0;
  if (n >= 16) {
    __m512 m0 = _mm512_loadu_ps(x);
    for (i = 16; i + 16 <= n; i += 16) m0 = _mm512_max_ps(m0, _mm512_loadu_ps(x + i));
    const float r = _mm512_reduce_max_ps(m0);
    m = r > m ? r : m;
  }
  for (; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

/* σ(x) = (x ≥ 0 ? 1 : e) / (1 + e) with e = exp(−|x|): no overflow, no branch. */
TARGET static inline __m512 sigmoid512(__m512 x) {
  const __m512 e = exp512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_abs_ps(x)));
  const __m512 one = _mm512_set1_ps(1.0f);
  const __mmask16 nonneg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ);
  return _mm512_div_ps(_mm512_mask_blend_ps(nonneg, e, one), _mm512_add_ps(one, e));
}

TARGET static void sigmoid_avx512(float *y, const float *x, long n) {
  long i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, sigmoid512(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 mask = (__mmask16)((1u << (n - i)) - 1u);
    _mm512_mask_storeu_ps(y + i, mask, sigmoid512(_mm512_maskz_loadu_ps(mask, x + i)));
  }
}

TARGET static double fma_loop_avx512(double deadline) {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps((float)i * 1e-3f);
  const __m512 m = _mm512_set1_ps(0.999999f), add = _mm512_set1_ps(1e-7f);
  long rounds = 0;
  do {
    for (int r = 0; r < 4096; r++) {
#pragma GCC unroll 16
      for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], m, add);
    }
    rounds += 4096;
  } while (swat_now() < deadline);
  __m512 s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return (double)rounds * 16 * 16 * 2;
}

const swat_isa_ops swat_ops_avx512 = {
    .isa = ISA_AVX512,
    .name = "avx512",
    .mr = MR,
    .nr = NR,
    .kernel = kernel_avx512,
    .kernel_rm = kernel_rm_avx512,
    .decode = &swat_decode_avx512,
    .vexp = vexp_avx512,
    .vmax = vmax_avx512,
    .sigmoid = sigmoid_avx512,
    .fma_loop = fma_loop_avx512,
};

#else
const swat_isa_ops swat_ops_avx512 = {0};
#endif
