// swat bench: speed of the backend, as ratios measured in one run (see src/bench/suites.ts).

import { backendFrom } from '../backend.js';
import {
  ANCHOR, type AnchorOptions, benchAttention, benchGemm, benchPeak, benchTrainAgainstPytorch, benchTrainVersus,
  nativeBaseline,
} from '../../bench/suites.js';
import { type CommandSpec, type OptionSpec, POSITIVE, POSITIVE_LIST, type Parsed, type ValueCheck, WINDOW, flag, intList, posInt, str } from '../args.js';
import { print } from '../output.js';
import { Progress } from '../progress.js';
import { runTokenizerBench } from './tokenizer.js';
import { benchServe } from '../../bench/serve.js';
import { benchBrowser } from '../../bench/browser.js';
import { benchDecode } from '../../bench/decode.js';
import { WEIGHT_DTYPES, type WeightDtype } from '../../backend/weight.js';

const ANCHOR_OPTIONS: Record<string, OptionSpec> = {
  layers: { type: 'string', arg: 'L', check: POSITIVE, help: 'anchor model layers', default: String(ANCHOR.layers) },
  dim: { type: 'string', arg: 'D', check: POSITIVE, help: 'anchor model width', default: String(ANCHOR.dim) },
  heads: { type: 'string', arg: 'H', check: POSITIVE, help: 'anchor model heads', default: String(ANCHOR.heads) },
  'vocab-size': { type: 'string', arg: 'V', check: POSITIVE, help: 'anchor model vocabulary', default: String(ANCHOR.vocabSize) },
  'seq-len': { type: 'string', arg: 'T', check: POSITIVE, help: 'training sequence length', default: String(ANCHOR.seqLen) },
  batch: { type: 'string', arg: 'B', check: POSITIVE, help: 'sequences per training step', default: String(ANCHOR.batch) },
  window: { type: 'string', arg: 'W', check: WINDOW, help: "attention window, or 'none'", default: String(ANCHOR.window) },
};

const DTYPE_LIST: ValueCheck = {
  test: (s) => s.split(',').every((d) => (WEIGHT_DTYPES as readonly string[]).includes(d.trim())),
  expected: `a comma-separated list of ${WEIGHT_DTYPES.join(', ')}`,
};

export const benchCommand: CommandSpec = {
  name: 'bench',
  summary: 'measure the backend: FMA peak, matrix multiply, attention, training steps, decoding',
  usage: 'peak|gemm|attention|train|browser|decode|tokenizer|serve [options] [--json]',
  subcommands: {
    peak: { summary: 'single-core and all-core fp32 FMA peak, GFLOP/s' },
    gemm: { summary: "GFLOP/s and % of peak for the anchor model's matrix shapes, 1 and all threads", options: ANCHOR_OPTIONS },
    attention: { summary: 'windowed attention forward+backward GFLOP/s for ω ∈ {64, 128, 256}, d_h = 64', options: ANCHOR_OPTIONS },
    train: {
      summary: 'tokens/s of full training steps of the anchor model on random tokens, and of PyTorch doing the same',
      options: {
        ...ANCHOR_OPTIONS,
        steps: { type: 'string', arg: 'N', check: POSITIVE, help: 'timed training steps', default: '3' },
        profile: { type: 'boolean', help: 'per-op breakdown of a step' },
        python: { type: 'string', arg: 'CMD', help: 'the Python with torch that runs the PyTorch baseline', default: 'python3' },
      },
    },
    browser: {
      summary: 'training tokens/s of wasm in headless Chromium (a Web Worker of swat web\'s page) against native and wasm in Node at 1 thread',
      options: {
        ...ANCHOR_OPTIONS,
        steps: { type: 'string', arg: 'N', check: POSITIVE, help: 'timed training steps per round', default: '3' },
        rounds: { type: 'string', arg: 'N', check: POSITIVE, help: 'rounds in turns; each keeps its fastest', default: '2' },
      },
    },
    decode: {
      summary: 'tokens/s of one decoding stream per weight dtype at positions 1k and 32k, as % of the read bandwidth; memory while loading',
      options: {
        ...ANCHOR_OPTIONS,
        positions: { type: 'string', arg: 'LIST', check: POSITIVE_LIST, help: 'positions decoded at', default: '1024,32768' },
        dtypes: { type: 'string', arg: 'LIST', check: DTYPE_LIST, help: 'weight dtypes', default: WEIGHT_DTYPES.join(',') },
        tokens: { type: 'string', arg: 'N', check: POSITIVE, help: 'timed tokens per position', default: '128' },
      },
    },
    tokenizer: { summary: 'encode MB/s of our BPE vs gpt-tokenizer, bytes/token of each vocabulary on the built-in corpus' },
    serve: {
      summary: 'continuous batching: aggregate tokens/s, p50/p99 ms per token at 1, 4, 16, 64 streams; memory per stream',
      options: {
        model: { type: 'string', arg: 'DIR', help: 'model directory (default: an untrained model of the default training shape)' },
        streams: { type: 'string', arg: 'LIST', check: POSITIVE_LIST, help: 'concurrent stream counts', default: '1,4,16,64' },
        tokens: { type: 'string', arg: 'N', check: POSITIVE, help: 'tokens each stream generates', default: '128' },
        'memory-streams': { type: 'string', arg: 'N', check: POSITIVE, help: 'streams held for the memory measurement', default: '256' },
      },
    },
  },
  options: {
    json: { type: 'boolean', help: 'print JSON' },
  },
};

