// swat eval: evaluate a model the way the paper and the field do. `length`: loss against evaluation length
// (Table 2 protocol) with a chosen window; `tasks`: zero-shot multiple choice, LAMBADA and WikiText from
// local files; `passkey`: retrieval accuracy against distance; `probe`: attention sink / hidden-state
// variance per layer and head, and the receptive-field bound. Prints a table (or JSON with --json); with
// --out also writes JSON and SVG + PNG plots.

import { backendFrom } from '../backend.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { receptiveField } from '../../config.js';
import { type ChoiceResult, evaluateChoices, evaluateLambada, evaluatePerplexity } from '../../eval/choice.js';
import { binCurve, lossVsLength } from '../../eval/length.js';
import { passkeyRetrieval } from '../../eval/passkey.js';
import { influenceProbe, sinkProbe } from '../../eval/probes.js';
import { type ChoiceTask, readChoiceTask, readLambada } from '../../eval/tasks.js';
import { InputError } from '../../errors.js';
import { loadCorpus } from '../../experiment/data.js';
import type { SwatModel } from '../../model/model.js';
import { loadModel } from '../../model/store.js';
import { type PlotSpec, writePlot } from '../../plot/svg.js';
import type { Tokenizer } from '../../tokenizer/tokenizer.js';
import { COUNT_LIST, type CommandSpec, type OptionSpec, POSITIVE, POSITIVE_LIST, type Parsed, WINDOW, flag, intList, list, oneOf, posInt, required, str } from '../args.js';
import { print } from '../output.js';
import { Progress } from '../progress.js';

const EVAL_DATA: Record<string, OptionSpec> = {
  data: { type: 'string', arg: 'PATH', multiple: true, help: 'text to evaluate on: files, directories, globs, .jsonl, .gz (default: built-in corpus)' },
  split: { type: 'string', arg: 'S', check: oneOf('val', 'all'), help: "'val' (the documents swat train holds out) or 'all'", default: 'val' },
};

const FILE = (help: string): OptionSpec => ({ type: 'string', arg: 'FILE', help });

export const evalCommand: CommandSpec = {
  name: 'eval',
  summary: 'evaluate a model: loss vs length, zero-shot tasks, passkey retrieval, sink and receptive-field probes',
  usage: 'length|tasks|passkey|probe --model DIR [options] [--json] [--out DIR]',
  subcommands: {
    length: {
      summary: 'mean loss (nats, bits/byte) of held-out chunks of each length, and loss by position',
      options: {
        ...EVAL_DATA,
        lengths: { type: 'string', arg: 'LIST', check: POSITIVE_LIST, help: 'comma-separated chunk lengths (default: ω, 4ω, 16ω, 64ω)' },
        window: { type: 'string', arg: 'W', check: WINDOW, help: "evaluation window, a number or 'none' (default: the model's)" },
        'max-tokens': { type: 'string', arg: 'N', check: POSITIVE, help: 'tokens scored per length', default: '65536' },
        batch: { type: 'string', arg: 'B', check: POSITIVE, help: 'chunks per forward call', default: '8' },
      },
    },
    tasks: {
      summary: 'zero-shot PIQA, HellaSwag, ARC, WinoGrande, SIQA, BoolQ (acc, acc_norm), LAMBADA, WikiText',
      options: {
        piqa: FILE('PIQA jsonl (goal, sol1, sol2)'),
        'piqa-labels': FILE('PIQA labels file (one 0/1 per line)'),
        hellaswag: FILE('HellaSwag jsonl'),
        'arc-easy': FILE('ARC-Easy jsonl'),
        'arc-challenge': FILE('ARC-Challenge jsonl'),
        winogrande: FILE('WinoGrande jsonl'),
        siqa: FILE('SIQA jsonl'),
        'siqa-labels': FILE('SIQA labels file (one 1-3 per line)'),
        boolq: FILE('BoolQ jsonl'),
        lambada: FILE('LAMBADA jsonl (text)'),
        wikitext: FILE('WikiText text file (perplexity)'),
        limit: { type: 'string', arg: 'N', check: POSITIVE, help: 'score only the first N items of each task' },
        'max-bytes': { type: 'string', arg: 'N', check: POSITIVE, help: 'score at most N bytes of the WikiText file' },
        context: { type: 'string', arg: 'N', check: POSITIVE, help: "WikiText windows for a full-attention model (default: its max_position_embeddings)" },
      },
    },
    passkey: {
      summary: 'retrieval of a number hidden in filler text, accuracy against distance',
      options: {
        distances: { type: 'string', arg: 'LIST', check: COUNT_LIST, help: 'comma-separated distances in tokens (default: ½, 1, 2, 4, 8 × the receptive field)' },
        trials: { type: 'string', arg: 'N', check: POSITIVE, help: 'trials per distance', default: '10' },
      },
    },
    probe: {
      summary: 'attention on the first token and hidden-state variance per layer/head; receptive-field bound',
      options: {
        ...EVAL_DATA,
        length: { type: 'string', arg: 'T', check: POSITIVE, help: 'chunk length (default: 4ω, or 128 without a window)' },
        sequences: { type: 'string', arg: 'N', check: POSITIVE, help: 'held-out chunks averaged over', default: '16' },
      },
    },
  },
  options: {
    model: { type: 'string', arg: 'DIR', help: 'model directory' },
    out: { type: 'string', arg: 'DIR', help: 'also write NAME.json and plots (SVG and PNG) into DIR' },
    json: { type: 'boolean', help: 'print JSON instead of a table' },
  },
};

