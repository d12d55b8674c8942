import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ParallelTrainer } from '../../main/core/gan/parallel.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { micro } from '../helpers/gan.js';

test('two worker-thread replicas train in lockstep: identical weights, no leaks, whole-batch counters', async () => {
  const config = micro({ batchSize: 8, ada: { target: 0.6, interval: 2, kimg: 1, initialP: 0.2 } });
  const trainer = await ParallelTrainer.create(config, 4, 2);
  try {
    const rng = new RandomState(3);
    const tensorCounts: number[][] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      const reals = rng.randnF32(8 * 16 * 16 * 3).map((v) => Math.tanh(v));
      last = await trainer.trainStep(reals);
      assert.ok(Number.isFinite(last.lossG) && Number.isFinite(last.lossD));
      tensorCounts.push(last.tensors);
    }
    assert.deepEqual(last!.phases.includes('Gmain'), true);
    assert.equal(last!.imagesSeen, 5 * 8, 'images seen count the whole batch');
    const digests = await trainer.digests();
    assert.equal(new Set(digests).size, 1, `replica weights differ: ${digests.join(' ')}`);
    // After the first step's allocations the tensor count stays flat in every replica.
    assert.deepEqual(tensorCounts.at(-1), tensorCounts[1]);
  } finally {
    await trainer.close();
  }
});

test('a batch that does not split over the replicas is refused', async () => {
  await assert.rejects(ParallelTrainer.create(micro({ batchSize: 6 }), 1, 4), /does not split over 4 replicas/);
});
