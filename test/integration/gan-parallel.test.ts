import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint, REPLICA_RNGS_KEY, RNG_KEY, saveCheckpoint } from '../../main/core/netfile/checkpoint.js';
import { LocalEngine, type TrainingEngine } from '../../main/core/parallel/engine.js';
import { ParallelTrainer } from '../../main/core/parallel/parallel.js';
import type { GanConfig } from '../../main/core/gan/config.js';
import { RandomState, type RandomStateSnapshot } from '../../main/core/gan/rng.js';
import { readSafetensors, safetensorsMetadata } from '../../main/core/netfile/safetensors.js';
import { GanTrainer, type StepStats } from '../../main/core/gan/training.js';
import { backendReady, maxAbsDiff, micro } from '../helpers/gan.js';
import { tempDir } from '../helpers/paths.js';

const tmp = tempDir('parallel');
after(() => tmp.cleanup());

/** A fresh run's replicas on wasm, as the trainer opens them. */
const freshReplicas = (config: GanConfig, seed: number, replicas = 2): Promise<ParallelTrainer> =>
  ParallelTrainer.open({ kind: 'fresh', config, seed }, replicas, 'wasm');

test('two worker-thread replicas train in lockstep: identical weights, no leaks, whole-batch counters', async () => {
  const config = micro({ batchSize: 8, ada: { target: 0.6, interval: 2, kimg: 1, initialP: 0.2 } });
  const trainer = await freshReplicas(config, 4, 2);
  try {
    const rng = new RandomState(3);
    const tensorCounts: number[] = [];
    let last;
    for (let i = 0; i < 5; i++) {
      const reals = rng.randnF32(8 * 16 * 16 * 3).map((v) => Math.tanh(v));
      last = await trainer.trainStep(reals);
      const stats = await trainer.takeStats();
      assert.ok(Number.isFinite(stats.lossG) && Number.isFinite(stats.lossD));
      tensorCounts.push(trainer.memory().tensors);
    }
    assert.deepEqual(last!.phases.includes('Gmain'), true);
    assert.equal(last!.imagesSeen, 5 * 8, 'images seen count the whole batch');
    const digests = await trainer.digests();
    assert.equal(new Set(digests).size, 1, `replica weights differ: ${digests.join(' ')}`);
    // After the first step's allocations the tensor count (of both replicas) stays flat between
    // steps that run the same phases (steps 1 and 3: no regularisation; step 4 runs path length).
    assert.equal(tensorCounts[3], tensorCounts[1]);
  } finally {
    await trainer.close();
  }
});

test('a batch that does not split over the replicas is refused', async () => {
  await assert.rejects(freshReplicas(micro({ batchSize: 6 }), 1, 4), /does not split over 4 replicas/);
});

/** Every tensor of a checkpoint file, by name. */
async function tensorsOf(file: string): Promise<Map<string, Float32Array>> {
  const st = await readSafetensors(file, { requireChecksum: true });
  const out = new Map<string, Float32Array>();
  for (const n of st.names) out.set(n, await st.read(n));
  await st.close();
  return out;
}

/** The largest difference between two checkpoints' tensors under `prefix`, relative to each tensor's largest value. */
function worstRelative(a: Map<string, Float32Array>, b: Map<string, Float32Array>, prefix: string): number {
  let worst = 0;
  for (const [name, x] of a) {
    if (!name.startsWith(prefix)) continue;
    const scale = Math.max(...Array.from(x, Math.abs), 1e-30);
    worst = Math.max(worst, maxAbsDiff(x, b.get(name)!) / scale);
  }
  return worst;
}

