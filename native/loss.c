/* Cross-entropy over the vocabulary, row by row: each row's log-sum-exp is computed from one pass of
 * exponentials kept in a per-thread row buffer, so the backward needs one exp per logit and can write
 * the gradient over the logits in place (dLogits may be the logits buffer). Rows are independent and
 * handed to the pool in chunks. Not fused with the head matmul. */
#include <math.h>
#include <string.h>

#include "swat.h"

#define GRAIN (1L << 15)

typedef struct {
  float *losses, *dlogits;
  const float *logits;
  const int32_t *targets;
  long N, V, rows;
  double scale;
} ce_ctx;

static long min_l(long a, long b) { return a < b ? a : b; }

/* e[c] = exp(x[c] − max) for the row; returns Σ e (in double) and sets *mx. */
static double row_exp(const float *x, long V, float *e, float *mx) {
  const float m = cpu_ops()->vmax(x, V);
  for (long c = 0; c < V; c++) e[c] = x[c] - m;
  cpu_ops()->vexp(e, e, V);
  /* Eight partial sums: independent lanes the compiler can keep in registers, summed in float64. */
  double part[8] = {0};
  long c = 0;
  for (; c + 8 <= V; c += 8) {
    for (int l = 0; l < 8; l++) part[l] += e[c + l];
  }
  for (; c < V; c++) part[0] += e[c];
  *mx = m;
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

static void ce_fwd_task(void *arg, long task, int tid) {
  (void)tid;
  const ce_ctx *x = arg;
  const long V = x->V, n1 = min_l(x->N, (task + 1) * x->rows);
  float *e = scratch_get(SCR_ROW, (size_t)V);
  for (long n = task * x->rows; n < n1; n++) {
    const int32_t t = x->targets[n];
    if (t < 0) {
      x->losses[n] = 0.0f;
      continue;
    }
    const float *row = x->logits + n * V;
    float mx;
    const double sum = row_exp(row, V, e, &mx);
    x->losses[n] = (float)((double)mx + log(sum) - (double)row[t]);
  }
}

static void ce_bwd_task(void *arg, long task, int tid) {
  (void)tid;
  const ce_ctx *x = arg;
  const long V = x->V, n1 = min_l(x->N, (task + 1) * x->rows);
  float *e = scratch_get(SCR_ROW, (size_t)V);
  for (long n = task * x->rows; n < n1; n++) {
    const int32_t t = x->targets[n];
    float *d = x->dlogits + n * V;
    if (t < 0) {
      memset(d, 0, (size_t)V * sizeof(float));
      continue;
    }
    float mx;
    const double sum = row_exp(x->logits + n * V, V, e, &mx);
    /* softmax = e / Σe; every logit was read into e before the first write, so d may alias the logits. */
    const float k = (float)(x->scale / sum);
    for (long c = 0; c < V; c++) d[c] = e[c] * k;
    d[t] = (float)((double)e[t] * (x->scale / sum) - x->scale);
  }
}

void swat_cross_entropy_forward(float *losses, const float *logits, const int32_t *targets, long N, long V) {
  ce_ctx x = {.losses = losses, .logits = logits, .targets = targets, .N = N, .V = V};
  x.rows = V >= GRAIN ? 1 : GRAIN / (V > 0 ? V : 1);
  pool_run(swat_chunks(N, x.rows), ce_fwd_task, &x);
}

void swat_cross_entropy_backward(float *dlogits, const float *logits, const int32_t *targets, double scale, long N,
                                 long V) {
  ce_ctx x = {.dlogits = dlogits, .logits = logits, .targets = targets, .N = N, .V = V, .scale = scale};
  x.rows = V >= GRAIN ? 1 : GRAIN / (V > 0 ? V : 1);
  pool_run(swat_chunks(N, x.rows), ce_bwd_task, &x);
}
