/* N-API glue: turns JavaScript arguments into C pointers and sizes, checks them (types, non-negative
 * integer dimensions, buffers long enough for the dimensions, ids and targets in range) and throws a
 * one-line JavaScript error naming the op, the argument and the value instead of letting a kernel read
 * out of bounds. No numerics here: every op is one call into the kernel files. */
#define NAPI_VERSION 8
#include <math.h>
#include <node_api.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "swat.h"

/* The hash of the sources this addon was compiled from (binding.gyp passes it; see native/source-hash.mjs). */
#ifndef SWAT_SOURCE_HASH
#define SWAT_SOURCE_HASH "unknown"
#endif

/* Largest dimension product accepted: doubles count integers exactly up to 2^53. */
#define MAX_COUNT 9007199254740991.0

typedef struct {
  napi_env env;
  const char *op;
  napi_value argv[20];
  size_t argc;
} call_t;

/* Throws "native.<op>: <message>" as a RangeError (bad value) or TypeError (bad type). */
__attribute__((format(printf, 3, 4))) static void throw_error(call_t *c, int range, const char *fmt, ...) {
  char msg[256], full[320];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(full, sizeof full, "native.%s: %s", c->op, msg);
  if (range) napi_throw_range_error(c->env, NULL, full);
  else napi_throw_type_error(c->env, NULL, full);
}

/* Reads the call's arguments; fails (with a TypeError thrown) when fewer than `need` were given. */
static int get_args(call_t *c, napi_env env, napi_callback_info info, const char *op, size_t need) {
  c->env = env;
  c->op = op;
  c->argc = sizeof c->argv / sizeof c->argv[0];
  if (napi_get_cb_info(env, info, &c->argc, c->argv, NULL, NULL) != napi_ok) return 0;
  if (c->argc < need) {
    throw_error(c, 0, "expects %zu arguments, got %zu", need, c->argc);
    return 0;
  }
  return 1;
}

static int arg_num(call_t *c, size_t i, const char *name, double *out) {
  napi_valuetype t;
  napi_typeof(c->env, c->argv[i], &t);
  if (t != napi_number || napi_get_value_double(c->env, c->argv[i], out) != napi_ok) {
    throw_error(c, 0, "%s must be a number", name);
    return 0;
  }
  return 1;
}

/* A dimension or count: an integer in [lo, 2^53). */
static int arg_int(call_t *c, size_t i, const char *name, double lo, long *out) {
  double v;
  if (!arg_num(c, i, name, &v)) return 0;
  if (!(v >= lo) || v != floor(v) || v > MAX_COUNT) {
    throw_error(c, 1, "%s = %g, expected an integer >= %g", name, v, lo);
    return 0;
  }
  *out = (long)v;
  return 1;
}

static int arg_bool(call_t *c, size_t i, const char *name, int *out) {
  bool b;
  if (napi_get_value_bool(c->env, c->argv[i], &b) != napi_ok) {
    throw_error(c, 0, "%s must be a boolean", name);
    return 0;
  }
  *out = b;
  return 1;
}

static const char *array_type_name(napi_typedarray_type t) {
  switch (t) {
    case napi_float32_array: return "Float32Array";
    case napi_float64_array: return "Float64Array";
    case napi_int32_array: return "Int32Array";
    case napi_uint16_array: return "Uint16Array";
    case napi_int8_array: return "Int8Array";
    default: return "another typed array";
  }
}

/* A typed array of the given type with at least `need` elements. */
static int arg_array(call_t *c, size_t i, const char *name, napi_typedarray_type want, double need, void **data,
                     size_t *length) {
  bool is;
  napi_is_typedarray(c->env, c->argv[i], &is);
  napi_typedarray_type type;
  size_t len = 0;
  if (is) napi_get_typedarray_info(c->env, c->argv[i], &type, &len, data, NULL, NULL);
  if (!is || type != want) {
    throw_error(c, 0, "%s must be a %s, got %s", name, array_type_name(want),
                is ? array_type_name(type) : "a value that is not a typed array");
    return 0;
  }
  if (need > MAX_COUNT) {
    throw_error(c, 1, "%s: the dimensions need %g elements, too many", name, need);
    return 0;
  }
  if ((double)len < need) {
    throw_error(c, 1, "%s has %.0f elements, the dimensions need %.0f", name, (double)len, need);
    return 0;
  }
  if (length) *length = len;
  return 1;
}