/** Left-aligned first column, right-aligned others. */
function textTable(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n');
}

const f3 = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(3));

interface Loaded {
  model: SwatModel;
  tokenizer: Tokenizer;
  dir: string;
}

function load(v: Parsed): Loaded {
  const dir = required(str(v, 'model'), 'model', 'eval');
  const { model, tokenizer } = loadModel(dir, backendFrom(v));
  if (!tokenizer) throw new InputError(`${dir} has no tokenizer.json: swat eval needs text`);
  return { model, tokenizer, dir };
}

function heldOut(v: Parsed, tokenizer: Tokenizer, progress: Progress): ArrayLike<number> {
  const split = str(v, 'split');
  const corpus = loadCorpus(list(v, 'data'), tokenizer, (m) => progress.log(`warning: ${m}`));
  progress.log(`data: ${corpus.description}; evaluating on ${split === 'val' ? 'the held-out documents' : 'all of it'}`);
  if (split === 'val') return corpus.val;
  const all = new Int32Array(corpus.train.length + corpus.val.length);
  all.set(corpus.train);
  all.set(corpus.val, corpus.train.length);
  return all;
}

/** Prints the result (JSON or table) and, with --out, writes NAME.json and the plots. */
function emit(v: Parsed, name: string, result: unknown, table: () => string, plots: Record<string, PlotSpec> = {}): void {
  print((flag(v, 'json') ? JSON.stringify(result) : table()) + '\n');
  const out = str(v, 'out');
  if (out === undefined) return;
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, `${name}.json`), JSON.stringify(result, null, 1) + '\n');
  for (const [plot, spec] of Object.entries(plots)) writePlot(join(out, `${name}-${plot}`), spec);
  if (!flag(v, 'json')) print(`wrote ${join(out, `${name}.json`)}${Object.keys(plots).length ? ` and ${Object.keys(plots).map((p) => `${name}-${p}.svg/.png`).join(', ')}` : ''}\n`);
}

