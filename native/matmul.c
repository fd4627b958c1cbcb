/* Matrix multiply C = op(A)·op(B) (or +=) for all four transpose layouts, BLIS-style: op(A) and op(B) are
 * copied ("packed") block by block into the order the register-blocked micro-kernel of cpu_ops() reads,
 * so one kernel serves every layout and edges are handled once, here. op(B) is packed once per call (by
 * all threads); then threads take tiles of C (MC × NC), each packing its block of A: no locks, and tile
 * counts adapt so small products still split.
 * Not a BLAS: float32 only, no alpha/beta beyond "accumulate", no leading dimensions beyond dense. */
#include <string.h>

#include "swat.h"

/* Block sizes: a KC × NR panel of B (16 KB for AVX2) stays in L1 while the MC × KC block of A
 * streams from L2 (MC = 192: 192 KB, half the L2 of small cores); the packed op(B) of the whole call sits in L2/L3. */
#define KC 256
#define MC_TARGET 192
#define NC_MAX 256

static long min_l(long a, long b) { return a < b ? a : b; }
static long round_up(long x, long m) { return (x + m - 1) / m * m; }

/* Copies `steps` strips of W floats, the i-th from s + i·sstep to d + i·dstep. W is a compile-time
 * constant in each instance, so a strip is a couple of vector moves and the loop has nothing else to do:
 * the packing loops below are one call per source row instead of a branchy copy per panel. */
#define DEFINE_STRIPS(W)                                                                          \
  static void strips_##W(float *d, long dstep, const float *s, long sstep, long steps) {          \
    for (long i = 0; i < steps; i++) memcpy(d + i * dstep, s + i * sstep, W * sizeof(float));     \
  }
DEFINE_STRIPS(4)
DEFINE_STRIPS(6)
DEFINE_STRIPS(8)
DEFINE_STRIPS(12)
DEFINE_STRIPS(16)
DEFINE_STRIPS(32)

static void strips_any(float *d, long dstep, const float *s, long sstep, long steps, int w) {
  for (long i = 0; i < steps; i++) memcpy(d + i * dstep, s + i * sstep, (size_t)w * sizeof(float));
}

static void strips(float *d, long dstep, const float *s, long sstep, long steps, int w) {
  switch (w) {
    case 4: strips_4(d, dstep, s, sstep, steps); return;
    case 6: strips_6(d, dstep, s, sstep, steps); return;
    case 8: strips_8(d, dstep, s, sstep, steps); return;
    case 12: strips_12(d, dstep, s, sstep, steps); return;
    case 16: strips_16(d, dstep, s, sstep, steps); return;
    case 32: strips_32(d, dstep, s, sstep, steps); return;
    default: strips_any(d, dstep, s, sstep, steps, w);
  }
}

/* One contiguous source row of `len` floats spread over panels of width w (panel p at d + p·pstep): whole
 * panels as strips, the last partial one padded with zeros. */
static void row_to_panels(float *d, long pstep, const float *src, long len, int w) {
  const long full = len / w, rest = len - full * w;
  strips(d, pstep, src, w, full, w);
  if (rest) {
    float *e = d + full * pstep;
    memcpy(e, src + full * w, (size_t)rest * sizeof(float));
    memset(e + rest, 0, (size_t)(w - rest) * sizeof(float));
  }
}

void pack_a(float *dst, const float *A, long rsa, long csa, long m, long kc, int mr) {
  const long panels = (m + mr - 1) / mr;
  if (rsa == 1) {
    /* Columns of the block are contiguous (A stored transposed): each whole panel is one run of strips,
     * written contiguously, reading mr floats per source row. Consecutive panels share the source lines,
     * which are still in L1 or L2 the next time; the scattered-write order (one source row across all
     * panels at a time) measured slower, even with software prefetch. A partial last panel goes row by row. */
    const long full = m / mr;
    for (long p = 0; p < full; p++) strips(dst + p * kc * mr, mr, A + p * mr, csa, kc, mr);
    if (full < panels) {
      float *d = dst + full * kc * mr;
      for (long k = 0; k < kc; k++) row_to_panels(d + k * mr, kc * mr, A + k * csa + full * mr, m - full * mr, mr);
    }
    return;
  }
  /* Rows are contiguous: read each row once, scatter with stride mr. */
  for (long p = 0; p < panels; p++) {
    float *d = dst + p * kc * mr;
    const long rows = min_l(mr, m - p * mr);
    for (long r = 0; r < rows; r++) {
      const float *row = A + (p * mr + r) * rsa;
      for (long k = 0; k < kc; k++) d[k * mr + r] = row[k * csa];
    }
    for (long r = rows; r < mr; r++) {
      for (long k = 0; k < kc; k++) d[k * mr + r] = 0.0f;
    }
  }
}

