/**
 * Training on every CPU core with the wasm backend, which runs one thread per instance in Node:
 * N replicas in worker threads, each computing the gradients of batch/N images; the gradients
 * are averaged through shared memory and every replica applies the same update, so their weights
 * stay identical. Replica 0 answers for all of them (grids, checkpoints); each replica's own RNG
 * state goes into the checkpoint. (On a GPU backend a single process is the right shape.)
 */
import { Worker } from 'node:worker_threads';
import { RpcClient } from '../util/child-rpc.js';
import { workerTransport } from '../util/transport.js';
import { createReduceBuffers } from './all-reduce.js';
import type { BackendName } from '../runtime/backend-info.js';
import { discriminatorSpecs } from '../gan/discriminator.js';
import type { EngineInit, TrainingEngine } from './engine.js';
import { generatorSpecs } from '../gan/generator.js';
import type { GanConfig } from '../gan/config.js';
import type { RandomStateSnapshot } from '../gan/rng.js';
import type { PhaseName, StepReport, StepStats } from '../gan/training.js';

/** Tensors and bytes the replica's tfjs instance holds, sent with every answer that can change them. */
interface Held {
  tensors: number;
  bytes: number;
}
type Saved = { bytes: number; sha256: string };

/**
 * What the trainer asks a replica (replica-worker.ts), spoken with util/child-rpc.ts. An error
 * keeps its class where it is a RangeError (a bad request, not a damaged file) and its errno
 * code (ENOSPC…), which decides what a failed checkpoint write advises.
 */
export interface ReplicaProtocol {
  requests: {
    /** Answers once the replica has built its trainer. */
    ready: {
      params: null;
      result: { backend: string; config: GanConfig; step: number; imagesSeen: number; threadId: number } & Held;
    };
    step: { params: { reals: Float32Array; only?: PhaseName[] }; result: { report: StepReport } & Held };
    stats: { params: null; result: StepStats };
    sample: { params: { seeds: number[]; psi: number }; result: Uint8Array[] };
    rng: { params: null; result: RandomStateSnapshot };
    save: {
      params: { path: string; extraMetadata: Record<string, string>; rngs: RandomStateSnapshot[] };
      result: Saved;
    };
    saveGenerator: { params: { path: string }; result: Saved };
    digest: { params: null; result: string };
    /** Frees its tensors; the thread ends after answering. */
    close: { params: null; result: null };
  };
  events: Record<never, never>;
}

/** What a replica worker is started with. */
export interface ReplicaInit {
  init: EngineInit;
  index: number;
  backend: BackendName;
  buffers: ReturnType<typeof createReduceBuffers>;
}

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export class ParallelTrainer implements TrainingEngine {
  #config!: GanConfig;
  #step = 0;
  #imagesSeen = 0;
  /** Worker thread ids, one per replica (each its own wasm instance). */
  threadIds: number[] = [];
  readonly #workers: Worker[];
  readonly #replicas: RpcClient<ReplicaProtocol>[];
  readonly #held: Held[];

  private constructor(workers: Worker[]) {
    this.#workers = workers;
    this.#replicas = workers.map(
      (w, i) =>
        new RpcClient<ReplicaProtocol>(workerTransport(w), { name: `training replica ${i}`, errors: [RangeError] }),
    );
    this.#held = workers.map(() => ({ tensors: 0, bytes: 0 }));
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
      const ready = await trainer.#all((r) => r.request('ready', null));
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
   * Asks replicas `only` (default: all), one request each; rejects on the first error, since the
   * others may wait at a barrier for the failed one.
   */
  #all<T>(ask: (replica: RpcClient<ReplicaProtocol>, index: number) => Promise<T>, only?: number[]): Promise<T[]> {
    const indices = only ?? this.#replicas.map((_, i) => i);
    return Promise.all(indices.map((i) => ask(this.#replicas[i]!, i)));
  }

  async trainStep(reals: Float32Array, only?: PhaseName[]): Promise<StepReport> {
    const per = reals.length / this.#workers.length;
    const shares = this.#workers.map((_, i) => reals.slice(i * per, (i + 1) * per));
    const replies = await this.#all((r, i) =>
      r.request('step', { reals: shares[i]!, ...(only ? { only } : {}) }, { transfer: [shares[i]!.buffer] }),
    );
    replies.forEach((r, i) => (this.#held[i] = { tensors: r.tensors, bytes: r.bytes }));
    const report = replies[0]!.report;
    this.#step = report.step;
    this.#imagesSeen = report.imagesSeen;
    return report;
  }

  /** The statistics are averaged over the replicas inside each step, so replica 0's are the batch's. */
  async takeStats(): Promise<StepStats> {
    const replies = await this.#all((r) => r.request('stats', null));
    return replies[0]!;
  }

  /** Every replica holds the same G_ema, so each draws its share of the seeds (a grid takes 1/N the time). */
  async sample(seeds: number[], psi: number): Promise<Uint8Array[]> {
    const per = Math.ceil(seeds.length / this.#workers.length);
    const shares = this.#workers.map((_, i) => seeds.slice(i * per, (i + 1) * per));
    const busy = shares.flatMap((s, i) => (s.length > 0 ? [i] : []));
    const replies = await this.#all((r, i) => r.request('sample', { seeds: shares[i]!, psi }), busy);
    return replies.flat();
  }

  /** Replica 0 writes the weights (every replica holds the same) with every replica's RNG state. */
  async save(path: string, extraMetadata: Record<string, string>): Promise<{ bytes: number; sha256: string }> {
    const rngs = await this.#all((r) => r.request('rng', null));
    const { bytes, sha256 } = await this.#replicas[0]!.request('save', { path, extraMetadata, rngs });
    return { bytes, sha256 };
  }

  /** Replica 0 writes G_ema (every replica holds the same). */
  async saveGenerator(path: string): Promise<{ bytes: number; sha256: string }> {
    const { bytes, sha256 } = await this.#replicas[0]!.request('saveGenerator', { path });
    return { bytes, sha256 };
  }

  memory(): Held {
    return this.#held.reduce((a, h) => ({ tensors: a.tensors + h.tensors, bytes: a.bytes + h.bytes }));
  }

  /** Weight fingerprints of every replica (equal while they are in step). */
  async digests(): Promise<string[]> {
    return this.#all((r) => r.request('digest', null));
  }

  async close(): Promise<void> {
    const alive = this.#workers.flatMap((w, i) => (w.threadId >= 0 ? [i] : []));
    await this.#all((r) => r.request('close', null), alive).catch(() => {}); // a failed replica is ended below anyway
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}

/** Floats of the largest all-reduce payload: every trainable value of G or D, w's mean and a few statistics. */
export function reduceCapacity(config: GanConfig): number {
  const trainable = (specs: { refShape: number[]; trainable: boolean }[]): number =>
    specs.filter((s) => s.trainable).reduce((a, s) => a + size(s.refShape), 0);
  return Math.max(trainable(generatorSpecs(config)), trainable(discriminatorSpecs(config))) + config.wDim + 16;
}
