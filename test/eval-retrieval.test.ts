// The synthetic retrieval task of SWAT.md §7.5: batches have the promised structure, and a briefly trained
// windowed model retrieves inside its receptive field and is at chance beyond (ω − 1)·L.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReferenceBackend } from '../src/backend/reference.js';
import { makeConfig } from '../src/config.js';
import { type RetrievalTask, retrievalAccuracy, retrievalBatch, retrievalVocab, trainRetrieval } from '../src/eval/retrieval.js';
import { SwatModel } from '../src/model/model.js';
import { Rng } from '../src/random.js';

const task: RetrievalTask = { values: 8, fillers: 8, length: 16, maxDistance: 14 };

test('retrievalBatch: one value token δ before the query, the only target', () => {
  const { inputs, targets, answers } = retrievalBatch(task, 5, new Rng(1), 6);
  for (let b = 0; b < 5; b++) {
    const row = Array.from(inputs.subarray(b * 16, (b + 1) * 16));
    assert.equal(row[15], 16); // the query id follows values and fillers
    assert.deepEqual(row.map((x, i) => (x < 8 ? i : -1)).filter((i) => i >= 0), [15 - 6]);
    assert.equal(row[9], answers[b]);
    assert.deepEqual(Array.from(targets.subarray(b * 16, (b + 1) * 16)), [...new Array(15).fill(-1), answers[b]]);
  }
  assert.equal(retrievalVocab(task), 17);
  assert.throws(() => retrievalBatch({ ...task, maxDistance: 16 }, 1, new Rng(1)), /maxDistance 16 needs length > 16/);
});

test('a trained windowed model retrieves within (ω − 1)·L and is at chance beyond it', () => {
  const be = new ReferenceBackend('float32');
  const m = SwatModel.create(makeConfig({ vocabSize: retrievalVocab(task), layers: 2, dim: 32, heads: 2, window: 4, intermediateSize: 64 }), be, 1);
  const losses = trainRetrieval(m, task, { steps: 100, batch: 16, lr: 1e-2, warmup: 10, seed: 1 });
  assert.ok(losses[losses.length - 1]! < losses[0]!);
  const rows = retrievalAccuracy(m, task, Array.from({ length: 14 }, (_, i) => i + 1), 128, 7);
  const bound = (4 - 1) * 2;
  const inside = rows.filter((r) => r.distance <= bound).map((r) => r.accuracy);
  const beyond = rows.filter((r) => r.distance > bound).map((r) => r.accuracy);
  assert.ok(inside.reduce((a, b) => a + b, 0) / inside.length > 0.3, `inside ${inside}`);
  // Chance is 1/8; 0.3 is six standard errors above it at 128 trials.
  assert.ok(beyond.every((a) => a < 0.3), `beyond ${beyond}`);
  assert.throws(() => retrievalAccuracy(m, task, [16], 4, 1), /distance must be in \[1, 15\]/);
});
