/* Internal interface of the native backend: the thread pool, run-time ISA dispatch, and the kernels that
 * addon.c exposes to JavaScript (and wasm/exports.c, in the WebAssembly build of the same kernels). Not a
 * public C API: argument checking happens in addon.c (in TypeScript for WebAssembly), so every function
 * here trusts its sizes. All buffers are float32, row-major; notation of SWAT.md (B, T, H, Dh, ...).
 */
#ifndef SWAT_NATIVE_H
#define SWAT_NATIVE_H

#include <stddef.h>
#include <stdint.h>

/* ---- threads.c (wasm/runtime.c): persistent pool, work handed out through an atomic counter ---------- */

/* One unit of work: task index in [0, ntasks), tid in [0, pool_threads()) names the thread running it
 * (0 is the caller), so a task can use per-thread scratch. */
typedef void (*swat_task_fn)(void *ctx, long task, int tid);

void pool_set_threads(int n);
int pool_threads(void);
/* Runs fn for every task, on the caller and the pool's workers; returns when all are done. */
void pool_run(long ntasks, swat_task_fn fn, void *ctx);

/* ---- cpu.c: which instruction set the kernels use ------------------------------------------------------ */

enum swat_isa { ISA_PORTABLE = 0, ISA_AVX2 = 1, ISA_AVX512 = 2, ISA_SIMD128 = 3 };

/* Register-blocked GEMM micro-kernel: C (mr × nr, row stride ldc) = or += Ap · Bp over kc, where Ap holds
 * kc groups of mr values (one column of the A block each) and Bp kc groups of nr values (one row of B). */
typedef void (*swat_kernel_fn)(long kc, const float *ap, const float *bp, float *c, long ldc, int accumulate);
/* The same product with A read in place, row-major: A(i, k) = a[i·lda + k] for i < mr (all mr rows must be
 * readable). Saves packing A when it already is row-major, at the cost of mr read streams. */
typedef void (*swat_kernel_rm_fn)(long kc, const float *a, long lda, const float *bp, float *c, long ldc,
                                  int accumulate);

/* ---- weights in an inference dtype (src/backend/weight.ts defines each format) -------------------- */

enum swat_dtype { SWAT_F32 = 0, SWAT_BF16 = 1, SWAT_F16 = 2, SWAT_Q8 = 3, SWAT_DTYPES = 4 };
#define SWAT_Q8_BLOCK 32

/* A matrix (rows, cols), row-major: float, uint16 (bf16 / f16 bits) or int8 values; q8 also has one float
 * scale per block of SWAT_Q8_BLOCK columns, row after row (ceil(cols / 32) per row). */
typedef struct {
  enum swat_dtype dtype;
  const void *data;
  const float *scales;
  long rows, cols;
} swat_weight;

static inline long swat_q8_blocks(long cols) { return (cols + SWAT_Q8_BLOCK - 1) / SWAT_Q8_BLOCK; }

/* Σ a[k]·b[k] in eight lanes (independent sums the compiler may vectorise) added pairwise: the portable
 * kernels' dot product, the same sum on every build. */
