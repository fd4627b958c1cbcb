// The PyTorch baseline of `swat bench train`, measured in the same run: tools/pytorch/bench_train.py trains
// the same config (passed as its config.json text) at the same batch, length and thread count, timed the
// same way (one warm-up step, then the mean of the timed steps). When no Python with torch is at hand
// the result says why, and no ratio is computed: a baseline is never assumed.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type SwatConfig, configToJson } from '../config.js';

/** glibc's malloc returns large freed blocks to the kernel at once, so every fresh PyTorch tensor of the
 *  size of a (B, H, T, T) score matrix is page-faulted in again: on the development VM that made the baseline
 *  ten times slower (70 against 686 tokens/s on one thread). Keeping freed memory, as the caching allocators
 *  that PyTorch's CPU tuning guides recommend do, gives PyTorch its fair speed; a GLIBC_TUNABLES the caller
 *  set is kept. */
const KEEP_FREED_MEMORY = 'glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295';

/** From dist/src/bench/ to the repository's tools/pytorch/ (not part of the npm package). */
const SCRIPT = fileURLToPath(new URL('../../../tools/pytorch/bench_train.py', import.meta.url));

export interface PytorchTrainResult {
  tokens_per_s: number;
  step_s: number;
  steps: number;
  threads: number;
  /** Parameters of the PyTorch model: the same architecture has the same count. */
  parameters: number;
  torch_version: string;
  /** BLAS libraries the PyTorch process loaded (reference BLAS makes it ~30× slower than OpenBLAS). */
  blas: string[];
}

export type PytorchBaseline = { measured: PytorchTrainResult } | { unavailable: string };

/** Runs the baseline with `python` (a command or path); never throws for a missing Python or torch. */
export function pytorchTrainBaseline(python: string, config: SwatConfig, batch: number, seqLen: number, steps: number, threads: number): PytorchBaseline {
  if (!existsSync(SCRIPT)) return { unavailable: 'tools/pytorch/bench_train.py is not in this installation' };
  const t = String(threads);
  const r = spawnSync(python, [SCRIPT, configToJson(config), String(batch), String(seqLen), String(steps), t], {
    encoding: 'utf8',
    env: { GLIBC_TUNABLES: KEEP_FREED_MEMORY, ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t },
  });
  if (r.error) return { unavailable: `${python} could not be run (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})` };
  const last = r.stdout.trim().split('\n').at(-1) ?? '';
  let out: Partial<PytorchTrainResult> & { unavailable?: string } = {};
  try {
    out = JSON.parse(last) as typeof out;
  } catch {
    // falls through to the exit status and stderr below
  }
  if (out.unavailable) return { unavailable: `${python}: ${out.unavailable}` };
  if (r.status !== 0 || typeof out.tokens_per_s !== 'number') {
    const why = r.stderr.trim().split('\n').at(-1) || `exit status ${r.status}`;
    return { unavailable: `${python} tools/pytorch/bench_train.py failed: ${why.slice(0, 200)}` };
  }
  return { measured: out as PytorchTrainResult };
}
