/* The WebAssembly build's runtime: what the C library and pthreads give the native build (threads.c), for a
 * module that has neither. Math functions come from the host (JavaScript's Math), the clock too; a small
 * allocator serves the kernels' scratch and the host's buffers; and a thread pool runs pool_run's tasks on
 * the host's workers (Node worker_threads or Web Workers), each running the same module on the same
 * shared memory.
 *
 * Threads differ from the native pool in what the host allows: the module cannot start threads, so the host
 * starts workers ahead of time and each calls swat_worker; a worker may start late (a browser starts it only
 * when the page's thread yields), so nothing ever waits for a worker to start or to end, and tasks go to
 * whoever is running (a worker that has not started simply takes none). Workers are never resized away:
 * swat_set_threads only changes how many take tasks. A browser's main thread may not block, so the caller
 * spins there instead of waiting (swat_set_caller_blocks).
 *
 * Built twice from this file: with threads (atomics, shared memory) and without (one thread; the compiler
 * turns the atomics into plain loads and stores). Not a C library: only what the kernels call. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../handout.h"
#include "../swat.h"

#define HOST(name) __attribute__((import_module("env"), import_name(name)))
#define EXPORT(name) __attribute__((export_name(name)))

/* Waiting and waking exist only with threads; the one-thread build never has a second thread to wait for. */
#ifdef __wasm_atomics__
#define WAIT32(word, seen) __builtin_wasm_memory_atomic_wait32((int *)(word), (int)(seen), -1)
#define NOTIFY(word, count) __builtin_wasm_memory_atomic_notify((int *)(word), count)
#else
#define WAIT32(word, seen) ((void)(word), (void)(seen))
#define NOTIFY(word, count) ((void)(word), (void)(count))
#endif

/* ---- host functions ------------------------------------------------------------------------------------- */

HOST("exp") double host_exp(double x);
HOST("log") double host_log(double x);
HOST("pow") double host_pow(double x, double y);
HOST("cos") double host_cos(double x);
HOST("sin") double host_sin(double x);
/* Milliseconds since an arbitrary origin (performance.now()). */
HOST("now") double host_now(void);

double exp(double x) { return host_exp(x); }
float expf(float x) { return (float)host_exp(x); }
double log(double x) { return host_log(x); }
float logf(float x) { return (float)host_log(x); }
double pow(double x, double y) { return host_pow(x, y); }
double cos(double x) { return host_cos(x); }
double sin(double x) { return host_sin(x); }
double swat_now(void) { return host_now() * 1e-3; }

/* Why the pool stopped working, 0 while it works: a thread ran out of memory (1) or trapped (2). The
 * caller checks it while it waits, so a dead worker ends the job with a trap instead of a wait forever. */
static _Atomic int failure;

_Noreturn void abort(void) { __builtin_trap(); }

static void fail(int why);

_Noreturn void swat_out_of_memory(size_t bytes) {
  (void)bytes;
  fail(1);
  __builtin_trap();
}

/* The host's worker calls this when swat_worker trapped; the host reads the reason after a trap. */
EXPORT("swat_fail") void swat_fail(int why) { fail(why); }

EXPORT("swat_failure") int swat_failure(void) { return atomic_load(&failure); }

/* ---- allocator -------------------------------------------------------------------------------------------
 * First fit over one free list, with boundary tags so a freed block merges with free neighbours, and blocks
 * in 64-byte units so every payload is 64-byte aligned (SIMD rows, scratch). The heap grows the memory at
 * its top; it never shrinks it. Allocations are few and large (parameters, activations, scratch), so a
 * lock that spins is enough. */

#define UNIT 64
#define HEADER UNIT

typedef struct block {
  size_t size;      /* bytes, header included; a multiple of UNIT */
  size_t prev_size; /* size of the block just below, valid when prev_free */
  int free, prev_free;
  struct block *next, *prev; /* free list, valid when free */
} block;

_Static_assert(sizeof(block) <= HEADER, "block header must fit in one unit");

extern unsigned char __heap_base;

static struct {
  block *free_list;
  block *top; /* the block that ends at `end`, or NULL when the heap is empty */
  uintptr_t start, end;
  _Atomic int lock;
} heap;

static void heap_lock(void) {
  while (atomic_exchange_explicit(&heap.lock, 1, memory_order_acquire)) {
  }
}

