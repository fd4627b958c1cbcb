// The SWAT model of SWAT.md §2–3: forward as straight-line backend op calls in the spec's order, backward
// the same list reversed. One layer function serves training (keys are the sequence itself, activations
// saved per layer) and inference (keys come from the rolling cache of §4, buffers reused across layers).
// The forward reads the weights through `weights` (weights.ts): views of the f32 parameters, or, for a
// model loaded for inference only, matrices in bf16, f16 or q8, which have no parameters to train.
//
// Shapes: B sequences of T tokens, N = B·T rows, D width, H heads of Dh, I MLP width, V vocabulary.

import type { AttentionShape, Backend } from '../backend/backend.js';
import type { WeightDtype } from '../backend/weight.js';
import { type SwatConfig, headDim } from '../config.js';
import { InputError } from '../errors.js';
import { Rng } from '../random.js';
import type { Floats } from '../tensor.js';
import type { KvCache } from './cache.js';
import { EMBEDDINGS, FINAL_NORM, LM_HEAD, ParamBuffer, checkIds, initParams, layerNames, paramSpecs } from './params.js';
import { ModelWeights } from './weights.js';

/** What one layer's forward saves for its backward (training) or reuses as scratch (inference). */
interface LayerActs {
  xn: Floats; // (N, D) RMSNorm(x)
  rstd1: Floats; // (N)
  qkv: Floats; // (3N, D): q, then k, then v (for one row, the fused projection's output row)
  q: Floats; // (N, D) after RoPE
  k: Floats; // (N, D) after RoPE
  v: Floats; // (N, D)
  att: Floats; // (N, D) attention output, before W_o
  stats: Floats; // (B, H, T) softmax log-sum-exp
  h: Floats; // (N, D) x + Attn
  hn: Floats; // (N, D) RMSNorm(h)
  rstd2: Floats; // (N)
  gu: Floats; // (N, 2I) gate and up projections
  s: Floats; // (N, I) silu(gate) ⊙ up
}

interface TrainActs {
  B: number;
  T: number;
  ids: Int32Array; // (N)
  xs: Floats[]; // L + 1 residual streams (N, D): xs[l] is layer l's input, xs[L] the last output
  layers: LayerActs[];
  tmp: Floats; // (N, D) W_o and W_down outputs before the residual add
  xf: Floats; // (N, D) final RMSNorm
  rstdF: Floats; // (N)
  logits: Floats; // (N, V), turned into dlogits in place by the backward
  losses: Floats; // (N)
}

interface GradScratch {
  dres: Floats; // (N, D) gradient of the residual stream
  dxn: Floats; // (N, D)
  dq: Floats;
  dk: Floats;
  dv: Floats;
  datt: Floats;
  dgu: Floats; // (N, 2I)
  ds: Floats; // (N, I)
}

/** Layer l's attention: RoPE on a.q and a.k, then a.att from the keys and values of the sequence itself
 *  (training), of one cache (inference), or of each stream's own cache (a batch of streams). */
type Attend = (l: number, a: LayerActs) => void;

/** One stream's rows in a multi-stream forward: its new tokens, the cache they continue, and which rows'
 *  logits the caller wants ('none' while a prompt is prefilled chunk by chunk). */
export interface StreamSegment {
  ids: Int32Array;
  cache: KvCache;
  logits: 'none' | 'last' | 'all';
}

export class SwatModel {
  readonly config: SwatConfig;
  readonly backend: Backend;
  /** What the forward reads: views of the parameters, or inference weights of another dtype. */
  readonly weights: ModelWeights;
  /** The f32 parameters (training, saving); null for a model loaded in another dtype. */
  private readonly paramBuffer: ParamBuffer | null;
  private readonly slopes: Floats;
  private train: TrainActs | null = null;
  /** Whether `train` holds a forward that `backward` has not consumed yet. */
  private pendingBackward = false;
  private grad: GradScratch | null = null;
  /** Inference buffers for the last chunk shape, reused so decoding allocates only its logits. */
  private infer: { N: number; B: number; x: Floats; tmp: Floats; acts: LayerActs } | null = null;
  /** Multi-stream buffers for up to `rows` rows, grown in powers of two and used through views. */
  private streams: { rows: number; x: Floats; tmp: Floats; acts: LayerActs; logits: Floats } | null = null;
  /** Gathered queries, windows and outputs of decoding streams (attendWindows), for up to `streams`. */
  private gathered: { streams: number; q: Floats; k: Floats; v: Floats; out: Floats; stats: Floats } | null = null;

