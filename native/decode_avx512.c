/* AVX-512F decoding kernels: decode_rows.h's template (shared with AVX2) on 16-lane registers, with the
 * dtype conversions and a masked ragged end. The few-row linear kernels (swat.h: swat_rows_fn): a tile
 * of RB weight rows × up to MB rows of A keeps RB·MB 16-lane accumulators; each step loads 16 weights of
 * each of its RB rows once, converted to floats (bf16: shifted into place; f16: vcvtph2ps; q8: int8 →
 * float times the block's scale), and multiplies them into every row of A. So weights stream from memory
 * once per call, whatever the number of rows; dtype costs only the conversion (with more than MB rows of
 * A, a tile's weight rows are converted once into an L1 buffer and then read as f32). Each stream
 * prefetches PREFETCH bytes ahead: a row of a narrow dtype is too short for the hardware prefetcher to
 * catch on before it ends. A ragged end of a row goes through a zero-padded copy, so each output's sum is
 * formed the same way in every tile shape. Chosen by cpu.c only when cpuid reports AVX-512F. */
#include "swat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f"), always_inline))
#define RB 4
#define MB 4
#define LANES 16
#define PREFETCH 16384

/* 16 weights of one row from column k on, as floats. `row` points at the row's first element, `scale` at
 * its first q8 scale. The dtype is a constant at every call, so the switch folds away. */
TARGET static inline __m512 load_w(enum swat_dtype dt, const void *row, const float *scale, long k) {
  switch (dt) {
    case SWAT_BF16: {
      const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)row + k));
      return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
    }
    case SWAT_F16:
      return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)row + k)));
    case SWAT_Q8: {
      const __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)((const int8_t *)row + k))));
      return _mm512_mul_ps(q, _mm512_set1_ps(scale[k / SWAT_Q8_BLOCK]));
    }
    default:
      return _mm512_loadu_ps((const float *)row + k);
  }
}

/* n < LANES floats, zero-padded. */
TARGET static inline __m512 load_tail(const float *src, long n) { return _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), src); }

#define VEC __m512
#define VZERO _mm512_setzero_ps
#define VLOAD _mm512_loadu_ps
#define STORE_PS _mm512_storeu_ps
#define VADD _mm512_add_ps
#define VSET1 _mm512_set1_ps
#define VFMA _mm512_fmadd_ps
#define VREDUCE _mm512_reduce_add_ps
#define ROWS_TARGET __attribute__((target("avx512f")))
#include "decode_rows.h"

const swat_decode_kernels swat_decode_avx512 = {
    .rows = {rows_f32, rows_bf16, rows_f16, rows_q8},
    .stream_sum = stream_sum,
    .dot = dot,
    .axpy = axpy,
};

#else
const swat_decode_kernels swat_decode_avx512 = {{0}, 0};
#endif
