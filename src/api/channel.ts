// A one-reader queue between the worker's messages and an async consumer: items pushed before they are
// read wait in order (at most the stream's credit of them), and an end or a failure reaches the reader
// after the items before it.

export class Channel<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private wake: (() => void) | null = null;

  push(item: T): void {
    this.items.push(item);
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(error: unknown): void {
    if (this.failure === null) this.failure = { error };
    this.notify();
  }

  /** Whether the channel has ended or failed (its request is over). */
  get closed(): boolean {
    return this.ended || this.failure !== null;
  }

  /** The next item, null at the end; throws the failure. A failure (an abort) wins over waiting items. */
  async next(): Promise<T | null> {
    for (;;) {
      if (this.failure) throw this.failure.error;
      if (this.items.length > 0) return this.items.shift()!;
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
