// One writer per directory: a lock file `<dir>/.swat-lock` that every swat command writing a model,
// tokenizer or training run into a directory holds while it writes, so that a second writer is refused
// before it does any work, and that a killed holder does not leave stuck.
//
// Taking it: the holder's description (pid, host, process start time, command, a random token) is written
// to a temp file that is then hard-linked to `.swat-lock`; link() fails if the name exists, so exactly one
// process wins, and the lock file is never seen half-written. A lock whose holder is gone (its pid no
// longer runs, or runs a process started at another time: the pid was reused) is stale: it is renamed to a
// unique name first, so of several processes breaking it only one removes it, then taking is retried.
// The holder checks that the lock file still carries its token before each commit (assertHeld), so a
// holder whose lock was removed (by hand, or in the rare race where a process breaking a stale lock
// displaces a fresh one) stops before writing.
//
// Not handled: holders on other hosts (a shared file system) are never considered stale; the message says
// which host holds it. Liveness and start times are checked by pid and /proc, which is per host.

import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LockError } from '../errors.js';
import { JSON_LIMITS, parseJson } from './json.js';
import { asWriteError, processAlive, tempPath, unlessMissing, writeFileAtomic } from './atomic.js';

export const LOCK_FILE = '.swat-lock';

interface Holder {
  pid: number;
  host: string;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat), null where unknown. */
  start: number | null;
  command: string;
  since: string;
  token: string;
}

export class DirLock {
  private released = false;

  private constructor(
    /** The locked directory. */
    readonly dir: string,
    private readonly holder: Holder,
    /** Whether taking the lock created the directory (it is removed again if left empty). */
    private readonly created: boolean,
  ) {}

  /** Takes the lock of `dir` (creating the directory if needed) for `command` (e.g. "swat train"), or
   *  throws a LockError naming the process that holds it. */
  static acquire(dir: string, command: string): DirLock {
    let created: boolean;
    try {
      created = mkdirSync(dir, { recursive: true }) !== undefined;
    } catch (e) {
      throw asWriteError(e, dir, 'nothing was written');
    }
    const me: Holder = {
      pid: process.pid, host: hostname(), start: startTime(process.pid), command,
      since: new Date().toISOString(), token: randomBytes(8).toString('hex'),
    };
    const path = join(dir, LOCK_FILE);
    const temp = tempPath(path);
    try {
      writeFileAtomic(temp, JSON.stringify(me) + '\n');
      // A few rounds: each lost race either finds a live holder (refused) or a stale lock to break.
      for (let round = 0; round < 5; round++) {
        try {
          linkSync(temp, path);
          return new DirLock(dir, me, created);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw asWriteError(e, path, `${dir} is not locked`);
        }
        const held = readHolder(path);
        if (held === undefined) continue; // removed meanwhile: try again
        if (held === null || isAlive(held)) throw busy(dir, held);
        breakStale(dir, held);
      }
      throw new LockError(`${dir}: could not take its lock ${path} (other processes keep taking it); try again`);
    } finally {
      rmSync(temp, { force: true });
    }
  }

  /** Throws a LockError unless the lock file is still this holder's (it was not removed or broken). */
  assertHeld(): void {
    const path = join(this.dir, LOCK_FILE);
    const held = readHolder(path);
    if (this.released || held?.token !== this.holder.token) {
      const now = held ? `now held by ${describe(held)}` : 'the lock file is gone';
      throw new LockError(`${this.dir}: this process no longer holds its lock ${path} (${now}): stopping without writing`);
    }
  }

  /** Removes the lock file if it is still this holder's; a directory the lock created and nothing else
   *  used is removed too. */
  release(): void {
    if (this.released) return;
    this.released = true;
    const path = join(this.dir, LOCK_FILE);
    if (readHolder(path)?.token === this.holder.token) rmSync(path, { force: true });
    if (this.created && readdirSync(this.dir).length === 0) rmdirSync(this.dir); // a failed first run leaves no empty --out
  }
}

/** The holder written in `path`: undefined if there is no lock file, null if it is not one of ours. */
function readHolder(path: string): Holder | null | undefined {
  const text = unlessMissing(() => readFileSync(path, 'utf8'));
  if (text === undefined) return undefined;
  try {
    const h = parseJson(text, path, { maxSize: JSON_LIMITS.line }) as Holder;
    return Number.isInteger(h.pid) && typeof h.host === 'string' && typeof h.token === 'string' ? h : null;
  } catch {
    return null;
  }
}

function isAlive(h: Holder): boolean {
  if (h.host !== hostname()) return true; // cannot be checked from here
  if (!processAlive(h.pid)) return false;
  const start = startTime(h.pid);
  return h.start === null || start === null || start === h.start;
}

/** Moves the stale lock aside and deletes it, unless another process replaced it meanwhile. */
function breakStale(dir: string, stale: Holder): void {
  const path = join(dir, LOCK_FILE);
  const aside = tempPath(path);
  const moved = unlessMissing(() => (renameSync(path, aside), true));
  if (moved === undefined) return; // another process broke it first
  const holder = readHolder(aside);
  if (holder?.token !== stale.token) {
    // A live process took the lock between our read and our rename: put its lock back.
    try {
      linkSync(aside, path);
    } finally {
      rmSync(aside, { force: true });
    }
    throw busy(dir, holder ?? null);
  }
  rmSync(aside, { force: true });
}

function busy(dir: string, held: Holder | null): LockError {
  const path = join(dir, LOCK_FILE);
  if (held === null) return new LockError(`${dir}: ${path} is not a swat lock file; remove it if no swat command is writing ${dir}`);
  const remote = held.host !== hostname() ? `; if that process is gone, remove ${path}` : '';
  return new LockError(`${dir} is in use by ${describe(held)}: wait for it to finish or stop it${remote}`);
}

function describe(h: Holder): string {
  const host = h.host !== hostname() ? ` on ${h.host}` : '';
  return `${h.command || 'another swat command'} (pid ${h.pid}${host}, since ${h.since})`;
}

/** A process's start time in clock ticks since boot, from /proc (Linux); null elsewhere or if unreadable. */
function startTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const start = Number(fields[19]);
    return Number.isFinite(start) ? start : null;
  } catch {
    return null;
  }
}
