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

/** Text the user gave, quoted for an error line: newlines and quotes escaped, long text cut to `max`
 *  characters with "…" so one bad value never makes the line unreadable. */
export function showValue(text: string, max = 48): string {
  const cut = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return `'${cut.replace(/[\\'\n\r\t]/g, (c) => ({ '\\': '\\\\', "'": "\\'", '\n': '\\n', '\r': '\\r', '\t': '\\t' })[c]!)}'`;
}