static void heap_unlock(void) { atomic_store_explicit(&heap.lock, 0, memory_order_release); }

static block *after(block *b) { return (block *)((uintptr_t)b + b->size); }

static void list_remove(block *b) {
  if (b->prev) b->prev->next = b->next;
  else heap.free_list = b->next;
  if (b->next) b->next->prev = b->prev;
}

static void list_push(block *b) {
  b->prev = NULL;
  b->next = heap.free_list;
  if (heap.free_list) heap.free_list->prev = b;
  heap.free_list = b;
}

/* Marks b free or used and tells the block above it. */
static void set_free(block *b, int free) {
  b->free = free;
  if (b != heap.top) {
    after(b)->prev_free = free;
    after(b)->prev_size = b->size;
  }
}

/* Cuts b to `size` bytes when the rest is worth a block of its own; the rest goes on the free list. */
static void split(block *b, size_t size) {
  if (b->size - size < 2 * UNIT) return;
  block *rest = (block *)((uintptr_t)b + size);
  rest->size = b->size - size;
  rest->prev_size = size;
  rest->prev_free = b->free;
  b->size = size;
  if (heap.top == b) heap.top = rest;
  set_free(rest, 1);
  list_push(rest);
}

/* Makes the heap end `need` bytes higher, growing the memory when it must; returns the old end or 0. */
static uintptr_t extend(size_t need) {
  if (!heap.start) heap.start = heap.end = ((uintptr_t)&__heap_base + UNIT - 1) & ~(uintptr_t)(UNIT - 1);
  const uintptr_t old = heap.end;
  if (need > UINTPTR_MAX - old) return 0;
  const uintptr_t want = old + need;
  const uintptr_t have = (uintptr_t)__builtin_wasm_memory_size(0) * 65536u;
  if (want > have) {
    const size_t pages = (want - have + 65535u) / 65536u;
    if (__builtin_wasm_memory_grow(0, pages) == (size_t)-1) return 0;
  }
  heap.end = want;
  return old;
}

static block *alloc_block(size_t size) {
  for (block *b = heap.free_list; b; b = b->next) {
    if (b->size < size) continue;
    list_remove(b);
    split(b, size);
    set_free(b, 0);
    return b;
  }
  /* No free block fits: a free block at the top grows, else a new one starts there. */
  block *top = heap.top;
  if (top && top->free) {
    if (!extend(size - top->size)) return NULL;
    list_remove(top);
    top->size = size;
    set_free(top, 0);
    return top;
  }
  const uintptr_t at = extend(size);
  if (!at) return NULL;
  block *b = (block *)at;
  b->size = size;
  b->prev_free = top ? top->free : 0;
  b->prev_size = top ? top->size : 0;
  heap.top = b;
  set_free(b, 0);
  return b;
}

/* malloc under another name: the compiler would turn malloc followed by a memset into calloc. */
static void *heap_alloc(size_t n) {
  if (n > UINTPTR_MAX / 2) return NULL;
  const size_t size = (n + HEADER + UNIT - 1) & ~(size_t)(UNIT - 1);
  heap_lock();
  block *b = alloc_block(size);
  heap_unlock();
  return b ? (void *)((uintptr_t)b + HEADER) : NULL;
}

void *malloc(size_t n) { return heap_alloc(n); }

void *aligned_alloc(size_t align, size_t n) { return align <= UNIT ? heap_alloc(n) : NULL; }

void free(void *p) {
  if (!p) return;
  heap_lock();
  block *b = (block *)((uintptr_t)p - HEADER);
  if (b != heap.top && after(b)->free) {
    block *next = after(b);
    list_remove(next);
    if (heap.top == next) heap.top = b;
    b->size += next->size;
  }
  if (b->prev_free) {
    block *prev = (block *)((uintptr_t)b - b->prev_size);
    list_remove(prev);
    if (heap.top == b) heap.top = prev;
    prev->size += b->size;
    b = prev;
  }
  set_free(b, 1);
  list_push(b);
  heap_unlock();
}

/* The host's buffers: zero-filled, 64-byte aligned; 0 when the memory cannot grow that far. */
EXPORT("swat_alloc") void *swat_alloc(size_t bytes) {
  void *p = heap_alloc(bytes);
  if (p) memset(p, 0, bytes);
  return p;
}

