// SWAT.md §7.3, the paper's Table 3 analogue: five attention variants, all trained with sliding windows
// (window ω, T = 4ω) on the same tokens; loss at lengths ω … 64ω, its average, and how smoothly each trained.

import type { Preset } from '../presets.js';
import { type Claim, type StudyResult, f3, mdTable } from '../report.js';
import { type RunSpec, ensureRun, readCurve } from '../runs.js';
import { type StudyContext, evalLengths, lengthEval, mean, swatRun } from './context.js';

export function ablationRuns(p: Preset): RunSpec[] {
  const base = { window: p.window, seqLen: 4 * p.window };
  return [
    { ...base, label: 'softmax + RoPE', attention: 'softmax', alibi: 'none', rope: true },
    { ...base, label: 'sigmoid + RoPE', attention: 'sigmoid', alibi: 'none', rope: true },
    { ...base, label: 'sigmoid + ALiBi −', attention: 'sigmoid', alibi: 'negative', rope: false },
    { ...base, label: 'sigmoid + ALiBi ±', attention: 'sigmoid', alibi: 'balanced', rope: false },
    { ...swatRun(p), label: 'sigmoid + ALiBi ± + RoPE (SWAT)' },
  ];
}

/** Roughness of a training curve: RMS deviation of the per-step loss from its centred moving average
 *  (51 steps, narrower
 *  at the ends), over steps in [from, to). Spikes and oscillation raise it; a smooth descent keeps it low. */
export function roughness(curve: [number, number][], from: number, to: number): number {
  const k = 25;
  const dev: number[] = [];
  for (let i = 0; i < curve.length; i++) {
    const step = curve[i]![0];
    if (step < from || step >= to) continue;
    // Symmetric even at the ends, so a straight trend has no deviation.
    const half = Math.min(k, i, curve.length - 1 - i);
    const w = curve.slice(i - half, i + half + 1);
    const avg = w.reduce((a, x) => a + x[1], 0) / w.length;
    dev.push((curve[i]![1] - avg) ** 2);
  }
  return Math.sqrt(mean(dev));
}

export function ablation(ctx: StudyContext): StudyResult {
  const p = ctx.preset;
  const lengths = evalLengths(p);
  const runs = ablationRuns(p).map((s) => ensureRun(ctx, s));
  const rows = runs.map((run) => {
    const curve = readCurve(run.dir);
    const result = lengthEval(ctx, run, p.window);
    const losses = result.rows.map((r) => r.loss);
    return {
      label: run.spec.label, losses, average: mean(losses),
      finalVal: curve.val.length ? curve.val[curve.val.length - 1]![1] : NaN,
      rough: roughness(curve.train, p.warmup, p.steps + 1),
      lateRough: roughness(curve.train, Math.floor(0.75 * p.steps), p.steps + 1),
      curve,
    };
  });
  const swat = rows[4]!;
  const sigRope = rows[1]!;
  const noRope = rows[3]!;
  const bestAvg = Math.min(...rows.map((r) => r.average));
  const rank = (xs: number[], x: number) => [...xs].sort((a, b) => a - b).indexOf(x) + 1;
  const claims: Claim[] = [
    {
      claim: 'Sigmoid without a position bias (ALiBi) is the worst variant.',
      criterion: 'sigmoid + RoPE has the highest average loss over the evaluation lengths',
      observed: rows.map((r) => `${r.label}: ${f3(r.average)}`).join('; '),
      reproduced: sigRope.average === Math.max(...rows.map((r) => r.average)),
    },
    {
      claim: 'The full SWAT recipe (sigmoid + balanced ALiBi + RoPE) is best or near best.',
      criterion: 'its average loss within 0.02 nats of the best variant',
      observed: `SWAT ${f3(swat.average)}, best ${f3(bestAvg)} (rank ${rank(rows.map((r) => r.average), swat.average)} of ${rows.length})`,
      reproduced: swat.average <= bestAvg + 0.02,
    },
    {
      claim: 'SWAT has the most stable training curve.',
      criterion: 'lowest roughness (RMS deviation of the step loss from its 51-step moving average, after warm-up)',
      observed: rows.map((r) => `${r.label}: ${f3(r.rough)}`).join('; '),
      reproduced: swat.rough === Math.min(...rows.map((r) => r.rough)),
    },
    {
      claim: 'Sigmoid + balanced ALiBi without RoPE becomes unstable late in training.',
      criterion: 'its roughness over the last quarter of training ≥ 1.5 × SWAT\'s',
      observed: `without RoPE ${f3(noRope.lateRough)}, SWAT ${f3(swat.lateRough)}`,
      reproduced: noRope.lateRough >= 1.5 * swat.lateRough,
    },
  ];
  const smooth = (c: [number, number][]) => c.map(([s], i) => [s, mean(c.slice(Math.max(0, i - 24), i + 1).map((x) => x[1]))] as [number, number]);
  return {
    name: 'ablation',
    title: 'Ablation of the attention recipe (Table 3 analogue, SWAT.md §7.3)',
    sections: [
      `Five variants, all trained with sliding windows (window ${p.window}, T = ${4 * p.window}), the same data order and ${p.steps} steps; evaluated with window ${p.window} on held-out text.`,
      mdTable(
        ['variant', ...lengths.map((l) => `loss @ ${l}`), 'average', 'final val loss (T)', 'roughness', 'roughness, last quarter'],
        rows.map((r) => [r.label, ...r.losses.map(f3), `**${f3(r.average)}**`, f3(r.finalVal), f3(r.rough), f3(r.lateRough)]),
      ),
    ],
    plots: [
      {
        name: 'training', caption: 'Training loss (25-step running mean) of the five variants',
        spec: { title: 'Training loss by attention variant', xLabel: 'step', yLabel: 'training loss (nats/token)', series: rows.map((r) => ({ name: r.label, points: smooth(r.curve.train).filter(([s]) => s >= p.warmup) })) },
      },
      {
        name: 'loss', caption: 'Mean held-out loss against evaluation length',
        spec: { title: `Loss vs evaluation length (window ${p.window})`, xLabel: 'evaluation length (tokens)', yLabel: 'mean loss (nats/token)', logX: true, series: rows.map((r) => ({ name: r.label, points: r.losses.map((l, i) => [lengths[i]!, l] as [number, number]) })) },
      },
    ],
    claims,
    data: { runs: runs.map((r) => ({ dir: r.dir, spec: r.spec, step: r.step, trainSeconds: r.trainSeconds })), rows: rows.map(({ curve: _c, ...r }) => r) },
  };
}
