// Sizes of the reproduction studies (SWAT.md §7). `small` finishes each study well under an hour on a
// 2-core CPU with the native backend; `large` is the same protocol with a wider model, a longer window and
// more steps, for a machine with time to spare; `tiny` runs the whole pipeline in seconds (a smoke test: it
// checks that everything runs, not the paper's claims). Not here: what each study trains (studies/).

import { InputError } from '../errors.js';

export interface Preset {
  name: string;
  layers: number;
  dim: number;
  heads: number;
  /** ω of every windowed run; lengths and training lengths are multiples of it. */
  window: number;
  intermediate: number;
  /** Tokens per optimiser step, the same for every training length so runs see equal data. */
  tokensPerStep: number;
  steps: number;
  lr: number;
  minLr: number;
  warmup: number;
  weightDecay: number;
  gradClip: number;
  evalInterval: number;
  checkpointInterval: number;
  /** Tokens scored per evaluation length (Table 2 protocol). */
  evalTokens: number;
  /** Held-out chunks the sink probe averages over. */
  probeSequences: number;
  /** Positions of the efficiency study's decode timings and training lengths of its step timings. */
  decodePositions: number[];
  trainLengths: number[];
  /** The receptive-field study's synthetic retrieval model: its window and training steps (a smaller
   *  window than the text models', so the bound (ω − 1)·L is short and sequences stay cheap). */
  retrievalWindow: number;
  retrievalSteps: number;
  seed: number;
}

// Why these numbers: byte-level text needs a few million tokens before a 3-layer model writes words;
// 1,500 steps of 2,048 tokens is 3M tokens, 2–8 minutes per run at the native backend's 8–30k tokens/s on
// 2 cores (depending on what else runs), so even the five-run ablation finishes well under an hour. A peak lr of 3e-3 with 100 warm-up steps is
// `swat train`'s tuned default for models of this width.
const SMALL: Preset = {
  name: 'small', layers: 3, dim: 96, heads: 4, window: 32, intermediate: 256,
  tokensPerStep: 2048, steps: 1500, lr: 3e-3, minLr: 3e-4, warmup: 100, weightDecay: 0.1, gradClip: 1,
  evalInterval: 100, checkpointInterval: 250, evalTokens: 32768, probeSequences: 16,
  decodePositions: [256, 1024, 4096, 16384], trainLengths: [32, 64, 128, 256, 512, 1024, 2048, 4096], retrievalWindow: 8, retrievalSteps: 1000, seed: 1234,
};

const LARGE: Preset = {
  ...SMALL, name: 'large', layers: 4, dim: 128, heads: 4, window: 64, intermediate: 384,
  tokensPerStep: 4096, steps: 4000, lr: 2e-3, minLr: 2e-4, warmup: 200, evalInterval: 200, checkpointInterval: 500,
  evalTokens: 65536, probeSequences: 32, decodePositions: [512, 2048, 8192, 32768], trainLengths: [64, 128, 256, 512, 1024, 2048, 4096, 8192], retrievalWindow: 16, retrievalSteps: 2000,
};

const TINY: Preset = {
  ...SMALL, name: 'tiny', layers: 2, dim: 16, heads: 2, window: 4, intermediate: 32,
  tokensPerStep: 64, steps: 4, warmup: 1, evalInterval: 2, checkpointInterval: 2, evalTokens: 64, probeSequences: 2,
  decodePositions: [8, 32], trainLengths: [4, 16], retrievalWindow: 4, retrievalSteps: 4,
};

export const PRESETS: Record<string, Preset> = { small: SMALL, large: LARGE, tiny: TINY };

export function preset(name: string, overrides: { steps?: number } = {}): Preset {
  const p = PRESETS[name];
  if (!p) throw new InputError(`unknown preset '${name}' (expected one of ${Object.keys(PRESETS).join(', ')})`);
  return { ...p, ...(overrides.steps !== undefined ? { steps: overrides.steps } : {}) };
}
