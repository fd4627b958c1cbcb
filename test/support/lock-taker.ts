// Child process of test/lock.test.ts: tries to take the lock of a directory, prints "won" or
// "busy: <message>", holds a won lock for a while, then releases it.
// Usage: node lock-taker.js <dir> <hold ms>. Without arguments (the test runner may load every file under
// a test folder) it does nothing.

import { DirLock } from '../../src/io/lock.js';

const [dir, hold] = process.argv.slice(2);
if (dir !== undefined && hold !== undefined) {
  try {
    const lock = DirLock.acquire(dir, 'lock-taker');
    process.stdout.write('won\n');
    setTimeout(() => lock.release(), Number(hold));
  } catch (e) {
    process.stdout.write(`busy: ${(e as Error).message}\n`);
  }
}