function anchor(v: Parsed): AnchorOptions {
  const w = str(v, 'window')!;
  return {
    layers: posInt(v, 'layers')!, dim: posInt(v, 'dim')!, heads: posInt(v, 'heads')!, vocabSize: posInt(v, 'vocab-size')!,
    seqLen: posInt(v, 'seq-len')!, batch: posInt(v, 'batch')!, window: w === 'none' ? null : posInt(v, 'window')!,
  };
}

const f1 = (x: number) => x.toFixed(1);
const pct = (x: number | null) => (x === null ? '-' : `${x.toFixed(1)}%`);
const mib = (x: number) => `${(x / 2 ** 20).toFixed(1)} MiB`;

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

export async function runBench(v: Parsed): Promise<void> {
  if (v['_'] === 'serve') return runServeBench(v);
  if (v['_'] === 'browser') return runBrowserBench(v);
  const be = backendFrom(v);
  const json = flag(v, 'json');
  const emit = (obj: unknown, text: () => string) => print((json ? JSON.stringify(obj) : text()) + '\n');
  switch (v['_']) {
    case 'peak': {
      const r = benchPeak(be);
      emit(r, () => `fp32 FMA peak: ${f1(r.single_core_gflops)} GFLOP/s on 1 core, ${f1(r.all_core_gflops)} GFLOP/s on ${r.threads} (${f1(r.all_core_gflops / r.single_core_gflops)}×)`);
      break;
    }
    case 'gemm': {
      const baseline = nativeBaseline(be);
      const r = benchGemm(be, anchor(v), 0.5, baseline);
      const vs = (x: { gflops: number; baseline_gflops?: number }) => (x.baseline_gflops ? [f1(x.baseline_gflops), pct((100 * x.gflops) / x.baseline_gflops)] : ['', '']);
      emit(r, () => [
        r.peak ? `peak: ${f1(r.peak.single_core_gflops)} GFLOP/s (1 core), ${f1(r.peak.all_core_gflops)} GFLOP/s (${r.peak.threads} cores)` : `backend ${be.name}: no peak measurement`,
        table(['shape', 'M×N×K', 'threads', 'GFLOP/s', '% peak', ...(baseline ? ['native 1 thread', `${be.name} / native`] : [])],
          r.rows.map((x) => [x.shape, `${x.m}×${x.n}×${x.k}`, x.threads, f1(x.gflops), pct(x.percent_of_peak), ...(baseline ? vs(x) : [])])),
        `reference backend: ${r.reference_gflops.toFixed(2)} GFLOP/s on '${r.rows[0]!.shape}'; ${be.name} is ${f1(r.speedup_vs_reference)}× faster`,
      ].join('\n'));
      break;
    }
    case 'attention': {
      const a = anchor(v);
      const r = benchAttention(be, { B: a.batch, T: a.seqLen, H: a.heads, Dh: 64, windows: [64, 128, 256] });
      emit(r, () => [
        `B ${a.batch}, T ${a.seqLen}, H ${a.heads}, d_h 64`,
        table(['window', 'activation', 'threads', 'fwd GFLOP/s', 'fwd+bwd GFLOP/s', '% peak'], r.rows.map((x) => [x.window, x.activation, x.threads, f1(x.forward_gflops), f1(x.forward_backward_gflops), pct(x.percent_of_peak)])),
      ].join('\n'));
      break;
    }
    case 'train': {
      const a = anchor(v);
      const r = benchTrainAgainstPytorch(be, a, posInt(v, 'steps')!, flag(v, 'profile'), str(v, 'python')!);
      const baseline = nativeBaseline(be);
      const versus = baseline ? benchTrainVersus(be, baseline, a, posInt(v, 'steps')!) : null;
      emit(versus ? { ...r, versus_native_1_thread: versus } : r, () => {
        const lines = [
          `${be.name}, ${r.threads} thread(s): ${Math.round(r.tokens_per_s)} tokens/s (${r.step_s.toFixed(3)} s/step of ${a.batch}×${a.seqLen} tokens), ${f1(r.gflops)} GFLOP/s = ${pct(r.percent_of_peak)} of peak`,
          r.pytorch
            ? `PyTorch ${r.pytorch.torch_version} fp32 (${r.pytorch.blas.join(', ') || 'BLAS unknown'}), ${r.pytorch.threads} thread(s): ${Math.round(r.pytorch.tokens_per_s)} tokens/s (${r.pytorch.step_s.toFixed(3)} s/step); ${be.name} is ${f1(r.vs_pytorch!)}× PyTorch (fastest of ${r.rounds} interleaved rounds each)`
            : `no PyTorch baseline measured (${r.pytorch_unavailable}), so no ratio`,
          ...(versus ? [`in turns with the native backend at one thread (fastest of 3 each): ${be.name} ${Math.round(versus.result.tokens_per_s)} tokens/s, native ${Math.round(versus.baseline.tokens_per_s)} tokens/s; ${be.name} / native = ${pct((100 * versus.result.tokens_per_s) / versus.baseline.tokens_per_s)}`] : []),
        ];
        if (r.breakdown) lines.push(table(['op', 'ms/step', 'calls', '%'], Object.entries(r.breakdown).map(([op, x]) => [op, (x.seconds * 1000).toFixed(1), x.calls, f1(x.percent)])));
        return lines.join('\n');
      });
      break;
    }
    case 'tokenizer':
      runTokenizerBench(json);
      break;
    case 'decode': {
      const progress = new Progress();
      const threads = posInt(v, 'threads');
      const r = benchDecode(be, anchor(v), {
        positions: intList(v, 'positions')!, dtypes: str(v, 'dtypes')!.split(',').map((d) => d.trim() as WeightDtype), tokens: posInt(v, 'tokens')!,
        backendName: be.name, ...(threads !== undefined ? { threads } : {}),
      }, (line) => progress.log(line));
      emit(r, () => [
        `${be.name}: read bandwidth ${r.read_gb_per_s === null ? 'not measured' : `${f1(r.read_gb_per_s)} GB/s`}`,
        table(['dtype', 'position', 'tokens/s', 'median ms/token', 'best ms/token', 'weights/token', '% bandwidth', 'vs f32', 'RSS'],
          r.rows.map((x) => [x.dtype, x.position, f1(x.tokens_per_s), x.ms_per_token.toFixed(2), x.best_ms_per_token.toFixed(2), mib(x.weight_bytes_per_token), pct(x.percent_of_bandwidth),
            x.position === r.rows[0]!.position && r.speedup_vs_f32[x.dtype] !== undefined ? `${r.speedup_vs_f32[x.dtype]!.toFixed(2)}×` : '', mib(x.rss_bytes)])),
        'loading (a child process): peak RSS less RSS before, against the weights file',
        table(['dtype', 'file', 'runtime', 'peak', '(peak − runtime) / file'], r.load.map((x) => [x.dtype, mib(x.file_bytes), mib(x.runtime_bytes), mib(x.peak_bytes), `${x.ratio.toFixed(2)}×`])),
      ].join('\n'));
      break;
    }
  }
}

