/**
 * The generator process's drawing lanes on a CPU backend: worker threads (bird-thread.ts), each
 * a wasm instance with the generator loaded, so a page of birds uses every lane at once. Every
 * lane runs the same code on the same backend, so a bird's bytes do not depend on which lane
 * drew it. Lanes beyond what a task may use are ended, which frees their memory (a 256²
 * generator and its activations hold ~1.6 GB per lane).
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../runtime/backend.js';
import { RpcClient } from '../util/child-rpc.js';
import { workerTransport } from '../util/transport.js';
import type { ThreadInit, ThreadProtocol } from './bird-thread.js';
import type { BirdSpec } from './render.js';

interface Lane {
  worker: Worker;
  rpc: RpcClient<ThreadProtocol>;
  ready: Promise<unknown>;
}

export class BirdThreads {
  readonly #backend: BackendName;
  readonly #idle: Lane[] = [];
  readonly #all = new Set<Lane>();
  readonly #waiting: ((lane: Lane) => void)[] = [];
  /** Every lane reads the id of the last cancelled job here, between the blocks of a pass. */
  readonly #stop = new SharedArrayBuffer(4);
  #size = 0;

  constructor(backend: BackendName) {
    this.#backend = backend;
  }

  /** Keeps `n` lanes: starts the missing ones (resolves once they can draw), ends idle extras. */
  async resize(n: number): Promise<void> {
    this.#size = Math.max(1, n);
    while (this.#all.size > this.#size && this.#idle.length > 0) void this.#end(this.#idle.pop()!);
    const starting: Promise<unknown>[] = [];
    while (this.#all.size < this.#size) {
      const lane = this.#start();
      starting.push(lane.ready);
      this.#release(lane);
    }
    await Promise.all(starting);
  }

  get size(): number {
    return this.#size;
  }

  /**
   * Draws one batch on the next free lane, for gallery job `job` (0: never stopped). It rejects
   * with code 'cancelled' when `stop(job)` is called before its pass ends.
   */
  async draw(file: string, specs: BirdSpec[], job = 0): Promise<Uint8Array[]> {
    const lane = await this.#take();
    try {
      await lane.ready;
      return await lane.rpc.request('draw', { file, specs, job });
    } finally {
      if (this.#all.has(lane)) this.#release(lane);
    }
  }

  /** Stops job `job`'s passes in flight within a block, and any it sends later (one job runs at a time). */
  stop(job: number): void {
    Atomics.store(new Int32Array(this.#stop), 0, job);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#all].map((lane) => this.#end(lane)));
  }

  #start(): Lane {
    const workerData: ThreadInit = { backend: this.#backend, stop: this.#stop };
    const worker = new Worker(new URL('./bird-thread.js', import.meta.url), { workerData });
    // Its end fails the draws it holds (child-rpc), and a waiting draw gets a fresh lane in its place.
    const rpc = new RpcClient<ThreadProtocol>(workerTransport(worker), { name: 'drawing thread' });
    const ready = rpc.request('ready', null);
    const lane: Lane = { worker, rpc, ready };
    // A lane that cannot start fails the draws that wait on it, and is ended.
    ready.catch(() => void this.#end(lane));
    worker.once('exit', () => this.#forget(lane));
    this.#all.add(lane);
    return lane;
  }

  #take(): Promise<Lane> {
    const lane = this.#idle.pop();
    if (lane) return Promise.resolve(lane);
    if (this.#all.size < this.#size) return Promise.resolve(this.#start());
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(lane: Lane): void {
    const next = this.#waiting.shift();
    if (next) next(lane);
    else if (this.#all.size > this.#size) void this.#end(lane);
    else this.#idle.push(lane);
  }

  #forget(lane: Lane): void {
    this.#all.delete(lane);
    const i = this.#idle.indexOf(lane);
    if (i >= 0) this.#idle.splice(i, 1);
    // A waiting draw gets a fresh lane in its place.
    if (this.#waiting.length > 0 && this.#all.size < this.#size) this.#waiting.shift()!(this.#start());
  }

  async #end(lane: Lane): Promise<void> {
    this.#forget(lane);
    await lane.worker.terminate();
  }
}
