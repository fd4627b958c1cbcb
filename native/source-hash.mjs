// The identity of the native backend's sources: a SHA-256 over binding.gyp and native/*.c and *.h (names and
// bytes, in sorted order). binding.gyp compiles it into the addon (`node native/source-hash.mjs` prints it),
// so a loaded addon can say which sources it was built from, and the test run can refuse an addon built
// from other sources than the ones in the tree. Not a build system: it decides nothing by itself.

import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (the folder holding binding.gyp). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The files the addon is built from, relative to the package root, sorted. */
export function sourceFiles(root = ROOT) {
  const native = readdirSync(join(root, 'native')).filter((f) => /\.[ch]$/.test(f)).sort().map((f) => `native/${f}`);
  return ['binding.gyp', ...native];
}

/** Hex SHA-256 of the sources, each hashed as its path, a NUL, its length, a NUL and its bytes. */
export function sourceHash(root = ROOT) {
  const h = createHash('sha256');
  for (const file of sourceFiles(root)) {
    const bytes = readFileSync(join(root, file));
    h.update(`${file}\0${bytes.length}\0`);
    h.update(bytes);
  }
  return h.digest('hex');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.stdout.write(sourceHash() + '\n');
}
