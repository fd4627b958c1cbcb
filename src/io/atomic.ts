// Crash-safe writing: single files, and sets of files that must stay mutually consistent (a model
// directory's config.json, model.safetensors, tokenizer.json and training state).
//
// One file (writeFileAtomic): write `.<name>.tmp-<pid>-<random>` in the same directory, fsync it, rename it
// over the target, fsync the directory. rename() within a directory is atomic, so a reader sees the old
// file or the new one, never a half-written one; the fsyncs make the new one survive a power loss.
//
// A set of files (commitFiles), one rename per file cannot be atomic as a whole, so the set goes through
// a journal directory `dir/.pending/`:
//   1. recoverDir(dir) settles any earlier interrupted commit (below);
//   2. every file is written and fsynced into `.pending/`, then `.pending/` and `dir` are fsynced;
//   3. COMMIT POINT: the JSON list of file names is written to `.pending/.commit.tmp`, fsynced and renamed
//      to `.pending/.commit`, then `.pending/` is fsynced. Before this rename the old set is the truth;
//      after it, the new one is;
//   4. each file is renamed from `.pending/` into `dir`, `dir` is fsynced, `.pending/` is removed and
//      `dir` fsynced again.
// recoverDir(dir), called before anything reads `dir`: a `.pending/` with `.commit` is rolled forward
// (step 4 finished: files still in `.pending/` move in, files already moved stay); a `.pending/` without
// `.commit` is a writer that died before its commit point and is deleted, leaving the previous set intact.
// It also deletes temp files of writeFileAtomic whose writing process is gone.
//
// File names in a set are plain names not starting with "." (dot names are this protocol's own). Files of
// `dir` that a commit does not name are left as they are.
//
// Deliberately not handled: two writers on one directory, or a reader running recoverDir while a writer is
// mid-commit (it would discard the writer's unfinished `.pending/`): one process owns a directory while it
// writes it. Liveness of a temp file's writer is checked by pid, which is only meaningful on one host.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FormatError, InputError } from '../errors.js';

/** The journal directory inside a committed directory. */
export const PENDING_DIR = '.pending';
/** The marker inside PENDING_DIR whose presence means "this set is complete": a JSON array of file names. */
export const COMMIT_MARKER = '.commit';

const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/** Replaces `path` with `data` so that readers, and the file after a crash, are either old or new. The
 *  directory of `path` must exist. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    writeDurable(temp, data);
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  fsyncDir(dir);
}

/** Writes every file of `files` into `dir` as one crash-safe set (protocol in the header comment). Creates
 *  `dir` if needed. */
export function commitFiles(dir: string, files: Record<string, Uint8Array | string>): void {
  const names = Object.keys(files);
  for (const name of names) {
    if (!isPlainName(name)) {
      const problem = `file name ${JSON.stringify(name)} must be a plain name not starting with "."`;
      throw new InputError(`commitFiles ${dir}: ${problem}`);
    }
  }
  recoverDir(dir);
  const pending = join(dir, PENDING_DIR);
  mkdirSync(pending);
  for (const name of names) writeDurable(join(pending, name), files[name]!);
  fsyncDir(pending);
  fsyncDir(dir); // the entry of `.pending` itself must be durable before the commit point relies on it
  const markerTemp = join(pending, `${COMMIT_MARKER}.tmp`);
  writeDurable(markerTemp, JSON.stringify(names));
  renameSync(markerTemp, join(pending, COMMIT_MARKER));
  fsyncDir(pending);
  rollForward(dir, names);
}

/** Brings `dir` to its last committed state: finishes a commit that passed its commit point, discards one
 *  that did not. Creates `dir` if needed. Call it before reading anything in `dir`. */
export function recoverDir(dir: string): void {
  makeDirDurable(dir);
  removeDeadTemps(dir);
  const pending = join(dir, PENDING_DIR);
  if (!existsSync(pending)) return;
  const marker = join(pending, COMMIT_MARKER);
  if (existsSync(marker)) {
    rollForward(dir, readManifest(marker));
  } else {
    rmSync(pending, { recursive: true, force: true });
    fsyncDir(dir);
  }
}

/** Step 4: idempotent, so a crash inside it is finished by the next recoverDir. */
function rollForward(dir: string, names: string[]): void {
  const pending = join(dir, PENDING_DIR);
  for (const name of names) {
    const from = join(pending, name);
    if (existsSync(from)) renameSync(from, join(dir, name));
    else if (!existsSync(join(dir, name))) {
      const marker = join(pending, COMMIT_MARKER);
      throw new FormatError(`${marker}: committed file ${JSON.stringify(name)} is in neither ${pending} nor ${dir}`);
    }
  }
  fsyncDir(dir); // the moves must be durable before the marker that would redo them goes away
  rmSync(pending, { recursive: true, force: true });
  fsyncDir(dir);
}

function readManifest(marker: string): string[] {
  let names: unknown;
  try {
    names = JSON.parse(readFileSync(marker, 'utf8'));
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string' && isPlainName(n))) {
    throw new FormatError(`${marker}: commit marker is not a JSON array of plain file names`);
  }
  return names as string[];
}

function isPlainName(name: string): boolean {
  return name.length > 0 && !name.startsWith('.') && !/[/\\\0]/.test(name);
}

function writeDurable(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'wx');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Makes the directory entries (creations, renames, removals) in `dir` durable. */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (e) {
    // Windows cannot open a directory as a file; its renames are durable through other means (NTFS log).
    if (process.platform === 'win32') return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p, then fsync the parent of every directory created so the new entries survive a crash. */
function makeDirDurable(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  const top = resolve(first);
  for (let d = resolve(dir); ; d = dirname(d)) {
    fsyncDir(dirname(d));
    if (d === top || dirname(d) === d) break;
  }
}

function removeDeadTemps(dir: string): void {
  for (const name of readdirSync(dir)) {
    const match = TEMP_NAME.exec(name);
    if (match !== null && !processAlive(Number(match[1]))) rmSync(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
