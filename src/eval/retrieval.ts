// The synthetic retrieval task of SWAT.md §7.5: a sequence of random filler tokens holding exactly one
// "value" token δ positions before the final query token, whose next-token target is that value. A model
// trained on it can only answer while the value is within its receptive field: beyond (ω − 1)·L positions
// nothing flows (§3.2), so accuracy there must be chance, 1 / (number of values). Inside the bound, how far
// the model actually reaches shows how well it relays information through the layers.
//
// Here: the task, a short training loop for it (only the query position has a target, so the generic
// trainer's text sampling does not fit) and the accuracy against distance. Not here: plots, run storage.

import { InputError } from '../errors.js';
import type { SwatModel } from '../model/model.js';
import { Rng } from '../random.js';
import { AdamW, clipGradients } from '../train/optimizer.js';
import { learningRate } from '../train/schedule.js';

export interface RetrievalTask {
  /** Value tokens are ids 0 … values − 1. */
  values: number;
  /** Filler tokens are the next `fillers` ids; the query token is the id after them. */
  fillers: number;
  /** Sequence length T; the query is its last token. */
  length: number;
  /** Largest distance trained and probed (≤ length − 1). */
  maxDistance: number;
}

/** Vocabulary size the task needs: values, fillers and the query token. */
export function retrievalVocab(t: RetrievalTask): number {
  return t.values + t.fillers + 1;
}

function checkTask(t: RetrievalTask): void {
  for (const k of ['values', 'fillers', 'length', 'maxDistance'] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 1) throw new InputError(`retrieval task: ${k} must be a positive integer, got ${t[k]}`);
  }
  if (t.maxDistance > t.length - 1) throw new InputError(`retrieval task: maxDistance ${t.maxDistance} needs length > ${t.maxDistance}, got ${t.length}`);
}

/** B sequences (B, T) and their targets (−1 except at the query). `distance` fixes δ; otherwise each row
 *  draws δ uniformly from 1 … maxDistance. */
export function retrievalBatch(t: RetrievalTask, B: number, rng: Rng, distance?: number): { inputs: Int32Array; targets: Int32Array; answers: number[] } {
  checkTask(t);
  const T = t.length;
  const inputs = new Int32Array(B * T);
  const targets = new Int32Array(B * T).fill(-1);
  const answers: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < T - 1; i++) inputs[b * T + i] = t.values + rng.int(t.fillers);
    const d = distance ?? 1 + rng.int(t.maxDistance);
    const v = rng.int(t.values);
    inputs[b * T + T - 1 - d] = v;
    inputs[b * T + T - 1] = t.values + t.fillers;
    targets[b * T + T - 1] = v;
    answers.push(v);
  }
  return { inputs, targets, answers };
}

export interface RetrievalTraining {
  steps: number;
  batch: number;
  lr: number;
  warmup: number;
  seed: number;
  onStep?: (step: number, loss: number) => void;
}

/** Trains `model` on the task in place (AdamW, warm-up and cosine decay, clipping at 1); returns the
 *  per-step losses. */
export function trainRetrieval(model: SwatModel, t: RetrievalTask, o: RetrievalTraining): number[] {
  if (model.config.vocab_size < retrievalVocab(t)) throw new InputError(`retrieval task needs a vocabulary of ${retrievalVocab(t)}, the model has ${model.config.vocab_size}`);
  const rng = new Rng(o.seed);
  const grads = model.zerosLike();
  const opt = new AdamW(model.backend, model.zerosLike(), model.zerosLike(), { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.01 });
  const losses: number[] = [];
  for (let step = 0; step < o.steps; step++) {
    const { inputs, targets } = retrievalBatch(t, o.batch, rng);
    grads.flat.fill(0);
    const loss = model.forward(inputs, targets, o.batch, t.length);
    model.backward(targets, grads);
    clipGradients(model.backend, grads, 1);
    opt.update(model.params, grads, learningRate(step, { lr: o.lr, minLr: o.lr / 10, warmupSteps: o.warmup, maxSteps: o.steps }));
    losses.push(loss);
    o.onStep?.(step + 1, loss);
  }
  return losses;
}

export interface RetrievalRow {
  distance: number;
  accuracy: number;
}

/** Accuracy of the argmax prediction at the query, for each distance, over `trials` sequences. */
export function retrievalAccuracy(model: SwatModel, t: RetrievalTask, distances: number[], trials: number, seed: number): RetrievalRow[] {
  const rng = new Rng(seed);
  const V = model.config.vocab_size;
  const T = t.length;
  return distances.map((distance) => {
    if (!Number.isInteger(distance) || distance < 1 || distance > T - 1) throw new InputError(`retrieval distance must be in [1, ${T - 1}], got ${distance}`);
    const { inputs, targets, answers } = retrievalBatch(t, trials, rng, distance);
    model.forward(inputs, targets, trials, T);
    const logits = model.logits;
    let hits = 0;
    for (let b = 0; b < trials; b++) {
      const row = logits.subarray(((b + 1) * T - 1) * V, (b + 1) * T * V);
      let best = 0;
      for (let i = 1; i < V; i++) if (row[i]! > row[best]!) best = i;
      if (best === answers[b]) hits++;
    }
    return { distance, accuracy: hits / trials };
  });
}
