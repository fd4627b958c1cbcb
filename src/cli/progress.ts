// Progress for long work: a redrawn bar on a terminal, a line every few seconds in a log.

export class Progress {
  private readonly tty: boolean;
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly everyMs = 10_000,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(done: number, total: number, text: string, force = false): void {
    if (this.tty) {
      const width = 24;
      const filled = Math.round((width * done) / Math.max(1, total));
      const bar = '='.repeat(filled) + ' '.repeat(width - filled);
      this.stream.write(`\r[${bar}] ${done}/${total} ${text}\x1b[K`);
      this.drawn = true;
    } else if (force || performance.now() - this.lastLine >= this.everyMs) {
      this.stream.write(`${done}/${total} ${text}\n`);
      this.lastLine = performance.now();
    }
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    if (this.tty && this.drawn) this.stream.write('\r\x1b[K');
    this.stream.write(line + '\n');
  }

  done(): void {
    if (this.tty && this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  return m > 0 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${s.toFixed(0)}s`;
}
