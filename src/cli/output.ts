// Standard output of the swat command. Writes go straight to file descriptor 1 so that a closed pipe
// (`swat generate … | head`) is noticed at the next write, even inside a long synchronous loop where an
// asynchronous 'error' event would never be delivered; the command then stops quietly.

import { writeSync } from 'node:fs';

/** Thrown by `print` when the reader of standard output has gone away; main exits quietly on it. */
export class OutputClosed extends Error {
  override name = 'OutputClosed';
}

const pause = new Int32Array(new SharedArrayBuffer(4));

export function print(text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(1, bytes, done, bytes.length - done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new OutputClosed('standard output closed');
      // A non-blocking pipe whose reader is slower than us: wait a millisecond and retry.
      if (code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
      else throw e;
    }
  }
}
