// Turning the data paths a user gives (files, directories, glob patterns) into the ordered list of source
// files to read. Not here: reading them (documents.ts).
//
// Order is part of the data's identity (the token cache and the split depend on it), so it never depends on
// the machine: a directory contributes its files sorted by full path in code-unit order, a glob its matches
// sorted the same way, and the paths keep the order given; a file reached twice is read once.

import { readdirSync, realpathSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { DataError } from '../errors.js';

/** Extensions picked up inside a directory, each also gzip-compressed (`.txt.gz`). A file named explicitly
 *  or matched by a glob is read whatever its extension. */
export const DOCUMENT_EXTENSIONS: readonly string[] = ['.txt', '.md', '.jsonl'];

export function isDocumentFile(name: string): boolean {
  const lower = name.toLowerCase().replace(/\.gz$/, '');
  return DOCUMENT_EXTENSIONS.some((ext) => lower.endsWith(ext));
}

export function hasGlob(path: string): boolean {
  return /[*?[]/.test(path);
}

/** The files of every path, in order (see the header). Throws DataError for a missing path, a directory
 *  without document files, or a glob that matches nothing. */
export function listSourceFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  const seen = new Set<string>();
  for (const path of paths) {
    for (const file of hasGlob(path) ? globFiles(path) : pathFiles(path)) {
      const key = resolve(file);
      if (!seen.has(key)) {
        seen.add(key);
        files.push(file);
      }
    }
  }
  return files;
}

function pathFiles(path: string): string[] {
  const stat = statOrFail(path);
  if (stat === undefined) throw new DataError(`data path not found: ${path}`);
  if (stat.isFile()) return [path];
  if (!stat.isDirectory()) throw new DataError(`data path is not a file or directory: ${path}`);
  const files: string[] = [];
  collectFiles(path, files, new Set());
  if (files.length === 0) {
    throw new DataError(`data path holds no documents: ${path} (no ${DOCUMENT_EXTENSIONS.join(', ')} files, plain or .gz)`);
  }
  return sortPaths(files);
}

function statOrFail(path: string): ReturnType<typeof statSync> {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch (e) {
    throw new DataError(`cannot read data path ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** Recursive walk; `seen` holds real paths of visited folders so a symlink loop is walked once. Hidden
 *  files and folders (a leading dot: .git, editor files) are skipped. */
function collectFiles(dir: string, out: string[], seen: Set<string>): void {
  const real = realpathSync(dir);
  if (seen.has(real)) return;
  seen.add(real);
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    throw new DataError(`cannot read directory ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    // Follow symlinks to what they point at; a dangling one is skipped.
    const stat = entry.isSymbolicLink() ? statSync(full, { throwIfNoEntry: false }) : entry;
    if (stat === undefined) continue;
    if (stat.isDirectory()) collectFiles(full, out, seen);
    else if (stat.isFile() && isDocumentFile(entry.name)) out.push(full);
  }
}

function sortPaths(paths: string[]): string[] {
  return paths.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

// ---- globs ----

/** Files matching a glob: `*` and `?` within one path segment, `[abc]`/`[!a-z]` classes, `**` any number of
 *  segments. The walk starts at the longest prefix without wildcards; hidden entries match only a pattern
 *  segment that itself starts with a dot. */
export function globFiles(pattern: string): string[] {
  const parts = pattern.split(/[/\\]/);
  const firstWild = parts.findIndex(hasGlob);
  const base = parts.slice(0, firstWild).join(sep) || (pattern.startsWith('/') ? sep : '.');
  const rest = parts.slice(firstWild);
  const matches: string[] = [];
  if (statSync(base, { throwIfNoEntry: false })?.isDirectory()) walkGlob(base, rest, matches, firstWild === 0 && !pattern.startsWith('/'));
  if (matches.length === 0) throw new DataError(`no files match ${pattern}`);
  return sortPaths(matches);
}

function walkGlob(dir: string, segments: string[], out: string[], relative: boolean): void {
  const [seg, ...rest] = segments;
  if (seg === undefined) return;
  const name = (entry: string): string => (relative && dir === '.' ? entry : join(dir, entry));
  if (seg === '**') {
    walkGlob(dir, rest, out, relative); // zero segments
    for (const entry of listDir(dir)) {
      if (!entry.startsWith('.') && isDir(name(entry))) walkGlob(name(entry), segments, out, false);
    }
    return;
  }
  const re = segmentRegex(seg);
  for (const entry of listDir(dir)) {
    if (!re.test(entry) || (entry.startsWith('.') && !seg.startsWith('.'))) continue;
    const full = name(entry);
    if (rest.length === 0) {
      const stat = statSync(full, { throwIfNoEntry: false });
      if (stat?.isFile()) out.push(full);
      else if (stat?.isDirectory()) for (const f of pathFilesQuiet(full)) out.push(f);
    } else if (isDir(full)) {
      walkGlob(full, rest, out, false);
    }
  }
}

/** A directory matched by a glob contributes its document files; an empty one contributes nothing. */
function pathFilesQuiet(dir: string): string[] {
  const files: string[] = [];
  collectFiles(dir, files, new Set());
  return files;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function isDir(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}

/** One path segment of a glob as an anchored regex. */
export function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = seg.indexOf(']', i + 2);
      if (close < 0) {
        re += '\\[';
        continue;
      }
      let body = seg.slice(i + 1, close);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      re += `[${body.replace(/\\/g, '\\\\')}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
