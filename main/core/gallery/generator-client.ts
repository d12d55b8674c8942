/**
 * The gallery's side of its generator process: a queue of tasks sent one at a time, so the
 * child never holds more than one job's memory and a running trainer only ever competes with
 * one small job. The child runs at a lower CPU priority (nice 10) for the same reason: the
 * trainer's steps come first. Each task says how many batches the child may draw at once
 * (`lanes`: a CPU backend draws one per core, on worker threads), asked of the owner when the
 * task is sent. A child that dies fails its job and is started afresh for the next.
 */
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BackendName } from '../runtime/backend-info.js';
import { ChildEndedError, RpcClient } from '../util/child-rpc.js';
import { forkChild, type ChildHandle, type SpawnChild } from '../util/spawn-child.js';
import type { GeneratorProtocol } from './protocol.js';
import type { GalleryTask, TaskFile } from './tasks.js';

export const GENERATOR_SCRIPT = fileURLToPath(new URL('./generator-worker.js', import.meta.url));

/** Jobs waiting at once; more is a UI asking faster than any CPU can draw, and is refused. */
export const MAX_QUEUED_JOBS = 64;
/** Niceness of the generator process (higher = lower priority than the trainer). */
export const GENERATOR_NICE = 10;
/**
 * Batches drawn at once at most: each lane is a wasm instance holding the generator and its
 * activations (~1.6 GB at 256²), so more lanes than two cost more memory than most machines
 * spare for a gallery; two use the cores of the machine Plumage is measured on.
 */
export const MAX_GENERATOR_LANES = 2;
export const defaultLanes = (): number => Math.min(MAX_GENERATOR_LANES, availableParallelism());

export interface GeneratorClientOptions {
  /** Lanes for the next task (asked as each task is sent): the owner lowers it while a run trains. */
  lanes?: () => number;
  /** The backend to draw on (the CLI's `--backend`); by default the process picks the best one present. */
  backend?: BackendName | undefined;
  /** How the process is started (Electron: a utility process); by default a Node fork. */
  spawn?: SpawnChild | undefined;
  /** Niceness of its process (default GENERATOR_NICE; the checkpoint scorer asks for the lowest, 19). */
  nice?: number;
  /**
   * Below the trainer, which runs in a session of its own: then so does this process, with
   * `nice` for its session as well (spawn-child's `lowerPriority` says why). The scorer asks.
   */
  background?: boolean;
}

export class GalleryBusyError extends Error {
  readonly code = 'failed';
}

export class TaskFailedError extends Error {
  constructor(
    message: string,
    readonly code: string = 'failed',
  ) {
    super(message);
  }
}

interface Job {
  id: number;
  task: GalleryTask;
  onFile: (f: TaskFile) => void;
  resolve: (r: { files: string[]; cancelled: boolean }) => void;
  reject: (err: Error) => void;
  /** Aborted to cancel it once sent: the process stops it and answers with what it wrote. */
  abort: AbortController;
}

interface Child {
  handle: ChildHandle;
  rpc: RpcClient<GeneratorProtocol>;
}

export class GeneratorClient {
  #child: Child | null = null;
  #queue: Job[] = [];
  #running: Job | null = null;
  #nextId = 1;
  #closed = false;
  readonly #lanes: () => number;
  readonly #backend: BackendName | undefined;
  readonly #spawn: SpawnChild;
  readonly #nice: number;
  readonly #background: boolean;

  constructor(opts: GeneratorClientOptions = {}) {
    this.#lanes = opts.lanes ?? defaultLanes;
    this.#backend = opts.backend;
    this.#spawn = opts.spawn ?? forkChild;
    this.#nice = opts.nice ?? GENERATOR_NICE;
    this.#background = opts.background ?? false;
  }

  /** Queues a task; `files` resolve when it is done (or cancelled: the files written before then). */
  submit(
    task: GalleryTask,
    onFile: (f: TaskFile) => void = () => {},
  ): { id: number; done: Promise<{ files: string[]; cancelled: boolean }> } {
    if (this.#closed) throw new GalleryBusyError('the gallery is closing');
    if (this.#queue.length >= MAX_QUEUED_JOBS)
      throw new GalleryBusyError(`the gallery already has ${MAX_QUEUED_JOBS} jobs waiting: try again in a moment`);
    const id = this.#nextId++;
    const done = new Promise<{ files: string[]; cancelled: boolean }>((resolve, reject) =>
      this.#queue.push({ id, task, onFile, resolve, reject, abort: new AbortController() }),
    );
    this.#pump();
    return { id, done };
  }

  /**
   * A waiting job is dropped at once. The running one reports nothing more from now on (images
   * already on their way over IPC are dropped), and the process stops it after the bird in
   * flight: its lanes end their passes at the next block (bird-threads.ts).
   */
  cancel(id: number): boolean {
    const i = this.#queue.findIndex((j) => j.id === id);
    if (i >= 0) {
      this.#queue.splice(i, 1)[0]!.resolve({ files: [], cancelled: true });
      return true;
    }
    if (this.#running?.id === id) {
      this.#running.abort.abort();
      return true;
    }
    return false;
  }

  /** Starts the process and its backend now (and loads `file`, drawing once); resolves once it could draw. */
  async warmUp(file?: string): Promise<void> {
    if (this.#closed) return;
    await this.submit(file ? { kind: 'warm-up', file } : { kind: 'warm-up' }).done;
  }

  /** The generator process's pid, while one runs. */
  get pid(): number | undefined {
    return this.#child?.handle.pid;
  }

  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const j of this.#queue.splice(0)) j.resolve({ files: [], cancelled: true });
    const child = this.#child?.handle;
    if (!child?.running) return;
    const exited = new Promise<void>((r) => child.onExit(() => r()));
    child.end(); // a job in flight ends with the process; a hung one is killed
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  #pump(): void {
    if (this.#running || this.#queue.length === 0) return;
    const job = this.#queue.shift()!;
    this.#running = job;
    const { rpc } = this.#live();
    rpc
      .request('task', { task: job.task, lanes: this.#lanes() }, { signal: job.abort.signal, on: { file: job.onFile } })
      .then(job.resolve, (err: Error & { code?: string }) => {
        // Closing ends the process, and with it the job: that is a cancel, not a failure.
        if (err instanceof ChildEndedError && this.#closed) job.resolve({ files: [], cancelled: true });
        else job.reject(new TaskFailedError(err.message, err.code ?? 'failed'));
      })
      .finally(() => {
        this.#running = null;
        this.#pump();
      });
  }

  /** The process, started afresh when the last one has ended. */
  #live(): Child {
    if (this.#child?.handle.running && !this.#child.rpc.ended) return this.#child;
    const handle = this.#spawn(GENERATOR_SCRIPT, {
      name: 'generator',
      args: this.#backend ? [this.#backend] : [],
      nice: this.#nice,
      ownGroup: this.#background,
    });
    const child: Child = { handle, rpc: new RpcClient<GeneratorProtocol>(handle, { name: 'generator process' }) };
    handle.onExit(() => {
      if (this.#child === child) this.#child = null;
    });
    this.#child = child;
    return child;
  }
}
