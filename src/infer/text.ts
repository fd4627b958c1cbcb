// Generated token ids turned into text pieces that are safe to show: bytes are decoded by a streaming UTF-8
// decoder, so a character split over several tokens comes out whole, and text that could be the start of a
// stop string is held back until it either completes the stop string (then the stream stops, the stop
// string itself is not shown) or cannot. What is held is at most the longest stop string, so memory does
// not grow with the text. Not here: sampling, or the tokens' log-probabilities.

import type { Tokenizer } from '../tokenizer/tokenizer.js';

export class TextStream {
  private readonly decoder = new TextDecoder('utf-8');
  private readonly stops: readonly string[];
  /** Decoded text not shown yet because it may begin a stop string. */
  private held = '';
  /** Set once a stop string has been produced; the text after it is dropped. */
  stopped = false;

  constructor(private readonly tokenizer: Tokenizer, stops: readonly string[] = []) {
    this.stops = stops.filter((s) => s !== '');
  }

  /** The text that can be shown after token `id`. */
  push(id: number): string {
    if (this.stopped) return '';
    this.held += this.decoder.decode(this.tokenizer.decodeBytes([id]), { stream: true });
    return this.release();
  }

  /** The rest of the text when the stream ends for another reason (an incomplete character becomes U+FFFD). */
  end(): string {
    if (this.stopped) return '';
    const rest = this.held + this.decoder.decode();
    this.held = '';
    return rest;
  }

  private release(): string {
    let first = -1;
    for (const s of this.stops) {
      const at = this.held.indexOf(s);
      if (at >= 0 && (first < 0 || at < first)) first = at;
    }
    if (first >= 0) {
      this.stopped = true;
      const out = this.held.slice(0, first);
      this.held = '';
      return out;
    }
    const keep = this.partialStop();
    const out = this.held.slice(0, this.held.length - keep);
    this.held = this.held.slice(this.held.length - keep);
    return out;
  }

  /** Length of the longest end of the held text that is a proper beginning of some stop string. */
  private partialStop(): number {
    let best = 0;
    for (const s of this.stops) {
      for (let n = Math.min(s.length - 1, this.held.length); n > best; n--) {
        if (this.held.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
      }
    }
    return best;
  }
}