test('two replicas of B/2 equal one trainer of B on the same images (R1 step: gradients, statistics)', async () => {
  // The one phase whose inputs are all given (real images; no latents, noise or augmentation at
  // p = 0), so the two compute the same mathematics and differ only in summation order. D's
  // minibatch-stddev groups are strided over the batch (row n is in group n mod B/G): the single
  // trainer gets the rows interleaved so its groups are exactly the replicas' halves.
  await backendReady;
  const config = micro({ batchSize: 8 });
  const pixels = 16 * 16 * 3;
  const rng = new RandomState(21);
  const halves = [0, 1].map(() => rng.randnF32(4 * pixels).map((v) => Math.tanh(v)));
  const interleaved = new Float32Array(8 * pixels);
  for (let i = 0; i < 4; i++)
    for (let r = 0; r < 2; r++)
      interleaved.set(halves[r]!.subarray(i * pixels, (i + 1) * pixels), (2 * i + r) * pixels);
  const contiguous = new Float32Array(8 * pixels);
  contiguous.set(halves[0]!, 0);
  contiguous.set(halves[1]!, 4 * pixels);

  const stepOnce = async (engine: TrainingEngine, reals: Float32Array, file: string): Promise<StepStats> => {
    await engine.trainStep(reals, ['Dreg']);
    const stats = await engine.takeStats();
    await engine.save(file, {});
    await engine.close();
    return stats;
  };
  const parallelStats = await stepOnce(await freshReplicas(config, 5, 2), contiguous, join(tmp.dir, 'par.st'));
  const singleStats = await stepOnce(new LocalEngine(new GanTrainer(config, 5)), interleaved, join(tmp.dir, 'one.st'));
  // The same images in groups the replicas do not share: what the comparison must tell apart.
  const mixedStats = await stepOnce(new LocalEngine(new GanTrainer(config, 5)), contiguous, join(tmp.dir, 'mix.st'));
  const [par, one, mixed] = [
    await tensorsOf(join(tmp.dir, 'par.st')),
    await tensorsOf(join(tmp.dir, 'one.st')),
    await tensorsOf(join(tmp.dir, 'mix.st')),
  ];

  // float32 sums of 8 terms against two sums of 4 then their mean: a few ulp of the largest
  // term (measured 4e-6 of each tensor's largest value), so 1e-4 is ample, while other groups
  // differ by ~1. Adam's v = (1−β2)·g² after one step holds the averaged gradient itself. The
  // weights are not compared: Adam's first update is ±lr·g/|g|, which hides a scale error and
  // turns a last-ulp difference in a gradient near zero into a full lr step.
  const TOLERANCE = 1e-4;
  const gradients = worstRelative(one, par, 'opt.D.v.');
  assert.ok(gradients < TOLERANCE, `D's gradients differ by ${gradients} of their scale`);
  assert.ok(Math.abs(parallelStats.r1Penalty! / singleStats.r1Penalty! - 1) < TOLERANCE, 'the R1 penalty');
  assert.ok(Math.abs(parallelStats.scoreReal! - singleStats.scoreReal!) < TOLERANCE, 'the mean real score');
  assert.ok(worstRelative(one, mixed, 'opt.D.v.') > 100 * TOLERANCE, 'other groups give other gradients');
  assert.notEqual(mixedStats.r1Penalty, singleStats.r1Penalty);
});

test('checkpoints hold every replica RNG; resume with two replicas is bit-exact; other counts are defined', async () => {
  const config = micro({ batchSize: 8, ada: { target: 0.6, interval: 2, kimg: 1, initialP: 0.1 } });
  const rng = new RandomState(12);
  const batches = Array.from({ length: 4 }, () => rng.randnF32(8 * 16 * 16 * 3).map((v) => Math.tanh(v)));
  const straightFile = join(tmp.dir, 'straight.st');
  const straight = await freshReplicas(config, 9, 2);
  for (const b of batches) await straight.trainStep(b.slice());
  const digests = await straight.digests();
  await straight.save(straightFile, {});
  await straight.close();

  const half = join(tmp.dir, 'half.st');
  const first = await freshReplicas(config, 9, 2);
  for (const b of batches.slice(0, 2)) await first.trainStep(b.slice());
  await first.save(half, {});
  await first.close();
  const meta = await safetensorsMetadata(half, { requireChecksum: true });
  const rngs = JSON.parse(meta[REPLICA_RNGS_KEY]!) as RandomStateSnapshot[];
  assert.equal(rngs.length, 2);
  assert.deepEqual(JSON.parse(meta[RNG_KEY]!), rngs[0], 'replica 0 is what one process would store');
  assert.notDeepEqual(rngs[0], rngs[1]);

  const init = { kind: 'checkpoint', path: half, config, fork: false, seed: 9 } as const;
  const resumed = await ParallelTrainer.open(init, 2, 'wasm');
  assert.equal(resumed.step, 2);
  for (const b of batches.slice(2)) await resumed.trainStep(b.slice());
  assert.deepEqual(await resumed.digests(), digests, 'weights after resume');
  const seeds = [0, 1, 2, 3, 4];
  const grid = await resumed.sample(seeds, 0.7); // each replica draws a share of the seeds
  const resumedFile = join(tmp.dir, 'resumed.st');
  await resumed.save(resumedFile, {});
  await resumed.close();
  const sha = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');
  assert.equal(sha(resumedFile), sha(straightFile), 'the whole checkpoint, RNG states included');

  await backendReady;
  const local = new LocalEngine(await loadCheckpoint(resumedFile));
  assert.deepEqual(grid, await local.sample(seeds, 0.7), 'the replicas draw what one G_ema draws');
  await local.close();

  // One replica from a two-replica checkpoint: replica 0's stream goes on.
  const single = await loadCheckpoint(half);
  assert.deepEqual(single.rng.snapshot(), rngs[0]);
  const singleFile = join(tmp.dir, 'single.st');
  await saveCheckpoint(single, singleFile);
  single.dispose();
  // Two replicas from a one-replica checkpoint: replica 1 starts the stream a fresh run gives it.
  const widened = await ParallelTrainer.open({ ...init, path: singleFile }, 2, 'wasm');
  const widenedFile = join(tmp.dir, 'widened.st');
  await widened.save(widenedFile, {});
  await widened.close();
  const fresh = new GanTrainer(config, 9, { index: 1, count: 2, allReduce: (p) => p });
  const widenedRngs = JSON.parse(
    (await safetensorsMetadata(widenedFile, { requireChecksum: true }))[REPLICA_RNGS_KEY]!,
  ) as RandomStateSnapshot[];
  assert.deepEqual(widenedRngs, [rngs[0], fresh.rng.snapshot()]);
  fresh.dispose();
});
