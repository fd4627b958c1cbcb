/* Row-wise ops of the layer: the embedding's scatter-add (its lookup, in any weight dtype, is in
 * linear.c), RMSNorm, RoPE and SwiGLU, forward and backward side by side. Rows are split into fixed chunks handed to the pool, and every reduction over
 * rows (the RMSNorm gain gradient) is summed per chunk and then in chunk order, so results do not depend
 * on the thread count. Not tiled or fused with the matmuls: these ops are a few percent of a step. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "swat.h"

/* Elements per task: large enough to amortise a wake-up, small enough to balance. */
#define GRAIN (1L << 15)

static long min_l(long a, long b) { return a < b ? a : b; }
static long rows_per_chunk(long D) { return D >= GRAIN ? 1 : GRAIN / (D > 0 ? D : 1); }

/* ---- embedding backward ---------------------------------------------------------------------------- */

/* Repeated ids add into the same table row, so threads split the columns, not the rows: each thread
 * owns a column range of every row and adds in id order, the same order as a single thread. */
typedef struct {
  float *dtable;
  const float *dout;
  const int32_t *ids;
  long N, D, cols;
} embed_bwd_ctx;

static void embed_bwd_task(void *arg, long task, int tid) {
  (void)tid;
  const embed_bwd_ctx *x = arg;
  const long d0 = task * x->cols, d1 = min_l(x->D, d0 + x->cols);
  for (long n = 0; n < x->N; n++) {
    float *dst = x->dtable + (long)x->ids[n] * x->D;
    const float *src = x->dout + n * x->D;
    for (long d = d0; d < d1; d++) dst[d] += src[d];
  }
}

void swat_embedding_backward(float *dtable, const float *dout, const int32_t *ids, long N, long D) {
  const long cols = D < 64 ? D : 64;
  embed_bwd_ctx x = {dtable, dout, ids, N, D, cols > 0 ? cols : 1};
  if (N * D < GRAIN) x.cols = D > 0 ? D : 1;
  pool_run(swat_chunks(D, x.cols), embed_bwd_task, &x);
}

/* ---- RMSNorm (SWAT.md §2) ------------------------------------------------------------------------- */

typedef struct {
  float *out, *rstd, *dx, *dg;
  const float *x, *g, *dout, *rs;
  double *partial; /* (chunks, D) per-chunk sums of the gain gradient */
  long N, D, rows;
  double eps;
} rms_ctx;

static void rms_fwd_task(void *arg, long task, int tid) {
  (void)tid;
  const rms_ctx *c = arg;
  const long D = c->D, n1 = min_l(c->N, (task + 1) * c->rows);
  for (long n = task * c->rows; n < n1; n++) {
    const float *x = c->x + n * D;
    float *y = c->out + n * D;
    double ss = 0;
    for (long d = 0; d < D; d++) ss += (double)x[d] * x[d];
    const float r = (float)(1.0 / sqrt(ss / (double)D + c->eps));
    c->rstd[n] = r;
    for (long d = 0; d < D; d++) y[d] = x[d] * r * c->g[d];
  }
}

void swat_rmsnorm_forward(float *out, float *rstd, const float *x, const float *g, long N, long D, double eps) {
  rms_ctx c = {.out = out, .rstd = rstd, .x = x, .g = g, .N = N, .D = D, .rows = rows_per_chunk(D), .eps = eps};
  pool_run(swat_chunks(N, c.rows), rms_fwd_task, &c);
}

/* y = x·r·g with r = (mean(x²) + eps)^(−1/2): dx_d = r·g_d·dy_d − x_d·r³/D · Σ_e dy_e·g_e·x_e. */
static void rms_bwd_task(void *arg, long task, int tid) {
  (void)tid;
  const rms_ctx *c = arg;
  const long D = c->D, n1 = min_l(c->N, (task + 1) * c->rows);
  double *dg = c->partial + task * D;
  memset(dg, 0, (size_t)D * sizeof(double));
  for (long n = task * c->rows; n < n1; n++) {
    const float *x = c->x + n * D, *dy = c->dout + n * D;
    float *dx = c->dx + n * D;
    const double r = c->rs[n];
    double dot = 0;
    for (long d = 0; d < D; d++) {
      dot += (double)dy[d] * c->g[d] * x[d];
      dg[d] += (double)dy[d] * x[d] * r;
    }
    const float k = (float)(dot * r * r * r / (double)D), rf = (float)r;
    for (long d = 0; d < D; d++) dx[d] += rf * c->g[d] * dy[d] - x[d] * k;
  }
}

