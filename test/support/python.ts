// Finding a Python for the optional checks against the Python side (PyTorch, Hugging Face tokenizers and
// transformers): SWAT_TEST_PYTHON first, then python3, then Debian's system Python (where python3-torch
// installs). A test without one is skipped with a notice saying what was not checked.

import { spawnSync } from 'node:child_process';

/** A Python that imports `module`, or null. */
export function pythonWith(module: string): string | null {
  for (const python of [process.env['SWAT_TEST_PYTHON'], 'python3', '/usr/bin/python3']) {
    if (python && spawnSync(python, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0) return python;
  }
  return null;
}
