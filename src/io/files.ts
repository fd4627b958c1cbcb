// The host-neutral readers on disk: files and descriptors as ByteSources (io/bytes.ts), text and JSON
// files refused by their size before they are read, safetensors files read and written whole, and the
// files of a model directory as the weight reader sees them. Node only; a page hands the same readers its
// bytes instead.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, InputError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';
import { type ByteSource, type DirSource, readText } from './bytes.js';
import { type ErrorClass, type JsonOptions, parseJson } from './json.js';
import { type DecodedSafetensors, type DecodedTensor, type TensorSet, type WritableDtype, SafetensorsReader, checkFinite, encodeSafetensors } from './safetensors.js';


/** The file open at `fd` as a source; closing it closes `fd` only when `owns`. */
export function fdSource(fd: number, owns = false): ByteSource {
  return {
    size: fstatSync(fd).size,
    read: (into, position) => readSync(fd, into, 0, into.length, position),
    close: () => {
      if (owns) closeSync(fd);
    },
  };
}

/** The file at `path` opened as a source (close it when done); `what` words the error when it cannot be
 *  opened ("cannot read safetensors file"). */
export function openSource(path: string, what: string): ByteSource {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new InputError(`${path}: ${what} (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`);
  }
  try {
    return fdSource(fd, true);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** A UTF-8 text file of at most `maxBytes`, refused by its size before it is read. I/O errors (ENOENT,
 *  EACCES, ...) are thrown as they are, for the caller to word. */
export function readTextFile(path: string, maxBytes: number, error: ErrorClass = FormatError): string {
  const fd = openSync(path, 'r');
  try {
    return readTextFd(fd, path, maxBytes, error);
  } finally {
    closeSync(fd);
  }
}

/** readTextFile on a file already open (`path` names it in errors). */
export function readTextFd(fd: number, path: string, maxBytes: number, error: ErrorClass = FormatError): string {
  return readText(fdSource(fd), path, maxBytes, error);
}

/** Reads and parses a JSON file: its size is checked before it is read. Errors name the file. */
export function readJsonFile(path: string, opts: JsonOptions): unknown {
  return parseJson(readTextFile(path, opts.maxSize, opts.error), path, opts);
}

export interface ReadOptions {
  /** Refuse NaN and ±Infinity (weights and optimiser state must be finite). */
  finite?: boolean;
}

/** Reads a safetensors file; `path` names the file in errors. */
export function readSafetensorsFile(path: string, opts: ReadOptions = {}): DecodedSafetensors {
  const source = openSource(path, 'cannot read safetensors file');
  try {
    const reader = new SafetensorsReader(path, source);
    const tensors = new Map<string, DecodedTensor>();
    for (const e of reader.entries.values()) {
      const data = reader.read(e.name);
      if (opts.finite) checkFinite(data, path, e.name);
      tensors.set(e.name, { data, shape: e.shape, dtype: e.dtype });
    }
    return { tensors, metadata: reader.metadata };
  } finally {
    source.close();
  }
}

/** Writes a safetensors file crash-safely (a reader sees the old file or the new one, never a mix). */
export function writeSafetensorsFile(path: string, tensors: TensorSet, metadata?: Record<string, string>, dtype: WritableDtype = 'F32'): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata, dtype));
}

/** The files of directory `dir` as they are now; `open` (name → descriptor and where it was opened)
 *  hands over files a caller already holds open, e.g. a committed set read beside a writer. */
export function dirSource(dir: string, open?: ReadonlyMap<string, { fd: number; path: string }>): DirSource {
  return {
    path: (name) => open?.get(name)?.path ?? join(dir, name),
    open: (name) => {
      if (open !== undefined) {
        const f = open.get(name);
        return f === undefined ? undefined : fdSource(f.fd);
      }
      let fd: number;
      try {
        fd = openSync(join(dir, name), 'r');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new InputError(`${join(dir, name)}: cannot read (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`);
      }
      return fdSource(fd, true);
    },
  };
}
