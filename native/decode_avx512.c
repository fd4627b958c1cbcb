/* AVX-512F few-row linear kernels (swat.h: swat_rows_fn), one per weight dtype from one template: a tile
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

/* C[i, j + r] for r < rb, i in [i0, i0 + mb): the tile's sums, RB and MB compile-time bounds. */
TARGET static inline void tile(enum swat_dtype dt, const swat_weight *w, long j, int rb, const float *a, long lda, long i0,
                        int mb, float *c, long ldc, int accumulate) {
  const long K = w->cols, nb = swat_q8_blocks(K);
  const size_t width = dt == SWAT_F32 ? 4 : dt == SWAT_Q8 ? 1 : 2;
  const void *row[RB];
  const float *scale[RB];
  __m512 acc[MB][RB];
  for (int r = 0; r < rb; r++) {
    row[r] = (const char *)w->data + (size_t)((j + r) * K) * width;
    scale[r] = dt == SWAT_Q8 ? w->scales + (j + r) * nb : NULL;
    for (int i = 0; i < mb; i++) acc[i][r] = _mm512_setzero_ps();
  }
  long k = 0;
  for (; k + LANES <= K; k += LANES) {
    __m512 wv[RB];
    if (((size_t)k * width) % 64 == 0) {
      for (int r = 0; r < rb; r++) _mm_prefetch((const char *)row[r] + (size_t)k * width + PREFETCH, _MM_HINT_T0);
    }
    for (int r = 0; r < rb; r++) wv[r] = load_w(dt, row[r], scale[r], k);
    for (int i = 0; i < mb; i++) {
      const __m512 av = _mm512_loadu_ps(a + (i0 + i) * lda + k);
      for (int r = 0; r < rb; r++) acc[i][r] = _mm512_fmadd_ps(wv[r], av, acc[i][r]);
    }
  }
  if (k < K) {
    /* The last K − k < 16 columns, zero-padded: the same lanes and order as a full step. */
    const __mmask16 mask = (__mmask16)((1u << (K - k)) - 1u);
    float tail[LANES];
    __m512 wv[RB];
    for (int r = 0; r < rb; r++) {
      swat_weight_row(w, j + r, k, K - k, tail);
      wv[r] = _mm512_maskz_loadu_ps(mask, tail);
    }
    for (int i = 0; i < mb; i++) {
      const __m512 av = _mm512_maskz_loadu_ps(mask, a + (i0 + i) * lda + k);
      for (int r = 0; r < rb; r++) acc[i][r] = _mm512_fmadd_ps(wv[r], av, acc[i][r]);
    }
  }
  for (int i = 0; i < mb; i++) {
    for (int r = 0; r < rb; r++) {
      const float sum = _mm512_reduce_add_ps(acc[i][r]);
      float *out = c + (i0 + i) * ldc + j + r;
      *out = accumulate ? *out + sum : sum;
    }
  }
}

/* Weight rows j … j + rb − 1 as floats into buf (rb × K): the values load_w gives, stored. */
TARGET static inline void convert_rows(enum swat_dtype dt, const swat_weight *w, long j, int rb, float *buf) {
  const long K = w->cols, nb = swat_q8_blocks(K);
  const size_t width = dt == SWAT_Q8 ? 1 : 2;
  for (int r = 0; r < rb; r++) {
    const void *row = (const char *)w->data + (size_t)((j + r) * K) * width;
    const float *scale = dt == SWAT_Q8 ? w->scales + (j + r) * nb : NULL;
    long k = 0;
    for (; k + LANES <= K; k += LANES) _mm512_storeu_ps(buf + r * K + k, load_w(dt, row, scale, k));
    if (k < K) swat_weight_row(w, j + r, k, K - k, buf + r * K + k);
  }
}

/* Every row of A against weight rows j (RB of them, or one at a ragged end). */
TARGET static inline void row_tiles(enum swat_dtype dt, const swat_weight *w, long j, int rb, const float *a, long lda,
                                    long m, float *c, long ldc, int accumulate) {
  long i = 0;
  for (; i + MB <= m; i += MB) {
    if (rb == RB) tile(dt, w, j, RB, a, lda, i, MB, c, ldc, accumulate);
    else tile(dt, w, j, 1, a, lda, i, MB, c, ldc, accumulate);
  }
  for (; i < m; i++) {
    if (rb == RB) tile(dt, w, j, RB, a, lda, i, 1, c, ldc, accumulate);
    else tile(dt, w, j, 1, a, lda, i, 1, c, ldc, accumulate);
  }
}

TARGET static inline void row_group(enum swat_dtype dt, const swat_weight *w, long j, int rb, const float *a, long lda,
                                    long m, float *c, long ldc, int accumulate) {
  if (dt == SWAT_F32 || m <= MB) {
    row_tiles(dt, w, j, rb, a, lda, m, c, ldc, accumulate);
    return;
  }
  /* Convert once, then every group of A's rows reads floats (the same values, so the same sums). */
  float *buf = scratch_get(SCR_WEIGHT_TILE, (size_t)(RB * w->cols));
  convert_rows(dt, w, j, rb, buf);
  const swat_weight f = {SWAT_F32, buf, NULL, rb, w->cols};
  row_tiles(SWAT_F32, &f, 0, rb, a, lda, m, c + j, ldc, accumulate);
}

#define DEFINE_ROWS(name, dt)                                                                                 \
  __attribute__((target("avx512f"))) static void name(const swat_weight *w, long j0, long j1, const float *a,  \
                                                      long lda, long m, float *c, long ldc, int accumulate) {  \
    long j = j0;                                                                                              \
    for (; j + RB <= j1; j += RB) row_group(dt, w, j, RB, a, lda, m, c, ldc, accumulate);                     \
    for (; j < j1; j++) row_group(dt, w, j, 1, a, lda, m, c, ldc, accumulate);                                \
  }
DEFINE_ROWS(rows_f32, SWAT_F32)
DEFINE_ROWS(rows_bf16, SWAT_BF16)
DEFINE_ROWS(rows_f16, SWAT_F16)
DEFINE_ROWS(rows_q8, SWAT_Q8)

/* Four independent sums over 4 · LANES floats a step, each line prefetched PREFETCH bytes ahead as the
 * weight streams are. */
__attribute__((target("avx512f"))) static float stream_sum(const float *x, long n) {
  __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
  long i = 0;
  for (; i + 4 * LANES <= n; i += 4 * LANES) {
    for (long b = 0; b < (long)sizeof(float) * 4 * LANES; b += 64) _mm_prefetch((const char *)(x + i) + b + PREFETCH, _MM_HINT_T0);
    s0 = _mm512_add_ps(s0, _mm512_loadu_ps(x + i));
    s1 = _mm512_add_ps(s1, _mm512_loadu_ps(x + i + LANES));
    s2 = _mm512_add_ps(s2, _mm512_loadu_ps(x + i + 2 * LANES));
    s3 = _mm512_add_ps(s3, _mm512_loadu_ps(x + i + 3 * LANES));
  }
  const __m512 s = _mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3));
  float t = _mm512_reduce_add_ps(s);
  for (; i < n; i++) t += x[i];
  return t;
}

const swat_decode_kernels swat_decode_avx512 = {
    .rows = {rows_f32, rows_bf16, rows_f16, rows_q8},
    .stream_sum = stream_sum,
};

#else
const swat_decode_kernels swat_decode_avx512 = {{0}, 0};
#endif
