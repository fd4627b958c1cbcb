/* Windowed attention (SWAT.md §3), forward and backward, fused and banded in the FlashAttention manner:
 * one task per (sequence, head), whose keys are packed once for all its query tiles; a tile of TQ queries
 * is multiplied, in row blocks of the micro-kernel's height, against only the keys those rows can see, so
 * the scores that exist at any time are one tile (TQ × at most TQ + ω keys), never Tq × Tk. Scores,
 * weights and products all go through the micro-kernels of matmul.c. The backward recomputes the weights
 * from q and k (softmax uses the saved log-sum-exp) and keeps nothing of size N·ω between calls.
 * q and k arrive rotated by RoPE (a separate op of the contract); ALiBi and the bias are added here.
 * Decoding (a query or a few per sequence) skips the tiles: each query's scores are dot products with the
 * keys of its band, read in place, and its output the weighted sum of their values.
 * Not handled: other masks, dropout, grouped keys. */
#include <math.h>
#include <string.h>

#include "swat.h"

/* Queries per tile, before rounding to the kernel height; keys per chunk at most (full-causal calls over
 * long texts are cut into chunks of this many keys, with an online softmax across chunks). */
#define TQ_TARGET 64
#define KCH_MAX 1024
/* A head's keys are packed once for all its query tiles when they fit in this many floats per packed
 * copy (training lengths, decode caches); longer key ranges (a long prefill) are packed chunk by chunk. */
#define HEAD_PACK_MAX (1L << 21)

enum {
  S_QA = SCR_ATT0, /* Q tile, rows padded to the kernel height with zeros */
  S_DOA,           /* dO tile, likewise */
  S_QB,            /* Q tile as B panels (k = query) */
  S_DOB,           /* dO tile as B panels */
  S_KT,            /* Kᵀ as B panels (k = Dh): scores */
  S_VT,            /* Vᵀ as B panels (k = Dh): dP = dO·Vᵀ */
  S_KR,            /* K as B panels (k = key): dQ = dS·K */
  S_VR,            /* V as B panels (k = key): O = P·V */
  S_P,             /* weights of the tile (forward: one row block) */
  S_DS,            /* score gradients of the tile */
  S_PP,            /* one key block of Pᵀ or dSᵀ packed as A */
  S_ACC,           /* O or dQ accumulator of the tile */
  S_ROW,           /* per-row scalars */
  S_DK,            /* dK accumulator of one (sequence, head) */
  S_DV,            /* dV accumulator */
};

static long min_l(long a, long b) { return a < b ? a : b; }
static long max_l(long a, long b) { return a > b ? a : b; }
static long round_up(long x, long m) { return (x + m - 1) / m * m; }

typedef struct {
  const swat_attn_shape *s;
  const float *q, *k, *v, *dout, *out, *stats;
  float *o, *st, *dq, *dk, *dv;
  long tq, kch, ld, off;
  int head_pack; /* pack each head's keys once (else per tile and chunk) */
  float scale;
} attn_ctx;

/* Packed keys of one (sequence, head), covering keys [base, base + n); panels are aligned to key indices
 * base + multiples of nr. kt/vt: panel p (keys base + p·nr …) at kt + p·Dh·nr. kr/vr: column panel pd at
 * kr + pd·n·nr, key j at + (j − base)·nr. Unused copies are NULL. */
typedef struct {
  float *kt, *vt, *kr, *vr;
  long base, n;
} keys_t;

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

/* Copies `rows` rows of a head (row stride ld) into a dense tile of rpad rows, the rows past `rows` zero, so
 * the in-place micro-kernel can read whole row blocks. */
static void copy_tile(float *dst, const float *src, long ld, long rows, long rpad, long Dh) {
  for (long r = 0; r < rows; r++) memcpy(dst + r * Dh, src + r * ld, (size_t)Dh * sizeof(float));
  memset(dst + rows * Dh, 0, (size_t)((rpad - rows) * Dh) * sizeof(float));
}

/* Packs keys [c0, c1) of head (b, h) into w (the copies that are non-NULL). */
static void pack_keys(const attn_ctx *x, keys_t *w, long b, long h, long c0, long c1) {
  const long nr = cpu_ops()->nr, Dh = x->s->Dh, ld = x->ld, n = c1 - c0;
  w->base = c0;
  w->n = n;
  if (w->kt) pack_b(w->kt, kv_row(x, x->k, b, h, c0), 1, ld, Dh, n, (int)nr); /* B(d, j) = k[j][d] */
  if (w->vt) pack_b(w->vt, kv_row(x, x->v, b, h, c0), 1, ld, Dh, n, (int)nr);
  if (w->kr) pack_b(w->kr, kv_row(x, x->k, b, h, c0), ld, 1, n, Dh, (int)nr); /* B(j, d) = k[j][d] */
  if (w->vr) pack_b(w->vr, kv_row(x, x->v, b, h, c0), ld, 1, n, Dh, (int)nr);
}

