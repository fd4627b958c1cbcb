/* Layers whose weights are in an inference dtype (f32, bf16, f16 or q8; src/backend/weight.ts defines the
 * formats): y = x · Wᵀ. A few rows of x (decoding: one token per stream) go to the active ISA's row kernels
 * (decode_*.c), which stream each weight from memory once for all the rows, W split into contiguous row
 * ranges that the pool hands out; more rows go to matmul.c's packed GEMM, W converted to float as it is
 * packed. Also the embedding lookup and the conversion of a weight row to floats that both of those and the
 * portable kernels use. Not here: the formats' definition (weight.ts), the kernels themselves. */
#include <string.h>

#include "swat.h"

/* Weight bytes per task: each task's stream starts with its software prefetch cold (the kernels prefetch
 * 16 KB ahead), so a task of 256 KB spends little of its time waiting for its first lines; a pool hand-out
 * costs about a microsecond. (64 KB tasks decoded about 15% slower.) */
#define TASK_BYTES (256L * 1024)

static long min_l(long a, long b) { return a < b ? a : b; }

static long dtype_bytes(enum swat_dtype d) { return d == SWAT_F32 ? 4 : d == SWAT_Q8 ? 1 : 2; }

/* binary16 bits → float, exactly (subnormals, infinities and NaN included). */
static float f16_to_f32(uint16_t h) {
  const uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    /* A subnormal m · 2^-24: normalise the mantissa. */
    exp = 113;
    while (!(mant & 0x400)) {
      mant <<= 1;
      exp--;
    }
    bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
  }
  float f;
  memcpy(&f, &bits, sizeof f);
  return f;
}

void swat_weight_row(const swat_weight *w, long r, long c0, long n, float *out) {
  const long at = r * w->cols + c0;
  switch (w->dtype) {
    case SWAT_F32:
      memcpy(out, (const float *)w->data + at, (size_t)n * sizeof(float));
      return;
    case SWAT_BF16: {
      const uint16_t *h = (const uint16_t *)w->data + at;
      for (long c = 0; c < n; c++) {
        const uint32_t bits = (uint32_t)h[c] << 16;
        memcpy(out + c, &bits, sizeof(float));
      }
      return;
    }
    case SWAT_F16: {
      const uint16_t *h = (const uint16_t *)w->data + at;
      for (long c = 0; c < n; c++) out[c] = f16_to_f32(h[c]);
      return;
    }
    case SWAT_Q8: {
      const int8_t *q = (const int8_t *)w->data + at;
      const float *s = w->scales + r * swat_q8_blocks(w->cols);
      for (long c = 0; c < n; c++) out[c] = (float)q[c] * s[(c0 + c) / SWAT_Q8_BLOCK];
      return;
    }
    default:
      return;
  }
}

/* ---- y = x · Wᵀ ------------------------------------------------------------------------------------ */

typedef struct {
  float *C;
  const float *A;
  const swat_weight *w;
  swat_rows_fn kernel;
  long M, rows_per_task;
  int accumulate;
} linear_ctx;

static void linear_task(void *arg, long task, int tid) {
  (void)tid;
  const linear_ctx *x = arg;
  const long j0 = task * x->rows_per_task, j1 = min_l(x->w->rows, j0 + x->rows_per_task);
  x->kernel(x->w, j0, j1, x->A, x->w->cols, x->M, x->C, x->w->rows, x->accumulate);
}

const swat_decode_kernels *swat_decode(void) {
  const swat_isa_ops *ops = cpu_ops();
  return ops->decode ? ops->decode : &swat_decode_portable;
}

static swat_rows_fn rows_kernel(enum swat_dtype dtype) { return swat_decode()->rows[dtype]; }

void swat_linear(float *C, const float *A, const swat_weight *w, long M, int accumulate) {
  if (M <= 0 || w->rows <= 0) return;
  if (w->cols <= 0) {
    if (!accumulate) memset(C, 0, (size_t)(M * w->rows) * sizeof(float));
    return;
  }
  if (M > SWAT_FEW_ROWS) {
    if (w->dtype == SWAT_F32) swat_matmul(C, A, (const float *)w->data, M, w->rows, w->cols, 0, 1, accumulate);
    else swat_matmul_weight(C, A, w, M, accumulate);
    return;
  }
  /* Whole groups of 8 rows per task, so every task but the last runs the kernels' widest tiles, and no more
   * than a thread's share, so a small matrix still keeps every thread busy. */
  long rows = TASK_BYTES / (w->cols * dtype_bytes(w->dtype));
  const long share = (w->rows + pool_threads() - 1) / pool_threads();
  if (rows > share) rows = share;
  rows = rows < 8 ? 8 : (rows + 7) / 8 * 8;
  linear_ctx x = {C, A, w, rows_kernel(w->dtype), M, rows, accumulate};
  pool_run(swat_chunks(w->rows, rows), linear_task, &x);
}

/* ---- the read bandwidth -------------------------------------------------------------------------------- */

/* 1 MiB per task: long streams, and enough tasks that a descheduled thread only holds up a little. */
#define READ_CHUNK (1L << 18)

typedef struct {
  const float *x;
  long n;
  float (*sum)(const float *, long);
  volatile float sink[256];
} read_ctx;

static void read_task(void *arg, long task, int tid) {
  read_ctx *r = arg;
  const long at = task * READ_CHUNK;
  r->sink[tid & 255] += r->sum(r->x + at, min_l(READ_CHUNK, r->n - at));
}

double swat_read_bandwidth(const float *x, long n, int passes) {
  read_ctx r = {.x = x, .n = n, .sum = swat_decode()->stream_sum};
  double best = 0;
  for (int p = 0; p < passes; p++) {
    const double t0 = swat_now();
    pool_run(swat_chunks(n, READ_CHUNK), read_task, &r);
    const double t = swat_now() - t0;
    if (t > 0 && (double)n * sizeof(float) / t > best) best = (double)n * sizeof(float) / t;
  }
  return best * 1e-9;
}

/* ---- embedding lookup -------------------------------------------------------------------------------- */

typedef struct {
  float *out;
  const swat_weight *table;
  const int32_t *ids;
  long N, rows;
} embed_ctx;

static void embed_task(void *arg, long task, int tid) {
  (void)tid;
  const embed_ctx *x = arg;
  const long D = x->table->cols, n1 = min_l(x->N, (task + 1) * x->rows);
  for (long n = task * x->rows; n < n1; n++) swat_weight_row(x->table, x->ids[n], 0, D, x->out + n * D);
}

void swat_embedding_forward(float *out, const swat_weight *table, const int32_t *ids, long N) {
  const long D = table->cols, grain = 1L << 15;
  embed_ctx x = {out, table, ids, N, D >= grain ? 1 : grain / (D > 0 ? D : 1)};
  pool_run(swat_chunks(N, x.rows), embed_task, &x);
}