  /** `weights`: f32 parameters (default: zeros), or inference weights from ModelWeights.alloc. */
  constructor(config: SwatConfig, backend: Backend, weights?: ParamBuffer | ModelWeights) {
    this.config = config;
    this.backend = backend;
    if (weights instanceof ModelWeights) {
      this.paramBuffer = null;
      this.weights = weights;
    } else {
      this.paramBuffer = weights ?? new ParamBuffer(paramSpecs(config), backend.alloc(paramSpecs(config).reduce((a, s) => a + s.size, 0)));
      this.weights = ModelWeights.fromParams(config, this.paramBuffer);
    }
    this.slopes = backend.alloc(config.num_heads);
    this.slopes.set(config.alibi_slopes.length ? config.alibi_slopes : new Array(config.num_heads).fill(0));
  }

  /** A freshly initialised model (SWAT.md §2), reproducible from `seed`. */
  static create(config: SwatConfig, backend: Backend, seed: number): SwatModel {
    const m = new SwatModel(config, backend);
    initParams(m.params, config, new Rng(seed));
    return m;
  }

  /** The f32 parameters, for training, saving and probes; a model loaded in bf16, f16 or q8 has none. */
  get params(): ParamBuffer {
    if (this.paramBuffer === null) {
      throw new InputError(`this model holds ${this.weights.dtype} weights for inference only; training and saving need f32 parameters (load it with dtype f32)`);
    }
    return this.paramBuffer;
  }

  /** The dtype the forward computes with. */
  get dtype(): WeightDtype {
    return this.weights.dtype;
  }

  /** A zeroed buffer with the parameters' layout (gradients, optimiser moments). */
  zerosLike(): ParamBuffer {
    return new ParamBuffer(this.params.specs, this.backend.alloc(this.params.flat.length));
  }

  get parameterCount(): number {
    return paramSpecs(this.config).reduce((a, s) => a + s.size, 0);
  }

  private get headWeight(): string {
    return this.config.tie_word_embeddings ? EMBEDDINGS : LM_HEAD;
  }

  private attentionShape(B: number, Tq: number, Tk: number, kvStride: number): AttentionShape {
    const c = this.config;
    return {
      B, Tq, Tk, kvStride, H: c.num_heads, Dh: headDim(c), window: c.window_size,
      activation: c.attention_activation, slopes: this.slopes, bias: c.sigmoid_bias,
    };
  }

  private allocLayer(N: number, B: number, T: number): LayerActs {
    const { hidden_size: D, intermediate_size: I, num_heads: H } = this.config;
    const a = (n: number) => this.backend.alloc(n);
    const qkv = a(3 * N * D);
    return {
      xn: a(N * D), rstd1: a(N), qkv, q: qkv.subarray(0, N * D), k: qkv.subarray(N * D, 2 * N * D), v: qkv.subarray(2 * N * D),
      att: a(N * D), stats: a(B * H * T), h: a(N * D), hn: a(N * D), rstd2: a(N), gu: a(N * 2 * I), s: a(N * I),
    };
  }

  /** RoPE (when the model uses it) on the queries and keys (B, T, D) of tokens from position pos0 on. */
  private rope(q: Floats, k: Floats, B: number, T: number, pos0: number): void {
    const c = this.config;
    if (!c.use_rope) return;
    this.backend.rope(q, B, T, c.num_heads, headDim(c), pos0, c.rope_theta, false);
    this.backend.rope(k, B, T, c.num_heads, headDim(c), pos0, c.rope_theta, false);
  }

  /** T new tokens per sequence continuing `cache` (B sequences at one position): RoPE at the cache's
   *  position, then their keys and values appended; returns what attention reads. Views of (B·T, D). */
  private ropeAppend(l: number, cache: KvCache, q: Floats, k: Floats, v: Floats, B: number, T: number): CacheKeys {
    this.rope(q, k, B, T, cache.position);
    return cache.append(l, k, v, T);
  }

