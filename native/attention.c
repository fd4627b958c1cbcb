/* Windowed attention (SWAT.md §3), forward and backward, fused and banded in the FlashAttention manner:
 * for one (sequence, head) a tile of TQ queries is multiplied against only the keys its rows can see,
 * in row blocks of the micro-kernel's height, so the score matrix that exists at any time is one tile
 * (TQ × at most TQ + ω keys), never Tq × Tk. Scores, weights and products all go through the same packed
 * micro-kernel as matmul.c. The backward recomputes the weights from q and k (softmax uses the saved
 * log-sum-exp) and keeps nothing of size N·ω between calls.
 * q and k arrive rotated by RoPE (a separate op of the contract); ALiBi and the bias are added here.
 * Not handled: other masks, dropout, grouped keys. */
#include <math.h>
#include <string.h>

#include "swat.h"

/* Queries per tile, before rounding to the kernel height; keys per chunk at most (full-causal calls over
 * long texts are cut into chunks of this many keys, with an online softmax across chunks). */
#define TQ_TARGET 64
#define KCH_MAX 1024

enum {
  S_QA = SCR_ATT0, /* Q tile as A panels (k = Dh) */
  S_DOA,           /* dO tile as A panels */
  S_QB,            /* Q tile as B panels (k = query) */
  S_DOB,           /* dO tile as B panels */
  S_KP,            /* Kᵀ chunk as B panels (k = Dh) */
  S_VP,            /* V chunk as B panels (k = key): forward; Vᵀ as B panels: backward */
  S_KD,            /* K chunk as B panels (k = key) */
  S_P,             /* weights of the tile (forward: one row block) */
  S_DS,            /* score gradients of the tile */
  S_PP,            /* one row block of P or dS packed as A */
  S_ACC,           /* O or dQ accumulator of the tile */
  S_ROW,           /* per-row scalars */
  S_DK,            /* dK accumulator of one (sequence, head) */
  S_DV,            /* dV accumulator */
  S_TMP,           /* one row of exponent arguments */
};

static long min_l(long a, long b) { return a < b ? a : b; }
static long max_l(long a, long b) { return a > b ? a : b; }
static long round_up(long x, long m) { return (x + m - 1) / m * m; }

typedef struct {
  const swat_attn_shape *s;
  const float *q, *k, *v, *dout, *out, *stats;
  float *o, *st, *dq, *dk, *dv;
  long tq, kch, ntiles, ld, off;
  float scale;
} attn_ctx;

/* Keys [lo, hi] of query i: it sits at key index m = i + Tk − Tq and sees m − ω < j ≤ m. */
static long key_lo(const attn_ctx *x, long i) {
  return x->s->window < 0 ? 0 : max_l(0, i + x->off - x->s->window + 1);
}
static long key_hi(const attn_ctx *x, long i) { return i + x->off; }

static const float *q_row(const attn_ctx *x, const float *base, long b, long h, long i) {
  return base + ((b * x->s->Tq + i) * x->s->H + h) * x->s->Dh;
}
static const float *kv_row(const attn_ctx *x, const float *base, long b, long h, long j) {
  return base + ((b * x->s->kvStride + j) * x->s->H + h) * x->s->Dh;
}

/* The scores of one row of a block, in place: p[c] for chunk-local key jj = col0 + c holds <q, k> on entry
 * and the scaled, biased score z on exit for the columns the query sees; returns that range [*c_lo, *c_hi]
 * (empty when *c_lo > *c_hi). Columns outside it are left alone and must be treated as masked. */
static void row_scores(const attn_ctx *x, long h, long i, long c0, long c1, long col0, float *p, long ncols,
                       long *c_lo, long *c_hi) {
  const long jlo = max_l(key_lo(x, i), c0), jhi = min_l(key_hi(x, i), c1 - 1);
  long a = jlo - c0 - col0, z = jhi - c0 - col0;
  if (a < 0) a = 0;
  if (z > ncols - 1) z = ncols - 1;
  *c_lo = a;
  *c_hi = z;
  if (a > z) return;
  const float slope = x->s->slopes[h], scale = x->scale;
  /* ALiBi, SWAT.md sign convention: + s_h·(m − n), positive slopes favour older keys. Written as
   * base − slope·c so the loop has no integer-to-key arithmetic and vectorises. */
  const float base = slope * (float)(key_hi(x, i) - (c0 + col0 + a)) + x->s->bias;
  float *q = p + a;
  for (long c = 0; c <= z - a; c++) q[c] = q[c] * scale + (base - slope * (float)c);
}

