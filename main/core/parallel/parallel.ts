/**
 * Training on every CPU core with the wasm backend, which runs one thread per instance in Node:
 * N replicas in worker threads, each computing the gradients of batch/N images; the gradients
 * are averaged through shared memory and every replica applies the same update, so their weights
 * stay identical. Replica 0 answers for all of them (grids, checkpoints); each replica's own RNG
 * state goes into the checkpoint. (On a GPU backend a single process is the right shape.)
 */
import { Worker } from 'node:worker_threads';
import { createReduceBuffers } from './all-reduce.js';
import type { BackendName } from '../runtime/backend-info.js';
import { discriminatorSpecs } from '../gan/discriminator.js';
import type { EngineInit, TrainingEngine } from './engine.js';
import { generatorSpecs } from '../gan/generator.js';
import type { GanConfig } from '../gan/config.js';
import type { RandomStateSnapshot } from '../gan/rng.js';
import type { PhaseName, StepReport, StepStats } from '../gan/training.js';

/** What the trainer asks a replica (replica-worker.ts). */
export type ReplicaRequest =
  | { type: 'step'; reals: Float32Array; only?: PhaseName[] }
  | { type: 'stats' }
  | { type: 'sample'; seeds: number[]; psi: number }
  | { type: 'rng' }
  | { type: 'save'; path: string; extraMetadata: Record<string, string>; rngs: RandomStateSnapshot[] }
  | { type: 'saveGenerator'; path: string }
  | { type: 'digest' }
  | { type: 'close' };

/** Tensors and bytes the replica's tfjs instance holds, sent with every answer that can change them. */
interface Held {
  tensors: number;
  bytes: number;
}

/** What a replica answers, one reply per request (an error instead, when it failed). */
export type ReplicaReply =
  | ({ type: 'ready'; backend: string; config: GanConfig; step: number; imagesSeen: number; threadId: number } & Held)
  | ({ type: 'report'; report: StepReport } & Held)
  | { type: 'stats'; stats: StepStats }
  | { type: 'images'; images: Uint8Array[] }
  | { type: 'rng'; rng: RandomStateSnapshot }
  | { type: 'saved'; bytes: number; sha256: string }
  | { type: 'digest'; digest: string }
  | { type: 'closed' }
  /** `code`: a Node errno code (ENOSPC…), which decides what a failed checkpoint write advises. */
  | { type: 'error'; name: string; message: string; code?: string };

/** What a replica worker is started with. */
export interface ReplicaInit {
  init: EngineInit;
  index: number;
  backend: BackendName;
  buffers: ReturnType<typeof createReduceBuffers>;
}

type Of<T extends ReplicaReply['type']> = Extract<ReplicaReply, { type: T }>;

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * A replica's failure as an error of the same kind: a RangeError stays one (a bad request, not a
 * damaged file), and an errno code stays on it (a full disk is advised as one).
 */
function replicaError(r: Of<'error'>): Error {
  const err = r.name === 'RangeError' ? new RangeError(r.message) : new Error(r.message);
  if (r.code !== undefined) Object.assign(err, { code: r.code });
  return err;
}

