// Fuzzing the safetensors (with the model loader), config.json and tokenizer.json readers with seeded
// mutations of valid files (support/fuzz.ts). Each reader runs in a child process with a 256 MB heap and a
// 2.5 GiB address space, under a time limit: a crash, a multi-gigabyte allocation or a hang fails the test.
// CI runs a few thousand cases; SWAT_FUZZ_CASES=N runs N per reader, SWAT_FUZZ_SEED=S another stream.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { type FuzzCounts, READERS, type Reader } from './support/fuzz.js';

const FUZZ = fileURLToPath(new URL('./support/fuzz.js', import.meta.url));
const DEFAULT_CASES: Record<Reader, number> = { config: 2000, tokenizer: 1000, safetensors: 1000 };
const seed = Number(process.env['SWAT_FUZZ_SEED'] ?? 1);

for (const reader of READERS) {
  const cases = Number(process.env['SWAT_FUZZ_CASES'] ?? DEFAULT_CASES[reader]);
  test(`fuzz ${reader}: ${cases} mutated files are valid and round-trip, or refused in one line`, () => {
    const bounded = 'ulimit -v 2621440 && exec "$0" "$@"';
    const r = spawnSync('/bin/sh', ['-c', bounded, process.execPath, '--max-old-space-size=256', FUZZ, reader, String(seed), String(cases)], {
      encoding: 'utf8',
      timeout: 60_000 + 50 * cases, // about 10× the time the cases take on a slow machine
    });
    assert.equal(r.signal, null, `killed by ${r.signal} (a hang, past the time limit?)\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr.split('\n').filter((l) => !/^\s+at /.test(l)).join('\n'));
    const counts = JSON.parse(r.stdout) as FuzzCounts;
    assert.equal(counts.accepted + counts.refused, cases);
    // Both outcomes must be common, or the mutations test only one side of the reader.
    assert.ok(counts.accepted >= cases / 50 && counts.refused >= cases / 4, JSON.stringify(counts));
  });
}