void swat_rmsnorm_backward(float *dx, float *dg, const float *dout, const float *x, const float *g, const float *rstd,
                           long N, long D) {
  rms_ctx c = {.dx = dx, .dg = dg, .x = x, .g = g, .dout = dout, .rs = rstd, .N = N, .D = D, .rows = rows_per_chunk(D)};
  const long chunks = swat_chunks(N, c.rows);
  c.partial = malloc((size_t)(chunks * D) * sizeof(double) + 1);
  if (!c.partial) abort(); /* (chunks · D) doubles: the size of one activation at most */
  pool_run(chunks, rms_bwd_task, &c);
  for (long d = 0; d < D; d++) {
    double sum = 0;
    for (long t = 0; t < chunks; t++) sum += c.partial[t * D + d];
    dg[d] += (float)sum;
  }
  free(c.partial);
}

/* ---- RoPE, rotate-half layout (SWAT.md §3) -------------------------------------------------------- */

typedef struct {
  float *x;
  long B, T, H, Dh, ts;
  double pos0, theta;
  int inverse;
} rope_ctx;

static void rope_task(void *arg, long task, int tid) {
  (void)tid;
  const rope_ctx *c = arg;
  const long half = c->Dh / 2, t1 = min_l(c->T, (task + 1) * c->ts);
  float *cs = scratch_get(SCR_ROW, (size_t)(2 * half + 1));
  float *sn = cs + half;
  const double sign = c->inverse ? -1.0 : 1.0;
  for (long t = task * c->ts; t < t1; t++) {
    /* The angle is formed in double so that far positions keep their precision. */
    const double pos = c->pos0 + (double)t;
    for (long i = 0; i < half; i++) {
      const double angle = pos * pow(c->theta, -2.0 * (double)i / (double)c->Dh);
      cs[i] = (float)cos(angle);
      sn[i] = (float)(sign * sin(angle));
    }
    for (long b = 0; b < c->B; b++) {
      for (long h = 0; h < c->H; h++) {
        float *v = c->x + ((b * c->T + t) * c->H + h) * c->Dh;
        for (long i = 0; i < half; i++) {
          const float x0 = v[i], x1 = v[i + half];
          v[i] = x0 * cs[i] - x1 * sn[i];
          v[i + half] = x1 * cs[i] + x0 * sn[i];
        }
      }
    }
  }
}

void swat_rope(float *x, long B, long T, long H, long Dh, double pos0, double theta, int inverse) {
  const long per_t = B * H * Dh > 0 ? B * H * Dh : 1;
  rope_ctx c = {x, B, T, H, Dh, per_t >= GRAIN ? 1 : GRAIN / per_t, pos0, theta, inverse};
  pool_run(swat_chunks(T, c.ts), rope_task, &c);
}

/* ---- SwiGLU (SWAT.md §2) -------------------------------------------------------------------------- */

typedef struct {
  float *out, *dgu;
  const float *gu, *dout;
  long N, I, rows;
} swiglu_ctx;

/* σ(a) for one row of gates, into per-thread scratch (vectorised and stable: see the ISA tables). */
static const float *gate_sigmoid(const float *a, long I) {
  float *sg = scratch_get(SCR_ROW, (size_t)I);
  cpu_ops()->sigmoid(sg, a, I);
  return sg;
}

static void swiglu_fwd_task(void *arg, long task, int tid) {
  (void)tid;
  const swiglu_ctx *x = arg;
  const long I = x->I, n1 = min_l(x->N, (task + 1) * x->rows);
  for (long n = task * x->rows; n < n1; n++) {
    const float *a = x->gu + n * 2 * I, *b = a + I;
    const float *sg = gate_sigmoid(a, I);
    float *y = x->out + n * I;
    for (long c = 0; c < I; c++) y[c] = a[c] * sg[c] * b[c];
  }
}

static void swiglu_bwd_task(void *arg, long task, int tid) {
  (void)tid;
  const swiglu_ctx *x = arg;
  const long I = x->I, n1 = min_l(x->N, (task + 1) * x->rows);
  for (long n = task * x->rows; n < n1; n++) {
    const float *a = x->gu + n * 2 * I, *b = a + I, *dy = x->dout + n * I;
    const float *sg = gate_sigmoid(a, I);
    float *da = x->dgu + n * 2 * I, *db = da + I;
    for (long c = 0; c < I; c++) {
      /* silu'(a) = σ(a)·(1 + a·(1 − σ(a))) */
      da[c] = dy[c] * b[c] * sg[c] * (1.0f + a[c] * (1.0f - sg[c]));
      db[c] = dy[c] * a[c] * sg[c];
    }
  }
}

void swat_swiglu_forward(float *out, const float *gu, long N, long I) {
  swiglu_ctx x = {.out = out, .gu = gu, .N = N, .I = I, .rows = rows_per_chunk(I)};
  pool_run(swat_chunks(N, x.rows), swiglu_fwd_task, &x);
}

void swat_swiglu_backward(float *dgu, const float *dout, const float *gu, long N, long I) {
  swiglu_ctx x = {.dgu = dgu, .gu = gu, .dout = dout, .N = N, .I = I, .rows = rows_per_chunk(I)};
  pool_run(swat_chunks(N, x.rows), swiglu_bwd_task, &x);
}