/* Panel of Kᵀ/Vᵀ holding key c (c − base a multiple of nr), and the rows of K/V from key c on. */
static const float *t_panel(const keys_t *w, const float *t, long c, long Dh, long nr) {
  return t + (c - w->base) / nr * Dh * nr;
}
static const float *r_rows(const keys_t *w, const float *r, long pd, long c, long nr) {
  return r + pd * w->n * nr + (c - w->base) * nr;
}

/* Chunks of a tile's key span: the first starts at the span's start rounded down to a panel boundary
 * (the keys before the span are masked for every row of the tile), so panels line up with a head-wide
 * packing; each chunk holds at most kch keys. */
static long chunk_start(long span_lo) {
  return span_lo - span_lo % cpu_ops()->nr;
}

/* ---- forward -------------------------------------------------------------------------------------- */

typedef struct {
  float *qa, *acc, *rowm, *rowl, *sb;
  keys_t keys;
  long lds;
} fwd_bufs;

static void forward_tile(const attn_ctx *x, fwd_bufs *w, long b, long h, long i0) {
  const swat_attn_shape *s = x->s;
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  const long Dh = s->Dh, dpad = round_up(Dh, nr), lds = w->lds;
  const long rows = min_l(x->tq, s->Tq - i0), rpad = round_up(rows, mr);

  copy_tile(w->qa, q_row(x, x->q, b, h, i0), x->ld, rows, rpad, Dh);
  memset(w->acc, 0, (size_t)(rpad * dpad) * sizeof(float));
  for (long r = 0; r < rpad; r++) {
    w->rowm[r] = -INFINITY;
    w->rowl[r] = 0.0f;
  }
  const long span_lo = key_lo(x, i0), span_hi = key_hi(x, i0 + rows - 1);
  for (long c0 = chunk_start(span_lo); c0 <= span_hi; c0 += x->kch) {
    const long c1 = min_l(span_hi + 1, c0 + x->kch), nk = c1 - c0;
    if (!x->head_pack) pack_keys(x, &w->keys, b, h, c0, c1);
    for (long r0 = 0; r0 < rows; r0 += mr) {
      const long rb = min_l(mr, rows - r0);
      const long jl = max_l(c0, key_lo(x, i0 + r0)), jh = min_l(c1 - 1, key_hi(x, i0 + r0 + rb - 1));
      if (jl > jh) continue;
      const long pl = (jl - c0) / nr, ph = (jh - c0) / nr, col0 = pl * nr, ncols = (ph - pl + 1) * nr;
      for (long p = pl; p <= ph; p++) {
        ops->kernel_rm(Dh, w->qa + r0 * Dh, Dh, t_panel(&w->keys, w->keys.kt, c0 + p * nr, Dh, nr),
                       w->sb + (p - pl) * nr, lds, 0);
      }
      for (long r = 0; r < mr; r++) {
        float *row = w->sb + r * lds;
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
          float mx = w->rowm[r0 + r];
          for (long c = a; c <= z; c++) mx = row[c] > mx ? row[c] : mx;
          const float alpha = expf(w->rowm[r0 + r] - mx);
          for (long c = a; c <= z; c++) row[c] -= mx;
          ops->vexp(row + a, row + a, z - a + 1);
          double sum = 0;
          for (long c = a; c <= z; c++) sum += row[c];
          w->rowl[r0 + r] = (float)(w->rowl[r0 + r] * alpha + sum);
          w->rowm[r0 + r] = mx;
          float *orow = w->acc + (r0 + r) * dpad;
          for (long d = 0; d < dpad; d++) orow[d] *= alpha;
        }
        for (long c = 0; c < a; c++) row[c] = 0.0f;
        for (long c = z + 1; c < ncols; c++) row[c] = 0.0f;
      }
      /* O block += P block · V over the block's keys (the zeros outside each row's band add nothing). */
      const long klen = min_l(ncols, nk - col0);
      for (long pd = 0; pd < dpad / nr; pd++) {
        ops->kernel_rm(klen, w->sb, lds, r_rows(&w->keys, w->keys.vr, pd, c0 + col0, nr), w->acc + r0 * dpad + pd * nr,
                       dpad, 1);
      }
    }
  }
  for (long r = 0; r < rows; r++) {
    float *o = (float *)q_row(x, x->o, b, h, i0 + r);
    const float *a = w->acc + r * dpad;
    const float inv = s->softmax ? 1.0f / w->rowl[r] : 1.0f;
    for (long d = 0; d < Dh; d++) o[d] = a[d] * inv;
    x->st[(b * s->H + h) * s->Tq + i0 + r] = s->softmax ? w->rowm[r] + logf(w->rowl[r]) : 0.0f;
  }
}

