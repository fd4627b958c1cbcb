// Errors a user can cause (bad flags, bad files, bad data). The CLI prints their message as one line and
// exits non-zero without a stack trace; anything else is a bug and keeps its stack.

export class SwatError extends Error {
  override name = 'SwatError';
}

/** A config.json (or a flag that builds one) with a missing or invalid field. */
export class ConfigError extends SwatError {
  override name = 'ConfigError';
}

/** A file whose bytes do not follow its format (safetensors, tokenizer.json, checkpoint state). */
export class FormatError extends SwatError {
  override name = 'FormatError';
}

/** Training or evaluation data that cannot be used (missing path, empty corpus, ...). */
export class DataError extends SwatError {
  override name = 'DataError';
}

/** A bad command-line argument or API argument (token id outside the vocabulary, ...). */
export class InputError extends SwatError {
  override name = 'InputError';
}

/** A file that could not be written (disk full, no permission): the message names the file and the errno. */
export class WriteError extends SwatError {
  override name = 'WriteError';
}

/** A directory another process is writing (its lock is held), or whose lock this process lost. */
export class LockError extends SwatError {
  override name = 'LockError';
}

/** Training that cannot go on: the loss, gradients or weights stopped being finite. */
export class TrainingError extends SwatError {
  override name = 'TrainingError';
}

// How messages quote values: one line, cut to a readable length with "…", so one bad value never makes the
// line unreadable — text the user typed (showValue), or any value read from a file (showJson).

/** Text the user gave, quoted for an error line: newlines and quotes escaped, long text cut to `max`
 *  characters with "…" so one bad value never makes the line unreadable. */
export function showValue(text: string, max = 48): string {
  const cut = ellipsis(text, max);
  return `'${cut.replace(/[\\'\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}'`;
}

function ellipsis(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Longest rendering of a value in an error message (longer ones end in "..."). */
const SHOW_LENGTH = 60;

/** A value read from a file as one short line for an error message: compact JSON, cut to `max` characters
 *  with "…".
 *  Iterative and lazy, so a deeply nested or huge value costs O(max), not a stack overflow or a megabyte
 *  message. Non-JSON numbers show as NaN and Infinity, undefined as "nothing". */
export function showJson(v: unknown, max = SHOW_LENGTH): string {
  if (v === undefined) return 'nothing';
  let out = '';
  // Work items: a value to render, or literal text (separators, brackets), popped last-in first-out.
  const work: ({ value: unknown } | string)[] = [{ value: v }];
  while (work.length > 0 && out.length <= max) {
    const item = work.pop()!;
    if (typeof item === 'string') {
      out += item;
      continue;
    }
    const x = item.value;
    if (typeof x === 'string') {
      out += JSON.stringify(x.length > max ? x.slice(0, max) : x);
    } else if (Array.isArray(x) || (ArrayBuffer.isView(x) && !(x instanceof DataView))) {
      const items = x as ArrayLike<unknown>;
      const shown = Math.min(items.length, max);
      out += '[';
      work.push(shown < items.length ? ',…]' : ']');
      for (let k = shown - 1; k >= 0; k--) {
        work.push({ value: items[k] });
        if (k > 0) work.push(',');
      }
    } else if (typeof x === 'object' && x !== null) {
      const keys = Object.keys(x);
      const shown = Math.min(keys.length, max);
      out += '{';
      work.push(shown < keys.length ? ',…}' : '}');
      for (let k = shown - 1; k >= 0; k--) {
        const key = keys[k]!;
        work.push({ value: (x as Record<string, unknown>)[key] });
        work.push(`${JSON.stringify(key.length > max ? key.slice(0, max) : key)}:`);
        if (k > 0) work.push(',');
      }
    } else if (x === undefined) {
      out += 'null'; // as JSON.stringify shows a missing array element
    } else if (typeof x === 'function') {
      out += '[function]'; // String() would print its source, over many lines
    } else {
      out += String(x);
    }
  }
  return ellipsis(out, max);
}