  /** One layer: x (N, D) → xOut (N, D) (may be x itself). Attention goes through `attend`. */
  private layerForward(l: number, a: LayerActs, x: Floats, xOut: Floats, tmp: Floats, N: number, attend: Attend): void {
    const be = this.backend;
    const c = this.config;
    const { hidden_size: D, intermediate_size: I } = c;
    const w = this.weights.layers[l]!;

    be.rmsnormForward(a.xn, a.rstd1, x, w.attnNorm, N, D, c.norm_eps);
    if (N === 1) {
      // One row of q, k and v side by side is the fused projection's output row: one product, not three.
      be.linear(a.qkv, a.xn, w.qkv, 1, false);
    } else {
      be.linear(a.q, a.xn, w.q, N, false);
      be.linear(a.k, a.xn, w.k, N, false);
      be.linear(a.v, a.xn, w.v, N, false);
    }
    attend(l, a);
    be.linear(tmp, a.att, w.o, N, false);
    be.add(a.h, x, tmp, N * D);

    be.rmsnormForward(a.hn, a.rstd2, a.h, w.mlpNorm, N, D, c.norm_eps);
    be.linear(a.gu, a.hn, w.gateUp, N, false);
    be.swigluForward(a.s, a.gu, N, I);
    be.linear(tmp, a.s, w.down, N, false);
    be.add(xOut, a.h, tmp, N * D);
  }

  /** logits (rows, V) = RMSNorm(x) · Wᵀ; xf and rstd receive the normalised rows. */
  private head(logits: Floats, xf: Floats, rstd: Floats, x: Floats, rows: number): void {
    const { hidden_size: D, norm_eps } = this.config;
    this.backend.rmsnormForward(xf, rstd, x, this.weights.finalNorm, rows, D, norm_eps);
    this.backend.linear(logits, xf, this.weights.head, rows, false);
  }

  private trainActs(B: number, T: number): TrainActs {
    if (this.train && this.train.B === B && this.train.T === T) return this.train;
    const { hidden_size: D, vocab_size: V, num_hidden_layers: L } = this.config;
    const N = B * T;
    const a = (n: number) => this.backend.alloc(n);
    this.train = {
      B, T, ids: new Int32Array(N),
      xs: Array.from({ length: L + 1 }, () => a(N * D)),
      layers: Array.from({ length: L }, () => this.allocLayer(N, B, T)),
      tmp: a(N * D), xf: a(N * D), rstdF: a(N), logits: a(N * V), losses: a(N),
    };
    this.grad = null;
    return this.train;
  }

  /** Mean next-token loss over the targets that are not −1. inputs and targets are (B, T). Saves what
   *  `backward` needs. */
  forward(inputs: Int32Array, targets: Int32Array, B: number, T: number): number {
    const c = this.config;
    const N = B * T;
    if (inputs.length !== N || targets.length !== N) throw new Error(`forward: expected ${N} inputs and targets`);
    checkIds(inputs, c.vocab_size);
    for (let i = 0; i < N; i++) if (targets[i] !== -1) checkIds([targets[i]!], c.vocab_size, 'target id');
    const t = this.trainActs(B, T);
    t.ids.set(inputs);
    this.backend.embeddingForward(t.xs[0]!, this.weights.embeddings, t.ids, N);
    const ownKeys: Attend = (_l, a) => {
      this.rope(a.q, a.k, B, T, 0);
      this.backend.attentionForward(a.att, a.stats, a.q, a.k, a.v, this.attentionShape(B, T, T, T));
    };
    for (let l = 0; l < c.num_hidden_layers; l++) this.layerForward(l, t.layers[l]!, t.xs[l]!, t.xs[l + 1]!, t.tmp, N, ownKeys);
    this.head(t.logits, t.xf, t.rstdF, t.xs[c.num_hidden_layers]!, N);
    this.backend.crossEntropyForward(t.losses, t.logits, targets, N, c.vocab_size);
    let sum = 0;
    let count = 0;
    for (let i = 0; i < N; i++) {
      if (targets[i] === -1) continue;
      sum += t.losses[i]!;
      count++;
    }
    this.pendingBackward = true;
    return count ? sum / count : 0;
  }

  /** Logits (B·T, V) of the last `forward`, valid until `backward` turns them into gradients. */
  get logits(): Floats {
    if (!this.train || !this.pendingBackward) throw new Error('logits: no forward whose logits are still held');
    return this.train.logits;
  }

