/**
 * One drawing lane of the generator process: a worker thread with its own tfjs (wasm) instance
 * and its own loaded generator, drawing the batches BirdThreads hands it. On a CPU backend
 * tfjs runs one thread per instance in Node, so a second core needs a second instance.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName } from '../runtime/backend-info.js';
import { registerFusedKernels } from '../kernels/index.js';
import { GeneratorCache } from './generator-cache.js';
import { renderBirds, type BirdSpec } from './render.js';

/** A batch to draw; `job` is the gallery job it belongs to (0: one that is never stopped). */
export type ThreadRequest = { id: number; file: string; specs: BirdSpec[]; job: number };
/** What a lane starts with: its backend, and the cell where the owner writes the id of a cancelled job. */
export interface ThreadInit {
  backend: BackendName;
  stop: SharedArrayBuffer;
}
export type ThreadReply =
  | { type: 'ready' }
  | { type: 'pixels'; id: number; pixels: Uint8Array[] }
  | { type: 'failed'; id: number; error: string; code?: string };

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

const started = await startBackend(init.backend).catch((err: Error) => err);
port.postMessage(started instanceof Error ? { type: 'failed', id: 0, error: started.message } : { type: 'ready' });

port.on('message', (m: ThreadRequest) => {
  void (async () => {
    try {
      if (started instanceof Error) throw started;
      const stopped = (): boolean => m.job !== 0 && Atomics.load(stop, 0) === m.job;
      const pixels = await renderBirds(await cache.get(m.file), m.specs, stopped);
      // Copies: a batch's birds are views of one buffer, and transferring needs whole buffers.
      const own = pixels.map((p) => p.slice());
      port.postMessage(
        { type: 'pixels', id: m.id, pixels: own } satisfies ThreadReply,
        own.map((p) => p.buffer),
      );
    } catch (err) {
      const e = err as { message?: string; code?: string };
      port.postMessage({
        type: 'failed',
        id: m.id,
        error: e.message ?? String(err),
        ...(e.code ? { code: e.code } : {}),
      } satisfies ThreadReply);
    }
  })();
});
