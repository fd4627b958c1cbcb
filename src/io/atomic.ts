// Crash-safe writing: single files, and sets of files that must stay mutually consistent (a model
// directory's config.json, model.safetensors, tokenizer.json and training state); and reading such a set
// without writing anything, while another process may be committing a new one.
//
// One file (writeFileAtomic): write `.<name>.tmp-<pid>-<random>` in the same directory, fsync it, rename it
// over the target, fsync the directory. rename() within a directory is atomic, so a reader sees the old
// file or the new one, never a half-written one; the fsyncs make the new one survive a power loss.
//
// A set of files (commitFiles), one rename per file cannot be atomic as a whole, so the set goes through
// a journal directory `dir/.pending/`:
//   1. recoverDir(dir) settles any earlier interrupted commit (below);
//   2. every file is written and fsynced into `.pending/`, then `.pending/` and `dir` are fsynced; if a
//      write fails (a full disk), `.pending/` is removed again, so a failed commit leaves nothing behind;
//   3. COMMIT POINT: the JSON list of file names is written to `.pending/.commit.tmp`, fsynced and renamed
//      to `.pending/.commit`, then `.pending/` is fsynced. Before this rename the old set is the truth;
//      after it, the new one is;
//   4. each file is renamed from `.pending/` into `dir`, `dir` is fsynced, `.pending/` is removed and
//      `dir` fsynced again.
// recoverDir(dir), called by the directory's one writer before it writes: a `.pending/` with `.commit` is
// rolled forward (step 4 finished: files still in `.pending/` move in, files already moved stay); a
// `.pending/` without `.commit` is a writer that died before its commit point and is deleted, leaving the
// previous set intact. It also deletes temp files of writeFileAtomic whose writing process is gone.
//
// Readers (readCommitted) never write: they resolve the committed set as recoverDir would (a committed
// `.pending/` file stands for its name) and open the files, then check that nothing they looked at
// changed meanwhile, else look again. Committed files are never modified in place (only replaced by
// rename), so what an open descriptor reads stays one consistent set.
//
// File names in a set are plain names not starting with "." (dot names are this protocol's own). Files of
// `dir` that a commit does not name are left as they are.
//
// Deliberately not handled here: two writers on one directory (src/io/lock.ts gives a directory one
// writer; recoverDir must only run under it). Liveness of a temp file's writer is checked by pid, which is
// only meaningful on one host.
//
// Test hook: SWAT_TEST_DISK_FREE_BYTES=N makes the durable writes of this module fail with ENOSPC, as a
// full disk would, once this process has written N bytes through them (a write that crosses the limit
// writes what fits first). The disk-full tests use it where they cannot mount a small file system.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { JSON_LIMITS, parseJson } from './json.js';
import { FormatError, InputError, LockError, WriteError } from '../errors.js';

/** The journal directory inside a committed directory. */
export const PENDING_DIR = '.pending';
/** The marker inside PENDING_DIR whose presence means "this set is complete": a JSON array of file names. */
export const COMMIT_MARKER = '.commit';

const TEMP_NAME = /^\..+\.tmp-(\d+)-[0-9a-f]{8}$/;

/** A temp file name in writeFileAtomic's pattern: recoverDir deletes it once this process is gone. */
export function tempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/** Replaces `path` with `data` so that readers, and the file after a crash, are either old or new. The
 *  directory of `path` must exist. A failed write (full disk) leaves the old file and no temp file, and
 *  throws a WriteError naming `path`. */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  const temp = tempPath(path);
  try {
    writeDurable(temp, data);
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw asWriteError(e, path, `${path} is unchanged`);
  }
  fsyncDir(dir);
}

