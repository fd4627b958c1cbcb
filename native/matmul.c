/* Matrix multiply C = op(A)·op(B) (or +=) for all four transpose layouts, BLIS-style: op(A) and op(B) are
 * copied ("packed") block by block into the order the register-blocked micro-kernel of cpu_ops() reads,
 * so one kernel serves every layout and edges are handled once, here. Threads take tiles of C (MC × NC),
 * each packing what it needs: no sharing, no locks, and tile counts adapt so small products still split.
 * Not a BLAS: float32 only, no alpha/beta beyond "accumulate", no leading dimensions beyond dense. */
#include <string.h>

#include "swat.h"

/* Block sizes: a KC × NR panel of B (16 KB for AVX2) stays in L1 while the MC × KC block of A (96 KB)
 * streams from L2 and the KC × NC block of B (256 KB) sits in L2/L3. */
#define KC 256
#define MC_TARGET 96
#define NC_MAX 256

static long min_l(long a, long b) { return a < b ? a : b; }
static long round_up(long x, long m) { return (x + m - 1) / m * m; }

void pack_a(float *dst, const float *A, long rsa, long csa, long m, long kc, int mr) {
  for (long i0 = 0; i0 < m; i0 += mr) {
    const long rows = min_l(mr, m - i0);
    const float *src = A + i0 * rsa;
    if (rsa == 1) {
      /* Column k of the block is contiguous: copy mr values per k. */
      for (long k = 0; k < kc; k++) {
        const float *col = src + k * csa;
        float *d = dst + k * mr;
        long r = 0;
        for (; r < rows; r++) d[r] = col[r];
        for (; r < mr; r++) d[r] = 0.0f;
      }
    } else {
      /* Rows are contiguous: read each row once, scatter with stride mr. */
      for (long r = 0; r < rows; r++) {
        const float *row = src + r * rsa;
        for (long k = 0; k < kc; k++) dst[k * mr + r] = row[k * csa];
      }
      for (long r = rows; r < mr; r++) {
        for (long k = 0; k < kc; k++) dst[k * mr + r] = 0.0f;
      }
    }
    dst += kc * mr;
  }
}

void pack_b(float *dst, const float *B, long rsb, long csb, long kc, long n, int nr) {
  for (long j0 = 0; j0 < n; j0 += nr) {
    const long cols = min_l(nr, n - j0);
    const float *src = B + j0 * csb;
    if (csb == 1) {
      for (long k = 0; k < kc; k++) {
        const float *row = src + k * rsb;
        float *d = dst + k * nr;
        long c = 0;
        for (; c < cols; c++) d[c] = row[c];
        for (; c < nr; c++) d[c] = 0.0f;
      }
    } else {
      for (long c = 0; c < cols; c++) {
        const float *col = src + c * csb;
        for (long k = 0; k < kc; k++) dst[k * nr + c] = col[k * rsb];
      }
      for (long c = cols; c < nr; c++) {
        for (long k = 0; k < kc; k++) dst[k * nr + c] = 0.0f;
      }
    }
    dst += kc * nr;
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

typedef struct {
  float *C;
  const float *A, *B;
  long M, N, K;
  long rsa, csa, rsb, csb;
  long mc, nc, tiles_n;
  int accumulate;
} matmul_ctx;

static void matmul_tile(void *arg, long task, int tid) {
  (void)tid;
  const matmul_ctx *x = arg;
  const swat_isa_ops *ops = cpu_ops();
  const long i0 = (task / x->tiles_n) * x->mc, j0 = (task % x->tiles_n) * x->nc;
  const long m = min_l(x->mc, x->M - i0), n = min_l(x->nc, x->N - j0);
  const long kc_max = min_l(KC, x->K);
  float *ap = scratch_get(SCR_PACK_A, (size_t)(round_up(m, ops->mr) * kc_max));
  float *bp = scratch_get(SCR_PACK_B, (size_t)(round_up(n, ops->nr) * kc_max));
  for (long p0 = 0; p0 < x->K; p0 += KC) {
    const long kc = min_l(KC, x->K - p0);
    pack_b(bp, x->B + p0 * x->rsb + j0 * x->csb, x->rsb, x->csb, kc, n, ops->nr);
    pack_a(ap, x->A + i0 * x->rsa + p0 * x->csa, x->rsa, x->csa, m, kc, ops->mr);
    /* The first K block writes (unless the call accumulates), later blocks add. */
    gemm_packed(m, n, kc, ap, bp, x->C + i0 * x->N + j0, x->N, x->accumulate || p0 > 0);
  }
}

void swat_matmul(float *C, const float *A, const float *B, long M, long N, long K, int transA, int transB,
                 int accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate) memset(C, 0, (size_t)(M * N) * sizeof(float));
    return;
  }
  const swat_isa_ops *ops = cpu_ops();
  matmul_ctx x = {
      .C = C, .A = A, .B = B, .M = M, .N = N, .K = K,
      /* op(A)(i, k) = A[i·rsa + k·csa], op(B)(k, j) = B[k·rsb + j·csb]. */
      .rsa = transA ? 1 : K, .csa = transA ? M : 1,
      .rsb = transB ? 1 : N, .csb = transB ? K : 1,
      .accumulate = accumulate,
  };
  long mc = round_up(MC_TARGET, ops->mr), nc = NC_MAX;
  /* Enough tiles that dynamic hand-out can balance the threads (4 per thread), without shrinking tiles
   * below the size where packing overhead starts to show. */
  const long want = 4L * pool_threads();
  if (pool_threads() > 1) {
    while (((M + mc - 1) / mc) * ((N + nc - 1) / nc) < want && nc > 4L * ops->nr) nc /= 2;
    while (((M + mc - 1) / mc) * ((N + nc - 1) / nc) < want && mc > 2L * ops->mr) mc = round_up(mc / 2, ops->mr);
  }
  x.mc = mc;
  x.nc = nc;
  x.tiles_n = (N + nc - 1) / nc;
  pool_run(((M + mc - 1) / mc) * x.tiles_n, matmul_tile, &x);
}
