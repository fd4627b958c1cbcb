/* The persistent thread pool: workers created once (and again only when the thread count changes), woken
 * per job, and fed task indices from one atomic counter. Dynamic hand-out matters on shared machines: a
 * core that stalls just takes fewer chunks instead of holding everyone back at a fixed split, and the
 * caller waits for tasks, not threads, so a worker that never got the CPU holds nothing up.
 * (Scratch buffers and the peak measurement are in pool_common.c, shared with the WebAssembly build.) Not a
 * general scheduler: one job at a time, no nesting. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "handout.h"
#include "swat.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t wake;     /* a new job was posted (or stop) */
  pthread_cond_t finished; /* the last task of the job completed */
  pthread_t *workers;
  int nthreads; /* including the caller */
  int stop;
  _Atomic uint64_t state; /* job generation and next task (handout.h) */
  atomic_long done; /* tasks of the current job completed */
  job_t jobs[2];
} pool_t;

static pool_t pool = {
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .wake = PTHREAD_COND_INITIALIZER,
    .finished = PTHREAD_COND_INITIALIZER,
    .nthreads = 1,
};
/* One job at a time even if several JavaScript threads load the addon. */
static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;

/* Runs tasks of job `gen` until none is left. The caller waits for completed tasks, not for threads, so a
 * worker that is descheduled before it takes a task never holds the job up. */
static void run_tasks(unsigned gen, int tid) {
  const job_t job = pool.jobs[gen & 1];
  long t;
  while (grab_task(&pool.state, gen, job.ntasks, &t)) {
    job.fn(job.ctx, t, tid);
    if (atomic_fetch_add_explicit(&pool.done, 1, memory_order_acq_rel) + 1 == job.ntasks && tid != 0) {
      /* The last task finished on a worker: wake the caller if it went to sleep (it checks under the lock). */
      pthread_mutex_lock(&pool.mu);
      pthread_cond_signal(&pool.finished);
      pthread_mutex_unlock(&pool.mu);
    }
  }
}

/* The generation at the time the workers were created: a worker that starts late must still see the
 * first job posted after that as new, so it cannot read its starting point itself. */
static unsigned start_generation;

static void *worker_main(void *arg) {
  int tid = (int)(intptr_t)arg;
  unsigned seen = start_generation;
  for (;;) {
    unsigned gen = seen;
    for (int i = 0; i < SPIN_ROUNDS; i++) {
      gen = state_generation(atomic_load_explicit(&pool.state, memory_order_acquire));
      if (gen != seen) break;
      CPU_RELAX();
    }
    if (gen == seen) {
      pthread_mutex_lock(&pool.mu);
      while (!pool.stop && (gen = state_generation(atomic_load_explicit(&pool.state, memory_order_acquire))) == seen) {
        pthread_cond_wait(&pool.wake, &pool.mu);
      }
      int stop = pool.stop;
      pthread_mutex_unlock(&pool.mu);
      if (stop) {
        scratch_release();
        return NULL;
      }
    }
    seen = gen;
    run_tasks(gen, tid);
  }
}

static void pool_stop(void) {
  if (pool.nthreads <= 1) return;
  pthread_mutex_lock(&pool.mu);
  pool.stop = 1;
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.mu);
  for (int i = 1; i < pool.nthreads; i++) pthread_join(pool.workers[i - 1], NULL);
  free(pool.workers);
  pool.workers = NULL;
  pool.stop = 0;
  pool.nthreads = 1;
}

void pool_set_threads(int n) {
  if (n < 1) n = 1;
  pthread_mutex_lock(&job_mu);
  if (n != pool.nthreads) {
    pool_stop();
    pool.workers = n > 1 ? calloc((size_t)(n - 1), sizeof(pthread_t)) : NULL;
    start_generation = state_generation(atomic_load_explicit(&pool.state, memory_order_relaxed));
    int started = 1;
    for (int i = 1; i < n && pool.workers; i++) {
      if (pthread_create(&pool.workers[i - 1], NULL, worker_main, (void *)(intptr_t)i) != 0) break;
      started++;
    }
    /* If the system refuses threads we run with those we got. */
    pool.nthreads = started;
  }
  pthread_mutex_unlock(&job_mu);
}

int pool_threads(void) { return pool.nthreads; }

void pool_run(long ntasks, swat_task_fn fn, void *ctx) {
  if (ntasks <= 0) return;
  pthread_mutex_lock(&job_mu);
  if (pool.nthreads <= 1 || ntasks == 1 || ntasks > 0xffffffffL) {
    for (long t = 0; t < ntasks; t++) fn(ctx, t, 0);
    pthread_mutex_unlock(&job_mu);
    return;
  }
  const unsigned gen = state_generation(atomic_load_explicit(&pool.state, memory_order_relaxed)) + 1;
  pool.jobs[gen & 1] = (job_t){fn, ctx, ntasks};
  atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
  pthread_mutex_lock(&pool.mu);
  atomic_store_explicit(&pool.state, (uint64_t)gen << 32, memory_order_release);
  pthread_cond_broadcast(&pool.wake);
  pthread_mutex_unlock(&pool.mu);
  run_tasks(gen, 0);
  /* No task is left to take; wait for those still running on workers. */
  for (int i = 0; i < SPIN_ROUNDS && atomic_load_explicit(&pool.done, memory_order_acquire) < ntasks; i++) CPU_RELAX();
  if (atomic_load_explicit(&pool.done, memory_order_acquire) < ntasks) {
    pthread_mutex_lock(&pool.mu);
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < ntasks) pthread_cond_wait(&pool.finished, &pool.mu);
    pthread_mutex_unlock(&pool.mu);
  }
  pthread_mutex_unlock(&job_mu);
}

double swat_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

_Noreturn void swat_out_of_memory(size_t bytes) {
  fprintf(stderr, "swat native: out of memory for %zu bytes of scratch\n", bytes);
  abort();
}
