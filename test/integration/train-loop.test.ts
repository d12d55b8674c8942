/**
 * The training loop in this process, without the trainer process around it: a few steps of the
 * tiny preset over a dataset cache, each callback when the schedule says, and an abort that
 * stops it between steps. training-processes.test.ts runs the same loop as the real child.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { presetConfig } from '../../main/core/gan/config.js';
import { openEngine, type TrainingEngine } from '../../main/core/parallel/engine.js';
import { RandomState } from '../../main/core/gan/rng.js';
import type { TickMetrics } from '../../main/core/train/protocol.js';
import { DatasetSampler } from '../../main/core/train/sampler.js';
import { trainLoop, type TrainLoopOptions } from '../../main/core/train/train-loop.js';
import { backendReady } from '../helpers/gan.js';
import { tempDir } from '../helpers/paths.js';

const config = presetConfig('tiny');
const CACHE_RES = 64; // the dataset's cache, box-filtered to the preset's 32²
const SLOTS = 5;
let tmp: ReturnType<typeof tempDir>;
let cacheFile: string;

before(async () => {
  await backendReady;
  tmp = tempDir('train-loop');
  cacheFile = join(tmp.dir, 'cache.bin');
  writeFileSync(cacheFile, randomBytes(SLOTS * CACHE_RES * CACHE_RES * 3));
});
after(() => tmp.cleanup());

/** A fresh tiny engine, its sampler, and a log of every callback with the engine's step at the time. */
async function setUp(): Promise<{
  engine: TrainingEngine;
  batches: DatasetSampler;
  log: string[];
  ticks: TickMetrics[];
  callbacks: Pick<TrainLoopOptions, 'onStep' | 'onTick' | 'onSnapshot' | 'onCheckpoint'>;
}> {
  const info = await backendReady;
  const engine = await openEngine({ kind: 'fresh', config, seed: 5 }, 1, info.kind);
  const slots = Array.from({ length: SLOTS }, (_, i) => i);
  const batches = new DatasetSampler(cacheFile, CACHE_RES, config.resolution, slots, new RandomState(9));
  const log: string[] = [];
  const ticks: TickMetrics[] = [];
  return {
    engine,
    batches,
    log,
    ticks,
    callbacks: {
      onStep: (step) => log.push(`step ${step}`),
      onTick: (t) => (ticks.push(t), log.push(`tick ${t.step}`)),
      onSnapshot: async () => (log.push(`snapshot ${engine.step}`), true),
      onCheckpoint: async () => (log.push(`checkpoint ${engine.step}`), true),
    },
  };
}

/** kimg after n steps of the preset's batch. */
const kimg = (steps: number): number => (steps * config.batchSize) / 1000;

test('four steps of the tiny preset: a tick each step, snapshots and a checkpoint when due, then done', async () => {
  const { engine, batches, log, ticks, callbacks } = await setUp();
  try {
    const end = await trainLoop(engine, batches, {
      signal: new AbortController().signal,
      targetKimg: kimg(4),
      snapshotKimg: kimg(2),
      checkpointKimg: kimg(3),
      checkpointSeconds: 3600,
      tickSeconds: 0,
      ...callbacks,
    });
    assert.equal(end, 'done');
    assert.deepEqual(log, [
      'snapshot 0', // what an untrained G dreams
      'step 0',
      'tick 1',
      'step 1',
      'tick 2',
      'snapshot 2',
      'step 2',
      'tick 3',
      'checkpoint 3',
      'step 3',
      'tick 4',
      'snapshot 4',
      'snapshot 4', // the run's length: its last grid (the caller's snapshot writes a step once)
    ]);
    assert.equal(engine.step, 4);
    for (const t of ticks) {
      assert.equal(t.kimg, kimg(t.step));
      assert.ok(Number.isFinite(t.lossG) && Number.isFinite(t.lossD), JSON.stringify(t));
      assert.equal(t.datasetImages, SLOTS);
      assert.ok(t.imagesPerSec! > 0 && t.stepSeconds > 0 && t.tensors! > 0);
    }
  } finally {
    await engine.close();
    batches.close();
  }
});

test('an abort stops the loop at the next step boundary: the step in flight finishes, no other begins', async () => {
  const { engine, batches, log, callbacks } = await setUp();
  const stop = new AbortController();
  try {
    const end = await trainLoop(engine, batches, {
      signal: stop.signal,
      targetKimg: kimg(100),
      snapshotKimg: kimg(100),
      checkpointKimg: kimg(100),
      checkpointSeconds: 3600,
      tickSeconds: 0,
      ...callbacks,
      onStep: (step) => {
        log.push(`step ${step}`);
        if (step === 2) stop.abort(); // asked for while step 2 runs
      },
    });
    assert.equal(end, 'aborted');
    assert.equal(engine.step, 3, 'step 2 finished');
    assert.deepEqual(log, ['snapshot 0', 'step 0', 'tick 1', 'step 1', 'tick 2', 'step 2', 'tick 3']);
  } finally {
    await engine.close();
    batches.close();
  }
});

test('a snapshot that cannot be written keeps the progress with a checkpoint, and ends the loop', async () => {
  const { engine, batches, log, callbacks } = await setUp();
  try {
    const end = await trainLoop(engine, batches, {
      signal: new AbortController().signal,
      targetKimg: kimg(100),
      snapshotKimg: kimg(1),
      checkpointKimg: kimg(100),
      checkpointSeconds: 3600,
      tickSeconds: 3600,
      ...callbacks,
      onSnapshot: async () => (log.push(`snapshot ${engine.step}`), engine.step === 0),
    });
    assert.equal(end, 'failed');
    assert.deepEqual(log, ['snapshot 0', 'step 0', 'snapshot 1', 'checkpoint 1']);
  } finally {
    await engine.close();
    batches.close();
  }
});
