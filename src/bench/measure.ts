// Timing helpers for benchmarks. Machines are shared, so a benchmark repeats its work for a while and
// reports the best and the median run, and compares against quantities measured in the same process
// (peak FLOP/s, the reference backend) rather than trusting absolute times.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Backend } from '../backend/backend.js';

export interface Timing {
  /** Seconds per call: the fastest run (least disturbed by other work on the machine). */
  best: number;
  median: number;
  runs: number;
}

/** Calls `fn` once to warm up, then repeatedly for at least `minSeconds` (and at least `minRuns` times). */
export function measure(fn: () => void, minSeconds = 1, minRuns = 3): Timing {
  fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < minRuns || performance.now() - start < minSeconds * 1000) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return { best: times[0]!, median: times[Math.floor(times.length / 2)]!, runs: times.length };
}

/** Backends that compute with threads expose these; the reference backend does not. */
export interface ThreadedBackend extends Backend {
  readonly threads: number;
  setThreads(n: number): void;
  /** Measured fp32 FMA throughput of `threads` threads over about `seconds`, in GFLOP/s. */
  peakFlops(seconds: number, threads: number): number;
  /** Measured read bandwidth of streaming `x` on every thread, GB/s (fastest of `passes`). */
  readBandwidth(x: Float32Array, passes: number): number;
}

export function isThreaded(b: Backend): b is ThreadedBackend {
  const t = b as Partial<ThreadedBackend>;
  return typeof t.setThreads === 'function' && typeof t.peakFlops === 'function' && typeof t.readBandwidth === 'function';
}

/** Wraps a backend so every op call is timed; `report()` gives seconds per op name since `reset()`. */
export function profiled(inner: Backend): { backend: Backend; report(): Map<string, { seconds: number; calls: number }>; reset(): void } {
  const totals = new Map<string, { seconds: number; calls: number }>();
  const backend = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function' || prop === 'alloc' || typeof prop !== 'string') return value;
      return (...args: unknown[]) => {
        const t0 = performance.now();
        const r = (value as (...a: unknown[]) => unknown).apply(target, args);
        const entry = totals.get(prop) ?? { seconds: 0, calls: 0 };
        entry.seconds += (performance.now() - t0) / 1000;
        entry.calls++;
        totals.set(prop, entry);
        return r;
      };
    },
  });
  return { backend, report: () => new Map(totals), reset: () => totals.clear() };
}

export function fillRandom(x: Float32Array | Float64Array, scale = 1, seed = 1): void {
  let s = seed >>> 0 || 1;
  for (let i = 0; i < x.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    x[i] = ((s >>> 0) / 4294967296 - 0.5) * 2 * scale;
  }
}

/** Resident memory after a full garbage collection, so garbage left by earlier work (a prefill's chunks)
 *  does not read as memory the measured state holds. */
export function residentBytes(): number {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  return process.memoryUsage().rss;
}