async function runServeBench(v: Parsed): Promise<void> {
  const json = flag(v, 'json');
  const progress = new Progress();
  const threads = posInt(v, 'threads');
  const backend = str(v, 'backend');
  const r = await benchServe(str(v, 'model'), {
    ...(backend !== undefined ? { backend } : {}), ...(threads !== undefined ? { threads } : {}),
    concurrency: intList(v, 'streams')!, tokens: posInt(v, 'tokens')!, memoryStreams: posInt(v, 'memory-streams')!,
  }, (line) => progress.log(line));
  const kib = (x: number) => `${(x / 1024).toFixed(1)} KiB`;
  print((json ? JSON.stringify(r) : [
    `${r.model}, ${r.backend} backend, ${r.tokens_per_stream} tokens per stream`,
    table(['streams', 'tokens/s', 'vs 1 stream', 'p50 ms/token', 'p99 ms/token'], r.rows.map((x) => [x.streams, f1(x.tokens_per_s), `${x.speedup.toFixed(2)}×`, x.p50_ms_per_token.toFixed(2), x.p99_ms_per_token.toFixed(2)])),
    `memory per stream (${r.memory.streams} held): ${kib(r.memory.bytes_per_stream)} resident; cache ${kib(r.memory.cache_bytes_per_stream)}; window cache (SWAT.md §4) ${kib(r.memory.window_cache_bytes)}`,
  ].join('\n')) + '\n');
}