static int arg_f32(call_t *c, size_t i, const char *name, double need, float **data) {
  return arg_array(c, i, name, napi_float32_array, need, (void **)data, NULL);
}

static int arg_i32(call_t *c, size_t i, const char *name, double need, int32_t **data) {
  return arg_array(c, i, name, napi_int32_array, need, (void **)data, NULL);
}

/* A weight from five arguments first … first + 4: data (Float32Array for f32, Uint16Array for bf16 and
 * f16, Int8Array for q8), scales (q8: a Float32Array of rows · ceil(cols / 32); else null), dtype (0 f32,
 * 1 bf16, 2 f16, 3 q8), rows, cols. */
static int arg_weight(call_t *c, size_t first, swat_weight *w) {
  static const napi_typedarray_type types[SWAT_DTYPES] = {napi_float32_array, napi_uint16_array, napi_uint16_array,
                                                          napi_int8_array};
  long dtype;
  void *data;
  if (!arg_int(c, first + 2, "dtype", 0, &dtype) || !arg_int(c, first + 3, "rows", 0, &w->rows) ||
      !arg_int(c, first + 4, "cols", 0, &w->cols)) {
    return 0;
  }
  if (dtype >= SWAT_DTYPES) {
    throw_error(c, 1, "dtype = %ld, expected 0 (f32), 1 (bf16), 2 (f16) or 3 (q8)", dtype);
    return 0;
  }
  w->dtype = (enum swat_dtype)dtype;
  if (!arg_array(c, first, "W", types[dtype], (double)w->rows * w->cols, &data, NULL)) return 0;
  w->data = data;
  w->scales = NULL;
  if (w->dtype == SWAT_Q8) {
    float *scales;
    if (!arg_f32(c, first + 1, "scales", (double)w->rows * swat_q8_blocks(w->cols), &scales)) return 0;
    w->scales = scales;
  }
  return 1;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

static napi_value number(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* ---- ops ------------------------------------------------------------------------------------------ */

/* matmul(C, A, B, M, N, K, transA, transB, accumulate) */
static napi_value js_matmul(napi_env env, napi_callback_info info) {
  call_t c;
  float *C, *A, *B;
  long M, N, K;
  int ta, tb, acc;
  if (!get_args(&c, env, info, "matmul", 9) || !arg_int(&c, 3, "M", 0, &M) || !arg_int(&c, 4, "N", 0, &N) ||
      !arg_int(&c, 5, "K", 0, &K) || !arg_bool(&c, 6, "transA", &ta) || !arg_bool(&c, 7, "transB", &tb) ||
      !arg_bool(&c, 8, "accumulate", &acc) || !arg_f32(&c, 0, "C", (double)M * N, &C) ||
      !arg_f32(&c, 1, "A", (double)M * K, &A) || !arg_f32(&c, 2, "B", (double)K * N, &B)) {
    return NULL;
  }
  swat_matmul(C, A, B, M, N, K, ta, tb, acc);
  return undefined(env);
}

/* linear(C, A, W, scales, dtype, rows, cols, M, accumulate) */
static napi_value js_linear(napi_env env, napi_callback_info info) {
  call_t c;
  float *C, *A;
  swat_weight w;
  long M;
  int acc;
  if (!get_args(&c, env, info, "linear", 9) || !arg_weight(&c, 2, &w) || !arg_int(&c, 7, "M", 0, &M) ||
      !arg_bool(&c, 8, "accumulate", &acc) || !arg_f32(&c, 0, "C", (double)M * w.rows, &C) ||
      !arg_f32(&c, 1, "A", (double)M * w.cols, &A)) {
    return NULL;
  }
  swat_linear(C, A, &w, M, acc);
  return undefined(env);
}

/* Every id must name a row of the table: checked here so a bad id is an error, not a stray read. */
static int check_ids(call_t *c, const int32_t *ids, long N, double table_len, long D) {
  const double rows = D > 0 ? floor(table_len / (double)D) : MAX_COUNT;
  for (long n = 0; n < N; n++) {
    if (ids[n] < 0 || (double)ids[n] >= rows) {
      throw_error(c, 1, "ids[%ld] = %d is outside the table's %.0f rows", n, (int)ids[n], rows);
      return 0;
    }
  }
  return 1;
}

/* embeddingForward(out, table, scales, dtype, rows, cols, ids, N): out (N, cols) = table rows ids[n]. */
static napi_value js_embedding_forward(napi_env env, napi_callback_info info) {
  call_t c;
  float *out;
  int32_t *ids;
  swat_weight w;
  long N;
  if (!get_args(&c, env, info, "embeddingForward", 8) || !arg_weight(&c, 1, &w) || !arg_int(&c, 7, "N", 0, &N) ||
      !arg_i32(&c, 6, "ids", (double)N, &ids) || !arg_f32(&c, 0, "out", (double)N * w.cols, &out) ||
      !check_ids(&c, ids, N, (double)w.rows * w.cols, w.cols)) {
    return NULL;
  }
  swat_embedding_forward(out, &w, ids, N);
  return undefined(env);
}

/* embeddingBackward(dTable, dOut, ids, N, D): dTable rows ids[n] += dOut rows. */
static napi_value js_embedding_backward(napi_env env, napi_callback_info info) {
  call_t c;
  float *dtable, *dout;
  int32_t *ids;
  long N, D;
  size_t table_len;
  if (!get_args(&c, env, info, "embeddingBackward", 5) || !arg_int(&c, 3, "N", 0, &N) || !arg_int(&c, 4, "D", 0, &D) ||
      !arg_i32(&c, 2, "ids", (double)N, &ids) ||
      !arg_array(&c, 0, "dTable", napi_float32_array, 0, (void **)&dtable, &table_len) ||
      !arg_f32(&c, 1, "dOut", (double)N * D, &dout) || !check_ids(&c, ids, N, (double)table_len, D)) {
    return NULL;
  }
  swat_embedding_backward(dtable, dout, ids, N, D);
  return undefined(env);
}

/* rmsnormForward(out, rstd, x, g, N, D, eps) */
static napi_value js_rmsnorm_forward(napi_env env, napi_callback_info info) {
  call_t c;
  float *out, *rstd, *x, *g;
  long N, D;
  double eps;
  if (!get_args(&c, env, info, "rmsnormForward", 7) || !arg_int(&c, 4, "N", 0, &N) || !arg_int(&c, 5, "D", 0, &D) ||
      !arg_num(&c, 6, "eps", &eps) || !arg_f32(&c, 0, "out", (double)N * D, &out) ||
      !arg_f32(&c, 1, "rstd", (double)N, &rstd) || !arg_f32(&c, 2, "x", (double)N * D, &x) ||
      !arg_f32(&c, 3, "g", (double)D, &g)) {
    return NULL;
  }
  swat_rmsnorm_forward(out, rstd, x, g, N, D, eps);
  return undefined(env);
}

/* rmsnormBackward(dx, dg, dOut, x, g, rstd, N, D) */
static napi_value js_rmsnorm_backward(napi_env env, napi_callback_info info) {
  call_t c;
  float *dx, *dg, *dout, *x, *g, *rstd;
  long N, D;
  if (!get_args(&c, env, info, "rmsnormBackward", 8) || !arg_int(&c, 6, "N", 0, &N) || !arg_int(&c, 7, "D", 0, &D) ||
      !arg_f32(&c, 0, "dx", (double)N * D, &dx) || !arg_f32(&c, 1, "dg", (double)D, &dg) ||
      !arg_f32(&c, 2, "dOut", (double)N * D, &dout) || !arg_f32(&c, 3, "x", (double)N * D, &x) ||
      !arg_f32(&c, 4, "g", (double)D, &g) || !arg_f32(&c, 5, "rstd", (double)N, &rstd)) {
    return NULL;
  }
  swat_rmsnorm_backward(dx, dg, dout, x, g, rstd, N, D);
  return undefined(env);
}

/* rope(x, B, T, H, Dh, pos0, theta, inverse) */
static napi_value js_rope(napi_env env, napi_callback_info info) {
  call_t c;
  float *x;
  long B, T, H, Dh, pos0;
  double theta;
  int inverse;
  if (!get_args(&c, env, info, "rope", 8) || !arg_int(&c, 1, "B", 0, &B) || !arg_int(&c, 2, "T", 0, &T) ||
      !arg_int(&c, 3, "H", 0, &H) || !arg_int(&c, 4, "Dh", 0, &Dh) || !arg_int(&c, 5, "pos0", 0, &pos0) ||
      !arg_num(&c, 6, "theta", &theta) || !arg_bool(&c, 7, "inverse", &inverse) ||
      !arg_f32(&c, 0, "x", (double)B * T * H * Dh, &x)) {
    return NULL;
  }
  if (Dh % 2 != 0) {
    throw_error(&c, 1, "Dh = %ld, expected an even head width", Dh);
    return NULL;
  }
  swat_rope(x, B, T, H, Dh, (double)pos0, theta, inverse);
  return undefined(env);
}

/* The attention shape from arguments first … first + 9:
 * B, Tq, Tk, kvStride, H, Dh, window (−1 = none), softmax (boolean), slopes, bias. */
static int attention_shape(call_t *c, size_t first, swat_attn_shape *s) {
  long w;
  double bias;
  float *slopes;
  if (!arg_int(c, first, "B", 0, &s->B) || !arg_int(c, first + 1, "Tq", 0, &s->Tq) ||
      !arg_int(c, first + 2, "Tk", 0, &s->Tk) || !arg_int(c, first + 3, "kvStride", 0, &s->kvStride) ||
      !arg_int(c, first + 4, "H", 0, &s->H) || !arg_int(c, first + 5, "Dh", 0, &s->Dh) ||
      !arg_int(c, first + 6, "window", -1, &w) || !arg_bool(c, first + 7, "softmax", &s->softmax) ||
      !arg_num(c, first + 9, "bias", &bias)) {
    return 0;
  }
  if (s->Tq > s->Tk) {
    throw_error(c, 1, "Tq = %ld, expected at most Tk (%ld): every query needs its own key", s->Tq, s->Tk);
    return 0;
  }
  if (s->Tk > s->kvStride) {
    throw_error(c, 1, "Tk = %ld, expected at most kvStride (%ld)", s->Tk, s->kvStride);
    return 0;
  }
  if (w == 0) {
    throw_error(c, 1, "window = 0, expected -1 (none) or an integer >= 1");
    return 0;
  }
  if (!arg_f32(c, first + 8, "slopes", (double)s->H, &slopes)) return 0;
  s->window = w;
  s->slopes = slopes;
  s->bias = (float)bias;
  return 1;
}

/* attentionForward(out, stats, q, k, v, ...shape) */
static napi_value js_attention_forward(napi_env env, napi_callback_info info) {
  call_t c;
  swat_attn_shape s;
  float *out, *stats, *q, *k, *v;
  if (!get_args(&c, env, info, "attentionForward", 15) || !attention_shape(&c, 5, &s)) return NULL;
  const double nq = (double)s.B * s.Tq * s.H * s.Dh, nkv = (double)s.B * s.kvStride * s.H * s.Dh;
  if (!arg_f32(&c, 0, "out", nq, &out) || !arg_f32(&c, 1, "stats", (double)s.B * s.H * s.Tq, &stats) ||
      !arg_f32(&c, 2, "q", nq, &q) || !arg_f32(&c, 3, "k", nkv, &k) || !arg_f32(&c, 4, "v", nkv, &v)) {
    return NULL;
  }
  swat_attention_forward(out, stats, q, k, v, &s);
  return undefined(env);
}

/* attentionBackward(dq, dk, dv, dOut, q, k, v, out, stats, ...shape) */
static napi_value js_attention_backward(napi_env env, napi_callback_info info) {
  call_t c;
  swat_attn_shape s;
  float *dq, *dk, *dv, *dout, *q, *k, *v, *out, *stats;
  if (!get_args(&c, env, info, "attentionBackward", 19) || !attention_shape(&c, 9, &s)) return NULL;
  const double nq = (double)s.B * s.Tq * s.H * s.Dh, nkv = (double)s.B * s.kvStride * s.H * s.Dh;
  if (!arg_f32(&c, 0, "dq", nq, &dq) || !arg_f32(&c, 1, "dk", nkv, &dk) || !arg_f32(&c, 2, "dv", nkv, &dv) ||
      !arg_f32(&c, 3, "dOut", nq, &dout) || !arg_f32(&c, 4, "q", nq, &q) || !arg_f32(&c, 5, "k", nkv, &k) ||
      !arg_f32(&c, 6, "v", nkv, &v) || !arg_f32(&c, 7, "out", nq, &out) ||
      !arg_f32(&c, 8, "stats", (double)s.B * s.H * s.Tq, &stats)) {
    return NULL;
  }
  swat_attention_backward(dq, dk, dv, dout, q, k, v, out, stats, &s);
  return undefined(env);
}

/* swigluForward(out, gu, N, I); swigluBackward(dGu, dOut, gu, N, I) */
static napi_value js_swiglu_forward(napi_env env, napi_callback_info info) {
  call_t c;
  float *out, *gu;
  long N, I;
  if (!get_args(&c, env, info, "swigluForward", 4) || !arg_int(&c, 2, "N", 0, &N) || !arg_int(&c, 3, "I", 0, &I) ||
      !arg_f32(&c, 0, "out", (double)N * I, &out) || !arg_f32(&c, 1, "gu", 2.0 * N * I, &gu)) {
    return NULL;
  }
  swat_swiglu_forward(out, gu, N, I);
  return undefined(env);
}

static napi_value js_swiglu_backward(napi_env env, napi_callback_info info) {
  call_t c;
  float *dgu, *dout, *gu;
  long N, I;
  if (!get_args(&c, env, info, "swigluBackward", 5) || !arg_int(&c, 3, "N", 0, &N) || !arg_int(&c, 4, "I", 0, &I) ||
      !arg_f32(&c, 0, "dGu", 2.0 * N * I, &dgu) || !arg_f32(&c, 1, "dOut", (double)N * I, &dout) ||
      !arg_f32(&c, 2, "gu", 2.0 * N * I, &gu)) {
    return NULL;
  }
  swat_swiglu_backward(dgu, dout, gu, N, I);
  return undefined(env);
}

static int check_targets(call_t *c, const int32_t *targets, long N, long V) {
  for (long n = 0; n < N; n++) {
    if (targets[n] < -1 || targets[n] >= V) {
      throw_error(c, 1, "targets[%ld] = %d is outside [-1, %ld)", n, (int)targets[n], V);
      return 0;
    }
  }
  return 1;
}

/* crossEntropyForward(losses, logits, targets, N, V) */
static napi_value js_ce_forward(napi_env env, napi_callback_info info) {
  call_t c;
  float *losses, *logits;
  int32_t *targets;
  long N, V;
  if (!get_args(&c, env, info, "crossEntropyForward", 5) || !arg_int(&c, 3, "N", 0, &N) ||
      !arg_int(&c, 4, "V", 0, &V) || !arg_f32(&c, 0, "losses", (double)N, &losses) ||
      !arg_f32(&c, 1, "logits", (double)N * V, &logits) || !arg_i32(&c, 2, "targets", (double)N, &targets) ||
      !check_targets(&c, targets, N, V)) {
    return NULL;
  }
  swat_cross_entropy_forward(losses, logits, targets, N, V);
  return undefined(env);
}

/* crossEntropyBackward(dLogits, logits, targets, scale, N, V) */
static napi_value js_ce_backward(napi_env env, napi_callback_info info) {
  call_t c;
  float *dlogits, *logits;
  int32_t *targets;
  long N, V;
  double scale;
  if (!get_args(&c, env, info, "crossEntropyBackward", 6) || !arg_num(&c, 3, "scale", &scale) ||
      !arg_int(&c, 4, "N", 0, &N) || !arg_int(&c, 5, "V", 0, &V) ||
      !arg_f32(&c, 0, "dLogits", (double)N * V, &dlogits) || !arg_f32(&c, 1, "logits", (double)N * V, &logits) ||
      !arg_i32(&c, 2, "targets", (double)N, &targets) || !check_targets(&c, targets, N, V)) {
    return NULL;
  }
  swat_cross_entropy_backward(dlogits, logits, targets, scale, N, V);
  return undefined(env);
}

/* add(out, a, b, n) */
static napi_value js_add(napi_env env, napi_callback_info info) {
  call_t c;
  float *out, *a, *b;
  long n;
  if (!get_args(&c, env, info, "add", 4) || !arg_int(&c, 3, "n", 0, &n) || !arg_f32(&c, 0, "out", (double)n, &out) ||
      !arg_f32(&c, 1, "a", (double)n, &a) || !arg_f32(&c, 2, "b", (double)n, &b)) {
    return NULL;
  }
  swat_add(out, a, b, n);
  return undefined(env);
}

/* scale(x, s, n) */
static napi_value js_scale(napi_env env, napi_callback_info info) {
  call_t c;
  float *x;
  double s;
  long n;
  if (!get_args(&c, env, info, "scale", 3) || !arg_num(&c, 1, "s", &s) || !arg_int(&c, 2, "n", 0, &n) ||
      !arg_f32(&c, 0, "x", (double)n, &x)) {
    return NULL;
  }
  swat_scale(x, s, n);
  return undefined(env);
}

/* sumSquares(x, n) → number */
static napi_value js_sum_squares(napi_env env, napi_callback_info info) {
  call_t c;
  float *x;
  long n;
  if (!get_args(&c, env, info, "sumSquares", 2) || !arg_int(&c, 1, "n", 0, &n) || !arg_f32(&c, 0, "x", (double)n, &x)) {
    return NULL;
  }
  return number(env, swat_sum_squares(x, n));
}

/* adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, step) */
static napi_value js_adamw(napi_env env, napi_callback_info info) {
  call_t c;
  float *p, *g, *m, *v;
  long n;
  swat_adamw_hyper h;
  if (!get_args(&c, env, info, "adamw", 11) || !arg_int(&c, 4, "n", 0, &n) || !arg_num(&c, 5, "lr", &h.lr) ||
      !arg_num(&c, 6, "beta1", &h.beta1) || !arg_num(&c, 7, "beta2", &h.beta2) || !arg_num(&c, 8, "eps", &h.eps) ||
      !arg_num(&c, 9, "weightDecay", &h.weight_decay) || !arg_num(&c, 10, "step", &h.step) ||
      !arg_f32(&c, 0, "param", (double)n, &p) || !arg_f32(&c, 1, "grad", (double)n, &g) ||
      !arg_f32(&c, 2, "m", (double)n, &m) || !arg_f32(&c, 3, "v", (double)n, &v)) {
    return NULL;
  }
  swat_adamw(p, g, m, v, n, &h);
  return undefined(env);
}

/* ---- control ---------------------------------------------------------------------------------------- */

static napi_value js_set_threads(napi_env env, napi_callback_info info) {
  call_t c;
  long n;
  if (!get_args(&c, env, info, "setThreads", 1) || !arg_int(&c, 0, "n", 1, &n)) return NULL;
  if (n > 1024) n = 1024;
  pool_set_threads((int)n);
  return number(env, pool_threads());
}

static napi_value js_threads(napi_env env, napi_callback_info info) {
  (void)info;
  return number(env, pool_threads());
}

static const enum swat_isa ALL_ISAS[] = {ISA_PORTABLE, ISA_AVX2, ISA_AVX512};

static napi_value js_isa_levels(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value arr;
  napi_create_array(env, &arr);
  uint32_t n = 0;
  for (size_t i = 0; i < sizeof ALL_ISAS / sizeof ALL_ISAS[0]; i++) {
    if (!cpu_isa_supported(ALL_ISAS[i])) continue;
    napi_value s;
    napi_create_string_utf8(env, cpu_isa_name(ALL_ISAS[i]), NAPI_AUTO_LENGTH, &s);
    napi_set_element(env, arr, n++, s);
  }
  return arr;
}

static napi_value js_isa(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, cpu_ops()->name, NAPI_AUTO_LENGTH, &s);
  return s;
}

/* setIsa(name): switches the kernels; a level the CPU lacks is a RangeError. */
static napi_value js_set_isa(napi_env env, napi_callback_info info) {
  call_t c;
  char name[32] = {0};
  size_t len = 0;
  if (!get_args(&c, env, info, "setIsa", 1)) return NULL;
  if (napi_get_value_string_utf8(env, c.argv[0], name, sizeof name, &len) != napi_ok) {
    throw_error(&c, 0, "name must be a string");
    return NULL;
  }
  for (size_t i = 0; i < sizeof ALL_ISAS / sizeof ALL_ISAS[0]; i++) {
    if (strcmp(name, cpu_isa_name(ALL_ISAS[i])) != 0) continue;
    if (!cpu_isa_supported(ALL_ISAS[i])) break;
    cpu_set_isa(ALL_ISAS[i]);
    return js_isa(env, info);
  }
  char msg[128];
  snprintf(msg, sizeof msg, "native.setIsa: '%s' is not supported on this CPU", name);
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

/* peakFlops(seconds, threads) → GFLOP/s of an FMA loop with the active ISA. */
static napi_value js_peak_flops(napi_env env, napi_callback_info info) {
  call_t c;
  double seconds;
  long threads;
  if (!get_args(&c, env, info, "peakFlops", 2) || !arg_num(&c, 0, "seconds", &seconds) ||
      !arg_int(&c, 1, "threads", 1, &threads)) {
    return NULL;
  }
  if (!(seconds > 0) || seconds > 60) {
    throw_error(&c, 1, "seconds = %g, expected a number in (0, 60]", seconds);
    return NULL;
  }
  return number(env, swat_peak_flops(seconds, (int)(threads > 256 ? 256 : threads)));
}

/* readBandwidth(x, passes) → GB/s of the fastest of `passes` reads of x on every pool thread. */
static napi_value js_read_bandwidth(napi_env env, napi_callback_info info) {
  call_t c;
  float *x;
  size_t n;
  long passes;
  if (!get_args(&c, env, info, "readBandwidth", 2) || !arg_int(&c, 1, "passes", 1, &passes) ||
      !arg_array(&c, 0, "x", napi_float32_array, 0, (void **)&x, &n)) {
    return NULL;
  }
  return number(env, swat_read_bandwidth(x, (long)n, (int)(passes > 1000 ? 1000 : passes)));
}

/* sourceHash() → the hash of the sources compiled into this addon. */
static napi_value js_source_hash(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, SWAT_SOURCE_HASH, NAPI_AUTO_LENGTH, &s);
  return s;
}

/* Node environments (the main thread, worker threads) that have loaded the addon and not yet ended. The
 * pool's threads belong to the process, but Node unloads the addon when the last environment that loaded
 * it ends (a worker thread that exits, where the main thread never loaded it): its threads must be gone
 * by then, or they would be left running code that is no longer mapped, and a later load would meet them. */
static atomic_int live_envs;

/* Runs on an environment's own thread as it ends: the last one stops the pool (joining its threads). */
static void env_ended(void *arg) {
  (void)arg;
  if (atomic_fetch_sub(&live_envs, 1) == 1) pool_set_threads(1);
  scratch_release();
}

static napi_value init(napi_env env, napi_value exports) {
  if (napi_add_env_cleanup_hook(env, env_ended, NULL) == napi_ok) atomic_fetch_add(&live_envs, 1);
  const struct {
    const char *name;
    napi_callback fn;
  } fns[] = {
      {"matmul", js_matmul},
      {"linear", js_linear},
      {"embeddingForward", js_embedding_forward},
      {"embeddingBackward", js_embedding_backward},
      {"rmsnormForward", js_rmsnorm_forward},
      {"rmsnormBackward", js_rmsnorm_backward},
      {"rope", js_rope},
      {"attentionForward", js_attention_forward},
      {"attentionBackward", js_attention_backward},
      {"swigluForward", js_swiglu_forward},
      {"swigluBackward", js_swiglu_backward},
      {"crossEntropyForward", js_ce_forward},
      {"crossEntropyBackward", js_ce_backward},
      {"add", js_add},
      {"scale", js_scale},
      {"sumSquares", js_sum_squares},
      {"adamw", js_adamw},
      {"setThreads", js_set_threads},
      {"threads", js_threads},
      {"isaLevels", js_isa_levels},
      {"isa", js_isa},
      {"setIsa", js_set_isa},
      {"peakFlops", js_peak_flops},
      {"readBandwidth", js_read_bandwidth},
      {"sourceHash", js_source_hash},
  };
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    napi_value f;
    napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &f);
    napi_set_named_property(env, exports, fns[i].name, f);
  }
  cpu_set_isa(cpu_best_isa());
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
