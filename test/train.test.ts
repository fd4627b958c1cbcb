// Training: the schedule, exact resume from a checkpoint (model, optimiser, step, random state), crash
// safety of checkpoints at the trainer level, stopping between steps, non-finite steps and divergence,
// the directory lock, gradient accumulation, and that training actually learns.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference.js';
import { makeConfig } from '../src/config.js';
import { SwatModel } from '../src/model/model.js';
import { learningRate } from '../src/train/schedule.js';
import { type TrainOptions, Trainer, METRICS_FILE, PLOT_FILE, STATE_FILE, readTrainerState } from '../src/train/trainer.js';
import { ByteLevelTokenizer } from '../src/tokenizer/byte-level.js';
import { DirLock, LOCK_FILE } from '../src/io/lock.js';
import { loadModel } from '../src/model/store.js';
import { readMetrics } from '../src/train/metrics.js';

const be = new ReferenceBackend('float32');
const tokenizer = new ByteLevelTokenizer();

function stream(n: number, seed: number): Int32Array {
  // A learnable stream: a repeating phrase with some variation.
  const text = Array.from({ length: n }, (_, i) => 'the cat sat on the mat. '.charCodeAt((i * (seed + 1)) % 24)).slice(0, n);
  return Int32Array.from(text);
}

const data = { train: stream(3000, 0), val: stream(600, 0) };

function options(patch: Partial<TrainOptions> = {}): TrainOptions {
  return {
    seqLen: 16, batchSize: 2, gradAccum: 1, maxSteps: 6, lr: 1e-2, minLr: 1e-3, warmupSteps: 2, weightDecay: 0.1,
    beta1: 0.9, beta2: 0.95, adamEps: 1e-8, gradClip: 1, evalInterval: 0, evalBatches: 2, checkpointInterval: 3, seed: 5,
    ...patch,
  };
}

function newModel(): SwatModel {
  return SwatModel.create(makeConfig({ vocabSize: 258, layers: 2, dim: 16, heads: 2, window: 4, intermediateSize: 24, bosId: 256, eosId: 257 }), be, 11);
}

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'swat-train-'));
}

/** A fresh run directory, locked as the trainer requires; `dir` to reuse one (after a simulated crash). */
function claim(dir = tmp()): DirLock {
  return DirLock.acquire(dir, 'test');
}

function losses(trainer: Trainer, stopAfter = Infinity): Map<number, number> {
  const out = new Map<number, number>();
  try {
    trainer.run((e) => {
      if (e.kind === 'step') out.set(e.step, e.loss);
      if (e.kind === 'step' && e.step >= stopAfter) throw new Error('simulated crash');
    });
  } catch (e) {
    if ((e as Error).message !== 'simulated crash') throw e;
  }
  return out;
}

test('learning rate: linear warm-up, cosine decay to the minimum', () => {
  const s = { lr: 1, minLr: 0.1, warmupSteps: 4, maxSteps: 14 };
  assert.deepEqual([0, 1, 2, 3].map((i) => learningRate(i, s)), [0.25, 0.5, 0.75, 1]);
  assert.equal(learningRate(4, s), 1);
  assert.ok(Math.abs(learningRate(9, s) - 0.55) < 1e-12); // half-way: (1 + 0.1) / 2
  assert.equal(learningRate(14, s), 0.1);
  assert.equal(learningRate(100, s), 0.1);
});

test('resuming a checkpoint reproduces the uninterrupted run exactly', () => {
  const full = losses(Trainer.start(newModel(), tokenizer, data, options(), claim()));
  assert.equal(full.size, 6);
  const lock = claim();
  const dir = lock.dir;
  const first = losses(Trainer.start(newModel(), tokenizer, data, options(), lock), 4); // dies after step 4
  assert.deepEqual([...first.keys()], [1, 2, 3, 4]);
  lock.release();
  const resumed = Trainer.resume(claim(dir), be, data);
  assert.equal(resumed.step, 3); // the last checkpoint
  const rest = losses(resumed);
  assert.deepEqual([...rest.keys()], [4, 5, 6]);
  for (const [step, loss] of rest) assert.equal(loss, full.get(step), `step ${step}`);
  // The metrics log reads as one run: the crashed run's step 4 was dropped, then logged again.
  const steps = readFileSync(join(dir, METRICS_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; loss?: number })
    .filter((m) => m.loss !== undefined).map((m) => m.step);
  assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
  assert.ok(readFileSync(join(dir, PLOT_FILE), 'utf8').startsWith('<svg'));
});