/** Writes every file of `files` into `dir` as one crash-safe set (protocol in the header comment). Creates
 *  `dir` if needed. A write that fails before the commit point (full disk) removes what it wrote and
 *  throws a WriteError naming the file: `dir` keeps its previous set. */
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
  let current = join(dir, PENDING_DIR);
  try {
    mkdirSync(pending);
    for (const name of names) {
      current = join(dir, name);
      writeDurable(join(pending, name), files[name]!);
    }
    current = join(dir, PENDING_DIR);
    fsyncDir(pending);
    fsyncDir(dir); // the entry of `.pending` itself must be durable before the commit point relies on it
    const markerTemp = join(pending, `${COMMIT_MARKER}.tmp`);
    current = markerTemp;
    writeDurable(markerTemp, JSON.stringify(names));
    renameSync(markerTemp, join(pending, COMMIT_MARKER));
  } catch (e) {
    rmSync(pending, { recursive: true, force: true });
    fsyncDir(dir);
    throw asWriteError(e, current, `${dir} keeps its previous files`);
  }
  fsyncDir(pending);
  rollForward(dir, names);
}

/** Brings `dir` to its last committed state: finishes a commit that passed its commit point, discards one
 *  that did not. Creates `dir` if needed. Only the directory's one writer may call it (it deletes an
 *  unfinished `.pending/`, which is a live writer's work in progress); readers use readCommitted. */
export function recoverDir(dir: string): void {
  makeDirDurable(dir);
  removeDeadTemps(dir);
  const pending = join(dir, PENDING_DIR);
  if (!existsSync(pending)) return;
  const marker = join(pending, COMMIT_MARKER);
  if (existsSync(marker)) {
    rollForward(dir, parseManifest(readFileSync(marker, 'utf8'), marker));
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
    else if (!existsSync(join(dir, name))) throw lostFile(dir, name);
  }
  fsyncDir(dir); // the moves must be durable before the marker that would redo them goes away
  rmSync(pending, { recursive: true, force: true });
  fsyncDir(dir);
}

function lostFile(dir: string, name: string): FormatError {
  const pending = join(dir, PENDING_DIR);
  return new FormatError(`${join(pending, COMMIT_MARKER)}: committed file ${JSON.stringify(name)} is in neither ${pending} nor ${dir}`);
}

/** How often, and how long at most between tries, a reader looks again when a writer moved files while it
 *  opened them (a roll-forward takes milliseconds; the waits add up to about 5 s). */
const READ_ATTEMPTS = 100;
const READ_RETRY_MAX_MS = 50;

/** The contents of those of `names` that are in `dir`'s last committed set (absent names are missing from
 *  the map), read without writing anything: safe beside a writer that is committing, and correct when a
 *  writer died between its commit point and the end of its roll-forward. */
export function readCommitted(dir: string, names: readonly string[]): Map<string, Buffer> {
  return withCommitted(dir, names, (open) => new Map([...open].map(([name, { fd }]) => [name, readFileSync(fd)])));
}

/** An open file of a committed set: reading through `fd` sees that version, whatever is renamed later. */
export interface CommittedFile {
  fd: number;
  /** Where it was opened (in `dir`, or in the journal when a roll-forward was cut short). */
  path: string;
}

/** Calls `use` with those of `names` that are in `dir`'s last committed set, opened together (see
 *  readCommitted), and closes them afterwards: for readers that take only what they need of a large file. */
export function withCommitted<T>(dir: string, names: readonly string[], use: (open: Map<string, CommittedFile>) => T): T {
  for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
    if (attempt > 0) sleep(Math.min(READ_RETRY_MAX_MS, 2 ** attempt));
    const seen = observe(dir, names);
    if (seen === null) continue;
    const open = new Map<string, CommittedFile>();
    try {
      if (!openAll(seen, open)) continue;
      const again = observe(dir, names);
      if (again === null || again.signature !== seen.signature) continue;
      if (seen.lost !== null) throw lostFile(dir, seen.lost);
      return use(open);
    } finally {
      for (const { fd } of open.values()) closeSync(fd);
    }
  }
  throw new LockError(`${dir}: its files kept changing while being read (another process is writing it); try again`);
}