/* ---- forward -------------------------------------------------------------------------------------- */

static void forward_tile(void *arg, long task, int tid) {
  (void)tid;
  const attn_ctx *x = arg;
  const swat_attn_shape *s = x->s;
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  const long Dh = s->Dh, dpad = round_up(Dh, nr), ld = x->ld;
  const long bh = task / x->ntiles, b = bh / s->H, h = bh % s->H;
  const long i0 = (task % x->ntiles) * x->tq, rows = min_l(x->tq, s->Tq - i0), rpad = round_up(rows, mr);
  const long lds = round_up(x->kch, nr);

  float *qa = scratch_get(S_QA, (size_t)(rpad * Dh));
  float *acc = scratch_get(S_ACC, (size_t)(rpad * dpad));
  float *rowm = scratch_get(S_ROW, (size_t)(2 * rpad)); /* softmax running max, then running sum */
  float *rowl = rowm + rpad;
  float *kp = scratch_get(S_KP, (size_t)(Dh * lds));
  float *vp = scratch_get(S_VP, (size_t)(x->kch * dpad));
  float *sb = scratch_get(S_P, (size_t)(mr * lds));
  float *pp = scratch_get(S_PP, (size_t)(mr * lds));
  float *tmp = scratch_get(S_TMP, (size_t)lds);

  pack_a(qa, q_row(x, x->q, b, h, i0), ld, 1, rows, Dh, mr);
  memset(acc, 0, (size_t)(rpad * dpad) * sizeof(float));
  for (long r = 0; r < rpad; r++) {
    rowm[r] = -INFINITY;
    rowl[r] = 0.0f;
  }
  const long span_lo = key_lo(x, i0), span_hi = key_hi(x, i0 + rows - 1);
  for (long c0 = span_lo; c0 <= span_hi; c0 += x->kch) {
    const long c1 = min_l(span_hi + 1, c0 + x->kch), nk = c1 - c0;
    pack_b(kp, kv_row(x, x->k, b, h, c0), 1, ld, Dh, nk, nr); /* B(d, jj) = k[c0 + jj][d] */
    pack_b(vp, kv_row(x, x->v, b, h, c0), ld, 1, nk, Dh, nr); /* B(jj, d) = v[c0 + jj][d] */
    for (long r0 = 0; r0 < rows; r0 += mr) {
      const long rb = min_l(mr, rows - r0);
      const long jl = max_l(c0, key_lo(x, i0 + r0)), jh = min_l(c1 - 1, key_hi(x, i0 + r0 + rb - 1));
      if (jl > jh) continue;
      const long pl = (jl - c0) / nr, ph = (jh - c0) / nr, col0 = pl * nr, ncols = (ph - pl + 1) * nr;
      for (long p = pl; p <= ph; p++) ops->kernel(Dh, qa + r0 * Dh, kp + p * Dh * nr, sb + (p - pl) * nr, lds, 0);
      for (long r = 0; r < mr; r++) {
        float *row = sb + r * lds;
        long a = 0, z = -1;
        if (r < rb) row_scores(x, h, i0 + r0 + r, c0, c1, col0, row, ncols, &a, &z);
        if (a > z) {
          memset(row, 0, (size_t)ncols * sizeof(float));
          continue;
        }
        if (!s->softmax) {
          ops->sigmoid(row + a, row + a, z - a + 1);
        } else {
          /* Online softmax: rescale what earlier chunks accumulated to the new running maximum. */
          float mx = rowm[r0 + r];
          for (long c = a; c <= z; c++) mx = row[c] > mx ? row[c] : mx;
          const float alpha = expf(rowm[r0 + r] - mx);
          for (long c = a; c <= z; c++) tmp[c] = row[c] - mx;
          ops->vexp(row + a, tmp + a, z - a + 1);
          double sum = 0;
          for (long c = a; c <= z; c++) sum += row[c];
          rowl[r0 + r] = (float)(rowl[r0 + r] * alpha + sum);
          rowm[r0 + r] = mx;
          float *orow = acc + (r0 + r) * dpad;
          for (long d = 0; d < dpad; d++) orow[d] *= alpha;
        }
        for (long c = 0; c < a; c++) row[c] = 0.0f;
        for (long c = z + 1; c < ncols; c++) row[c] = 0.0f;
      }
      /* O block += P block · V over the block's keys (the zeros outside each row's band add nothing). */
      const long klen = min_l(ncols, nk - col0);
      pack_a(pp, sb, lds, 1, mr, klen, mr);
      for (long pd = 0; pd < dpad / nr; pd++) {
        ops->kernel(klen, pp, vp + pd * nk * nr + col0 * nr, acc + r0 * dpad + pd * nr, dpad, 1);
      }
    }
  }
  for (long r = 0; r < rows; r++) {
    float *o = (float *)q_row(x, x->o, b, h, i0 + r);
    const float *a = acc + r * dpad;
    const float inv = s->softmax ? 1.0f / rowl[r] : 1.0f;
    for (long d = 0; d < Dh; d++) o[d] = a[d] * inv;
    x->st[(b * s->H + h) * s->Tq + i0 + r] = s->softmax ? rowm[r] + logf(rowl[r]) : 0.0f;
  }
}

