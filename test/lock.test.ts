// The one-writer lock of a directory (src/io/lock.ts): refused while its holder lives, taken over when
// the holder is gone (dead pid, or a pid reused by a later process), never half-written, broken by only
// one of several processes at once, and checked by its holder before it writes.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DirLock, LOCK_FILE } from '../src/io/lock.js';

const TAKER = fileURLToPath(new URL('./support/lock-taker.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'swat-lock-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `d${dirs++}`);

/** A lock file as a holder with this pid and start time would have written it. */
function writeHolder(dir: string, pid: number, start: number | null): void {
  mkdirSync(dir, { recursive: true });
  const holder = { pid, host: hostname(), start, command: 'swat train', since: '2024-01-01T00:00:00.000Z', token: 'feedfacefeedface' };
  writeFileSync(join(dir, LOCK_FILE), JSON.stringify(holder));
}

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '']).pid!;
}

test('a held lock refuses a second taker with a line naming the holder; released, it can be taken again', () => {
  const dir = freshDir();
  const lock = DirLock.acquire(dir, 'swat init');
  assert.throws(() => DirLock.acquire(dir, 'swat train'), {
    name: 'LockError',
    message: new RegExp(`^${dir} is in use by swat init \\(pid ${process.pid}, since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\): wait for it to finish or stop it$`),
  });
  lock.assertHeld();
  lock.release();
  assert.deepEqual(readdirSync(root).includes(`d${dirs - 1}`), false, 'the directory the lock created, left empty, is removed');
  DirLock.acquire(dir, 'swat train').release();
});

test('the lock of a process that is gone is taken over', () => {
  const dir = freshDir();
  writeHolder(dir, deadPid(), null);
  const lock = DirLock.acquire(dir, 'swat train');
  assert.equal(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')).pid, process.pid);
  lock.release();
  assert.equal(existsSync(join(dir, LOCK_FILE)), false);
});

test('a live holder keeps its lock; a pid reused by a later process does not', async (t) => {
  const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 20000)']);
  try {
    const dir = freshDir();
    const stat = (() => {
      try {
        return readFileSync(`/proc/${sleeper.pid}/stat`, 'utf8');
      } catch {
        return null;
      }
    })();
    const start = stat === null ? null : Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    writeHolder(dir, sleeper.pid!, start);
    assert.throws(() => DirLock.acquire(dir, 'swat train'), { name: 'LockError', message: new RegExp(`is in use by swat train \\(pid ${sleeper.pid}, `) });
    if (start === null) {
      t.skip('no /proc: process start times cannot be compared here');
      return;
    }
    writeHolder(dir, sleeper.pid!, start - 1); // the same pid, but not the process that wrote the lock
    DirLock.acquire(dir, 'swat train').release();
  } finally {
    sleeper.kill('SIGKILL');
  }
});

test('a lock file that is not ours is refused with what to do', () => {
  const dir = freshDir();
  mkdirSync(dir);
  writeFileSync(join(dir, LOCK_FILE), 'garbage');
  assert.throws(() => DirLock.acquire(dir, 'swat train'), {
    name: 'LockError',
    message: `${dir}: ${join(dir, LOCK_FILE)} is not a swat lock file; remove it if no swat command is writing ${dir}`,
  });
});

test('a holder whose lock was removed or taken finds out before it writes', () => {
  const dir = freshDir();
  const lock = DirLock.acquire(dir, 'swat train');
  rmSync(join(dir, LOCK_FILE));
  assert.throws(() => lock.assertHeld(), {
    name: 'LockError',
    message: `${dir}: this process no longer holds its lock ${join(dir, LOCK_FILE)} (the lock file is gone): stopping without writing`,
  });
  writeHolder(dir, deadPid(), null);
  const other = DirLock.acquire(dir, 'swat init'); // takes over the stale file
  assert.throws(() => lock.assertHeld(), { name: 'LockError', message: /\(now held by swat init \(pid \d+, since / });
  lock.release(); // not its lock any more: leaves it alone
  other.assertHeld();
  other.release();
});

test('several processes breaking one stale lock at once: exactly one wins', async () => {
  const dir = freshDir();
  writeHolder(dir, deadPid(), null);
  // Each holds a won lock until killed, so however late a taker starts, the winner still holds it.
  const takers = Array.from({ length: 4 }, () => spawn(process.execPath, [TAKER, dir, '60000'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  const outputs = await Promise.all(takers.map((c) => new Promise<string>((done) => {
    let out = '';
    c.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) done(out.trim());
    });
    c.on('close', () => done(out.trim()));
  })));
  for (const c of takers) c.kill('SIGKILL');
  assert.equal(outputs.filter((o) => o === 'won').length, 1, outputs.join('\n'));
  for (const o of outputs.filter((o) => o !== 'won')) assert.match(o, /^busy: .* is in use by lock-taker \(pid \d+, /);
});
