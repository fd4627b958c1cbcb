// Backend registry and selection: `--backend NAME` or SWAT_BACKEND picks one; the default is the fastest
// that loads. Only the reference backend exists so far.

import { InputError } from '../errors.js';
import type { Backend } from './backend.js';
import { ReferenceBackend } from './reference.js';

export const BACKENDS = ['reference'] as const;

export function selectBackend(name: string | undefined = process.env['SWAT_BACKEND']): Backend {
  const choice = name ?? 'reference';
  if (choice === 'reference') return new ReferenceBackend('float32');
  throw new InputError(`unknown backend '${choice}' (expected one of ${BACKENDS.join(', ')})`);
}
