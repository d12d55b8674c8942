/**
 * Scores each checkpoint a run writes ("Plumage KID (InceptionV3 mixed5, N images)" and the
 * memorisation rate) beside the trainer, never in its way: one score at a time, in a process of
 * the lowest CPU priority (the Studio's `score`), and when it falls behind only the newest
 * checkpoint of each run waits (latest wins: the curve wants now, not a backlog). Checkpoints
 * left unscored (a quit, a skip) are picked up by `catchUp`, at the next start or on demand. A
 * score that fails is stored with its reason; nothing it does reaches the trainer.
 */
import { EventEmitter } from 'node:events';
import { kidLabel } from '../../common/vocabulary.js';
import type { CheckpointScore } from '../../common/records.js';
import type { CheckpointRow } from '../store/runs.js';
import type { ScoreStore } from '../store/scores.js';

export interface Score {
  kid: number;
  kidStd: number;
  images: number;
  memorisation: number;
  label: string;
}

/** Computes one checkpoint's score from `images` birds; rejects when `signal` aborts (a close). */
export type ScoreCheckpoint = (checkpoint: CheckpointRow, images: number, signal: AbortSignal) => Promise<Score>;

export interface CheckpointScorerEvents {
  scored: [CheckpointScore];
}

export class CheckpointScorer extends EventEmitter<CheckpointScorerEvents> {
  readonly #store: ScoreStore;
  readonly #score: ScoreCheckpoint;
  readonly #log: (line: string) => void;
  #queue: CheckpointRow[] = [];
  #running: { checkpoint: CheckpointRow; abort: AbortController; done: Promise<void> } | null = null;
  #closed = false;
  #idle: (() => void)[] = [];

  readonly #gone: (c: CheckpointRow) => boolean;

  /**
   * `gone`: whether a checkpoint's file has been deleted (by retention: checkpoints can come
   * faster than scores, and a run keeps only its newest few). A score of a deleted checkpoint
   * is skipped, not stored as a failure: nothing went wrong, and the next checkpoint is scored.
   */
  constructor(
    store: ScoreStore,
    score: ScoreCheckpoint,
    log: (line: string) => void = (l) => console.error(l),
    gone: (c: CheckpointRow) => boolean = () => false,
  ) {
    super();
    this.#store = store;
    this.#score = score;
    this.#log = log;
    this.#gone = gone;
  }

  /** A checkpoint was just written: it waits in place of any older one of its run (latest wins). */
  checkpointWritten(c: CheckpointRow): void {
    if (this.#closed || !((this.#store.kidImages(c.run_id) ?? 0) > 0)) return;
    this.#queue = this.#queue.filter((q) => q.run_id !== c.run_id);
    this.#queue.push(c);
    this.#pump();
  }

  /** Queues every checkpoint without a score (of one run, or all), oldest first; returns how many. */
  catchUp(runId?: number): number {
    if (this.#closed) return 0;
    const busy = new Set([...this.#queue.map((q) => q.id), this.#running?.checkpoint.id]);
    const add = this.#store.unscored(runId).filter((c) => !busy.has(c.id));
    this.#queue.push(...add);
    this.#pump();
    return add.length;
  }

  /** Checkpoints waiting or being scored. */
  get pending(): number {
    return this.#queue.length + (this.#running ? 1 : 0);
  }

  /** The checkpoint being scored now, if any. */
  get scoring(): CheckpointRow | null {
    return this.#running?.checkpoint ?? null;
  }

  /** Resolves once nothing waits and nothing is being scored. */
  whenIdle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** Drops what waits and stops the score in flight (stored next start, by catchUp). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#queue = [];
    const running = this.#running;
    running?.abort.abort(new Error('closing'));
    await running?.done;
    this.#settle();
  }

  #pump(): void {
    if (this.#running || this.#closed) return;
    const checkpoint = this.#queue.shift();
    if (!checkpoint) return this.#settle();
    const abort = new AbortController();
    const done = this.#one(checkpoint, abort.signal).finally(() => {
      this.#running = null;
      this.#pump();
    });
    this.#running = { checkpoint, abort, done };
  }

  async #one(c: CheckpointRow, signal: AbortSignal): Promise<void> {
    try {
      const images = this.#store.kidImages(c.run_id) ?? 0;
      if (images === 0 || this.#gone(c)) return; // the run went, stopped asking, or retention took it
      const base = { checkpointId: c.id, runId: c.run_id, kimg: c.kimg, step: c.step };
      let stored: CheckpointScore | null;
      try {
        const s = await this.#score(c, images, signal);
        if (signal.aborted) return;
        stored = this.#store.record({ ...base, ...s, error: null });
      } catch (err) {
        if (signal.aborted) return; // closing: not a failure of the score, and it is retried next start
        if (this.#gone(c)) return; // deleted by retention while it was being read
        const why = (err as Error).message ?? String(err);
        stored = this.#store.record({
          ...base,
          kid: null,
          kidStd: null,
          images,
          memorisation: null,
          label: kidLabel(images),
          error: why.split('\n')[0]!.slice(0, 500),
        });
        this.#log(`plumage: could not score run ${c.run_id}'s checkpoint at ${c.kimg.toFixed(3)} kimg: ${why}`);
      }
      if (stored) this.emit('scored', stored);
    } catch (err) {
      // The store itself failed (a database closed under it, a full disk): said, never thrown at the trainer.
      this.#log(`plumage: could not store the score of checkpoint ${c.id}: ${(err as Error).message}`);
    }
  }

  #settle(): void {
    if (this.pending > 0) return;
    for (const r of this.#idle.splice(0)) r();
  }
}
