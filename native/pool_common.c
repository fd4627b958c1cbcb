/* What the thread pool offers beyond running tasks, written once for both builds because it does not depend
 * on how threads are made (pthreads in threads.c, host workers in wasm/runtime.c): per-thread scratch
 * buffers (_Thread_local is each WebAssembly worker's thread-local area there) and the peak measurement. */
#include <stdlib.h>
#include <string.h>

#include "swat.h"

typedef struct {
  float *ptr;
  size_t cap;
} scratch_slot;

/* A worker's buffers live as long as the worker, the caller's as long as the process, and both stay at the
 * largest size any op asked for (a few MB for the model's shapes). */
static _Thread_local scratch_slot slots[SWAT_SCRATCH_SLOTS];

void scratch_release(void) {
  for (int i = 0; i < SWAT_SCRATCH_SLOTS; i++) {
    free(slots[i].ptr);
    slots[i].ptr = NULL;
    slots[i].cap = 0;
  }
}

float *scratch_get(int slot, size_t n) {
  scratch_slot *s = &slots[slot];
  if (n > s->cap) {
    free(s->ptr);
    size_t bytes = ((n * sizeof(float)) + 63) & ~(size_t)63;
    s->ptr = aligned_alloc(64, bytes);
    if (!s->ptr) swat_out_of_memory(bytes);
    s->cap = n;
  }
  return s->ptr;
}

/* ---- peak measurement ------------------------------------------------------------------------------ */

typedef struct {
  double deadline;
  double flops[256];
} peak_ctx;

static void peak_task(void *ctx, long task, int tid) {
  (void)tid;
  peak_ctx *p = ctx;
  p->flops[task] = cpu_ops()->fma_loop(p->deadline);
}

double swat_peak_flops(double seconds, int threads) {
  peak_ctx p;
  memset(&p, 0, sizeof p);
  if (threads < 1) threads = 1;
  if (threads > 256) threads = 256;
  int saved = pool_threads();
  pool_set_threads(threads);
  double t0 = swat_now();
  /* One task per thread, all running to one shared deadline: a thread that wakes late (or picks up a
   * second task) just contributes fewer flops, and the rate stays total flops over elapsed time. */
  p.deadline = t0 + seconds;
  pool_run(threads, peak_task, &p);
  double elapsed = swat_now() - t0;
  pool_set_threads(saved);
  double total = 0;
  for (int i = 0; i < threads; i++) total += p.flops[i];
  return elapsed > 0 ? total / elapsed * 1e-9 : 0;
}