static inline float swat_dot8(const float *a, const float *b, long n) {
  float part[8] = {0};
  long k = 0;
  for (; k + 8 <= n; k += 8) {
    for (int l = 0; l < 8; l++) part[l] += a[k + l] * b[k + l];
  }
  for (int l = 0; k < n; k++, l++) part[l] += a[k] * b[k];
  return ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/* The few-row linear kernel of one dtype: C[i·ldc + j] (= or +=) Σ_k A[i·lda + k] · W(j, k) for i < m and
 * j in [j0, j1), each row of W read once for all m rows of A. Each element's sum is formed the same way
 * whatever m, j0, j1 and the thread (so results never depend on batching or the thread count). */
typedef void (*swat_rows_fn)(const swat_weight *w, long j0, long j1, const float *a, long lda, long m, float *c,
                             long ldc, int accumulate);

/* The decoding kernels of one ISA (decode_*.c). */
typedef struct {
  swat_rows_fn rows[SWAT_DTYPES];
  /* Σ x[0 … n−1], read as a weight stream is (same loads, same prefetching): what measures the memory's
   * read bandwidth that decoding is held to. */
  float (*stream_sum)(const float *x, long n);
  /* Σ a[k]·b[k] over n floats, and y[0 … n) += alpha · x[0 … n): a decoding query against one key, and
   * one value into its output. */
  float (*dot)(const float *a, const float *b, long n);
  void (*axpy)(float *y, float alpha, const float *x, long n);
} swat_decode_kernels;

typedef struct {
  enum swat_isa isa;
  const char *name;
  /* Decoding kernels; NULL (the WebAssembly SIMD level) falls back to the portable ones. */
  const swat_decode_kernels *decode;
  int mr, nr;
  swat_kernel_fn kernel;
  swat_kernel_rm_fn kernel_rm;
  /* y[i] = exp(x[i]) for i < n; y may alias x. Accurate to a few ulp; underflows to ~0 below −87. */
  void (*vexp)(float *y, const float *x, long n);
  /* max over x[0 … n−1] (n ≥ 1), for the log-sum-exp shift. */
  float (*vmax)(const float *x, long n);
  /* y[i] = σ(x[i]), the logistic, stable for any x (exp is only taken of −|x|); y may alias x. */
  void (*sigmoid)(float *y, const float *x, long n);
  /* FMA loop for the peak measurement, run until swat_now() passes `deadline`; returns its flops. */
  double (*fma_loop)(double deadline);
} swat_isa_ops;

enum swat_isa cpu_best_isa(void);
int cpu_isa_supported(enum swat_isa isa);
const char *cpu_isa_name(enum swat_isa isa);
/* Switches the kernels to `isa` (must be supported). */
void cpu_set_isa(enum swat_isa isa);
/* The active kernels. */
const swat_isa_ops *cpu_ops(void);

/* ISA-specific tables, each in its own file compiled with function-level target attributes; SIMD128
 * (wasm/kernels_simd128.c) only in the WebAssembly build. */
extern const swat_isa_ops swat_ops_portable;
extern const swat_isa_ops swat_ops_avx2;
extern const swat_isa_ops swat_ops_avx512;
extern const swat_isa_ops swat_ops_simd128;

/* Seconds since an arbitrary origin (monotonic); threads.c (wasm/runtime.c). */
double swat_now(void);
/* GFLOP/s of the FMA loop run for `seconds` on `threads` threads at once; pool_common.c. */
double swat_peak_flops(double seconds, int threads);

/* ---- pool_common.c: per-thread buffers that only grow ----------------------------------------------- */

/* Slot `slot` (< SWAT_SCRATCH_SLOTS) of the calling thread, at least n floats, 64-byte aligned; contents
 * are undefined. Running out of memory for scratch ends the computation (swat_out_of_memory): it is a few
 * MB at most. */
#define SWAT_SCRATCH_SLOTS 24
enum {
  SCR_PACK_A = 0, SCR_PACK_B, SCR_EDGE, SCR_PACK_TAIL, /* matmul.c */
  SCR_ROW,                                              /* one row of exponent arguments: norm.c, loss.c */
  SCR_WEIGHT_ROW,                                       /* one row of a weight as floats: matmul.c, linear.c */
  SCR_ATT0 = 6,                           /* attention.c uses SCR_ATT0 … SCR_ATT0 + 15 */
  SCR_WEIGHT_TILE = 22                    /* a few weight rows as floats: decode_*.c */
};
float *scratch_get(int slot, size_t n);
/* Frees the calling thread's scratch (a worker does so when the pool is resized). */
void scratch_release(void);
/* Ends the computation when scratch cannot be allocated: natively the process aborts with a message; in
 * WebAssembly the instance traps and the host reports it. */
_Noreturn void swat_out_of_memory(size_t bytes);

/* ---- matmul.c --------------------------------------------------------------------------------------- */

void swat_matmul(float *C, const float *A, const float *B, long M, long N, long K, int transA, int transB,
                 int accumulate);
/* C (M, w.rows) = or += A · Wᵀ through the packed GEMM, W converted to float while it is packed. */
void swat_matmul_weight(float *C, const float *A, const swat_weight *w, long M, int accumulate);
/* Packing helpers, shared with attention.c. A(i, k) = A[i·rsa + k·csa]: m rows starting at A, kc columns;
 * writes ceil(m/mr) panels of kc·mr floats, rows past m zero. B(k, j) = B[k·rsb + j·csb]: kc rows, n
 * columns; writes ceil(n/nr) panels of kc·nr floats, columns past n zero. */
void pack_a(float *dst, const float *A, long rsa, long csa, long m, long kc, int mr);
void pack_b(float *dst, const float *B, long rsb, long csb, long kc, long n, int nr);
/* C (m × n, ldc) = or += Ap(m × kc, packed) · Bp(kc × n, packed), m ≤ mr-panels, any n; edges go through a
 * scratch tile so the kernel can always write whole mr × nr tiles. */
void gemm_packed(long m, long n, long kc, const float *ap, const float *bp, float *C, long ldc, int accumulate);
/* The same with A row-major in place (row stride lda): whole mr-row panels use kernel_rm, a last partial
 * panel is packed. */
void gemm_rows(long m, long n, long kc, const float *a, long lda, const float *bp, float *C, long ldc, int accumulate);

/* ---- attention.c ------------------------------------------------------------------------------------ */

typedef struct {
  long B, Tq, Tk, kvStride, H, Dh;
  long window; /* < 0: no window (full causal) */
  int softmax; /* 0: sigmoid */
  const float *slopes;
  float bias;
} swat_attn_shape;

void swat_attention_forward(float *out, float *stats, const float *q, const float *k, const float *v,
                            const swat_attn_shape *s);
void swat_attention_backward(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k,
                             const float *v, const float *out, const float *stats, const swat_attn_shape *s);

/* ---- linear.c: layers with weights in an inference dtype -------------------------------------------- */

/* At most this many rows of A take the few-row kernels (each weight read once from memory for all of them);
 * more take the packed GEMM of matmul.c, packing W converted to float. */
#define SWAT_FEW_ROWS 16

/* C (M, w.rows) = or += A (M, w.cols) · Wᵀ. */
void swat_linear(float *C, const float *A, const swat_weight *w, long M, int accumulate);
/* out (N, w.cols) = rows ids[n] of w, as floats. */
void swat_embedding_forward(float *out, const swat_weight *table, const int32_t *ids, long N);
/* Values [c0, c0 + n) of row r of w as floats (dequantized). */
void swat_weight_row(const swat_weight *w, long r, long c0, long n, float *out);
/* The decoding kernels: portable (decode_portable.c; what an ISA without its own falls back to), and per ISA
 * (decode_avx2.c, decode_avx512.c). */
extern const swat_decode_kernels swat_decode_portable, swat_decode_avx2, swat_decode_avx512;
/* The active ISA's decoding kernels (the portable ones where it has none). */
const swat_decode_kernels *swat_decode(void);
/* GB/s of reading n floats at x (a buffer much larger than the caches) with stream_sum on every pool
 * thread, the fastest of `passes` passes. */
double swat_read_bandwidth(const float *x, long n, int passes);

/* ---- norm.c ----------------------------------------------------------------------------------------- */

void swat_embedding_backward(float *dtable, const float *dout, const int32_t *ids, long N, long D);
void swat_rmsnorm_forward(float *out, float *rstd, const float *x, const float *g, long N, long D, double eps);
void swat_rmsnorm_backward(float *dx, float *dg, const float *dout, const float *x, const float *g, const float *rstd,
                          long N, long D);
void swat_rope(float *x, long B, long T, long H, long Dh, double pos0, double theta, int inverse);
void swat_swiglu_forward(float *out, const float *gu, long N, long I);
void swat_swiglu_backward(float *dgu, const float *dout, const float *gu, long N, long I);

/* ---- loss.c ----------------------------------------------------------------------------------------- */

void swat_cross_entropy_forward(float *losses, const float *logits, const int32_t *targets, long N, long V);
void swat_cross_entropy_backward(float *dlogits, const float *logits, const int32_t *targets, double scale, long N,
                                 long V);

/* ---- optim.c ---------------------------------------------------------------------------------------- */

void swat_add(float *out, const float *a, const float *b, long n);
void swat_scale(float *x, double s, long n);
double swat_sum_squares(const float *x, long n);
typedef struct {
  double lr, beta1, beta2, eps, weight_decay;
  double step;
} swat_adamw_hyper;
void swat_adamw(float *param, const float *grad, float *m, float *v, long n, const swat_adamw_hyper *h);

/* Splits [0, n) into chunks of about `grain` items for pool_run: at least one, more when n is large. */
static inline long swat_chunks(long n, long grain) {
  if (grain < 1) grain = 1;
  long c = (n + grain - 1) / grain;
  return c < 1 ? 1 : c;
}

#endif
