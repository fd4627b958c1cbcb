// Shared by the data tests: a temporary folder to build fixtures in, and the message of a DataError.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { DataError } from '../../src/errors.js';

/** A fresh temporary folder, removed after the test file, and `put(rel, content)` writing `root/rel`
 *  (creating folders) and returning its full path. */
export function fixtureTree(prefix: string): { root: string; put: (rel: string, content: string | Uint8Array) => string } {
  const root = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(root, { recursive: true, force: true }));
  const put = (rel: string, content: string | Uint8Array) => {
    const full = join(root, rel);
    mkdirSync(join(full, '..'), { recursive: true });
    writeFileSync(full, content);
    return full;
  };
  return { root, put };
}

/** Runs `fn` and returns the one-line DataError message it throws (fails if it throws anything else or
 *  nothing). */
export function dataErrorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof DataError, `expected a DataError, got ${String(e)}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected a DataError');
}
