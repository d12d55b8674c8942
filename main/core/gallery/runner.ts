/** Where gallery tasks run: the generator process (app, server) or this process (one-shot CLI, tests). */
import { initBackend, type BackendName } from '../runtime/backend.js';
import type { GalleryTask, TaskFile } from './tasks.js';
import { GeneratorCache, runTask } from './tasks.js';

export interface TaskRunner {
  submit(
    task: GalleryTask,
    onFile?: (f: TaskFile) => void,
  ): { id: number; done: Promise<{ files: string[]; cancelled: boolean }> };
  cancel(id: number): boolean;
  /** Starts whatever drawing needs (process, backend) ahead of the first task; with `file`, loads it too. */
  warmUp(file?: string): Promise<void>;
  close(): Promise<void>;
}

/** Runs tasks one after another in this process, sharing one loaded generator. */
export class InProcessRunner implements TaskRunner {
  readonly #cache = new GeneratorCache();
  readonly #cancelled = new Set<number>();
  #tail: Promise<unknown> = Promise.resolve();
  #nextId = 1;

  /** `backend`: the one to draw on; by default the automatic choice, as the generator process makes it. */
  constructor(readonly backend?: BackendName) {}

  submit(task: GalleryTask, onFile: (f: TaskFile) => void = () => {}) {
    const id = this.#nextId++;
    const done = this.#tail.then(async () => {
      if (this.#cancelled.has(id)) return { files: [], cancelled: true };
      await initBackend(this.backend, () => {});
      const cancelled = (): boolean => this.#cancelled.has(id);
      // Nothing is reported once cancelled, as from the generator process (generator-client.ts).
      const report = (f: TaskFile): void => (cancelled() ? undefined : onFile(f));
      const files = await runTask(task, this.#cache, report, cancelled);
      return { files, cancelled: this.#cancelled.delete(id) };
    });
    this.#tail = done.catch(() => {});
    return { id, done };
  }

  cancel(id: number): boolean {
    this.#cancelled.add(id);
    return true;
  }

  async warmUp(file?: string): Promise<void> {
    await initBackend(this.backend, () => {});
    if (file) await runTask({ kind: 'warm-up', file }, this.#cache);
  }

  async close(): Promise<void> {
    await this.#tail;
    this.#cache.dispose();
  }
}
