/* Portable few-row linear kernel (swat.h: swat_rows_fn), for every dtype at once: each weight row is turned
 * into floats once (swat_weight_row), then dotted with each row of A in eight lanes the compiler may
 * vectorise. The fallback for any CPU, the WebAssembly build's kernel, and the level the tests force to
 * check the ISA kernels against. No intrinsics, no target attributes. */
#include "swat.h"

static void rows_portable(const swat_weight *w, long j0, long j1, const float *a, long lda, long m, float *c, long ldc,
                          int accumulate) {
  const long K = w->cols;
  float *row = w->dtype == SWAT_F32 ? NULL : scratch_get(SCR_WEIGHT_ROW, (size_t)K);
  for (long j = j0; j < j1; j++) {
    const float *wj = (const float *)w->data + j * K;
    if (row) {
      swat_weight_row(w, j, 0, K, row);
      wj = row;
    }
    for (long i = 0; i < m; i++) {
      const float sum = swat_dot8(a + i * lda, wj, K);
      float *out = c + i * ldc + j;
      *out = accumulate ? *out + sum : sum;
    }
  }
}

static float stream_sum_portable(const float *x, long n) {
  float part[8] = {0};
  long i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int l = 0; l < 8; l++) part[l] += x[i + l];
  }
  for (; i < n; i++) part[0] += x[i];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

static void axpy_portable(float *y, float alpha, const float *x, long n) {
  for (long k = 0; k < n; k++) y[k] += alpha * x[k];
}

const swat_decode_kernels swat_decode_portable = {
    .rows = {rows_portable, rows_portable, rows_portable, rows_portable},
    .stream_sum = stream_sum_portable,
    .dot = swat_dot8,
    .axpy = axpy_portable,
};