  /** What the last `forward` computed, for probes (attention maps, residual-stream statistics): the
   *  residual stream entering each layer and the final one, xs[0…L] (B·T, D), and per layer the queries and
   *  keys after RoPE and the values (B·T, D). Valid until the next forward. */
  get activations(): { xs: Floats[]; q: Floats[]; k: Floats[]; v: Floats[]; B: number; T: number } {
    const t = this.train;
    if (!t) throw new Error('activations: no forward has run');
    return { xs: t.xs, q: t.layers.map((a) => a.q), k: t.layers.map((a) => a.k), v: t.layers.map((a) => a.v), B: t.B, T: t.T };
  }

  /** Adds the gradient of (scale × the mean loss of the last `forward`) into `grads`. Consumes the saved
   *  logits (they become dlogits in place), so call `forward` again before another backward. */
  backward(targets: Int32Array, grads: ParamBuffer, scale = 1): void {
    const t = this.train;
    if (!t || !this.pendingBackward) throw new Error('backward: no forward to differentiate');
    this.pendingBackward = false; // the logits become dlogits below; a second backward would be wrong
    const be = this.backend;
    const c = this.config;
    const { hidden_size: D, intermediate_size: I, vocab_size: V, num_heads: H, num_hidden_layers: L } = c;
    const { B, T } = t;
    const N = B * T;
    const g = this.gradScratch(N);
    const p = (name: string) => this.params.get(name);
    const dp = (name: string) => grads.get(name);
    let count = 0;
    for (let i = 0; i < N; i++) if (targets[i] !== -1) count++;

    be.crossEntropyBackward(t.logits, t.logits, targets, count ? scale / count : 0, N, V);
    const dlogits = t.logits;
    be.matmul(g.dxn, dlogits, p(this.headWeight), N, D, V, false, false, false);
    be.matmul(dp(this.headWeight), dlogits, t.xf, V, D, N, true, false, true);
    g.dres.fill(0);
    be.rmsnormBackward(g.dres, dp(FINAL_NORM), g.dxn, t.xs[L]!, p(FINAL_NORM), t.rstdF, N, D);

    for (let l = L - 1; l >= 0; l--) {
      const a = t.layers[l]!;
      const n = layerNames(l);
      // x_{l+1} = h + W_down · swiglu(W_gu · RMSNorm(h)); g.dres holds d x_{l+1}.
      be.matmul(g.ds, g.dres, p(n.down), N, I, D, false, false, false);
      be.matmul(dp(n.down), g.dres, a.s, D, I, N, true, false, true);
      be.swigluBackward(g.dgu, g.ds, a.gu, N, I);
      be.matmul(g.dxn, g.dgu, p(n.gateUp), N, D, 2 * I, false, false, false);
      be.matmul(dp(n.gateUp), g.dgu, a.hn, 2 * I, D, N, true, false, true);
      be.rmsnormBackward(g.dres, dp(n.mlpNorm), g.dxn, a.h, p(n.mlpNorm), a.rstd2, N, D);
      // h = x + W_o · Attn(RMSNorm(x)); g.dres now holds d h.
      be.matmul(g.datt, g.dres, p(n.o), N, D, D, false, false, false);
      be.matmul(dp(n.o), g.dres, a.att, D, D, N, true, false, true);
      be.attentionBackward(g.dq, g.dk, g.dv, g.datt, a.q, a.k, a.v, a.att, a.stats, this.attentionShape(B, T, T, T));
      if (c.use_rope) {
        be.rope(g.dq, B, T, H, D / H, 0, c.rope_theta, true);
        be.rope(g.dk, B, T, H, D / H, 0, c.rope_theta, true);
      }
      be.matmul(g.dxn, g.dq, p(n.q), N, D, D, false, false, false);
      be.matmul(g.dxn, g.dk, p(n.k), N, D, D, false, false, true);
      be.matmul(g.dxn, g.dv, p(n.v), N, D, D, false, false, true);
      be.matmul(dp(n.q), g.dq, a.xn, D, D, N, true, false, true);
      be.matmul(dp(n.k), g.dk, a.xn, D, D, N, true, false, true);
      be.matmul(dp(n.v), g.dv, a.xn, D, D, N, true, false, true);
      be.rmsnormBackward(g.dres, dp(n.attnNorm), g.dxn, t.xs[l]!, p(n.attnNorm), a.rstd1, N, D);
    }
    be.embeddingBackward(dp(EMBEDDINGS), g.dres, t.ids, N, D);
  }

