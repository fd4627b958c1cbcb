// The rolling key/value cache of SWAT.md §4: per layer, the keys (after RoPE, at their absolute positions)
// and values of the last ω − 1 tokens, which is all a new token can see besides itself. Rows are appended
// in place and the last ω − 1 are moved to the front only when the buffer is full, so a decode step copies
// O(d) amortised and the buffer never exceeds 2ω rows (plus one chunk while a long prompt is prefilled).
// Without a window (full attention) the cache keeps everything and grows: that is the baseline's cost.
// Every size is checked before it is allocated: one layer's buffer must fit one typed array, and all of
// them together what the backend can hold, the machine's memory (a window of a million tokens is a valid config, but not one this
// machine can decode with).

import type { Backend } from '../backend/backend.js';
import type { SwatConfig } from '../config.js';
import { InputError } from '../errors.js';
import { MAX_ARRAY_ELEMENTS, checkedProduct } from '../io/sizes.js';
import type { Floats } from '../tensor.js';

export class KvCache {
  readonly B: number;
  readonly D: number;
  readonly window: number | null;
  private readonly backend: Backend;
  /** Per layer (B, capacity, D). */
  private keys: Floats[];
  private values: Floats[];
  private capacity: number;
  /** Valid rows per sequence. */
  private rows = 0;
  /** Absolute position of the next token. */
  position = 0;

  /** Rows of room to append beyond the ω − 1 kept ones: the default ω + 1 makes the steady buffer 2ω rows
   *  and compacts once every ω + 1 tokens; a server holding many streams passes a few rows, so each stream
   *  costs little more than the window itself and compacts (ω − 1 rows) a little more often. */
  private readonly slack: number;

  constructor(config: SwatConfig, backend: Backend, B = 1, slack?: number) {
    this.B = B;
    this.D = config.hidden_size;
    this.window = config.window_size;
    this.backend = backend;
    this.slack = slack ?? (this.window ?? 0) + 1;
    if (!Number.isInteger(this.slack) || this.slack < 1) throw new Error(`KvCache: slack must be a positive integer, got ${slack}`);
    this.capacity = this.steadyCapacity();
    const size = this.checkedSize(config.num_hidden_layers, this.capacity);
    this.keys = Array.from({ length: config.num_hidden_layers }, () => backend.alloc(size));
    this.values = Array.from({ length: config.num_hidden_layers }, () => backend.alloc(size));
  }

  /** Values per layer buffer of `capacity` rows, after checking that they and all 2L buffers fit. */
  private checkedSize(layers: number, capacity: number): number {
    const size = checkedProduct(this.B, capacity, this.D);
    const bytes = checkedProduct(2, layers, size, this.backend.dtype === 'float64' ? 8 : 4);
    const rows = `${this.B} × ${capacity} rows × width ${this.D}`;
    if (size > MAX_ARRAY_ELEMENTS) {
      throw new InputError(`decode cache: ${rows} = ${size} values per layer, more than one buffer holds (${MAX_ARRAY_ELEMENTS})`);
    }
    const limit = this.backend.memoryLimit;
    if (bytes > limit.bytes) {
      throw new InputError(`decode cache: ${rows} × ${layers} layers × keys and values = ${bytes} bytes, more than ${limit.what} (${limit.bytes})`);
    }
    return size;
  }

  /** Rows kept per layer between steps: what a windowed decode step needs, and room to append. */
  private steadyCapacity(): number {
    return this.window === null ? 64 : this.window - 1 + this.slack;
  }

  /** Makes room to append Tq rows; call once before a forward over Tq new tokens. */
  reserve(Tq: number): void {
    if (this.rows + Tq <= this.capacity) return;
    const keep = this.window === null ? this.rows : Math.min(this.rows, this.window - 1);
    let cap = this.capacity;
    if (keep + Tq > cap) cap = this.window === null ? Math.max(2 * cap, keep + Tq) : keep + Tq;
    this.resize(cap, keep);
  }

  /** Writes the new rows (B, Tq, D) of layer l after the valid ones; returns the buffers for attention. */
  append(l: number, k: Floats, v: Floats, Tq: number): { k: Floats; v: Floats; Tk: number; kvStride: number } {
    const { B, D } = this;
    for (let b = 0; b < B; b++) {
      const dst = (b * this.capacity + this.rows) * D;
      this.keys[l]!.set(k.subarray(b * Tq * D, (b + 1) * Tq * D), dst);
      this.values[l]!.set(v.subarray(b * Tq * D, (b + 1) * Tq * D), dst);
    }
    return { k: this.keys[l]!, v: this.values[l]!, Tk: this.rows + Tq, kvStride: this.capacity };
  }

  /** Marks the Tq appended rows as valid, after every layer has appended them. */
  commit(Tq: number): void {
    this.rows += Tq;
    this.position += Tq;
    // A long prefill grew the buffer; give the memory back so decoding stays at the steady size.
    if (this.window !== null && this.capacity > this.steadyCapacity()) {
      this.resize(this.steadyCapacity(), Math.min(this.rows, this.window - 1));
    }
  }

  /** Reallocates (or compacts in place) to `cap` rows per sequence, keeping the last `keep` valid rows. */
  private resize(cap: number, keep: number): void {
    const { B, D } = this;
    const from = this.rows - keep;
    const size = this.checkedSize(this.keys.length, cap);
    for (const bufs of [this.keys, this.values]) {
      for (let l = 0; l < bufs.length; l++) {
        const old = bufs[l]!;
        const next = cap === this.capacity ? old : this.backend.alloc(size);
        for (let b = 0; b < B; b++) {
          const src = (b * this.capacity + from) * D;
          next.set(old.subarray(src, src + keep * D), b * cap * D);
        }
        bufs[l] = next;
      }
    }
    this.capacity = cap;
    this.rows = keep;
  }

  /** Bytes held by the cache now. */
  get bytes(): number {
    const per = this.backend.dtype === 'float64' ? 8 : 4;
    return 2 * this.keys.length * this.B * this.capacity * this.D * per;
  }
}