test('a half-written checkpoint is never loaded: the previous complete one is', () => {
  const lock = claim();
  const dir = lock.dir;
  losses(Trainer.start(newModel(), tokenizer, data, options({ maxSteps: 3 }), lock));
  lock.release();
  // What a writer killed mid-commit leaves: new files in .pending, no commit marker.
  mkdirSync(join(dir, '.pending'));
  writeFileSync(join(dir, '.pending', STATE_FILE), JSON.stringify({ step: 99 }));
  writeFileSync(join(dir, '.pending', 'model.safetensors'), Buffer.alloc(10));
  const t = Trainer.resume(claim(dir), be, data, { maxSteps: 6 });
  assert.equal(t.step, 3);
  assert.equal(existsSync(join(dir, '.pending')), false);
});

test('a checkpoint whose files disagree is refused with a one-line error', () => {
  const lock = claim();
  const dir = lock.dir;
  losses(Trainer.start(newModel(), tokenizer, data, options({ maxSteps: 3 }), lock));
  lock.release();
  const statePath = join(dir, STATE_FILE);
  const state = JSON.parse(readFileSync(statePath, 'utf8')) as { step: number };
  writeFileSync(statePath, JSON.stringify({ ...state, step: 2 }));
  assert.throws(() => Trainer.resume(claim(dir), be, data), {
    name: 'FormatError',
    message: `${join(dir, 'model.safetensors')}: written at step 3, ${statePath} is at step 2: the checkpoint is inconsistent`,
  });
});

test('gradient accumulation over K micro-batches matches one batch K times larger', () => {
  const a = Trainer.start(newModel(), tokenizer, data, options({ batchSize: 4, gradAccum: 1 }), claim());
  const b = Trainer.start(newModel(), tokenizer, data, options({ batchSize: 2, gradAccum: 2 }), claim());
  for (let i = 0; i < 3; i++) {
    const la = a.trainStep().loss;
    const lb = b.trainStep().loss;
    assert.ok(Math.abs(la - lb) < 1e-4, `step ${i}: ${la} vs ${lb}`);
  }
});

test('training learns: validation loss falls well below its starting value', () => {
  const t = Trainer.start(newModel(), tokenizer, data, options({ maxSteps: 60, lr: 1e-2, warmupSteps: 5, checkpointInterval: 0 }), claim());
  const before = t.validate();
  const after = t.run();
  assert.ok(after < before * 0.6, `validation loss ${before} → ${after}`);
});

test('data shorter than one sequence is a one-line data error', () => {
  assert.throws(() => Trainer.start(newModel(), tokenizer, { train: stream(10, 0), val: data.val }, options(), claim()), {
    name: 'DataError', message: 'training data has 10 tokens, a sequence of length 16 needs at least 17',
  });
});

/** The training steps in the metrics log, in order. */
function loggedSteps(dir: string): number[] {
  return readMetrics(dir).filter((m) => m.loss !== undefined).map((m) => m.step);
}

test('a run stopped between steps checkpoints there; resumed, it ends bit-identical to an uninterrupted run', async () => {
  const straight = Trainer.start(newModel(), tokenizer, data, options(), claim());
  straight.run();
  const lock = claim();
  const first = Trainer.start(newModel(), tokenizer, data, options(), lock);
  let steps = 0;
  const stopped = await first.runUntilStopped(() => steps >= 4, (e) => {
    if (e.kind === 'step') steps++;
  });
  assert.equal(stopped, null);
  assert.equal(readTrainerState(lock.dir)!.step, 4); // not a multiple of checkpointInterval (3): written on stop
  lock.release();
  const resumed = Trainer.resume(claim(lock.dir), be, data);
  assert.equal(resumed.step, 4);
  assert.notEqual(await resumed.runUntilStopped(() => false), null);
  assert.deepEqual(resumed.model.params.flat, straight.model.params.flat);
  assert.deepEqual(loggedSteps(lock.dir), [1, 2, 3, 4, 5, 6]);
});

