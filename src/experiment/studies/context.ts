// What every study gets (preset, backend, data, run directory, logging) and the run specifications and
// evaluations several studies share: the SWAT recipe and the Transformer++ baseline are the same runs in
// the length, ablation and sink studies, so each is trained once.

import { binCurve, lossVsLength, type LengthRow } from '../../eval/length.js';
import type { Preset } from '../presets.js';
import { type RunContext, type RunSpec, type TrainedRun, cachedEval } from '../runs.js';

export interface StudyContext extends RunContext {
  /** Held-out token stream (read lazily: the efficiency study needs none). */
  heldOut: () => ArrayLike<number>;
  /** Folder with the zero-shot task files (piqa/, wikitext-2/), which the project does not ship. */
  evalData: string;
}

/** SWAT as the paper defines it: sigmoid, balanced ALiBi, RoPE, window ω, trained at T = 4ω. */
export function swatRun(p: Preset, seqLen = 4 * p.window): RunSpec {
  return { label: `SWAT (σ, ALiBi ±, RoPE) T=${seqLen}`, attention: 'sigmoid', alibi: 'balanced', rope: true, window: p.window, seqLen };
}

/** The vanilla Transformer++ of Table 2: softmax, RoPE, no ALiBi, full attention, trained at T = ω. */
export function vanillaRun(p: Preset): RunSpec {
  return { label: `Transformer++ (softmax, RoPE, full) T=${p.window}`, attention: 'softmax', alibi: 'none', rope: true, window: null, seqLen: p.window };
}

/** The evaluation lengths of SWAT.md §7.1: ω, 4ω, 16ω, 64ω. */
export function evalLengths(p: Preset): number[] {
  return [1, 4, 16, 64].map((k) => k * p.window);
}

export interface LengthEval {
  window: number | null;
  rows: LengthRow[];
  /** Loss along the longest chunks, in 64 equal bins: [first position of the bin, mean loss]. */
  curve: [number, number][];
}

/** Table 2 protocol on the held-out text, cached per checkpoint. */
export function lengthEval(ctx: StudyContext, run: TrainedRun, window: number | null): LengthEval {
  const lengths = evalLengths(ctx.preset);
  const key = `length:w=${window}:L=${lengths.join(',')}:tokens=${ctx.preset.evalTokens}`;
  return cachedEval(run, key, () => {
    ctx.log(`${run.spec.label}: loss at lengths ${lengths.join(', ')} with window ${window ?? 'none'}`);
    const r = lossVsLength(run.model, ctx.heldOut(), ctx.tokenizer, {
      lengths, window, maxTokens: ctx.preset.evalTokens,
      onProgress: (d, t) => ctx.progress(d, t, `${run.spec.label}: evaluating`),
    });
    const longest = lengths[lengths.length - 1]!;
    return { window: r.window, rows: r.rows, curve: binCurve(r.perPosition.get(longest)!, 64) };
  });
}

/** Mean of a list (NaN for none). */
export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
