/* Whole-buffer elementwise ops: add, scale, Σx² (gradient clipping) and AdamW over all parameters in one
 * call. Chunks of fixed size go to the pool; Σx² is summed per chunk in float64 and then in chunk order,
 * so it does not depend on the thread count. AdamW computes each element in double, as the reference
 * does, and rounds once. */
#include <math.h>
#include <stdlib.h>

#include "swat.h"

#define GRAIN (1L << 16)

static long min_l(long a, long b) { return a < b ? a : b; }

typedef struct {
  float *out, *p, *m, *v;
  const float *a, *b, *g;
  double s;
  double *partial;
  long n;
  const swat_adamw_hyper *h;
  double bc1, bc2;
} elem_ctx;

static void add_task(void *arg, long task, int tid) {
  (void)tid;
  const elem_ctx *x = arg;
  const long i1 = min_l(x->n, (task + 1) * GRAIN);
  for (long i = task * GRAIN; i < i1; i++) x->out[i] = x->a[i] + x->b[i];
}

void swat_add(float *out, const float *a, const float *b, long n) {
  elem_ctx x = {.out = out, .a = a, .b = b, .n = n};
  pool_run(swat_chunks(n, GRAIN), add_task, &x);
}

static void scale_task(void *arg, long task, int tid) {
  (void)tid;
  const elem_ctx *x = arg;
  const long i1 = min_l(x->n, (task + 1) * GRAIN);
  for (long i = task * GRAIN; i < i1; i++) x->out[i] = (float)(x->out[i] * x->s);
}

void swat_scale(float *x, double s, long n) {
  elem_ctx c = {.out = x, .s = s, .n = n};
  pool_run(swat_chunks(n, GRAIN), scale_task, &c);
}

static void sumsq_task(void *arg, long task, int tid) {
  (void)tid;
  const elem_ctx *x = arg;
  const long i0 = task * GRAIN, i1 = min_l(x->n, i0 + GRAIN);
  double part[8] = {0};
  long i = i0;
  for (; i + 8 <= i1; i += 8) {
    for (int l = 0; l < 8; l++) part[l] += (double)x->a[i + l] * x->a[i + l];
  }
  for (; i < i1; i++) part[0] += (double)x->a[i] * x->a[i];
  x->partial[task] = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

double swat_sum_squares(const float *a, long n) {
  if (n <= 0) return 0;
  const long chunks = swat_chunks(n, GRAIN);
  elem_ctx x = {.a = a, .n = n};
  x.partial = malloc((size_t)chunks * sizeof(double));
  if (!x.partial) abort();
  pool_run(chunks, sumsq_task, &x);
  double sum = 0;
  for (long t = 0; t < chunks; t++) sum += x.partial[t];
  free(x.partial);
  return sum;
}

static void adamw_task(void *arg, long task, int tid) {
  (void)tid;
  const elem_ctx *x = arg;
  const swat_adamw_hyper *h = x->h;
  const long i1 = min_l(x->n, (task + 1) * GRAIN);
  const double decay = 1.0 - h->lr * h->weight_decay;
  for (long i = task * GRAIN; i < i1; i++) {
    const double g = x->g[i];
    const double mi = h->beta1 * x->m[i] + (1.0 - h->beta1) * g;
    const double vi = h->beta2 * x->v[i] + (1.0 - h->beta2) * g * g;
    x->m[i] = (float)mi;
    x->v[i] = (float)vi;
    /* Decoupled weight decay first (PyTorch AdamW), then the bias-corrected Adam step. */
    x->p[i] = (float)(x->p[i] * decay - (h->lr * (mi / x->bc1)) / (sqrt(vi / x->bc2) + h->eps));
  }
}

void swat_adamw(float *param, const float *grad, float *m, float *v, long n, const swat_adamw_hyper *h) {
  elem_ctx x = {.p = param, .g = grad, .m = m, .v = v, .n = n, .h = h};
  x.bc1 = 1.0 - pow(h->beta1, h->step);
  x.bc2 = 1.0 - pow(h->beta2, h->step);
  pool_run(swat_chunks(n, GRAIN), adamw_task, &x);
}