EXPORT("swat_free") void swat_free(void *p) { free(p); }

/* ---- thread pool ------------------------------------------------------------------------------------------ */

static struct {
  _Atomic uint64_t state;      /* job generation and next task (handout.h) */
  _Atomic uint32_t generation; /* what idle workers wait on: bumped per job and to stop */
  _Atomic uint32_t done;       /* tasks of the current job completed; the caller waits on it */
  _Atomic int active;          /* threads that take tasks, the caller included */
  _Atomic int stop;
  int caller_blocks; /* whether the calling thread may wait (not a browser's main thread) */
  job_t jobs[2];
} pool = {.active = 1, .caller_blocks = 1};

static void fail(int why) {
  int none = 0;
  atomic_compare_exchange_strong(&failure, &none, why);
  NOTIFY(&pool.done, UINT32_MAX);
}

static void run_tasks(uint32_t gen, int tid) {
  const job_t job = pool.jobs[gen & 1];
  long t;
  while (grab_task(&pool.state, gen, job.ntasks, &t)) {
    job.fn(job.ctx, t, tid);
    if (atomic_fetch_add_explicit(&pool.done, 1, memory_order_acq_rel) + 1 == (uint32_t)job.ntasks && tid != 0) {
      NOTIFY(&pool.done, 1);
    }
  }
}

/* Waits a while for *word to differ from `seen`: spins, then sleeps once if this thread may (until a
 * notify). Returns the value it last read; callers loop. */
static uint32_t wait_change(_Atomic uint32_t *word, uint32_t seen, int may_block) {
  for (int i = 0; i < SPIN_ROUNDS; i++) {
    const uint32_t now = atomic_load_explicit(word, memory_order_acquire);
    if (now != seen) return now;
  }
  if (may_block) WAIT32(word, seen);
  return atomic_load_explicit(word, memory_order_acquire);
}

/* A worker's whole life: the host calls it once per worker, after setting up its stack and thread-local
 * area, and it returns when the pool stops. */
EXPORT("swat_worker") void swat_worker(int tid) {
  uint32_t seen = atomic_load_explicit(&pool.generation, memory_order_acquire);
  for (;;) {
    const uint32_t gen = wait_change(&pool.generation, seen, 1);
    if (gen == seen) continue;
    seen = gen;
    if (atomic_load_explicit(&pool.stop, memory_order_acquire)) break;
    if (tid < atomic_load_explicit(&pool.active, memory_order_acquire)) run_tasks(gen, tid);
  }
  scratch_release();
}

EXPORT("swat_stop_workers") void swat_stop_workers(void) {
  atomic_store_explicit(&pool.stop, 1, memory_order_release);
  atomic_fetch_add_explicit(&pool.generation, 1, memory_order_acq_rel);
  NOTIFY(&pool.generation, UINT32_MAX);
}

/* How many threads take tasks (the host has started workers 1 … n − 1, or is starting them). */
EXPORT("swat_set_threads") void pool_set_threads(int n) { atomic_store(&pool.active, n < 1 ? 1 : n); }

EXPORT("swat_threads") int pool_threads(void) { return atomic_load(&pool.active); }

EXPORT("swat_set_caller_blocks") void swat_set_caller_blocks(int may_block) { pool.caller_blocks = may_block; }

void pool_run(long ntasks, swat_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  if (pool_threads() <= 1 || ntasks == 1) {
    for (long t = 0; t < ntasks; t++) fn(ctx, t, 0);
    return;
  }
  const uint32_t gen = atomic_load_explicit(&pool.generation, memory_order_relaxed) + 1;
  pool.jobs[gen & 1] = (job_t){fn, ctx, ntasks};
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  atomic_store_explicit(&pool.state, (uint64_t)gen << 32, memory_order_release);
  atomic_store_explicit(&pool.generation, gen, memory_order_release);
  NOTIFY(&pool.generation, UINT32_MAX);
  run_tasks(gen, 0);
  /* No task is left to take; wait for those still running on workers. */
  uint32_t done = atomic_load_explicit(&pool.done, memory_order_acquire);
  while (done < (uint32_t)ntasks) {
    if (atomic_load(&failure)) __builtin_trap();
    done = wait_change(&pool.done, done, pool.caller_blocks);
  }
}
