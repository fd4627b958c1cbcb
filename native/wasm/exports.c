/* The WebAssembly module's interface: the kernels under the names of the native addon's functions
 * (addon.c), with pointers into the module's memory where the addon takes typed arrays, and flat arguments
 * where the kernels take structs. No checks here: the TypeScript side (src/backend/wasm/) checks every
 * size, id and pointer before it calls, as addon.c does natively. Also the instruction-set controls and the
 * peak measurement; the thread pool's exports are in runtime.c. */
#include "../swat.h"

#define EXPORT(name) __attribute__((export_name(name)))

EXPORT("matmul") void wasm_matmul(float *C, const float *A, const float *B, long M, long N, long K, int transA,
                                  int transB, int accumulate) {
  swat_matmul(C, A, B, M, N, K, transA, transB, accumulate);
}

/* A weight as five arguments: values, q8 scales (0 when none), dtype, rows, cols (the addon's order). */
#define WEIGHT_PARAMS const void *data, const float *scales, int dtype, long rows, long cols
#define WEIGHT {(enum swat_dtype)dtype, data, scales, rows, cols}

EXPORT("linear") void wasm_linear(float *C, const float *A, WEIGHT_PARAMS, long M, int accumulate) {
  const swat_weight w = WEIGHT;
  swat_linear(C, A, &w, M, accumulate);
}

EXPORT("embeddingForward") void wasm_embedding_forward(float *out, WEIGHT_PARAMS, const int32_t *ids, long N) {
  const swat_weight w = WEIGHT;
  swat_embedding_forward(out, &w, ids, N);
}

EXPORT("embeddingBackward") void wasm_embedding_backward(float *dtable, const float *dout, const int32_t *ids, long N,
                                                         long D) {
  swat_embedding_backward(dtable, dout, ids, N, D);
}

EXPORT("rmsnormForward") void wasm_rmsnorm_forward(float *out, float *rstd, const float *x, const float *g, long N,
                                                   long D, double eps) {
  swat_rmsnorm_forward(out, rstd, x, g, N, D, eps);
}

EXPORT("rmsnormBackward") void wasm_rmsnorm_backward(float *dx, float *dg, const float *dout, const float *x,
                                                     const float *g, const float *rstd, long N, long D) {
  swat_rmsnorm_backward(dx, dg, dout, x, g, rstd, N, D);
}

EXPORT("rope") void wasm_rope(float *x, long B, long T, long H, long Dh, double pos0, double theta, int inverse) {
  swat_rope(x, B, T, H, Dh, pos0, theta, inverse);
}

/* B, Tq, Tk, kvStride, H, Dh, window (−1 = none), softmax, slopes, bias: the addon's argument order. */
#define ATTENTION_PARAMS                                                                                    \
  long B, long Tq, long Tk, long kvStride, long H, long Dh, long window, int softmax, const float *slopes, \
      double bias
#define ATTENTION_SHAPE {B, Tq, Tk, kvStride, H, Dh, window, softmax, slopes, (float)bias}

EXPORT("attentionForward") void wasm_attention_forward(float *out, float *stats, const float *q, const float *k,
                                                       const float *v, ATTENTION_PARAMS) {
  const swat_attn_shape s = ATTENTION_SHAPE;
  swat_attention_forward(out, stats, q, k, v, &s);
}

EXPORT("attentionBackward") void wasm_attention_backward(float *dq, float *dk, float *dv, const float *dout,
                                                         const float *q, const float *k, const float *v,
                                                         const float *out, const float *stats, ATTENTION_PARAMS) {
  const swat_attn_shape s = ATTENTION_SHAPE;
  swat_attention_backward(dq, dk, dv, dout, q, k, v, out, stats, &s);
}

EXPORT("swigluForward") void wasm_swiglu_forward(float *out, const float *gu, long N, long I) {
  swat_swiglu_forward(out, gu, N, I);
}

EXPORT("swigluBackward") void wasm_swiglu_backward(float *dgu, const float *dout, const float *gu, long N, long I) {
  swat_swiglu_backward(dgu, dout, gu, N, I);
}

EXPORT("crossEntropyForward") void wasm_ce_forward(float *losses, const float *logits, const int32_t *targets, long N,
                                                   long V) {
  swat_cross_entropy_forward(losses, logits, targets, N, V);
}

EXPORT("crossEntropyBackward") void wasm_ce_backward(float *dlogits, const float *logits, const int32_t *targets,
                                                     double scale, long N, long V) {
  swat_cross_entropy_backward(dlogits, logits, targets, scale, N, V);
}

EXPORT("add") void wasm_add(float *out, const float *a, const float *b, long n) { swat_add(out, a, b, n); }

EXPORT("scale") void wasm_scale(float *x, double s, long n) { swat_scale(x, s, n); }

EXPORT("sumSquares") double wasm_sum_squares(const float *x, long n) { return swat_sum_squares(x, n); }

EXPORT("adamw") void wasm_adamw(float *param, const float *grad, float *m, float *v, long n, double lr, double beta1,
                                double beta2, double eps, double weight_decay, double step) {
  const swat_adamw_hyper h = {lr, beta1, beta2, eps, weight_decay, step};
  swat_adamw(param, grad, m, v, n, &h);
}

/* ---- instruction sets: portable C, or the module's SIMD kernels ------------------------------------------ */

EXPORT("isaSupported") int wasm_isa_supported(int isa) { return cpu_isa_supported((enum swat_isa)isa); }

/* The level's name as a NUL-terminated string in memory. */
EXPORT("isaName") const char *wasm_isa_name(int isa) { return cpu_isa_name((enum swat_isa)isa); }

EXPORT("isa") int wasm_isa(void) { return (int)cpu_ops()->isa; }

EXPORT("setIsa") void wasm_set_isa(int isa) { cpu_set_isa((enum swat_isa)isa); }

/* GB/s of the fastest of `passes` reads of n floats at x on every thread. */
EXPORT("readBandwidth") double wasm_read_bandwidth(const float *x, long n, int passes) {
  return swat_read_bandwidth(x, n, passes);
}

/* GFLOP/s of the active kernels' multiply-add loop on `threads` threads (the host has started them). */
EXPORT("peakFlops") double wasm_peak_flops(double seconds, int threads) { return swat_peak_flops(seconds, threads); }
