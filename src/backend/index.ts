// Backend registry and selection: `--backend NAME` or SWAT_BACKEND picks one; without either, the native
// backend when its addon loads, else the wasm backend (the same kernels compiled to WebAssembly, shipped
// built) after one warning line on stderr (once per process), else the reference backend. Asking for native
// or wasm explicitly when it cannot load is an error. Threads: `--threads` (passed in as an option) or
// SWAT_THREADS, default the cores available.

import { availableParallelism } from 'node:os';

import { InputError } from '../errors.js';
import type { Backend } from './backend.js';
import { NativeBackend, nativeUnavailableReason, parseThreads } from './native.js';
import { ReferenceBackend } from './reference.js';
import { createWasmBackend, wasmUnavailableReason } from './wasm/node.js';

export const BACKENDS = ['reference', 'native', 'wasm'] as const;

export interface SelectOptions {
  /** Threads for the native or wasm backend; default SWAT_THREADS, else the cores available. */
  threads?: number;
  /** Where the one fallback warning goes (default: stderr). */
  warn?: (line: string) => void;
}

let warned = false;

export function selectBackend(name: string | undefined = process.env['SWAT_BACKEND'], options: SelectOptions = {}): Backend {
  const choice = name === '' ? undefined : name;
  if (choice === 'reference') return new ReferenceBackend('float32');
  if (choice !== undefined && !(BACKENDS as readonly string[]).includes(choice)) {
    throw new InputError(`unknown backend '${choice}' (expected one of ${BACKENDS.join(', ')})`);
  }
  if (choice === 'wasm') return wasmBackend(options);
  const reason = nativeUnavailableReason();
  if (reason === null) return new NativeBackend({ threads: threadCount(options) });
  if (choice === 'native') throw new InputError(`backend 'native' is unavailable: ${reason}`);
  const fallback = wasmUnavailableReason() === null ? 'wasm' : 'reference';
  if (!warned) {
    warned = true;
    (options.warn ?? ((line: string) => process.stderr.write(line + '\n')))(
      `swat: native backend unavailable (${reason}); using the ${fallback} backend`,
    );
  }
  return fallback === 'wasm' ? wasmBackend(options) : new ReferenceBackend('float32');
}

function wasmBackend(options: SelectOptions): Backend {
  const reason = wasmUnavailableReason();
  if (reason !== null) throw new InputError(`backend 'wasm' is unavailable: ${reason}`);
  return createWasmBackend({ threads: threadCount(options) });
}

function threadCount(options: SelectOptions): number {
  if (options.threads !== undefined) return parseThreads(options.threads, '--threads');
  const env = process.env['SWAT_THREADS'];
  return env !== undefined && env !== '' ? parseThreads(env, 'SWAT_THREADS') : availableParallelism();
}
