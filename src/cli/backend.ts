// The options every command shares: which backend computes, and with how many threads.

import type { Backend } from '../backend/backend.js';
import { selectBackend } from '../backend/index.js';
import { type OptionSpec, type Parsed, posInt, str } from './args.js';

export const BACKEND_OPTIONS: Record<string, OptionSpec> = {
  backend: { type: 'string', arg: 'NAME', help: 'compute backend: native | reference (default: SWAT_BACKEND, else native when it is built)' },
  threads: { type: 'string', arg: 'K', help: 'native backend threads (default: SWAT_THREADS, else all cores)' },
};

export function backendFrom(v: Parsed): Backend {
  const threads = posInt(v, 'threads');
  return selectBackend(str(v, 'backend'), threads !== undefined ? { threads } : {});
}