async function runBrowserBench(v: Parsed): Promise<void> {
  const a = anchor(v);
  const progress = new Progress();
  const r = await benchBrowser(a, posInt(v, 'steps')!, posInt(v, 'rounds')!, (line) => progress.log(line));
  const native = r.native?.tokens_per_s ?? null;
  const share = (x: number) => (native === null ? '-' : pct((100 * x) / native));
  print((flag(v, 'json') ? JSON.stringify(r) : [
    `${a.layers} layers, d ${a.dim}, V ${a.vocabSize}, ${a.batch}×${a.seqLen} tokens a step; fastest of ${r.rounds} rounds in turns, ${r.steps} steps each`,
    table(['where', 'module', 'threads', 'tokens/s', '/ native 1 thread'], [
      ...(r.native ? [['native, Node', r.native.isa, 1, Math.round(r.native.tokens_per_s), '100.0%']] : []),
      ['wasm, Node', r.wasm_node.isa, 1, Math.round(r.wasm_node.tokens_per_s), share(r.wasm_node.tokens_per_s)],
      ...r.browser.map((x) => [`wasm, Chromium ${r.chromium}`, x.isa, x.threads, Math.round(x.tokens_per_s), share(x.tokens_per_s)]),
    ]),
    r.cross_origin_isolated ? 'the page is cross-origin isolated: threads are Web Workers on shared memory' : 'the page is not cross-origin isolated: one thread',
    ...(native === null ? ['no native backend (the addon is not built), so no ratio'] : []),
  ].join('\n')) + '\n');
}
