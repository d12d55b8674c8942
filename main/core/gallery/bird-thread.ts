/**
 * One drawing lane of the generator process: a worker thread with its own tfjs (wasm) instance
 * and its own loaded generator, drawing the batches BirdThreads hands it. On a CPU backend
 * tfjs runs one thread per instance in Node, so a second core needs a second instance.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../runtime/backend-info.js';
import { registerFusedKernels } from '../kernels/index.js';
import { serve } from '../util/child-rpc.js';
import { portTransport } from '../util/transport.js';
import { GeneratorCache } from './generator-cache.js';
import { renderBirds, type BirdSpec } from './render.js';

/** What a lane starts with: its backend, and the cell where the owner writes the id of a cancelled job. */
export interface ThreadInit {
  backend: BackendName;
  stop: SharedArrayBuffer;
}
/** A lane's protocol (util/child-rpc.ts). */
export interface ThreadProtocol {
  requests: {
    /** Answers once its backend has started (or fails with why it could not). */
    ready: { params: null; result: null };
    /** A batch to draw; `job` is the gallery job it belongs to (0: one that is never stopped). */
    draw: { params: { file: string; specs: BirdSpec[]; job: number }; result: Uint8Array[] };
  };
  events: Record<never, never>;
}

const port = parentPort!;
const cache = new GeneratorCache();
const init = workerData as ThreadInit;
/**
 * The id of the last cancelled job, written by the owner while this thread is busy in a pass (a
 * message could not reach it before the pass ends; shared memory does), read between blocks.
 */
const stop = new Int32Array(init.stop);
/**
 * tfjs-core and the one backend the process chose, not backend.ts's probe: that imports all of
 * @tensorflow/tfjs (about a second more, per lane, at a cold start) to try the GPUs first.
 */
async function startBackend(kind: BackendName): Promise<void> {
  // The fused kernels, as the process's own backend registers them: lanes draw the same bits.
  if (kind === 'wasm') {
    await import('@tensorflow/tfjs-backend-wasm');
    registerFusedKernels();
  } else await (await import('../runtime/backend.js')).initBackend(kind, () => {});
  if (!(await tf.setBackend(kind)) || tf.getBackend() !== kind) throw new Error(`tfjs could not start ${kind}`);
}

const started = startBackend(init.backend);
started.catch(() => {}); // answered through the requests that wait on it

serve<ThreadProtocol>(portTransport(port), {
  ready: async () => {
    await started;
    return null;
  },
  draw: async ({ file, specs, job }, { transfer }) => {
    await started;
    const stopped = (): boolean => job !== 0 && Atomics.load(stop, 0) === job;
    const pixels = await renderBirds(await cache.get(file), specs, stopped);
    // Copies: a batch's birds are views of one buffer, and transferring needs whole buffers.
    const own = pixels.map((p) => p.slice());
    transfer(own.map((p) => p.buffer));
    return own;
  },
});