void pack_b(float *dst, const float *B, long rsb, long csb, long kc, long n, int nr) {
  const long panels = (n + nr - 1) / nr;
  if (csb == 1) {
    /* Rows of B are contiguous: read each row once, across all panels. */
    for (long k = 0; k < kc; k++) {
      const float *row = B + k * rsb;
      if (k + 8 < kc) {
        for (long j = 0; j < n; j += 16) __builtin_prefetch(row + 8 * rsb + j);
      }
      row_to_panels(dst + k * nr, kc * nr, row, n, nr);
    }
    return;
  }
  /* Columns of B are contiguous (B stored transposed): a transpose. Walking k outside writes each packed
   * row contiguously while the nr source lines stay in L1 for 16 consecutive k. */
  for (long p = 0; p < panels; p++) {
    float *d = dst + p * kc * nr;
    const long cols = min_l(nr, n - p * nr);
    const float *src = B + p * nr * csb;
    for (long k = 0; k < kc; k++) {
      float *dk = d + k * nr;
      for (long c = 0; c < cols; c++) dk[c] = src[c * csb + k * rsb];
      for (long c = cols; c < nr; c++) dk[c] = 0.0f;
    }
  }
}

/* pack_b of op(B) = Wᵀ for a weight in any dtype: columns j0 … j0+n−1 of op(B) are rows of W, each
 * converted to float once (swat_weight_row), then spread down its panel's column. */
static void pack_b_weight(float *dst, const swat_weight *w, long j0, long k0, long kc, long n, int nr) {
  float *row = scratch_get(SCR_WEIGHT_ROW, (size_t)kc);
  const long panels = (n + nr - 1) / nr;
  for (long p = 0; p < panels; p++) {
    float *d = dst + p * kc * nr;
    const long cols = min_l(nr, n - p * nr);
    for (long c = 0; c < nr; c++) {
      if (c < cols) swat_weight_row(w, j0 + p * nr + c, k0, kc, row);
      for (long k = 0; k < kc; k++) d[k * nr + c] = c < cols ? row[k] : 0.0f;
    }
  }
}

void gemm_packed(long m, long n, long kc, const float *ap, const float *bp, float *C, long ldc, int accumulate) {
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  float *edge = NULL;
  for (long j0 = 0; j0 < n; j0 += nr) {
    const long cols = min_l(nr, n - j0);
    const float *b = bp + (j0 / nr) * kc * nr;
    for (long i0 = 0; i0 < m; i0 += mr) {
      const long rows = min_l(mr, m - i0);
      const float *a = ap + (i0 / mr) * kc * mr;
      float *c = C + i0 * ldc + j0;
      if (rows == mr && cols == nr) {
        ops->kernel(kc, a, b, c, ldc, accumulate);
        continue;
      }
      /* A partial tile: the kernel writes a whole mr × nr block, so it goes to scratch first. */
      if (!edge) edge = scratch_get(SCR_EDGE, (size_t)mr * nr);
      ops->kernel(kc, a, b, edge, nr, 0);
      for (long r = 0; r < rows; r++) {
        float *dst = c + r * ldc;
        const float *e = edge + r * nr;
        if (accumulate) {
          for (long q = 0; q < cols; q++) dst[q] += e[q];
        } else {
          for (long q = 0; q < cols; q++) dst[q] = e[q];
        }
      }
    }
  }
}

