/**
 * The 64² preset trains on wasm: every phase (G, G+PL, D, D+R1) runs a real step of the preset's
 * full-size networks inside one wasm instance's 4 GiB, and the heap stays within what the memory
 * model (runtime/round-plan.ts), from which capacity.ts and the trainer size their rounds, predicts.
 *
 * Reduced batch, and why that still proves the bound: a step of 4 images (one minibatch-stddev
 * group, the smallest round the preset trains in) takes ~10 minutes on this 2-core machine, far
 * over what the suite can spend. Peak memory is the state plus one round, whatever the batch (the
 * rounds run one after another and only their gradient sums carry over), so one image per round
 * (minibatch-stddev group 1) checks the same state, the same per-image cost the model scales by
 * the round size, and every phase's backward pass. The full preset's step is the benchmark's
 * (`npm run bench -- train --preset 64 --backend wasm`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../main/core/runtime/backend.js';
import { presetConfig } from '../../main/core/gan/config.js';
import { GanTrainer, type PhaseName } from '../../main/core/gan/training.js';
import { WASM_LIMIT_BYTES, trainingBytes } from '../../main/core/runtime/round-plan.js';
import { wasmHeapBytes } from '../../main/core/runtime/wasm-memory.js';
import { presetFit } from '../../main/core/train/capacity.js';

/** One step of heap growth (the heap grows in ~100 MB steps): the model is checked to this. */
const GROWTH_STEP = 128 * 2 ** 20;

test('the 64² preset fits on wasm, in the rounds capacity.ts chose', () => {
  const fit = presetFit('64', 'wasm');
  assert.equal(fit.fits, true, fit.reason ?? '');
  assert.ok(fit.rounds && fit.rounds.perRound >= 4 && fit.rounds.plPerRound >= 1, JSON.stringify(fit.rounds));
  const trains = presetConfig('64');
  assert.ok(
    trainingBytes(trains, fit.rounds.perRound, fit.rounds.plPerRound) < WASM_LIMIT_BYTES,
    'the model predicts the chosen rounds within 4 GiB',
  );
});

test('a real step of every phase of the 64² networks on wasm, within the predicted memory', async () => {
  await initBackend('wasm', () => {});
  const config = presetConfig('64', { batchSize: 1, mbstdGroupSize: 1 });
  const trainer = new GanTrainer(config, 1);
  assert.deepEqual([trainer.perRound, trainer.plPerRound], [1, 1]);
  const reals = tf.randomUniform([1, 64, 64, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  trainer.counters.augmentP = 0.2; // augmentation on, as on a small dataset
  const tensorsBefore = tf.memory().numTensors;
  const predicted = trainingBytes(config, 1, 1);
  const seen: Record<string, number> = {};
  for (const phase of ['Gmain', 'Greg', 'Dmain', 'Dreg'] as PhaseName[]) {
    trainer.counters.step = 0; // a step where every phase is due
    const report = await trainer.trainStep(reals, [phase]);
    assert.deepEqual(report.phases, [phase]);
    const stats = await trainer.takeStats();
    for (const [name, value] of Object.entries(stats))
      if (value !== null) assert.ok(Number.isFinite(value), `${phase}: ${name} = ${value}`);
    const heap = wasmHeapBytes()!;
    seen[phase] = Math.round(heap / 2 ** 20);
    assert.ok(heap < WASM_LIMIT_BYTES, `${phase}: heap ${seen[phase]} MB`);
    assert.ok(
      heap <= predicted + GROWTH_STEP,
      `${phase}: heap ${seen[phase]} MB over the model's ${Math.round(predicted / 2 ** 20)} MB`,
    );
  }
  // Leaks are checked where a second step is affordable (gan-rounds: the same code, in rounds);
  // here the first step also makes the constants that stay for later steps (FIR filters).
  assert.ok(tf.memory().numTensors - tensorsBefore < 16, 'only a few constants are kept');
  console.log(`heap after each phase (MB): ${JSON.stringify(seen)}; model ${Math.round(predicted / 2 ** 20)} MB`);
  reals.dispose();
  trainer.dispose();
});
