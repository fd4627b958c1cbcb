// The options every command shares: which backend computes, and with how many threads.

import type { Backend } from '../backend/backend.js';
import { selectBackend } from '../backend/index.js';
import { type OptionSpec, POSITIVE, type Parsed, posInt, str } from './args.js';

export const BACKEND_OPTIONS: Record<string, OptionSpec> = {
  backend: { type: 'string', arg: 'NAME', help: 'compute backend: native | wasm | reference (default: SWAT_BACKEND, else native when it is built, else wasm)' },
  threads: { type: 'string', arg: 'K', check: POSITIVE, help: 'native or wasm backend threads (default: SWAT_THREADS, else all cores)' },
};

export function backendFrom(v: Parsed): Backend {
  const threads = posInt(v, 'threads');
  return selectBackend(str(v, 'backend'), threads !== undefined ? { threads } : {});
}

/** "native (avx2, 2 threads)" or "reference": what a run log should say computed it. */
export function describeBackend(be: Backend): string {
  const b = be as Backend & { isa?: string; threads?: number };
  const details = [b.isa, b.threads !== undefined ? `${b.threads} thread${b.threads === 1 ? '' : 's'}` : undefined].filter(Boolean);
  return details.length ? `${be.name} (${details.join(', ')})` : be.name;
}
