/**
 * Training on every CPU core with the wasm backend, which runs one thread per instance in Node:
 * N replicas in worker threads, each computing the gradients of batch/N images; the gradients
 * are averaged through shared memory and every replica applies the same update.
 * (On a GPU backend a single process is the right shape; this is for CPU training.)
 */
import { Worker } from 'node:worker_threads';
import { createReduceBuffers } from './all-reduce.js';
import type { BackendName } from './backend.js';
import { discriminatorSpecs } from './discriminator.js';
import { generatorSpecs } from './generator.js';
import type { GanConfig } from './config.js';
import type { PhaseName, StepReport, StepStats } from './training.js';

type Reply =
  | { type: 'ready'; backend: string }
  | { type: 'report'; report: StepReport & StepStats; tensors: number }
  | { type: 'digest'; digest: string }
  | { type: 'closed' }
  | { type: 'error'; message: string };

const size = (shape: number[]): number => shape.reduce((a, b) => a * b, 1);

export class ParallelTrainer {
  readonly config: GanConfig;
  readonly #workers: Worker[];
  #pending: ((r: Reply) => void)[][] = [];

  private constructor(config: GanConfig, workers: Worker[]) {
    this.config = config;
    this.#workers = workers;
    this.#pending = workers.map(() => []);
    workers.forEach((w, i) => {
      w.on('message', (r: Reply) => this.#pending[i]!.shift()?.(r));
      w.on('error', (err) => this.#pending[i]!.shift()?.({ type: 'error', message: err.message }));
      w.on('exit', (code) => {
        for (const waiting of this.#pending[i]!.splice(0))
          waiting({ type: 'error', message: `replica ${i} exited (code ${code})` });
      });
    });
  }

  static async create(config: GanConfig, seed: number, replicas = 2, backend?: BackendName): Promise<ParallelTrainer> {
    if (config.batchSize % replicas !== 0)
      throw new RangeError(`batch ${config.batchSize} does not split over ${replicas} replicas`);
    // The largest payload: every trainable value of G or D, plus w's mean and a few statistics.
    const trainable = (specs: { refShape: number[]; trainable: boolean }[]): number =>
      specs.filter((s) => s.trainable).reduce((a, s) => a + size(s.refShape), 0);
    const capacity =
      Math.max(trainable(generatorSpecs(config)), trainable(discriminatorSpecs(config))) + config.wDim + 16;
    const buffers = createReduceBuffers(replicas, capacity);
    const workers = Array.from(
      { length: replicas },
      (_, index) =>
        new Worker(new URL('./replica-worker.js', import.meta.url), {
          workerData: { config, seed, index, backend, buffers },
        }),
    );
    const trainer = new ParallelTrainer(config, workers);
    const ready = await trainer.#all(() => null);
    const failed = ready.find((r) => r.type === 'error');
    if (failed) {
      await trainer.close();
      throw new Error(`a training replica failed to start: ${(failed as { message: string }).message}`);
    }
    return trainer;
  }

  get replicas(): number {
    return this.#workers.length;
  }

  /** Posts a message (or nothing) to every replica and waits for each one's next reply. */
  #all(message: (index: number) => unknown, transfer?: (index: number) => ArrayBuffer[]): Promise<Reply[]> {
    return Promise.all(
      this.#workers.map(
        (w, i) =>
          new Promise<Reply>((resolve) => {
            this.#pending[i]!.push(resolve);
            const m = message(i);
            if (m !== null) w.postMessage(m, transfer?.(i) ?? []);
          }),
      ),
    );
  }

  /** One step on [B,res,res,3] float32 reals in [-1, 1], split evenly over the replicas. */
  async trainStep(reals: Float32Array, only?: PhaseName[]): Promise<StepReport & StepStats & { tensors: number[] }> {
    const per = reals.length / this.#workers.length;
    const replies = await this.#all(
      (i) => ({ type: 'step', reals: reals.slice(i * per, (i + 1) * per), only }),
      () => [],
    );
    const failed = replies.find((r) => r.type === 'error');
    if (failed) throw new Error(`training replica failed: ${(failed as { message: string }).message}`);
    const reports = replies as { type: 'report'; report: StepReport & StepStats; tensors: number }[];
    return { ...reports[0]!.report, tensors: reports.map((r) => r.tensors) };
  }

  /** Weight fingerprints of every replica (equal while they are in step). */
  async digests(): Promise<string[]> {
    return (await this.#all(() => ({ type: 'digest' }))).map((r) => (r as { digest: string }).digest);
  }

  async close(): Promise<void> {
    await this.#all((i) => (this.#workers[i]!.threadId >= 0 ? { type: 'close' } : null));
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