interface Observation {
  /** Where each present name of the committed set is. */
  sources: Map<string, { path: string; id: string }>;
  /** Everything looked at, as text: equal observations before and after opening mean nothing moved. */
  signature: string;
  /** A name the commit marker lists that is nowhere (a damaged directory, if it persists). */
  lost: string | null;
}

/** The committed set's files among `names`, or null when the directory changed while being looked at. */
function observe(dir: string, names: readonly string[]): Observation | null {
  const pending = join(dir, PENDING_DIR);
  const marker = join(pending, COMMIT_MARKER);
  const parts: (string | null)[] = [fileId(marker)];
  let committed: string[] = [];
  if (parts[0] !== null) {
    const text = unlessMissing(() => readFileSync(marker, 'utf8'));
    if (text === undefined) return null; // the writer just finished
    committed = parseManifest(text, marker);
    parts.push(text);
  }
  const sources = new Map<string, { path: string; id: string }>();
  let lost: string | null = null;
  for (const name of names) {
    const inDir = fileId(join(dir, name));
    const inPending = committed.includes(name) ? fileId(join(pending, name)) : null;
    parts.push(inDir, inPending);
    if (inPending !== null) sources.set(name, { path: join(pending, name), id: inPending });
    else if (inDir !== null) sources.set(name, { path: join(dir, name), id: inDir });
    else if (committed.includes(name)) lost = name;
  }
  return { sources, signature: JSON.stringify(parts), lost };
}

/** Opens every source; false when one moved away or was replaced since it was observed. */
function openAll(seen: Observation, open: Map<string, CommittedFile>): boolean {
  for (const [name, { path, id }] of seen.sources) {
    const fd = unlessMissing(() => openSync(path, 'r'));
    if (fd === undefined) return false;
    open.set(name, { fd, path });
    if (statId(fstatSync(fd, { bigint: true })) !== id) return false;
  }
  return true;
}

/** `read()`, or undefined when what it reads does not exist (ENOENT): for files another process may
 *  remove or rename at any moment. */
export function unlessMissing<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Identity and version of a file (inode, size, modification and change times), or null if absent. */
function fileId(path: string): string | null {
  const s = statSync(path, { bigint: true, throwIfNoEntry: false });
  return s === undefined ? null : statId(s);
}

function statId(s: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): string {
  return `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function parseManifest(text: string, marker: string): string[] {
  let names: unknown;
  try {
    names = parseJson(text, marker, { maxSize: JSON_LIMITS.line });
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

/** The errno error `e` (from writing `file`) as one line naming the file, the reason and the errno code,
 *  and what became of the data (`outcome`); any other error unchanged. */
export function asWriteError(e: unknown, file: string, outcome: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (e instanceof WriteError || typeof err?.code !== 'string' || typeof err.syscall !== 'string') return e;
  // Node's text is "ENOSPC: no space left on device, write" (sometimes with the path after the call).
  const reason = err.message.replace(/^[A-Z0-9_]+: /, '').replace(/, [a-z_]+(?: '.*')?$/, '');
  return new WriteError(`${file}: ${reason} (${err.code}); ${outcome}`);
}

function writeDurable(path: string, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = openSync(path, 'wx');
  try {
    const room = diskRoom(bytes.length);
    writeFileSync(fd, room < bytes.length ? bytes.subarray(0, room) : bytes);
    if (room < bytes.length) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The test hook of the header comment: how many of `wanted` bytes may be written; unlimited without it. */
const written = { setting: undefined as string | undefined, bytes: 0 };
function diskRoom(wanted: number): number {
  const setting = process.env['SWAT_TEST_DISK_FREE_BYTES'];
  if (setting === undefined) {
    written.setting = undefined;
    return wanted;
  }
  if (setting !== written.setting) Object.assign(written, { setting, bytes: 0 });
  const room = Math.max(0, Math.min(wanted, Number(setting) - written.bytes));
  written.bytes += room;
  return room;
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

/** Whether a process with this id exists on this host. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0: only checks that the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