void gemm_rows(long m, long n, long kc, const float *a, long lda, const float *bp, float *C, long ldc, int accumulate) {
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  const long full = m / mr * mr;
  float *edge = NULL;
  for (long j0 = 0; j0 < n; j0 += nr) {
    const long cols = min_l(nr, n - j0);
    const float *b = bp + (j0 / nr) * kc * nr;
    for (long i0 = 0; i0 < full; i0 += mr) {
      float *c = C + i0 * ldc + j0;
      if (cols == nr) {
        ops->kernel_rm(kc, a + i0 * lda, lda, b, c, ldc, accumulate);
        continue;
      }
      if (!edge) edge = scratch_get(SCR_EDGE, (size_t)mr * nr);
      ops->kernel_rm(kc, a + i0 * lda, lda, b, edge, nr, 0);
      for (long r = 0; r < mr; r++) {
        for (long q = 0; q < cols; q++) c[r * ldc + q] = (accumulate ? c[r * ldc + q] : 0.0f) + edge[r * nr + q];
      }
    }
  }
  if (full < m) {
    /* The last rows do not fill a panel: reading mr rows in place would run past A, so pack them. */
    float *ap = scratch_get(SCR_PACK_TAIL, (size_t)(mr * kc));
    pack_a(ap, a + full * lda, lda, 1, m - full, kc, mr);
    gemm_packed(m - full, n, kc, ap, bp, C + full * ldc, ldc, accumulate);
  }
}

typedef struct {
  float *C;
  const float *A, *B;
  const swat_weight *w; /* when set, op(B)(k, j) = W(j, k) in W's dtype (B unused) */
  long M, N, K;
  long rsa, csa, rsb, csb;
  long mc, nc, tiles_n;
  float *bp;  /* all of op(B), packed: K blocks of KC rows, each ceil(N/nr) panels */
  long npad; /* N rounded up to nr */
  int accumulate;
} matmul_ctx;

/* Packs one (K block, NC_MAX columns) piece of op(B) into its place in x->bp. */
static void pack_b_task(void *arg, long task, int tid) {
  (void)tid;
  const matmul_ctx *x = arg;
  const long groups = (x->N + NC_MAX - 1) / NC_MAX;
  const long p0 = (task / groups) * KC, j0 = (task % groups) * NC_MAX;
  const long kc = min_l(KC, x->K - p0), n = min_l(NC_MAX, x->N - j0);
  float *dst = x->bp + p0 * x->npad + j0 * kc;
  if (x->w) pack_b_weight(dst, x->w, j0, p0, kc, n, cpu_ops()->nr);
  else pack_b(dst, x->B + p0 * x->rsb + j0 * x->csb, x->rsb, x->csb, kc, n, cpu_ops()->nr);
}

static void matmul_tile(void *arg, long task, int tid) {
  (void)tid;
  const matmul_ctx *x = arg;
  const swat_isa_ops *ops = cpu_ops();
  const long i0 = (task / x->tiles_n) * x->mc, j0 = (task % x->tiles_n) * x->nc;
  const long m = min_l(x->mc, x->M - i0), n = min_l(x->nc, x->N - j0);
  float *ap = x->csa == 1 ? NULL : scratch_get(SCR_PACK_A, (size_t)(round_up(m, ops->mr) * min_l(KC, x->K)));
  for (long p0 = 0; p0 < x->K; p0 += KC) {
    const long kc = min_l(KC, x->K - p0);
    const float *a = x->A + i0 * x->rsa + p0 * x->csa, *bp = x->bp + p0 * x->npad + j0 * kc;
    float *c = x->C + i0 * x->N + j0;
    /* The first K block writes (unless the call accumulates), later blocks add. A row-major op(A) is
     * read in place; a transposed one is packed, since its rows are strided. */
    const int acc = x->accumulate || p0 > 0;
    if (!ap) {
      gemm_rows(m, n, kc, a, x->rsa, bp, c, x->N, acc);
    } else {
      pack_a(ap, a, x->rsa, x->csa, m, kc, ops->mr);
      gemm_packed(m, n, kc, ap, bp, c, x->N, acc);
    }
  }
}

/* ---- a few rows (decoding one token per sequence): no packing ---------------------------------------- */

/* With M ≤ SMALL_M the product is a matrix-vector product per row, bound by reading B once: packing B
 * would double that traffic, so B is read in place, split by columns between threads. (A layer's layout,
 * A row-major times a B stored (N, K), goes to swat_linear's kernels instead, up to SWAT_FEW_ROWS rows.) */
#define SMALL_M 4
#define SMALL_COLS 64