export class ParallelTrainer implements TrainingEngine {
  #config!: GanConfig;
  #step = 0;
  #imagesSeen = 0;
  /** Worker thread ids, one per replica (each its own wasm instance). */
  threadIds: number[] = [];
  readonly #workers: Worker[];
  readonly #pending: ((r: ReplicaReply) => void)[][];
  readonly #held: Held[];

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    this.#pending = workers.map(() => []);
    this.#held = workers.map(() => ({ tensors: 0, bytes: 0 }));
    workers.forEach((w, i) => {
      w.on('message', (r: ReplicaReply) => this.#pending[i]!.shift()?.(r));
      w.on('error', (err) => this.#pending[i]!.shift()?.({ type: 'error', name: err.name, message: err.message }));
      w.on('exit', (code) => {
        for (const waiting of this.#pending[i]!.splice(0))
          waiting({ type: 'error', name: 'Error', message: `training replica ${i} exited (code ${code})` });
      });
    });
  }

  /** Starts `replicas` workers, each building its trainer from `init`; fails with the first replica's reason. */
  static async open(init: EngineInit, replicas: number, backend: BackendName): Promise<ParallelTrainer> {
    const config = init.config;
    if (config.batchSize % replicas !== 0)
      throw new RangeError(`batch ${config.batchSize} does not split over ${replicas} replicas`);
    const buffers = createReduceBuffers(replicas, reduceCapacity(config));
    const workers = Array.from(
      { length: replicas },
      (_, index) =>
        new Worker(new URL('./replica-worker.js', import.meta.url), {
          workerData: { init, index, backend, buffers } satisfies ReplicaInit,
        }),
    );
    const trainer = new ParallelTrainer(workers);
    try {
      const ready = (await trainer.#ask(null, () => null)) as Of<'ready'>[];
      trainer.#config = ready[0]!.config;
      trainer.#step = ready[0]!.step;
      trainer.#imagesSeen = ready[0]!.imagesSeen;
      trainer.threadIds = ready.map((r) => r.threadId);
      ready.forEach((r, i) => (trainer.#held[i] = { tensors: r.tensors, bytes: r.bytes }));
      return trainer;
    } catch (err) {
      await trainer.close();
      throw err;
    }
  }

  get config(): GanConfig {
    return this.#config;
  }
  get replicas(): number {
    return this.#workers.length;
  }
  get step(): number {
    return this.#step;
  }
  get imagesSeen(): number {
    return this.#imagesSeen;
  }

  /**
   * Posts a message (or nothing) to replicas `only` (null: all) and waits for each one's next
   * reply; rejects on the first error, since the others may wait at a barrier for the failed one.
   */
  #ask(
    only: number[] | null,
    message: (index: number) => ReplicaRequest | null,
    transfer?: (index: number) => ArrayBuffer[],
  ): Promise<ReplicaReply[]> {
    const indices = only ?? this.#workers.map((_, i) => i);
    return new Promise((resolve, reject) => {
      const replies: ReplicaReply[] = [];
      let left = indices.length;
      indices.forEach((i, k) => {
        this.#pending[i]!.push((r) => {
          if (r.type === 'error') return reject(replicaError(r));
          replies[k] = r;
          if (--left === 0) resolve(replies);
        });
        const m = message(i);
        if (m !== null) this.#workers[i]!.postMessage(m, transfer?.(i) ?? []);
      });
    });
  }

  async trainStep(reals: Float32Array, only?: PhaseName[]): Promise<StepReport> {
    const per = reals.length / this.#workers.length;
    const shares = this.#workers.map((_, i) => reals.slice(i * per, (i + 1) * per));
    const replies = (await this.#ask(
      null,
      (i) => ({ type: 'step', reals: shares[i]!, ...(only ? { only } : {}) }),
      (i) => [shares[i]!.buffer],
    )) as Of<'report'>[];
    replies.forEach((r, i) => (this.#held[i] = { tensors: r.tensors, bytes: r.bytes }));
    const report = replies[0]!.report;
    this.#step = report.step;
    this.#imagesSeen = report.imagesSeen;
    return report;
  }

  /** The statistics are averaged over the replicas inside each step, so replica 0's are the batch's. */
  async takeStats(): Promise<StepStats> {
    const replies = (await this.#ask(null, () => ({ type: 'stats' }))) as Of<'stats'>[];
    return replies[0]!.stats;
  }

  /** Every replica holds the same G_ema, so each draws its share of the seeds (a grid takes 1/N the time). */
  async sample(seeds: number[], psi: number): Promise<Uint8Array[]> {
    const per = Math.ceil(seeds.length / this.#workers.length);
    const shares = this.#workers.map((_, i) => seeds.slice(i * per, (i + 1) * per));
    const busy = shares.flatMap((s, i) => (s.length > 0 ? [i] : []));
    const replies = (await this.#ask(busy, (i) => ({ type: 'sample', seeds: shares[i]!, psi }))) as Of<'images'>[];
    return replies.flatMap((r) => r.images);
  }

  /** Replica 0 writes the weights (every replica holds the same) with every replica's RNG state. */
  async save(path: string, extraMetadata: Record<string, string>): Promise<{ bytes: number; sha256: string }> {
    const rngs = ((await this.#ask(null, () => ({ type: 'rng' }))) as Of<'rng'>[]).map((r) => r.rng);
    const [saved] = (await this.#ask([0], () => ({ type: 'save', path, extraMetadata, rngs }))) as Of<'saved'>[];
    return { bytes: saved!.bytes, sha256: saved!.sha256 };
  }

  /** Replica 0 writes G_ema (every replica holds the same). */
  async saveGenerator(path: string): Promise<{ bytes: number; sha256: string }> {
    const [saved] = (await this.#ask([0], () => ({ type: 'saveGenerator', path }))) as Of<'saved'>[];
    return { bytes: saved!.bytes, sha256: saved!.sha256 };
  }

  memory(): Held {
    return this.#held.reduce((a, h) => ({ tensors: a.tensors + h.tensors, bytes: a.bytes + h.bytes }));
  }

  /** Weight fingerprints of every replica (equal while they are in step). */
  async digests(): Promise<string[]> {
    return ((await this.#ask(null, () => ({ type: 'digest' }))) as Of<'digest'>[]).map((r) => r.digest);
  }

  async close(): Promise<void> {
    const alive = this.#workers.flatMap((w, i) => (w.threadId >= 0 ? [i] : []));
    await this.#ask(alive, () => ({ type: 'close' })).catch(() => {}); // a failed replica is ended below anyway
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Floats of the largest all-reduce payload: every trainable value of G or D, w's mean and a few statistics. */
export function reduceCapacity(config: GanConfig): number {
  const trainable = (specs: { refShape: number[]; trainable: boolean }[]): number =>
    specs.filter((s) => s.trainable).reduce((a, s) => a + size(s.refShape), 0);
  return Math.max(trainable(generatorSpecs(config)), trainable(discriminatorSpecs(config))) + config.wDim + 16;
}