function runLength(v: Parsed, m: Loaded, progress: Progress): void {
  const w = m.model.config.window_size;
  const lengths = intList(v, 'lengths') ?? [1, 4, 16, 64].map((k) => k * (w ?? 128));
  const windowArg = str(v, 'window');
  const window = windowArg === undefined ? undefined : windowArg === 'none' ? null : Number(windowArg);
  const r = lossVsLength(m.model, heldOut(v, m.tokenizer, progress), m.tokenizer, {
    lengths, ...(window !== undefined ? { window } : {}), maxTokens: posInt(v, 'max-tokens')!, batch: posInt(v, 'batch')!,
    onProgress: (d, t) => progress.update(d, t, 'chunks'),
  });
  progress.done();
  const longest = Math.max(...lengths);
  const curve = binCurve(r.perPosition.get(longest)!, 64);
  const result = { model: m.dir, window: r.window, rows: r.rows, positions: { length: longest, bins: curve } };
  emit(v, 'length', result, () => `evaluation window ${r.window ?? 'none'}\n` + textTable(['length', 'chunks', 'tokens', 'loss (nats)', 'bits/byte'], r.rows.map((x) => [x.length, x.chunks, x.tokens, f3(x.loss), f3(x.bitsPerByte)])), {
    loss: { title: `Loss vs evaluation length (window ${r.window ?? 'none'})`, xLabel: 'evaluation length (tokens)', yLabel: 'mean loss (nats/token)', logX: true, series: [{ name: m.dir, points: r.rows.map((x) => [x.length, x.loss]) }] },
    positions: { title: `Loss by position in ${longest}-token chunks`, xLabel: 'position', yLabel: 'mean loss (nats/token)', series: [{ name: m.dir, points: curve.slice(1) }] },
  });
}

function runTasks(v: Parsed, m: Loaded, progress: Progress): void {
  const limit = posInt(v, 'limit');
  const opts = { ...(limit !== undefined ? { limit } : {}) };
  const choice: [string, ChoiceTask, string | undefined, string | undefined][] = [
    ['piqa', 'piqa', str(v, 'piqa'), str(v, 'piqa-labels')],
    ['hellaswag', 'hellaswag', str(v, 'hellaswag'), undefined],
    ['arc_easy', 'arc', str(v, 'arc-easy'), undefined],
    ['arc_challenge', 'arc', str(v, 'arc-challenge'), undefined],
    ['winogrande', 'winogrande', str(v, 'winogrande'), undefined],
    ['siqa', 'siqa', str(v, 'siqa'), str(v, 'siqa-labels')],
    ['boolq', 'boolq', str(v, 'boolq'), undefined],
  ];
  const wanted = choice.filter(([, , file]) => file !== undefined);
  if (wanted.length === 0 && str(v, 'lambada') === undefined && str(v, 'wikitext') === undefined) {
    throw new InputError('swat eval tasks: name at least one task file (--piqa, --hellaswag, --arc-easy, --arc-challenge, --winogrande, --siqa, --boolq, --lambada, --wikitext)');
  }
  const results: Record<string, ChoiceResult | object> = {};
  const rows: (string | number)[][] = [];
  for (const [name, task, file, labels] of wanted) {
    const items = readChoiceTask(task, file!, labels);
    const r = evaluateChoices(m.model, m.tokenizer, items, { ...opts, onProgress: (d, t) => progress.update(d, t, name) });
    progress.done();
    results[name] = r;
    rows.push([name, r.items, `${f3(r.acc)} ± ${f3(r.accStderr)}`, `${f3(r.accNorm)} ± ${f3(r.accNormStderr)}`, '-']);
  }
  const lambada = str(v, 'lambada');
  if (lambada !== undefined) {
    const r = evaluateLambada(m.model, m.tokenizer, readLambada(lambada), { ...opts, onProgress: (d, t) => progress.update(d, t, 'lambada') });
    progress.done();
    results['lambada'] = r;
    rows.push(['lambada', r.items, `${f3(r.acc)} ± ${f3(r.accStderr)}`, '-', `ppl ${r.perplexity.toFixed(2)}`]);
  }
  const wikitext = str(v, 'wikitext');
  if (wikitext !== undefined) {
    progress.log(`wikitext: scoring ${wikitext}`);
    const r = evaluatePerplexity(m.model, m.tokenizer, readFileSync(wikitext, 'utf8'), posInt(v, 'max-bytes'), posInt(v, 'context'));
    results['wikitext'] = r;
    rows.push(['wikitext', `${r.bytes} B`, '-', '-', `word ppl ${r.wordPerplexity.toFixed(2)}, byte ppl ${r.bytePerplexity.toFixed(3)}, ${r.bitsPerByte.toFixed(3)} bits/byte`]);
  }
  emit(v, 'tasks', { model: m.dir, results }, () => textTable(['task', 'items', 'acc', 'acc_norm', 'other'], rows));
}