static void setup(attn_ctx *x, const swat_attn_shape *s) {
  const swat_isa_ops *ops = cpu_ops();
  x->s = s;
  x->ld = s->H * s->Dh;
  x->off = s->Tk - s->Tq;
  x->scale = (float)(1.0 / sqrt((double)s->Dh));
  x->tq = round_up(TQ_TARGET, ops->mr);
  x->ntiles = (s->Tq + x->tq - 1) / x->tq;
  /* One chunk covers a tile's whole band when the window allows: TQ + ω − 1 keys. */
  const long span = s->window < 0 ? s->Tk : min_l(s->Tk, x->tq + s->window - 1);
  x->kch = max_l(1, min_l(span, KCH_MAX));
}

void swat_attention_forward(float *out, float *stats, const float *q, const float *k, const float *v,
                            const swat_attn_shape *s) {
  if (s->B == 0 || s->Tq == 0 || s->H == 0) return;
  attn_ctx x = {.q = q, .k = k, .v = v, .o = out, .st = stats};
  setup(&x, s);
  pool_run(s->B * s->H * x.ntiles, forward_tile, &x);
}

/* ---- backward ------------------------------------------------------------------------------------- */

typedef struct {
  float *qa, *doa, *qb, *dob, *kp, *vtp, *kd, *P, *dS, *pp, *dq, *dk, *dv, *rowdot, *lse, *tmp;
  long lds;
} bwd_bufs;

/* dK (or dV) rows of the chunk's keys += dSᵀ (or Pᵀ) · Q (or dO) over the queries of the tile that see
 * them, key block by key block so the query range stays the band's. */
static void add_key_grads(const attn_ctx *x, const bwd_bufs *w, const float *M, const float *rhs, float *dst,
                          long i0, long rows, long c0, long nk) {
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  const long dpad = round_up(x->s->Dh, nr);
  for (long j0 = 0; j0 < nk; j0 += mr) {
    const long kb = min_l(mr, nk - j0);
    const long first = c0 + j0, last = first + kb - 1;
    /* Query i sees key j iff j ≤ i + off and (window) i + off − ω < j. */
    const long qa = max_l(i0, first - x->off);
    const long qb = x->s->window < 0 ? i0 + rows - 1 : min_l(i0 + rows - 1, last + x->s->window - 1 - x->off);
    if (qa > qb) continue;
    const long ql = qa - i0, qlen = qb - qa + 1;
    pack_a(w->pp, M + ql * w->lds + j0, 1, w->lds, kb, qlen, mr);
    for (long pd = 0; pd < dpad / nr; pd++) {
      ops->kernel(qlen, w->pp, rhs + pd * rows * nr + ql * nr, dst + first * dpad + pd * nr, dpad, 1);
    }
  }
}

