/* How both thread pools hand out tasks (threads.c natively, wasm/runtime.c in WebAssembly): a job's tasks are
 * numbered, and whoever runs takes the next number from one atomic word that also names the job, so a thread
 * that woke late cannot take a task of a job it did not read. How threads wait and wake is each pool's own. */
#ifndef SWAT_HANDOUT_H
#define SWAT_HANDOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "swat.h"

/* How long a waiting thread spins before it sleeps (tens of microseconds): long enough to bridge the gap
 * between two ops (a few microseconds of JavaScript), short enough that an oversubscribed machine (several
 * processes, each with its pool) does not lose its cores to threads that only wait. */
#define SPIN_ROUNDS 2000

/* One job: tasks [0, ntasks) of fn. Two slots, indexed by the job's generation, so a worker that read the
 * descriptor of an old job can never pair it with a task index of the next one (see grab_task). */
typedef struct {
  swat_task_fn fn;
  void *ctx;
  long ntasks;
} job_t;

/* A pool's state word holds the job's generation (high 32 bits) and its next task index (low 32 bits). */
static inline unsigned state_generation(uint64_t s) { return (unsigned)(s >> 32); }

/* Takes the next task of job `gen`, if that job is still current and has tasks left. */
static inline int grab_task(_Atomic uint64_t *state, unsigned gen, long ntasks, long *task) {
  uint64_t s = atomic_load_explicit(state, memory_order_acquire);
  for (;;) {
    if (state_generation(s) != gen) return 0;
    const long idx = (long)(s & 0xffffffffu);
    if (idx >= ntasks) return 0;
    if (atomic_compare_exchange_weak_explicit(state, &s, s + 1, memory_order_acq_rel, memory_order_acquire)) {
      *task = idx;
      return 1;
    }
  }
}

#endif