function runPasskey(v: Parsed, m: Loaded, progress: Progress): void {
  const c = m.model.config;
  const rf = receptiveField(c);
  // Around the receptive field: half of it, at it, and well beyond (the prompt's fixed tail after the key
  // sets a minimum distance of some 60 tokens; shorter requests are built at that minimum).
  const reach = rf ?? 4 * (c.window_size ?? 64);
  const distances = intList(v, 'distances') ?? [0.5, 1, 2, 4, 8].map((k) => Math.round(k * reach));
  const rows = passkeyRetrieval(m.model, m.tokenizer, { distances, trials: posInt(v, 'trials')!, onProgress: (d, t) => progress.update(d, t, 'trials') });
  progress.done();
  emit(v, 'passkey', { model: m.dir, receptive_field: rf, rows }, () => `receptive field ${rf ?? 'unbounded'}\n` + textTable(['distance', 'actual', 'trials', 'accuracy', 'key logprob/token'], rows.map((r) => [r.distance, r.actual, r.trials, f3(r.accuracy), f3(r.keyLogprob)])), {
    accuracy: {
      title: 'Passkey retrieval', xLabel: 'distance (tokens)', yLabel: 'accuracy', logX: true, yMin: 0, yMax: 1,
      series: [{ name: m.dir, points: rows.map((r) => [r.actual, r.accuracy]) }], ...(rf !== null ? { vLines: [{ value: rf, label: 'receptive field' }] } : {}),
    },
  });
}

function runProbe(v: Parsed, m: Loaded, progress: Progress): void {
  const c = m.model.config;
  const T = posInt(v, 'length') ?? (c.window_size !== null ? 4 * c.window_size : 128);
  const stream = heldOut(v, m.tokenizer, progress);
  const sink = sinkProbe(m.model, stream, { length: T, sequences: posInt(v, 'sequences')! });
  const bound = receptiveField(c);
  const ids = Array.from({ length: Math.min(stream.length, (bound ?? T) + 16) }, (_, i) => stream[i]!);
  const distances = Array.from({ length: ids.length }, (_, i) => i).filter((d) => bound === null || d <= 2 || Math.abs(d - (bound - 1)) <= 2 || d === ids.length - 1);
  const influence = influenceProbe(m.model, ids, distances, m.tokenizer.eosId);
  const result = { model: m.dir, sink: { ...sink, variancePerPosition: undefined }, influence };
  emit(v, 'probe', result, () => [
    `activation ${sink.activation}; ${sink.sequences} chunks of ${sink.length} tokens`,
    textTable(['layer', 'head', 'first', 'others', 'first/others', 'share', 'boost'], sink.heads.map((h) => [h.layer, h.head, f3(h.first), f3(h.others), f3(h.ratio), f3(h.share), f3(h.boost)])),
    textTable(['stream', 'var pos 0', 'var pos ≥ 1', 'ratio'], sink.variance.map((x) => [x.layer, f3(x.first), f3(x.rest), f3(x.ratio)])),
    `receptive field: farthest influence ${influence.farthest} tokens back; bound (ω − 1)·L = ${influence.bound ?? 'none'}`,
  ].join('\n'), {
    variance: {
      title: 'Residual-stream variance by position', xLabel: 'position', yLabel: 'variance over the hidden dimension',
      series: sink.variancePerPosition.map((p, l) => ({ name: `stream ${l}`, points: p.slice(0, 64).map((x, t) => [t, x] as [number, number]) })),
    },
  });
}

export function runEval(v: Parsed): void {
  const sub = v['_'] as string;
  const m = load(v);
  const progress = new Progress();
  if (sub === 'length') runLength(v, m, progress);
  else if (sub === 'tasks') runTasks(v, m, progress);
  else if (sub === 'passkey') runPasskey(v, m, progress);
  else runProbe(v, m, progress);
}