static void small_task(void *arg, long task, int tid) {
  (void)tid;
  const matmul_ctx *x = arg;
  const long j0 = task * SMALL_COLS, j1 = min_l(x->N, j0 + SMALL_COLS);
  for (long i = 0; i < x->M; i++) {
    const float *a = x->A + i * x->rsa;
    float *c = x->C + i * x->N;
    if (x->rsb == 1) {
      /* B stored (N, K): each C element is a dot product of two contiguous rows, in eight lanes. */
      for (long j = j0; j < j1; j++) {
        const float *b = x->B + j * x->csb;
        float part[8] = {0};
        long k = 0;
        if (x->csa == 1) {
          for (; k + 8 <= x->K; k += 8) {
            for (int l = 0; l < 8; l++) part[l] += a[k + l] * b[k + l];
          }
        }
        for (; k < x->K; k++) part[0] += a[k * x->csa] * b[k];
        const float sum = ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
        c[j] = x->accumulate ? c[j] + sum : sum;
      }
    } else {
      /* B stored (K, N): C row += a_k · B row k, over this task's columns. */
      float acc[SMALL_COLS] = {0};
      for (long k = 0; k < x->K; k++) {
        const float ak = a[k * x->csa];
        const float *b = x->B + k * x->rsb + j0;
        for (long j = 0; j < j1 - j0; j++) acc[j] += ak * b[j];
      }
      for (long j = j0; j < j1; j++) c[j] = x->accumulate ? c[j] + acc[j - j0] : acc[j - j0];
    }
  }
}

/* The packed GEMM of C (M, N) = or += op(A) · op(B), op(B) from B or, when w is set, from W's rows. */
static void matmul_packed(matmul_ctx *x) {
  const swat_isa_ops *ops = cpu_ops();
  const long M = x->M, N = x->N, K = x->K;
  /* op(B) is packed once for the whole call (every row tile reuses it), in parallel. */
  x->npad = round_up(N, ops->nr);
  x->bp = scratch_get(SCR_PACK_B, (size_t)(x->npad * K));
  pool_run(((K + KC - 1) / KC) * ((N + NC_MAX - 1) / NC_MAX), pack_b_task, x);

  long mc = round_up(MC_TARGET, ops->mr), nc = NC_MAX;
  /* Enough tiles that dynamic hand-out can balance the threads (4 per thread), without shrinking tiles
   * below the size where re-packing A per column tile starts to show. */
  const long want = 4L * pool_threads();
  if (pool_threads() > 1) {
    while (((M + mc - 1) / mc) * ((N + nc - 1) / nc) < want && nc > 4L * ops->nr) nc /= 2;
    while (((M + mc - 1) / mc) * ((N + nc - 1) / nc) < want && mc > 2L * ops->mr) mc = round_up(mc / 2, ops->mr);
  }
  x->mc = mc;
  x->nc = nc;
  x->tiles_n = (N + nc - 1) / nc;
  pool_run(((M + mc - 1) / mc) * x->tiles_n, matmul_tile, x);
}

void swat_matmul_weight(float *C, const float *A, const swat_weight *w, long M, int accumulate) {
  const long N = w->rows, K = w->cols;
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) memset(C, 0, (size_t)(M * N) * sizeof(float));
    return;
  }
  matmul_ctx x = {.C = C, .A = A, .w = w, .M = M, .N = N, .K = K, .rsa = K, .csa = 1, .accumulate = accumulate};
  matmul_packed(&x);
}

void swat_matmul(float *C, const float *A, const float *B, long M, long N, long K, int transA, int transB,
                 int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) memset(C, 0, (size_t)(M * N) * sizeof(float));
    return;
  }
  if (M <= SWAT_FEW_ROWS && transB && !transA) {
    /* A layer's product with a few rows (decoding): B is a weight matrix, read once by the row kernels. */
    const swat_weight w = {SWAT_F32, B, NULL, N, K};
    swat_linear(C, A, &w, M, accumulate);
    return;
  }
  if (M <= SMALL_M) {
    matmul_ctx x = {
        .C = C, .A = A, .B = B, .M = M, .N = N, .K = K,
        .rsa = transA ? 1 : K, .csa = transA ? M : 1,
        .rsb = transB ? 1 : N, .csb = transB ? K : 1,
        .accumulate = accumulate,
    };
    pool_run((N + SMALL_COLS - 1) / SMALL_COLS, small_task, &x);
    return;
  }
  matmul_ctx x = {
      .C = C, .A = A, .B = B, .M = M, .N = N, .K = K,
      /* op(A)(i, k) = A[i·rsa + k·csa], op(B)(k, j) = B[k·rsb + j·csb]. */
      .rsa = transA ? 1 : K, .csa = transA ? M : 1,
      .rsb = transB ? 1 : N, .csb = transB ? K : 1,
      .accumulate = accumulate,
  };
  matmul_packed(&x);
}
