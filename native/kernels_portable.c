/* Portable C kernels: the fallback for any CPU, and the path the tests force to check that the blocked
 * algorithms do not depend on one ISA's tile shape. Plain loops the compiler may vectorise with the
 * baseline instruction set; no intrinsics, no target attributes. */
#include <math.h>

#include "swat.h"

#define MR 4
#define NR 8

static void kernel_portable(long kc, const float *a, const float *b, float *c, long ldc, int accumulate) {
  float t[MR][NR] = {{0}};
  for (long k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) t[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  for (int i = 0; i < MR; i++) {
    float *row = c + i * ldc;
    if (accumulate) {
      for (int j = 0; j < NR; j++) row[j] += t[i][j];
    } else {
      for (int j = 0; j < NR; j++) row[j] = t[i][j];
    }
  }
}

static void kernel_rm_portable(long kc, const float *a, long lda, const float *b, float *c, long ldc, int accumulate) {
  float t[MR][NR] = {{0}};
  for (long k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i * lda + k];
      for (int j = 0; j < NR; j++) t[i][j] += ai * b[j];
    }
    b += NR;
  }
  for (int i = 0; i < MR; i++) {
    float *row = c + i * ldc;
    if (accumulate) {
      for (int j = 0; j < NR; j++) row[j] += t[i][j];
    } else {
      for (int j = 0; j < NR; j++) row[j] = t[i][j];
    }
  }
}

static void vexp_portable(float *y, const float *x, long n) {
  for (long i = 0; i < n; i++) y[i] = expf(x[i]);
}

static float vmax_portable(const float *x, long n) {
  float m = x[0];
  for (long i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
  return m;
}

static void sigmoid_portable(float *y, const float *x, long n) {
  for (long i = 0; i < n; i++) {
    const float e = expf(-fabsf(x[i]));
    y[i] = (x[i] >= 0.0f ? 1.0f : e) / (1.0f + e);
  }
}

static double fma_loop_portable(double deadline) {
  /* 16 independent chains of multiply-adds (no FMA in the baseline ISA: two flops each all the same). */
  float acc[16];
  for (int i = 0; i < 16; i++) acc[i] = (float)i * 1e-3f;
  const float m = 0.999999f, add = 1e-7f;
  long rounds = 0;
  do {
    for (int r = 0; r < 4096; r++) {
      for (int i = 0; i < 16; i++) acc[i] = acc[i] * m + add;
    }
    rounds += 4096;
  } while (swat_now() < deadline);
  volatile float sink = 0;
  for (int i = 0; i < 16; i++) sink += acc[i];
  (void)sink;
  return (double)rounds * 16 * 2;
}

const swat_isa_ops swat_ops_portable = {
    .isa = ISA_PORTABLE,
    .name = "portable",
    .mr = MR,
    .nr = NR,
    .kernel = kernel_portable,
    .kernel_rm = kernel_rm_portable,
    .decode = &swat_decode_portable,
    .vexp = vexp_portable,
    .vmax = vmax_portable,
    .sigmoid = sigmoid_portable,
    .fma_loop = fma_loop_portable,
};
