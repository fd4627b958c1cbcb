// Bytes read by position from a file or from memory: the one seam between the format readers (safetensors,
// shard indexes, JSON texts) and where their bytes are, so that the same readers serve a model directory
// on disk (io/files.ts opens the descriptors) and the files a web page was given. Host-neutral: nothing
// here touches the file system.

import { FormatError, type SwatError } from '../errors.js';

/** Bytes read by position; `read` returns how many it read (0 at the end). */
export interface ByteSource {
  readonly size: number;
  read(into: Uint8Array, position: number): number;
  /** Releases what the source holds (a descriptor it opened); a no-op for memory. */
  close(): void;
}

/** The files of a directory (a model directory), wherever they are. */
export interface DirSource {
  /** How messages name file `name` of the directory. */
  path(name: string): string;
  /** The file's bytes (close the source when done), or undefined when it is absent. */
  open(name: string): ByteSource | undefined;
}

/** Files in memory as a directory named `name` (in messages: name/file). */
export function memoryDir(name: string, files: ReadonlyMap<string, Uint8Array>): DirSource {
  return {
    path: (file) => `${name}/${file}`,
    open: (file) => {
      const bytes = files.get(file);
      return bytes === undefined ? undefined : memorySource(bytes);
    },
  };
}

/** Bytes already in memory as a source. */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(into, position) {
      const n = Math.max(0, Math.min(into.length, bytes.length - position));
      into.set(bytes.subarray(position, position + n));
      return n;
    },
    close() {},
  };
}

/** Fills `into` from `position`; a source that ends first is a FormatError naming `path`. */
export function readExactly(source: ByteSource, into: Uint8Array, position: number, path: string): void {
  let got = 0;
  while (got < into.length) {
    const n = source.read(into.subarray(got), position + got);
    if (n === 0) throw new FormatError(`${path}: file shrank while being read`);
    got += n;
  }
}

/** The whole source as UTF-8 text, refused by its size before it is read. `path` names it in errors. */
export function readText(source: ByteSource, path: string, maxBytes: number, error: new (message: string) => SwatError = FormatError): string {
  const size = source.size;
  if (size > maxBytes) throw new error(`${path}: file is ${size} bytes, more than the ${maxBytes} allowed for it`);
  const bytes = new Uint8Array(size);
  let got = 0;
  while (got < size) {
    const n = source.read(bytes.subarray(got), got);
    if (n === 0) break; // shrank while being read: what is there is parsed (and checked) as it is
    got += n;
  }
  // A byte-order mark is kept, as a text read whole keeps it (JSON then refuses it).
  return new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes.subarray(0, got));
}