static void backward_tile(const attn_ctx *x, const bwd_bufs *w, long b, long h, long i0) {
  const swat_attn_shape *s = x->s;
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  const long Dh = s->Dh, dpad = round_up(Dh, nr), ld = x->ld, lds = w->lds;
  const long rows = min_l(x->tq, s->Tq - i0), rpad = round_up(rows, mr);

  pack_a(w->qa, q_row(x, x->q, b, h, i0), ld, 1, rows, Dh, mr);
  pack_a(w->doa, q_row(x, x->dout, b, h, i0), ld, 1, rows, Dh, mr);
  pack_b(w->qb, q_row(x, x->q, b, h, i0), ld, 1, rows, Dh, nr);
  pack_b(w->dob, q_row(x, x->dout, b, h, i0), ld, 1, rows, Dh, nr);
  memset(w->dq, 0, (size_t)(rpad * dpad) * sizeof(float));
  for (long r = 0; r < rows; r++) {
    w->lse[r] = x->stats[(b * s->H + h) * s->Tq + i0 + r];
    /* Σ_j p_j·dp_j = <dO_i, O_i> for softmax, since O_i = Σ_j p_j·v_j: the form that works across chunks. */
    double dot = 0;
    const float *dor = q_row(x, x->dout, b, h, i0 + r), *orow = q_row(x, x->out, b, h, i0 + r);
    for (long d = 0; d < Dh; d++) dot += (double)dor[d] * orow[d];
    w->rowdot[r] = (float)dot;
  }

  const long span_lo = key_lo(x, i0), span_hi = key_hi(x, i0 + rows - 1);
  const int one_chunk = span_hi - span_lo + 1 <= x->kch;
  for (long c0 = span_lo; c0 <= span_hi; c0 += x->kch) {
    const long c1 = min_l(span_hi + 1, c0 + x->kch), nk = c1 - c0;
    pack_b(w->kp, kv_row(x, x->k, b, h, c0), 1, ld, Dh, nk, nr);  /* Kᵀ for the scores */
    pack_b(w->vtp, kv_row(x, x->v, b, h, c0), 1, ld, Dh, nk, nr); /* Vᵀ for dP = dO·Vᵀ */
    pack_b(w->kd, kv_row(x, x->k, b, h, c0), ld, 1, nk, Dh, nr);  /* K for dQ = dS·K */
    memset(w->P, 0, (size_t)(rpad * lds) * sizeof(float));
    memset(w->dS, 0, (size_t)(rpad * lds) * sizeof(float));
    for (long r0 = 0; r0 < rows; r0 += mr) {
      const long rb = min_l(mr, rows - r0);
      const long jl = max_l(c0, key_lo(x, i0 + r0)), jh = min_l(c1 - 1, key_hi(x, i0 + r0 + rb - 1));
      if (jl > jh) continue;
      const long pl = (jl - c0) / nr, ph = (jh - c0) / nr, col0 = pl * nr, ncols = (ph - pl + 1) * nr;
      for (long p = pl; p <= ph; p++) {
        ops->kernel(Dh, w->qa + r0 * Dh, w->kp + p * Dh * nr, w->P + r0 * lds + p * nr, lds, 0);
        ops->kernel(Dh, w->doa + r0 * Dh, w->vtp + p * Dh * nr, w->dS + r0 * lds + p * nr, lds, 0);
      }
      for (long r = 0; r < mr; r++) {
        float *prow = w->P + (r0 + r) * lds + col0, *drow = w->dS + (r0 + r) * lds + col0;
        long a = 0, z = -1;
        if (r < rb) row_scores(x, h, i0 + r0 + r, c0, c1, col0, prow, ncols, &a, &z);
        if (!s->softmax) {
          ops->sigmoid(prow + a, prow + a, z - a + 1);
          const float sc = x->scale;
          float *pr = prow + a, *dr = drow + a;
          for (long c = 0; c <= z - a; c++) dr[c] = dr[c] * pr[c] * (1.0f - pr[c]) * sc; /* σ' = σ(1 − σ) */
        } else {
          const float lse = w->lse[r0 + r];
          for (long c = a; c <= z; c++) w->tmp[c] = prow[c] - lse;
          ops->vexp(prow + a, w->tmp + a, z - a + 1);
          /* Σ_j p_j·dp_j: from this row's own weights when its whole band is in this chunk (then a single
           * key gives exactly p·(dp − dp) = 0, as it must), else from <dO, O> computed above. */
          float rd = w->rowdot[r0 + r];
          if (one_chunk) {
            double sum = 0;
            for (long c = a; c <= z; c++) sum += (double)prow[c] * drow[c];
            rd = (float)sum;
          }
          for (long c = a; c <= z; c++) drow[c] = prow[c] * (drow[c] - rd) * x->scale;
        }
        for (long c = 0; c < a; c++) prow[c] = drow[c] = 0.0f;
        for (long c = (z + 1 > 0 ? z + 1 : 0); c < ncols; c++) prow[c] = drow[c] = 0.0f;
      }
      /* dQ block += dS block · K over the block's keys. */
      const long klen = min_l(ncols, nk - col0);
      pack_a(w->pp, w->dS + r0 * lds + col0, lds, 1, mr, klen, mr);
      for (long pd = 0; pd < dpad / nr; pd++) {
        ops->kernel(klen, w->pp, w->kd + pd * nk * nr + col0 * nr, w->dq + r0 * dpad + pd * nr, dpad, 1);
      }
    }
    add_key_grads(x, w, w->dS, w->qb, w->dk, i0, rows, c0, nk);
    add_key_grads(x, w, w->P, w->dob, w->dv, i0, rows, c0, nk);
  }
  for (long r = 0; r < rows; r++) {
    float *dst = (float *)q_row(x, x->dq, b, h, i0 + r);
    memcpy(dst, w->dq + r * dpad, (size_t)Dh * sizeof(float));
  }
}

