/**
 * One data-parallel replica in a worker thread: its own tfjs (wasm) instance and a full
 * GanTrainer that runs each step on its share of the batch and averages gradients with the
 * other replicas through shared memory. Driven by ParallelTrainer (parallel.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { makeAllReduce, type SharedReduceBuffers } from './all-reduce.js';
import { initBackend, type BackendName } from './backend.js';
import type { GanConfig } from './config.js';
import { GanTrainer, type PhaseName } from './training.js';

interface Init {
  config: GanConfig;
  seed: number;
  index: number;
  backend?: BackendName;
  buffers: SharedReduceBuffers;
}
export type ReplicaRequest =
  { type: 'step'; reals: Float32Array; only?: PhaseName[] } | { type: 'digest' } | { type: 'close' };

const init = workerData as Init;
const port = parentPort!;
const info = await initBackend(init.backend);
const trainer = new GanTrainer(init.config, init.seed, {
  index: init.index,
  count: init.buffers.count,
  allReduce: makeAllReduce(init.buffers, init.index),
});
port.postMessage({ type: 'ready', backend: info.kind });

port.on('message', async (msg: ReplicaRequest) => {
  try {
    if (msg.type === 'step') {
      const c = trainer.config;
      const reals = tf.tensor4d(msg.reals, [trainer.localBatch, c.resolution, c.resolution, c.imgChannels]);
      let report;
      try {
        report = await trainer.trainStep(reals, msg.only);
      } finally {
        reals.dispose();
      }
      // Replicas run on wasm: reading the step's statistics at once costs nothing there.
      const stats = await trainer.takeStats();
      port.postMessage({ type: 'report', report: { ...report, ...stats }, tensors: tf.memory().numTensors });
    } else if (msg.type === 'digest') {
      // A fingerprint of every weight, to prove the replicas stay identical.
      const { createHash } = await import('node:crypto');
      const hash = createHash('sha256');
      for (const set of [trainer.G, trainer.G_ema, trainer.D])
        for (const spec of set.specs) hash.update(set.variable(spec.name).dataSync() as Float32Array);
      port.postMessage({ type: 'digest', digest: hash.digest('hex') });
    } else {
      trainer.dispose();
      port.postMessage({ type: 'closed' });
      port.close();
    }
  } catch (err) {
    port.postMessage({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
});
