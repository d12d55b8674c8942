/**
 * One export job's progress, as the contract's ExportProgress: which item, which step, what was
 * written and what failed. Cancelling aborts its signal; the running step stops at its next
 * check (between ESRGAN tiles, between items) and what was finished stays on disk.
 */
import type { ExportKind, ExportStep } from '../../common/vocabulary.js';
import type { ExportProgress } from '../../common/records.js';

const STEP_EVENT_MS = 100;

export class ExportJob {
  readonly progress: ExportProgress;
  readonly #abort = new AbortController();
  readonly #emit: (p: ExportProgress) => void;
  readonly #keyOf: (path: string) => string | null;
  #sentAt = 0;
  /** Settles when the job's work has ended, however it ended. */
  whenDone: Promise<void> = Promise.resolve();

  /** `keyOf`: a written file's download key (home-layout's exportKey), null where it has none. */
  constructor(
    jobId: number,
    kind: ExportKind,
    total: number,
    emit: (p: ExportProgress) => void = () => undefined,
    keyOf: (path: string) => string | null = () => null,
  ) {
    this.progress = {
      jobId,
      kind,
      state: 'running',
      done: 0,
      total,
      current: null,
      written: [],
      downloads: {},
      failed: [],
      error: null,
    };
    this.#emit = emit;
    this.#keyOf = keyOf;
  }

  get signal(): AbortSignal {
    return this.#abort.signal;
  }

  cancel(): void {
    this.#abort.abort(new CancelledError());
  }

  step(name: string, step: ExportStep, fraction = 0): void {
    this.signal.throwIfAborted();
    const changed = this.progress.current?.name !== name || this.progress.current.step !== step;
    this.progress.current = { name, step, fraction: Math.min(1, Math.max(0, fraction)) };
    // A new item or step is always announced; fractions within one at most every 100 ms.
    if (changed || Date.now() - this.#sentAt >= STEP_EVENT_MS) this.#send();
  }

  wrote(path: string): void {
    this.progress.written.push(path);
    this.#download(path);
  }

  /** Notes the download key of a written file, once (a 1,000-frame sequence is announced many times). */
  #download(path: string): void {
    if (path in this.progress.downloads) return;
    const key = this.#keyOf(path);
    if (key !== null) this.progress.downloads[path] = key;
  }

  itemDone(): void {
    this.progress.done++;
    this.progress.current = null;
    this.#send();
  }

  itemFailed(name: string, err: unknown): void {
    this.progress.failed.push({ name, error: err instanceof Error ? err.message : String(err) });
    this.itemDone();
  }

  /**
   * Takes over what the export process's own job reports (items done, the step, files written or
   * failed) and announces it; the state stays this job's to decide. It never throws, even once
   * cancelled: files the process finishes after a cancel are still recorded.
   */
  mirror(p: ExportProgress): void {
    this.progress.done = p.done;
    this.progress.current = p.current;
    this.progress.written = [...p.written];
    for (const path of p.written) this.#download(path);
    this.progress.failed = [...p.failed];
    this.#send();
  }

  finish(err?: unknown): ExportProgress {
    this.progress.current = null;
    if (err === undefined) this.progress.state = 'done';
    else if (this.signal.aborted) this.progress.state = 'cancelled';
    else {
      this.progress.state = 'failed';
      this.progress.error = err instanceof Error ? err.message : String(err);
    }
    this.#send();
    return this.progress;
  }

  #send(): void {
    this.#sentAt = Date.now();
    this.#emit({
      ...this.progress,
      written: [...this.progress.written],
      downloads: { ...this.progress.downloads },
      failed: [...this.progress.failed],
    });
  }
}

export class CancelledError extends Error {
  constructor() {
    super('export cancelled');
  }
}
