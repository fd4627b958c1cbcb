/* The decoding kernels of every x86 ISA level, written once over a vector of LANES floats: decode_avx2.c
 * and decode_avx512.c define that vector and include this. They define TARGET and ROWS_TARGET (the target
 * attributes), RB and MB (weight rows × rows of A per tile), LANES, PREFETCH (bytes ahead), VEC and its
 * operations VZERO, VLOAD, STORE_PS (unaligned), VSET1 (broadcast), VADD, VFMA, VREDUCE (the lanes' sum in a fixed order),
 * load_tail (n < LANES floats, zero-padded) and load_w (LANES weights of a dtype as floats). From those:
 * a tile's sums, converting a tile's weight rows to floats once when A has more rows than a tile, the four
 * swat_rows_fn kernels rows_f32, rows_bf16, rows_f16 and rows_q8, stream_sum, dot and axpy. */

/* C[i, j + r] for r < rb, i in [i0, i0 + mb): the tile's sums, RB and MB compile-time bounds. */
TARGET static inline void tile(enum swat_dtype dt, const swat_weight *w, long j, int rb, const float *a, long lda,
                               long i0, int mb, float *c, long ldc, int accumulate) {
  const long K = w->cols, nb = swat_q8_blocks(K);
  const size_t width = dt == SWAT_F32 ? 4 : dt == SWAT_Q8 ? 1 : 2;
  const void *row[RB];
  const float *scale[RB];
  VEC acc[MB][RB];
  for (int r = 0; r < rb; r++) {
    row[r] = (const char *)w->data + (size_t)((j + r) * K) * width;
    scale[r] = dt == SWAT_Q8 ? w->scales + (j + r) * nb : NULL;
    for (int i = 0; i < mb; i++) acc[i][r] = VZERO();
  }
  long k = 0;
  for (; k + LANES <= K; k += LANES) {
    VEC wv[RB];
    if (((size_t)k * width) % 64 == 0) {
      for (int r = 0; r < rb; r++) _mm_prefetch((const char *)row[r] + (size_t)k * width + PREFETCH, _MM_HINT_T0);
    }
    for (int r = 0; r < rb; r++) wv[r] = load_w(dt, row[r], scale[r], k);
    for (int i = 0; i < mb; i++) {
      const VEC av = VLOAD(a + (i0 + i) * lda + k);
      for (int r = 0; r < rb; r++) acc[i][r] = VFMA(wv[r], av, acc[i][r]);
    }
  }
  if (k < K) {
    /* The last K − k < LANES columns, zero-padded: the same lanes and order as a full step. */
    float tail[LANES];
    VEC wv[RB];
    for (int r = 0; r < rb; r++) {
      swat_weight_row(w, j + r, k, K - k, tail);
      wv[r] = load_tail(tail, K - k);
    }
    for (int i = 0; i < mb; i++) {
      const VEC av = load_tail(a + (i0 + i) * lda + k, K - k);
      for (int r = 0; r < rb; r++) acc[i][r] = VFMA(wv[r], av, acc[i][r]);
    }
  }
  for (int i = 0; i < mb; i++) {
    for (int r = 0; r < rb; r++) {
      const float sum = VREDUCE(acc[i][r]);
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
    for (; k + LANES <= K; k += LANES) STORE_PS(buf + r * K + k, load_w(dt, row, scale, k));
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
  ROWS_TARGET static void name(const swat_weight *w, long j0, long j1, const float *a, long lda, long m,        \
                               float *c, long ldc, int accumulate) {                                           \
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
ROWS_TARGET static float stream_sum(const float *x, long n) {
  VEC s0 = VZERO(), s1 = s0, s2 = s0, s3 = s0;
  long i = 0;
  for (; i + 4 * LANES <= n; i += 4 * LANES) {
    for (long b = 0; b < (long)sizeof(float) * 4 * LANES; b += 64) _mm_prefetch((const char *)(x + i) + b + PREFETCH, _MM_HINT_T0);
    s0 = VADD(s0, VLOAD(x + i));
    s1 = VADD(s1, VLOAD(x + i + LANES));
    s2 = VADD(s2, VLOAD(x + i + 2 * LANES));
    s3 = VADD(s3, VLOAD(x + i + 3 * LANES));
  }
  const VEC s = VADD(VADD(s0, s1), VADD(s2, s3));
  float t = VREDUCE(s);
  for (; i < n; i++) t += x[i];
  return t;
}


/* Σ a[k]·b[k]: one accumulator of LANES lanes, the ragged end zero-padded. */
ROWS_TARGET static float dot(const float *a, const float *b, long n) {
  VEC s = VZERO();
  long k = 0;
  for (; k + LANES <= n; k += LANES) s = VFMA(VLOAD(a + k), VLOAD(b + k), s);
  if (k < n) s = VFMA(load_tail(a + k, n - k), load_tail(b + k, n - k), s);
  return VREDUCE(s);
}

/* y[0 … n) += alpha · x[0 … n). */
ROWS_TARGET static void axpy(float *y, float alpha, const float *x, long n) {
  const VEC av = VSET1(alpha);
  long k = 0;
  for (; k + LANES <= n; k += LANES) STORE_PS(y + k, VFMA(av, VLOAD(x + k), VLOAD(y + k)));
  for (; k < n; k++) y[k] += alpha * x[k];
}
