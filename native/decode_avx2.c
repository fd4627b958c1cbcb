/* AVX2 + FMA decoding kernels: decode_rows.h's template (shared with AVX-512: one weight read for all rows
 * of A, conversion in registers or once per tile, software prefetch, zero-padded ragged ends) on 8-lane
 * registers, with tiles of RB weight rows × MB rows of A sized for 16 registers. Conversions: bf16 shifted
 * into place, f16 by vcvtph2ps (F16C, which every AVX2 CPU has), q8 int8 → float times the block's scale.
 * Chosen by cpu.c when cpuid reports AVX2, FMA and F16C. */
#include <string.h>

#include "swat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx2,fma,f16c"), always_inline))
#define RB 4
#define MB 2
#define LANES 8
#define PREFETCH 16384

TARGET static inline __m256 load_w(enum swat_dtype dt, const void *row, const float *scale, long k) {
  switch (dt) {
    case SWAT_BF16: {
      const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)row + k));
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
    }
    case SWAT_F16:
      return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)row + k)));
    case SWAT_Q8: {
      const __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)row + k))));
      return _mm256_mul_ps(q, _mm256_set1_ps(scale[k / SWAT_Q8_BLOCK]));
    }
    default:
      return _mm256_loadu_ps((const float *)row + k);
  }
}

/* The 8 lanes added in a fixed order. */
TARGET static inline float reduce8(__m256 v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}

/* n < LANES floats, zero-padded. */
TARGET static inline __m256 load_tail(const float *src, long n) {
  float tail[LANES] = {0};
  memcpy(tail, src, (size_t)n * sizeof(float));
  return _mm256_loadu_ps(tail);
}

#define VEC __m256
#define VZERO _mm256_setzero_ps
#define VLOAD _mm256_loadu_ps
#define VADD _mm256_add_ps
#define VSET1 _mm256_set1_ps
#define VFMA _mm256_fmadd_ps
#define VREDUCE reduce8
#define STORE_PS _mm256_storeu_ps
#define ROWS_TARGET __attribute__((target("avx2,fma,f16c")))
#include "decode_rows.h"

const swat_decode_kernels swat_decode_avx2 = {
    .rows = {rows_f32, rows_bf16, rows_f16, rows_q8},
    .stream_sum = stream_sum,
    .dot = dot,
    .axpy = axpy,
};

#else
const swat_decode_kernels swat_decode_avx2 = {{0}, 0};
#endif