/* Scratch for the packed keys: a whole head's worth or one chunk's. */
static void alloc_keys(const attn_ctx *x, keys_t *w, int need_kt, int need_vt, int need_kr, int need_vr) {
  const long nr = cpu_ops()->nr, Dh = x->s->Dh, dpad = round_up(Dh, nr);
  const long n = x->head_pack ? x->s->Tk : x->kch;
  const size_t tsize = (size_t)(round_up(n, nr) * Dh), rsize = (size_t)(n * dpad);
  w->kt = need_kt ? scratch_get(S_KT, tsize) : NULL;
  w->vt = need_vt ? scratch_get(S_VT, tsize) : NULL;
  w->kr = need_kr ? scratch_get(S_KR, rsize) : NULL;
  w->vr = need_vr ? scratch_get(S_VR, rsize) : NULL;
}

static void forward_head(void *arg, long task, int tid) {
  (void)tid;
  const attn_ctx *x = arg;
  const swat_attn_shape *s = x->s;
  const long mr = cpu_ops()->mr, nr = cpu_ops()->nr, b = task / s->H, h = task % s->H;
  const long tpad = round_up(x->tq, mr), dpad = round_up(s->Dh, nr);
  fwd_bufs w;
  w.lds = round_up(x->kch, nr);
  w.qa = scratch_get(S_QA, (size_t)(tpad * s->Dh));
  w.acc = scratch_get(S_ACC, (size_t)(tpad * dpad));
  w.rowm = scratch_get(S_ROW, (size_t)(2 * tpad)); /* softmax running max, then running sum */
  w.rowl = w.rowm + tpad;
  w.sb = scratch_get(S_P, (size_t)(mr * w.lds));
  alloc_keys(x, &w.keys, 1, 0, 0, 1);
  if (x->head_pack) pack_keys(x, &w.keys, b, h, 0, s->Tk);
  for (long i0 = 0; i0 < s->Tq; i0 += x->tq) forward_tile(x, &w, b, h, i0);
}

static void setup(attn_ctx *x, const swat_attn_shape *s) {
  const swat_isa_ops *ops = cpu_ops();
  x->s = s;
  x->ld = s->H * s->Dh;
  x->off = s->Tk - s->Tq;
  x->scale = (float)(1.0 / sqrt((double)s->Dh));
  x->tq = round_up(TQ_TARGET, ops->mr);
  /* One chunk covers a tile's whole band when the window allows: TQ + ω − 1 keys, plus up to nr − 1 for
   * the panel-aligned start. */
  const long span = s->window < 0 ? s->Tk : min_l(s->Tk, x->tq + s->window - 1);
  x->kch = round_up(min_l(span + ops->nr - 1, KCH_MAX), ops->nr);
  x->head_pack = s->Tk * round_up(s->Dh, ops->nr) <= HEAD_PACK_MAX;
}

/* ---- forward of a few queries (decoding) ----------------------------------------------------------- */

/* Queries per sequence up to which the forward reads keys in place instead of packing tiles. */
#define DECODE_TQ 4
/* Keys ahead whose rows are prefetched: a head's keys are Dh floats every H·Dh, a stride the cache that the
 * weights just streamed through does not hold. */
#define DECODE_AHEAD 8

static void prefetch_row(const float *row, long n) {
  for (long d = 0; d < n; d += 16) __builtin_prefetch(row + d);
}

static void decode_head(void *arg, long task, int tid) {
  (void)tid;
  const attn_ctx *x = arg;
  const swat_attn_shape *s = x->s;
  const swat_isa_ops *ops = cpu_ops();
  const swat_decode_kernels *dk = swat_decode();
  const long b = task / s->H, h = task % s->H, Dh = s->Dh;
  const long band = s->window < 0 ? s->Tk : min_l(s->Tk, s->window);
  float *p = scratch_get(S_P, (size_t)band), *acc = scratch_get(S_ACC, (size_t)Dh);
  for (long i = 0; i < s->Tq; i++) {
    const long lo = key_lo(x, i), hi = key_hi(x, i), n = hi - lo + 1;
    const float *q = q_row(x, x->q, b, h, i);
    for (long j = lo; j <= hi; j++) {
      prefetch_row(kv_row(x, x->k, b, h, j + DECODE_AHEAD), Dh);
      p[j - lo] = dk->dot(q, kv_row(x, x->k, b, h, j), Dh);
    }
    long a, z;
    row_scores(x, h, i, lo, hi + 1, 0, p, n, &a, &z);
    float inv = 1.0f, lse = 0.0f;
    if (!s->softmax) {
      ops->sigmoid(p, p, n);
    } else {
      const float mx = ops->vmax(p, n);
      for (long c = 0; c < n; c++) p[c] -= mx;
      ops->vexp(p, p, n);
      double sum = 0;
      for (long c = 0; c < n; c++) sum += p[c];
      inv = (float)(1.0 / sum);
      lse = mx + (float)log(sum);
    }
    memset(acc, 0, (size_t)Dh * sizeof(float));
    for (long j = lo; j <= hi; j++) {
      prefetch_row(kv_row(x, x->v, b, h, j + DECODE_AHEAD), Dh);
      dk->axpy(acc, p[j - lo], kv_row(x, x->v, b, h, j), Dh);
    }
    float *o = (float *)q_row(x, x->o, b, h, i);
    for (long d = 0; d < Dh; d++) o[d] = acc[d] * inv;
    x->st[(b * s->H + h) * s->Tq + i] = lse;
  }
}

