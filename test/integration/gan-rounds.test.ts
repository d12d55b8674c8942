/**
 * Gradient accumulation: a phase run in rounds of batchGpu images gives the gradients (and
 * statistics, w_avg and RNG state) of the same phase run on the whole batch at once, for every
 * loss term — G, path length, D, R1 — with augmentation and style mixing on. The rounds a trainer
 * takes are its caller's plan, however the trainer starts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { RandomState } from '../../main/core/gan/rng.js';
import { roundIndices, type RoundPlanner } from '../../main/core/gan/rounds.js';
import { saveCheckpoint, saveGenerator } from '../../main/core/netfile/checkpoint.js';
import { LocalEngine, buildTrainer, openEngine } from '../../main/core/parallel/engine.js';
import { autoRoundSize, largestActivationBytes } from '../../main/core/runtime/round-plan.js';
import { presetConfig } from '../../main/core/gan/config.js';
import { GanTrainer, type PhaseName } from '../../main/core/gan/training.js';
import { backendReady, micro, readAndDispose } from '../helpers/gan.js';
import { tempDir } from '../helpers/paths.js';

before(() => backendReady);
const tmp = tempDir('rounds');
after(() => tmp.cleanup());

test('rounds hold whole minibatch-stddev groups, in the batch grouping', () => {
  // Batch 16, groups of 4: group q = {q, q+4, q+8, q+12}; rounds of 8 hold groups {0,1} and {2,3}.
  const rounds = roundIndices(16, 8, 4)!;
  assert.deepEqual(
    rounds.map((r) => Array.from(r)),
    [
      [0, 1, 4, 5, 8, 9, 12, 13],
      [2, 3, 6, 7, 10, 11, 14, 15],
    ],
  );
  // Inside a round of 8 with groups of 4, the round's own groups are (j, j+2, j+4, j+6).
  for (const r of rounds)
    for (let j = 0; j < 2; j++) assert.equal(new Set([0, 2, 4, 6].map((k) => r[j + k]! % 4)).size, 1);
  assert.equal(roundIndices(8, 8, 4), null, 'one round: the batch as it is');
  assert.throws(() => roundIndices(16, 2, 4), /whole minibatch-stddev groups of 4/);
  assert.throws(() => roundIndices(12, 8, 4), /do not split into rounds of 8/);
  assert.deepEqual(Array.from(roundIndices(8, 4, 0)![1]!), [4, 5, 6, 7], 'no D: plain slices');
});

/** Runs one phase with Adam's update replaced by a capture of the gradients it was given. */
async function phaseResult(trainer: GanTrainer, phase: PhaseName, reals: tf.Tensor4D) {
  // apply runs inside the step, synchronously: keep copies, read once the step is done.
  const kept = new Map<string, tf.Tensor>();
  for (const opt of [trainer.optG, trainer.optD]) {
    opt.apply = (grads: tf.NamedTensorMap) => {
      for (const [k, g] of Object.entries(grads)) {
        const name = k.replace(/^[^/]*\//, '');
        kept.get(name)?.dispose();
        kept.set(name, tf.keep(tf.clone(g)));
      }
    };
  }
  trainer.counters.step = 0; // every phase is due at step 0
  await trainer.trainStep(reals, [phase]);
  const captured = new Map<string, Float32Array>();
  for (const [k, g] of kept) captured.set(k, await readAndDispose(g));
  const stats = await trainer.takeStats();
  const wAvg = (await trainer.G.variable('mapping.w_avg').data()) as Float32Array;
  return { grads: captured, stats, wAvg, rng: trainer.rng.snapshot(), counters: await trainer.syncCounters() };
}

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

/**
 * Float tolerance: the rounds add the same per-sample terms in a different order (per-round
 * sums, then a sum over rounds), so each gradient moves by float32 rounding, ~1e-7 relative per
 * addition. Measured on wasm: at most 5.9e-6 (R1), 2.8e-6 (D), 1.9e-6 (G), 7.5e-7 (path length);
 * 5e-5 leaves 8× over the worst. A sample in the wrong minibatch-stddev group changes D's
 * output: that gave errors of order 1 (3.3 relative) when tried.
 */
const TOLERANCE = 5e-5;

test('N rounds of B/N give one round of B: gradients of G, path length, D and R1; statistics; w_avg; RNG', async () => {
  const ada = { target: 0.6, interval: 4, kimg: 100, initialP: 0.4 }; // augmentation on
  const whole = new GanTrainer(micro({ batchSize: 16, ada }), 5);
  const rounds = new GanTrainer(micro({ batchSize: 16, batchGpu: 4, ada }), 5);
  const reals = tf.tensor4d(new RandomState(2).randnF32(16 * 16 * 16 * 3).map(Math.tanh), [16, 16, 16, 3]);
  for (const phase of ['Gmain', 'Greg', 'Dmain', 'Dreg'] as PhaseName[]) {
    const [a, b] = [await phaseResult(whole, phase, reals), await phaseResult(rounds, phase, reals)];
    assert.equal(b.grads.size, a.grads.size, `${phase}: the same parameters have gradients`);
    let worst = 0;
    let worstName = '';
    for (const [k, g] of a.grads) {
      const err = relativeError(b.grads.get(k)!, g);
      if (err > worst) [worst, worstName] = [err, k];
    }
    console.log(`${phase}: worst relative gradient difference ${worst.toExponential(2)} (${worstName})`);
    assert.ok(worst <= TOLERANCE, `${phase}: ${worstName} differs by ${worst} relative`);
    for (const key of ['lossG', 'lossD', 'r1Penalty', 'plPenalty', 'scoreReal', 'scoreFake'] as const) {
      const [x, y] = [a.stats[key], b.stats[key]];
      assert.equal(x === null, y === null, `${phase} ${key} reported in both`);
      if (x !== null)
        assert.ok(Math.abs(x - y!) <= TOLERANCE * Math.max(1, Math.abs(x)), `${phase} ${key}: ${x} vs ${y}`);
    }
    assert.ok(relativeError(b.wAvg, a.wAvg) <= TOLERANCE, `${phase}: w_avg`);
    assert.ok(Math.abs(a.counters.plMean - b.counters.plMean) <= TOLERANCE * Math.max(1, a.counters.plMean));
    assert.equal(a.counters.adaSignSum, b.counters.adaSignSum, `${phase}: ADA sign sums`);
    assert.deepEqual(b.rng, a.rng, `${phase}: the same random draws`);
  }
  reals.dispose();
  whole.dispose();
  rounds.dispose();
});

test('in rounds, a step leaks no tensors', async () => {
  const trainer = new GanTrainer(micro({ batchSize: 8, batchGpu: 4 }), 1);
  const reals = tf.tensor4d(new RandomState(3).randnF32(8 * 16 * 16 * 3).map(Math.tanh), [8, 16, 16, 3]);
  await trainer.trainStep(reals);
  await trainer.takeStats();
  const before = tf.memory().numTensors;
  trainer.counters.step = 0; // all four phases again
  await trainer.trainStep(reals);
  await trainer.takeStats();
  assert.equal(tf.memory().numTensors, before);
  reals.dispose();
  trainer.dispose();
});

test("without a batchGpu, rounds are sized to the GPU's largest storage binding", () => {
  const c = presetConfig('64'); // batch 32; at 64², 256 channels: the up-sampling conv's phases are the largest
  assert.equal(largestActivationBytes(c), 33 * 33 * 4 * 256 * 4);
  assert.equal(autoRoundSize(c, 32, null), 32, 'no binding limit (CPU, CUDA): the whole batch');
  assert.equal(autoRoundSize(c, 32, 4 * 2 ** 30), 32, 'a discrete GPU with 4 GiB bindings');
  assert.equal(autoRoundSize(c, 32, 128 * 2 ** 20), 16, "lavapipe's 128 MiB: rounds of 16 (30 images would fit)");
  assert.equal(autoRoundSize(c, 32, 1), 4, 'never below one minibatch-stddev group');
});

test('a trainer takes the rounds its caller plans, for its share of the batch; batchGpu overrides them', () => {
  const asked: number[] = [];
  const plan: RoundPlanner = (config, n) => {
    asked.push(n);
    assert.equal(config.batchSize, 16);
    return { perRound: 4, plPerRound: 2 };
  };
  const planned = new GanTrainer(micro({ batchSize: 16 }), 1, null, plan);
  assert.deepEqual([planned.perRound, planned.plPerRound], [4, 2]);
  const replica = new GanTrainer(micro({ batchSize: 16 }), 1, { index: 1, count: 2, allReduce: (p) => p }, plan);
  assert.deepEqual(asked, [16, 8], "the planner sizes each trainer's own share");
  const fixed = new GanTrainer(micro({ batchSize: 16, batchGpu: 8 }), 1, null, plan);
  assert.deepEqual([fixed.perRound, fixed.plPerRound], [8, 8], "the config's batchGpu is the user's choice");
  // No plan: one round per phase, whatever backend this process chose (the test's: wasm here).
  const whole = new GanTrainer(micro({ batchSize: 16 }), 1);
  assert.deepEqual([whole.perRound, whole.plPerRound], [16, 16]);
  for (const t of [planned, replica, fixed, whole]) t.dispose();
});

test("rounds from the caller's plan give the whole batch's gradients (path length and R1)", async () => {
  const reals = tf.tensor4d(new RandomState(4).randnF32(16 * 16 * 16 * 3).map(Math.tanh), [16, 16, 16, 3]);
  const whole = new GanTrainer(micro({ batchSize: 16 }), 6);
  const planned = new GanTrainer(micro({ batchSize: 16 }), 6, null, () => ({ perRound: 4, plPerRound: 2 }));
  for (const phase of ['Greg', 'Dreg'] as PhaseName[]) {
    const [a, b] = [await phaseResult(whole, phase, reals), await phaseResult(planned, phase, reals)];
    assert.equal(b.grads.size, a.grads.size);
    for (const [k, g] of a.grads) assert.ok(relativeError(b.grads.get(k)!, g) <= TOLERANCE, `${phase}: ${k}`);
    assert.deepEqual(b.rng, a.rng, `${phase}: the same random draws`);
  }
  reals.dispose();
  whole.dispose();
  planned.dispose();
});

test('the plan reaches the trainer however it starts: fresh, from a checkpoint, from a generator file', async () => {
  const config = micro({ batchSize: 8 });
  const plan: RoundPlanner = () => ({ perRound: 4, plPerRound: 1 });
  const source = new GanTrainer(config, 2);
  const checkpoint = join(tmp.dir, 'run.st');
  const generator = join(tmp.dir, 'G_ema.st');
  await saveCheckpoint(source, checkpoint);
  await saveGenerator(source, generator);
  source.dispose();
  for (const init of [
    { kind: 'fresh', config, seed: 3 },
    { kind: 'checkpoint', path: checkpoint, config, fork: false, seed: 3 },
    { kind: 'checkpoint', path: checkpoint, config, fork: true, seed: 3 },
    { kind: 'generator', path: generator, config, seed: 3 },
  ] as const) {
    const trainer = await buildTrainer(init, null, plan);
    assert.deepEqual(
      [trainer.perRound, trainer.plPerRound],
      [4, 1],
      `${init.kind}${'fork' in init ? ` fork ${init.fork}` : ''}`,
    );
    trainer.dispose();
  }
  const engine = await openEngine(
    { kind: 'checkpoint', path: checkpoint, config, fork: false, seed: 3 },
    1,
    'wasm',
    plan,
  );
  assert.ok(engine instanceof LocalEngine);
  assert.deepEqual([engine.trainer.perRound, engine.trainer.plPerRound], [4, 1], 'a local engine passes it on');
  await engine.close();
});
