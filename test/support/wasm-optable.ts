// The op table on a wasm backend, as a list of failures (empty when every output is within its case's
// tolerance of the float64 reference), at both kernel levels. Run as a script it tests the module this
// Node picks and prints {"isa", "cases", "failures"}: the relaxed-SIMD test runs it in a Node started with
// relaxed SIMD enabled.

import { fileURLToPath } from 'node:url';

import type { WasmBackend } from '../../src/backend/wasm/backend.js';
import { createWasmBackend } from '../../src/backend/wasm/node.js';
import { assertParity } from './backend-suite.js';
import { OP_CASES } from './opcases.js';

export function opTableFailures(be: WasmBackend): string[] {
  const failures: string[] = [];
  const best = be.isaLevels().at(-1)!;
  for (const isa of be.isaLevels()) {
    be.setIsa(isa);
    for (const c of OP_CASES) {
      try {
        assertParity(be, c);
      } catch (e) {
        failures.push(`${isa}: ${(e as Error).message}`);
      }
    }
  }
  be.setIsa(best);
  return failures;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const be = createWasmBackend({ threads: 2 });
  const failures = opTableFailures(be);
  process.stdout.write(JSON.stringify({ isa: be.isa, cases: OP_CASES.length * be.isaLevels().length, failures }) + '\n');
  be.runtime.dispose();
}