  private gradScratch(N: number): GradScratch {
    const { hidden_size: D, intermediate_size: I } = this.config;
    if (this.grad && this.grad.dres.length === N * D) return this.grad;
    const a = (n: number) => this.backend.alloc(n);
    this.grad = { dres: a(N * D), dxn: a(N * D), dq: a(N * D), dk: a(N * D), dv: a(N * D), datt: a(N * D), dgu: a(N * 2 * I), ds: a(N * I) };
    return this.grad;
  }

  /** Inference over T new tokens per sequence (ids (B, T)) continuing the cache's text: appends their keys
   *  and values to the cache and returns logits, (B·T, V) for `all` rows or (B, V) for the `last` row of
   *  each sequence. Memory is O(T·d + cache), whatever the position. */
  forwardCached(ids: Int32Array, B: number, cache: KvCache, rows: 'all' | 'last'): Floats {
    const c = this.config;
    const { hidden_size: D, vocab_size: V, num_hidden_layers: L } = c;
    const N = ids.length;
    const T = N / B;
    if (!Number.isInteger(T) || T < 1) throw new Error(`forwardCached: ${N} ids do not split into ${B} sequences`);
    if (cache.B !== B) throw new Error(`forwardCached: cache holds ${cache.B} sequences, got ${B}`);
    checkIds(ids, c.vocab_size);
    const be = this.backend;
    if (!this.infer || this.infer.N !== N || this.infer.B !== B) {
      this.infer = { N, B, x: be.alloc(N * D), tmp: be.alloc(N * D), acts: this.allocLayer(N, B, T) };
    }
    const { x, tmp, acts: a } = this.infer;
    be.embeddingForward(x, this.weights.embeddings, ids, N);
    cache.reserve(T);
    const cacheKeys: Attend = (l, a) => {
      const kv = this.ropeAppend(l, cache, a.q, a.k, a.v, B, T);
      be.attentionForward(a.att, a.stats, a.q, kv.k, kv.v, this.attentionShape(B, T, kv.Tk, kv.kvStride));
    };
    for (let l = 0; l < L; l++) this.layerForward(l, a, x, x, tmp, N, cacheKeys);
    cache.commit(T);

    let src = x;
    let R = N;
    if (rows === 'last') {
      src = tmp.subarray(0, B * D);
      for (let b = 0; b < B; b++) src.set(x.subarray(((b + 1) * T - 1) * D, (b + 1) * T * D), b * D);
      R = B;
    }
    const logits = be.alloc(R * V);
    this.head(logits, a.xn.subarray(0, R * D), a.rstd1.subarray(0, R), src, R);
    return logits;
  }

  /** Attention of single decoding tokens whose windows are full, as one call over B = G streams: each
   *  stream's query and its last ω keys and values gathered into (G, ω, D) scratch (a copy of O(ω·d) per
   *  stream, far cheaper than a call per stream), the outputs scattered back to their rows. */
  private attendWindows(decoding: readonly { row: number; kv: CacheKeys }[], a: LayerActs, W: number): void {
    const D = this.config.hidden_size;
    const G = decoding.length;
    if (!this.gathered || this.gathered.streams < G) {
      const streams = 2 ** Math.ceil(Math.log2(Math.max(G, 16)));
      const al = (n: number) => this.backend.alloc(n);
      this.gathered = { streams, q: al(streams * D), k: al(streams * W * D), v: al(streams * W * D), out: al(streams * D), stats: al(streams * this.config.num_heads) };
    }
    const g = this.gathered;
    decoding.forEach(({ row, kv }, i) => {
      g.q.set(a.q.subarray(row * D, (row + 1) * D), i * D);
      g.k.set(kv.k.subarray((kv.Tk - W) * D, kv.Tk * D), i * W * D);
      g.v.set(kv.v.subarray((kv.Tk - W) * D, kv.Tk * D), i * W * D);
    });
    this.backend.attentionForward(g.out, g.stats, g.q, g.k, g.v, this.attentionShape(G, 1, W, W));
    decoding.forEach(({ row }, i) => a.att.set(g.out.subarray(i * D, (i + 1) * D), row * D));
  }

