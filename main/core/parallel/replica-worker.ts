/**
 * One data-parallel replica in a worker thread: its own tfjs (wasm) instance and a full
 * GanTrainer that runs each step on its share of the batch and averages gradients with the
 * other replicas through shared memory. Driven by ParallelTrainer (parallel.ts), one answer per request
 * (util/child-rpc.ts).
 */
import { createHash } from 'node:crypto';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { makeAllReduce } from './all-reduce.js';
import { initBackend } from '../runtime/backend.js';
import { saveCheckpoint, saveGenerator } from '../netfile/checkpoint.js';
import { buildTrainer } from './engine.js';
import { roundPlanner } from '../runtime/round-plan.js';
import type { ReplicaInit, ReplicaProtocol } from './parallel.js';
import { serve } from '../util/child-rpc.js';
import { portTransport } from '../util/transport.js';
import { sampleSeeds } from '../gan/sample.js';
import type { GanTrainer } from '../gan/training.js';

const { init, index, backend, buffers } = workerData as ReplicaInit;
const port = parentPort!;
const held = (): { tensors: number; bytes: number } => ({
  tensors: tf.memory().numTensors,
  bytes: tf.memory().numBytes,
});

/** The trainer, built as the thread starts; a failure answers every request (the owner then ends the thread). */
const started: Promise<{ trainer: GanTrainer; backend: string }> = (async () => {
  const info = await initBackend(backend);
  const replica = { index, count: buffers.count, allReduce: makeAllReduce(buffers, index) };
  const trainer = await buildTrainer(init, replica, roundPlanner(info)); // this thread's own wasm instance
  return { trainer, backend: info.kind };
})();
started.catch(() => {}); // answered through the requests that wait on it
const trainer = async (): Promise<GanTrainer> => (await started).trainer;

serve<ReplicaProtocol>(portTransport(port), {
  ready: async () => {
    const { trainer, backend } = await started;
    const { step, imagesSeen } = trainer.counters;
    return { backend, config: trainer.config, step, imagesSeen, threadId, ...held() };
  },
  step: async ({ reals: share, only }) => {
    const t = await trainer();
    const c = t.config;
    const reals = tf.tensor4d(share, [t.localBatch, c.resolution, c.resolution, c.imgChannels]);
    try {
      return { report: await t.trainStep(reals, only), ...held() };
    } finally {
      reals.dispose();
    }
  },
  stats: async () => (await trainer()).takeStats(),
  sample: async ({ seeds, psi }) => {
    const t = await trainer();
    return sampleSeeds(t.G_ema, t.config, seeds, psi, 'const');
  },
  rng: async () => (await trainer()).rng.snapshot(),
  save: async ({ path, extraMetadata, rngs }) => saveCheckpoint(await trainer(), path, extraMetadata, rngs),
  saveGenerator: async ({ path }) => saveGenerator(await trainer(), path),
  digest: async () => {
    // A fingerprint of every weight, to prove the replicas stay identical.
    const t = await trainer();
    const hash = createHash('sha256');
    for (const set of [t.G, t.G_ema, t.D])
      for (const spec of set.specs) hash.update((await set.variable(spec.name).data()) as Float32Array);
    return hash.digest('hex');
  },
  close: async () => {
    (await trainer()).dispose();
    setImmediate(() => port.close()); // after the answer has gone: nothing else keeps this thread alive
    return null;
  },
});