static void backward_head(void *arg, long task, int tid) {
  (void)tid;
  const attn_ctx *x = arg;
  const swat_attn_shape *s = x->s;
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  const long b = task / s->H, h = task % s->H;
  const long Dh = s->Dh, dpad = round_up(Dh, nr), tpad = round_up(x->tq, mr);
  bwd_bufs w;
  w.lds = round_up(x->kch, nr);
  w.qa = scratch_get(S_QA, (size_t)(tpad * Dh));
  w.doa = scratch_get(S_DOA, (size_t)(tpad * Dh));
  w.qb = scratch_get(S_QB, (size_t)(tpad * dpad));
  w.dob = scratch_get(S_DOB, (size_t)(tpad * dpad));
  w.kp = scratch_get(S_KP, (size_t)(Dh * w.lds));
  w.vtp = scratch_get(S_VP, (size_t)(Dh * w.lds));
  w.kd = scratch_get(S_KD, (size_t)(x->kch * dpad));
  w.P = scratch_get(S_P, (size_t)(tpad * w.lds));
  w.dS = scratch_get(S_DS, (size_t)(tpad * w.lds));
  w.pp = scratch_get(S_PP, (size_t)(mr * (w.lds > tpad ? w.lds : tpad)));
  w.dq = scratch_get(S_ACC, (size_t)(tpad * dpad));
  w.rowdot = scratch_get(S_ROW, (size_t)(2 * tpad));
  w.lse = w.rowdot + tpad;
  w.tmp = scratch_get(S_TMP, (size_t)w.lds);
  /* dK and dV of this (sequence, head) gather contributions from every tile: summed here in float32
   * with padding rows, then stored once. */
  const long kpad = round_up(s->Tk, mr) + mr;
  w.dk = scratch_get(S_DK, (size_t)(kpad * dpad));
  w.dv = scratch_get(S_DV, (size_t)(kpad * dpad));
  memset(w.dk, 0, (size_t)(kpad * dpad) * sizeof(float));
  memset(w.dv, 0, (size_t)(kpad * dpad) * sizeof(float));
  for (long i0 = 0; i0 < s->Tq; i0 += x->tq) backward_tile(x, &w, b, h, i0);
  for (long j = 0; j < s->kvStride; j++) {
    float *dkr = (float *)kv_row(x, x->dk, b, h, j), *dvr = (float *)kv_row(x, x->dv, b, h, j);
    if (j < s->Tk) {
      memcpy(dkr, w.dk + j * dpad, (size_t)Dh * sizeof(float));
      memcpy(dvr, w.dv + j * dpad, (size_t)Dh * sizeof(float));
    } else {
      memset(dkr, 0, (size_t)Dh * sizeof(float));
      memset(dvr, 0, (size_t)Dh * sizeof(float));
    }
  }
}

void swat_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                             const float *v, const float *out, const float *stats, const swat_attn_shape *s) {
  if (s->B == 0 || s->H == 0) return;
  attn_ctx x = {.q = q, .k = k, .v = v, .dout = dout, .out = out, .stats = stats, .dq = dq, .dk = dk, .dv = dv};
  setup(&x, s);
  pool_run(s->B * s->H, backward_head, &x);
}
