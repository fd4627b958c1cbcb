// Learning-rate schedule of SWAT.md §5: linear warm-up from 0, then cosine decay to a minimum.

export interface Schedule {
  lr: number;
  minLr: number;
  warmupSteps: number;
  maxSteps: number;
}

/** Learning rate for 0-based step `step`. */
export function learningRate(step: number, s: Schedule): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (step >= s.maxSteps) return s.minLr;
  const decaySteps = Math.max(1, s.maxSteps - s.warmupSteps);
  const progress = (step - s.warmupSteps) / decaySteps;
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.lr - s.minLr);
}