void swat_attention_forward(float *out, float *stats, const float *q, const float *k, const float *v,
                            const swat_attn_shape *s) {
  if (s->B == 0 || s->Tq == 0 || s->H == 0) return;
  attn_ctx x = {.q = q, .k = k, .v = v, .o = out, .st = stats};
  setup(&x, s);
  pool_run(s->B * s->H, s->Tq <= DECODE_TQ ? decode_head : forward_head, &x);
}

/* ---- backward ------------------------------------------------------------------------------------- */

typedef struct {
  float *qa, *doa, *qb, *dob, *P, *dS, *pp, *dq, *dk, *dv, *rowdot, *lse;
  keys_t keys;
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

static void backward_tile(const attn_ctx *x, bwd_bufs *w, long b, long h, long i0) {
  const swat_attn_shape *s = x->s;
  const swat_isa_ops *ops = cpu_ops();
  const int mr = ops->mr, nr = ops->nr;
  const long Dh = s->Dh, dpad = round_up(Dh, nr), ld = x->ld, lds = w->lds;
  const long rows = min_l(x->tq, s->Tq - i0), rpad = round_up(rows, mr);

  copy_tile(w->qa, q_row(x, x->q, b, h, i0), ld, rows, rpad, Dh);
  copy_tile(w->doa, q_row(x, x->dout, b, h, i0), ld, rows, rpad, Dh);
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
  const long first_chunk = chunk_start(span_lo);
  const int one_chunk = span_hi - first_chunk + 1 <= x->kch;
  for (long c0 = first_chunk; c0 <= span_hi; c0 += x->kch) {
    const long c1 = min_l(span_hi + 1, c0 + x->kch), nk = c1 - c0;
    if (!x->head_pack) pack_keys(x, &w->keys, b, h, c0, c1);
    memset(w->P, 0, (size_t)(rpad * lds) * sizeof(float));
    memset(w->dS, 0, (size_t)(rpad * lds) * sizeof(float));
    for (long r0 = 0; r0 < rows; r0 += mr) {
      const long rb = min_l(mr, rows - r0);
      const long jl = max_l(c0, key_lo(x, i0 + r0)), jh = min_l(c1 - 1, key_hi(x, i0 + r0 + rb - 1));
      if (jl > jh) continue;
      const long pl = (jl - c0) / nr, ph = (jh - c0) / nr, col0 = pl * nr, ncols = (ph - pl + 1) * nr;
      for (long p = pl; p <= ph; p++) {
        ops->kernel_rm(Dh, w->qa + r0 * Dh, Dh, t_panel(&w->keys, w->keys.kt, c0 + p * nr, Dh, nr),
                       w->P + r0 * lds + p * nr, lds, 0);
        ops->kernel_rm(Dh, w->doa + r0 * Dh, Dh, t_panel(&w->keys, w->keys.vt, c0 + p * nr, Dh, nr),
                       w->dS + r0 * lds + p * nr, lds, 0);
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
          for (long c = a; c <= z; c++) prow[c] -= lse;
          ops->vexp(prow + a, prow + a, z - a + 1);
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
      for (long pd = 0; pd < dpad / nr; pd++) {
        ops->kernel_rm(klen, w->dS + r0 * lds + col0, lds, r_rows(&w->keys, w->keys.kr, pd, c0 + col0, nr),
                       w->dq + r0 * dpad + pd * nr, dpad, 1);
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
  w.P = scratch_get(S_P, (size_t)(tpad * w.lds));
  w.dS = scratch_get(S_DS, (size_t)(tpad * w.lds));
  w.pp = scratch_get(S_PP, (size_t)(mr * tpad));
  w.dq = scratch_get(S_ACC, (size_t)(tpad * dpad));
  w.rowdot = scratch_get(S_ROW, (size_t)(2 * tpad));
  w.lse = w.rowdot + tpad;
  alloc_keys(x, &w.keys, 1, 1, 1, 0);
  if (x->head_pack) pack_keys(x, &w.keys, b, h, 0, s->Tk);
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
