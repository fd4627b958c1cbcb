// SWAT.md §7.5: a SWAT model trained on the synthetic retrieval task; accuracy against the distance of the
// needed token, with the hard bound (ω − 1)·L of §3.2, and the exact influence check on the same model.
// The model is stored in its run directory once trained (it trains in minutes, so it has no mid-run
// checkpoints: an interrupted training starts over).

import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeConfig, receptiveField } from '../../config.js';
import { influenceProbe } from '../../eval/probes.js';
import { readJsonFile } from '../../io/files.js';
import { JSON_LIMITS } from '../../io/json.js';
import { type RetrievalTask, retrievalAccuracy, retrievalBatch, retrievalVocab, trainRetrieval } from '../../eval/retrieval.js';
import { SwatModel } from '../../model/model.js';
import { loadModel, saveModel } from '../../model/store.js';
import { Rng } from '../../random.js';
import { type Claim, type StudyResult, f3, mdTable } from '../report.js';
import type { StudyContext } from './context.js';

const TRIALS = 256;
const DONE_FILE = 'retrieval.json';

export function receptiveFieldStudy(ctx: StudyContext): StudyResult {
  const p = ctx.preset;
  const window = p.retrievalWindow;
  const bound = (window - 1) * p.layers;
  const task: RetrievalTask = { values: 16, fillers: 32, length: 2 * bound + 6, maxDistance: 2 * bound + 4 };
  const config = makeConfig({ vocabSize: retrievalVocab(task), layers: p.layers, dim: p.dim, heads: p.heads, window, intermediateSize: p.intermediate, maxPositionEmbeddings: task.length });
  const dir = join(ctx.outDir, 'runs', p.name, `retrieval-w${window}-L${p.layers}-T${task.length}`);
  let model: SwatModel;
  let losses: number[];
  if (existsSync(join(dir, DONE_FILE))) {
    model = loadModel(dir, ctx.backend).model;
    losses = (readJsonFile(join(dir, DONE_FILE), { maxSize: JSON_LIMITS.results }) as { losses: number[] }).losses;
  } else {
    ctx.log(`receptive field: training a retrieval model (window ${window}, ${p.layers} layers, bound ${bound}) for ${p.retrievalSteps} steps`);
    model = SwatModel.create(config, ctx.backend, p.seed);
    losses = trainRetrieval(model, task, {
      steps: p.retrievalSteps, batch: 32, lr: p.lr, warmup: Math.min(p.warmup, p.retrievalSteps), seed: p.seed,
      onStep: (s, l) => ctx.progress(s, p.retrievalSteps, `retrieval: loss ${l.toFixed(3)}`),
    });
    saveModel(dir, model, null);
    writeFileSync(join(dir, DONE_FILE), JSON.stringify({ task, losses }) + '\n');
  }
  const distances = Array.from({ length: task.maxDistance }, (_, i) => i + 1);
  const rows = retrievalAccuracy(model, task, distances, TRIALS, p.seed + 1);
  const chance = 1 / task.values;
  const margin = 4 * Math.sqrt((chance * (1 - chance)) / TRIALS);
  const beyond = rows.filter((r) => r.distance > bound);
  const maxBeyond = Math.max(...beyond.map((r) => r.accuracy));
  const reach = Math.max(0, ...rows.filter((r) => r.accuracy >= 0.5).map((r) => r.distance));
  const ids = retrievalBatch(task, 1, new Rng(p.seed + 2)).inputs;
  const influence = influenceProbe(model, Array.from(ids), distances.filter((d) => d < task.length), 0);
  const claims: Claim[] = [
    {
      claim: `Nothing flows beyond 1 + (ω − 1)·L positions (SWAT.md §3.2): retrieval accuracy drops to chance beyond distance (ω − 1)·L = ${bound}.`,
      criterion: `accuracy at every distance > ${bound} ≤ chance ${f3(chance)} + ${f3(margin)} (4 standard errors of ${TRIALS} trials)`,
      observed: `max accuracy beyond the bound ${f3(maxBeyond)}; largest distance with accuracy ≥ 0.5: ${reach}; exact influence reaches ${influence.farthest} tokens back`,
      reproduced: maxBeyond <= chance + margin && influence.farthest <= bound,
    },
  ];
  const loss = (from: number, to: number) => losses.slice(from, to).reduce((a, b) => a + b, 0) / Math.max(1, losses.slice(from, to).length);
  return {
    name: 'receptive-field',
    title: 'Receptive field: retrieval against distance (SWAT.md §7.5)',
    sections: [
      `A SWAT model (sigmoid, balanced ALiBi, RoPE; ${p.layers} layers, d ${p.dim}, window ${window}, receptive field ${receptiveField(config)}) trained for ${p.retrievalSteps} steps on sequences of ${task.length} random filler tokens holding one of ${task.values} value tokens at distance δ ∈ [1, ${task.maxDistance}] before the final query, whose target is that value. Loss of the query: ${f3(loss(0, 50))} over the first 50 steps, ${f3(loss(losses.length - 50, losses.length))} over the last 50. Accuracy over ${TRIALS} fresh sequences per distance.`,
      mdTable(['distance', 'accuracy'], rows.map((r) => [r.distance, f3(r.accuracy)])),
    ],
    plots: [{
      name: 'accuracy', caption: 'Retrieval accuracy against distance; dashed: the bound (ω − 1)·L and chance',
      spec: {
        title: `Retrieval accuracy (window ${window}, ${p.layers} layers)`, xLabel: 'distance δ (tokens)', yLabel: 'accuracy', yMin: 0, yMax: 1,
        hLines: [{ value: chance, label: 'chance' }], vLines: [{ value: bound, label: `(ω − 1)·L = ${bound}` }],
        series: [{ name: 'SWAT', points: rows.map((r) => [r.distance, r.accuracy] as [number, number]) }],
      },
    }],
    claims,
    data: { dir, task, bound, chance, rows, influence, losses: losses.filter((_, i) => i % 10 === 0) },
  };
}