  /** Inference for several streams at once, each continuing its own cache (B = 1) at its own position:
   *  the embedding, the projections, the MLP and the head run as single matmuls over every stream's rows
   *  (where the cost is), RoPE and the cache append per stream, attention per stream or, for the streams
   *  decoding with a full window, in one call (O(ω·d) per stream either way). Returns the requested logits
   *  rows, stream after stream, (rows, V): a view of a buffer kept across calls, valid until the next one.
   *  A stream's result is the one forwardCached gives it alone: every op is row-wise except attention,
   *  which sees only that stream's cache. */
  forwardStreams(segments: readonly StreamSegment[]): Floats {
    const c = this.config;
    const { hidden_size: D, vocab_size: V, num_hidden_layers: L } = c;
    let N = 0;
    for (const s of segments) {
      if (s.ids.length === 0) throw new Error('forwardStreams: a stream with no tokens');
      if (s.cache.B !== 1) throw new Error(`forwardStreams: each stream needs a cache of one sequence, got ${s.cache.B}`);
      checkIds(s.ids, c.vocab_size);
      N += s.ids.length;
    }
    const be = this.backend;
    if (!this.streams || this.streams.rows < N) {
      const rows = 2 ** Math.ceil(Math.log2(Math.max(N, 16)));
      this.streams = { rows, x: be.alloc(rows * D), tmp: be.alloc(rows * D), acts: this.allocLayer(rows, 1, rows), logits: be.alloc(rows * V) };
    }
    const { x, tmp, acts } = this.streams;
    const view = (buf: Floats, r0: number, r1: number, width = D) => buf.subarray(r0 * width, r1 * width);
    const a = firstRows(acts, this.streams.rows, N);
    let r = 0;
    const ids = new Int32Array(N);
    for (const s of segments) {
      ids.set(s.ids, r);
      r += s.ids.length;
      s.cache.reserve(s.ids.length);
    }
    be.embeddingForward(x, this.weights.embeddings, ids, N);
    const W = c.window_size;
    const perStream: Attend = (l, la) => {
      // Streams decoding one token with a full window all attend to ω keys: one call for all of them.
      const decoding: { row: number; kv: CacheKeys }[] = [];
      let r0 = 0;
      for (const s of segments) {
        const T = s.ids.length;
        const r1 = r0 + T;
        const q = view(la.q, r0, r1);
        const kv = this.ropeAppend(l, s.cache, q, view(la.k, r0, r1), view(la.v, r0, r1), 1, T);
        if (T === 1 && W !== null && kv.Tk >= W) decoding.push({ row: r0, kv });
        else be.attentionForward(view(la.att, r0, r1), la.stats, q, kv.k, kv.v, this.attentionShape(1, T, kv.Tk, kv.kvStride));
        r0 = r1;
      }
      if (decoding.length > 0) this.attendWindows(decoding, la, W!);
    };
    for (let l = 0; l < L; l++) this.layerForward(l, a, x, x, tmp, N, perStream);
    for (const s of segments) s.cache.commit(s.ids.length);

    // Gather the rows whose logits are wanted into tmp, then one head matmul over them.
    let R = 0;
    r = 0;
    for (const s of segments) {
      const T = s.ids.length;
      if (s.logits === 'all') {
        tmp.set(view(x, r, r + T), R * D);
        R += T;
      } else if (s.logits === 'last') {
        tmp.set(view(x, r + T - 1, r + T), R * D);
        R += 1;
      }
      r += T;
    }
    const logits = this.streams.logits.subarray(0, R * V);
    if (R > 0) this.head(logits, view(a.xn, 0, R), a.rstd1.subarray(0, R), view(tmp, 0, R), R);
    return logits;
  }
}

/** What attention reads from a cache: its key and value buffers, the valid rows and the row stride. */
type CacheKeys = ReturnType<KvCache['append']>;

/** Views of the first N rows of layer buffers allocated for `rows` rows (stats, per head and row of one
 *  stream at a time, is used whole). q, k and v are cut again from the front of qkv, back to back, as the
 *  fused projection of one row writes them. */
function firstRows(acts: LayerActs, rows: number, N: number): LayerActs {
  const cut = (buf: Floats) => buf.subarray(0, (buf.length / rows) * N);
  const qkv = cut(acts.qkv);
  const third = qkv.length / 3;
  return {
    xn: cut(acts.xn), rstd1: cut(acts.rstd1), qkv, q: qkv.subarray(0, third), k: qkv.subarray(third, 2 * third), v: qkv.subarray(2 * third),
    att: cut(acts.att), stats: acts.stats, h: cut(acts.h), hn: cut(acts.hn), rstd2: cut(acts.rstd2), gu: cut(acts.gu), s: cut(acts.s),
  };
}
