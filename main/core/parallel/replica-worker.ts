/**
 * One data-parallel replica in a worker thread: its own tfjs (wasm) instance and a full
 * GanTrainer that runs each step on its share of the batch and averages gradients with the
 * other replicas through shared memory. Driven by ParallelTrainer (parallel.ts), one reply per request.
 */
import { createHash } from 'node:crypto';
import { parentPort, threadId, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { makeAllReduce } from './all-reduce.js';
import { initBackend } from '../runtime/backend.js';
import { saveCheckpoint, saveGenerator } from '../netfile/checkpoint.js';
import { buildTrainer } from './engine.js';
import { roundPlanner } from '../runtime/round-plan.js';
import type { ReplicaInit, ReplicaReply, ReplicaRequest } from './parallel.js';
import { sampleSeeds } from '../gan/sample.js';
import type { GanTrainer } from '../gan/training.js';

const { init, index, backend, buffers } = workerData as ReplicaInit;
const port = parentPort!;
const reply = (r: ReplicaReply): void => port.postMessage(r);
const held = (): { tensors: number; bytes: number } => ({
  tensors: tf.memory().numTensors,
  bytes: tf.memory().numBytes,
});
function failed(err: unknown): ReplicaReply {
  if (!(err instanceof Error)) return { type: 'error', name: 'Error', message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { type: 'error', name: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}

async function start(): Promise<GanTrainer | null> {
  try {
    const info = await initBackend(backend);
    const replica = { index, count: buffers.count, allReduce: makeAllReduce(buffers, index) };
    const trainer = await buildTrainer(init, replica, roundPlanner(info)); // this thread's own wasm instance
    const { step, imagesSeen } = trainer.counters;
    reply({ type: 'ready', backend: info.kind, config: trainer.config, step, imagesSeen, threadId, ...held() });
    return trainer;
  } catch (err) {
    reply(failed(err));
    port.close(); // nothing else keeps this thread alive: it ends
    return null;
  }
}

async function answer(trainer: GanTrainer, msg: ReplicaRequest): Promise<ReplicaReply> {
  switch (msg.type) {
    case 'step': {
      const c = trainer.config;
      const reals = tf.tensor4d(msg.reals, [trainer.localBatch, c.resolution, c.resolution, c.imgChannels]);
      try {
        return { type: 'report', report: await trainer.trainStep(reals, msg.only), ...held() };
      } finally {
        reals.dispose();
      }
    }
    case 'stats':
      return { type: 'stats', stats: await trainer.takeStats() };
    case 'sample':
      return { type: 'images', images: await sampleSeeds(trainer.G_ema, trainer.config, msg.seeds, msg.psi, 'const') };
    case 'rng':
      return { type: 'rng', rng: trainer.rng.snapshot() };
    case 'save':
      return { type: 'saved', ...(await saveCheckpoint(trainer, msg.path, msg.extraMetadata, msg.rngs)) };
    case 'saveGenerator':
      return { type: 'saved', ...(await saveGenerator(trainer, msg.path)) };
    case 'digest': {
      // A fingerprint of every weight, to prove the replicas stay identical.
      const hash = createHash('sha256');
      for (const set of [trainer.G, trainer.G_ema, trainer.D])
        for (const spec of set.specs) hash.update((await set.variable(spec.name).data()) as Float32Array);
      return { type: 'digest', digest: hash.digest('hex') };
    }
    case 'close':
      trainer.dispose();
      return { type: 'closed' };
  }
}

const trainer = await start();
if (trainer)
  port.on('message', (msg: ReplicaRequest) => {
    answer(trainer, msg).then(
      (r) => {
        reply(r);
        if (r.type === 'closed') port.close();
      },
      (err: unknown) => reply(failed(err)),
    );
  });