test('a crash before the first periodic checkpoint resumes from step 0, and the log holds each step once', () => {
  const lock = claim();
  const crashed = losses(Trainer.start(newModel(), tokenizer, data, options({ checkpointInterval: 100 }), lock), 4);
  assert.equal(crashed.size, 4);
  lock.release();
  const resumed = Trainer.resume(claim(lock.dir), be, data);
  assert.equal(resumed.step, 0); // the run's first act was to commit its step 0
  losses(resumed);
  assert.deepEqual(loggedSteps(lock.dir), [1, 2, 3, 4, 5, 6]);
});

test('a diverging run skips non-finite steps, then stops with a TrainingError; the directory keeps its last finite checkpoint', () => {
  const lock = claim();
  const dir = lock.dir;
  const t = Trainer.start(newModel(), tokenizer, data, options({ lr: 3e3, gradClip: 0, warmupSteps: 0, maxSteps: 60, checkpointInterval: 2 }), lock);
  let message = '';
  assert.throws(() => t.run(), (e: Error) => {
    message = e.message;
    return e.name === 'TrainingError';
  });
  const m = new RegExp(`^training diverged at step (\\d+): (.*); ${dir} keeps the last finite checkpoint \\(step (\\d+)\\); lower the learning rate \\(peak 3000, gradient clipping off\\)$`).exec(message);
  assert.ok(m, message);
  assert.match(m[2]!, /^(10 steps in a row were skipped \(the last: loss is NaN\)|the loss is NaN and the weights are no longer finite)$/);
  assert.equal(readTrainerState(dir)!.step, Number(m[3]));
  const saved = loadModel(dir, be).model.params.flat;
  assert.ok(saved.every(Number.isFinite), 'the checkpoint holds only finite weights');
  const skipped = readMetrics(dir).filter((l) => l.skipped !== undefined);
  assert.ok(skipped.length > 0);
  assert.deepEqual(Object.keys(skipped[0]!).filter((k) => k === 'loss' || k === 'skipped'), ['loss', 'skipped']);
  assert.equal(skipped[0]!.loss, null);
  assert.equal(skipped[0]!.skipped, 'loss is NaN');
});

test('no checkpoint with a non-finite weight is ever written', () => {
  const fresh = claim();
  const broken = newModel();
  broken.params.flat[0] = NaN;
  assert.throws(() => Trainer.start(broken, tokenizer, data, options(), fresh).run(), {
    name: 'TrainingError',
    message: `training diverged at step 0: the weights are not finite, so no checkpoint is written; ${fresh.dir} holds no checkpoint of this run; lower the learning rate (peak 0.01)`,
  });
  assert.equal(Trainer.hasCheckpoint(fresh.dir), false);
  // A run with a finite checkpoint whose weights then break: the step is skipped, the run stops, the
  // checkpoint stays as it was.
  const lock = claim();
  Trainer.start(newModel(), tokenizer, data, options({ maxSteps: 3 }), lock).run();
  const before = readFileSync(join(lock.dir, 'model.safetensors'));
  const t = Trainer.resume(lock, be, data, { maxSteps: 6 });
  t.model.params.flat.fill(Infinity, 0, 10);
  assert.throws(() => t.run(), {
    name: 'TrainingError',
    message: `training diverged at step 4: the loss is NaN and the weights are no longer finite; ${lock.dir} keeps the last finite checkpoint (step 3); lower the learning rate (peak 0.01)`,
  });
  assert.deepEqual(readFileSync(join(lock.dir, 'model.safetensors')), before);
});

test('a trainer that lost its directory lock stops before writing', () => {
  const lock = claim();
  const t = Trainer.start(newModel(), tokenizer, data, options(), lock);
  assert.throws(() => t.run((e) => {
    if (e.kind === 'step' && e.step === 2) rmSync(join(lock.dir, LOCK_FILE));
  }), { name: 'LockError', message: /this process no longer holds its lock .* \(the lock file is gone\): stopping without writing$/ });
  assert.equal(readTrainerState(lock.dir)!.step, 0);
});
