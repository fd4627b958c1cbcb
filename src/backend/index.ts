// Backend registry and selection: `--backend NAME` or SWAT_BACKEND picks one; without either, the native
// backend when its addon loads, else the reference backend after one warning line on stderr (once per
// process). Asking for native explicitly when it cannot load is an error. Threads: `--threads` (passed in
// as an option) or SWAT_THREADS, default the cores available.

import { InputError } from '../errors.js';
import type { Backend } from './backend.js';
import { NativeBackend, nativeUnavailableReason, parseThreads } from './native.js';
import { ReferenceBackend } from './reference.js';

export const BACKENDS = ['reference', 'native'] as const;

export interface SelectOptions {
  /** Threads for the native backend; default SWAT_THREADS, else the cores available. */
  threads?: number;
  /** Where the one fallback warning goes (default: stderr). */
  warn?: (line: string) => void;
}

let warned = false;

export function selectBackend(name: string | undefined = process.env['SWAT_BACKEND'], options: SelectOptions = {}): Backend {
  const choice = name === '' ? undefined : name;
  if (choice === 'reference') return new ReferenceBackend('float32');
  if (choice !== undefined && choice !== 'native') {
    throw new InputError(`unknown backend '${choice}' (expected one of ${BACKENDS.join(', ')})`);
  }
  const reason = nativeUnavailableReason();
  if (reason === null) return new NativeBackend(nativeOptions(options));
  if (choice === 'native') throw new InputError(`backend 'native' is unavailable: ${reason}`);
  if (!warned) {
    warned = true;
    (options.warn ?? ((line: string) => process.stderr.write(line + '\n')))(
      `swat: native backend unavailable (${reason}); using the reference backend`,
    );
  }
  return new ReferenceBackend('float32');
}

function nativeOptions(options: SelectOptions): { threads?: number } {
  if (options.threads !== undefined) return { threads: parseThreads(options.threads, '--threads') };
  const env = process.env['SWAT_THREADS'];
  return env !== undefined && env !== '' ? { threads: parseThreads(env, 'SWAT_THREADS') } : {};
}
