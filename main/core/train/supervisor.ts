/**
 * The main-side owner of one run's trainer process. It starts the child, writes every event to
 * SQLite before telling anyone (so nothing shown is lost), pauses / stops / snapshots on
 * request, and when the child dies unexpectedly records why and restarts it from the last
 * good checkpoint, with backoff, a bounded number of times.
 */
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GanConfig } from '../gan/config.js';
import type { RunRow, RunStore, SnapshotRow, TickRow, CheckpointRow } from '../store/runs.js';
import type { SupervisorMessage, TrainerMessage, TrainerStart } from './protocol.js';

/** A trainer process as the supervisor sees it, whatever started it. */
export interface TrainerProcess {
  readonly pid: number | undefined;
  send(message: SupervisorMessage): void;
  onMessage(handler: (m: TrainerMessage) => void): void;
  /** code, or the signal that killed it */
  onExit(handler: (code: number | null, signal: string | null) => void): void;
  kill(signal?: NodeJS.Signals): void;
}

export type SpawnTrainer = (script: string) => TrainerProcess;

export const TRAINER_SCRIPT = fileURLToPath(new URL('./trainer.js', import.meta.url));

/** Headless: a Node child process with an IPC channel (tfjs-node cannot run in worker threads). */
export const forkTrainer: SpawnTrainer = (script) => {
  const child = fork(script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (h) => child.on('message', (m) => h(m as TrainerMessage)),
    onExit: (h) => child.on('exit', (code, signal) => h(code, signal)),
    kill: (signal) => child.kill(signal),
  };
};

export interface SupervisorOptions {
  home: string;
  spawn?: SpawnTrainer;
  /** Automatic restarts after crashes before the run is marked crashed (reset by progress). */
  maxRestarts?: number;
  /** Delay before restart k is backoffMs · 2^(k−1). */
  backoffMs?: number;
  /** Checkpoints kept per run (older ones are deleted; later: plus any a favourite points to). */
  keepCheckpoints?: number;
  tickSeconds?: number;
  /** Where the dataset is, as the trainer reads it. */
  dataset: () => { cacheFile: string; cacheResolution: number; slots: number[] };
}

export interface SupervisorEvents {
  changed: [RunRow];
  tick: [TickRow];
  /** The trainer's own timing of a tick and of a checkpoint write (for benchmarks). */
  timing: [{ stepSeconds?: number; wallSeconds?: number; checkpointMs?: number }];
  snapshot: [SnapshotRow];
  checkpoint: [CheckpointRow];
  started: [{ backend: string; description: string; hint: string | null }];
}

export class RunSupervisor extends EventEmitter<SupervisorEvents> {
  readonly runId: number;
  readonly #store: RunStore;
  readonly #opts: Required<Omit<SupervisorOptions, 'dataset'>> & Pick<SupervisorOptions, 'dataset'>;
  #child: TrainerProcess | null = null;
  /** What the child last said it is doing, so an exit can be told apart from a crash. */
  #ending: 'paused' | 'stopped' | 'done' | 'failed' | null = null;
  #failure: string | null = null;
  #requested: 'pause' | 'stop' | null = null;
  #exited: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | null = null;
  #progressSinceRestart = false;
  #crashCause: string | null = null;

  constructor(store: RunStore, runId: number, opts: SupervisorOptions) {
    super();
    this.#store = store;
    this.runId = runId;
    this.#opts = { spawn: forkTrainer, maxRestarts: 5, backoffMs: 1000, keepCheckpoints: 3, tickSeconds: 2, ...opts };
  }

  get running(): boolean {
    return this.#child !== null || this.#restartTimer !== null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  #run(): RunRow {
    const run = this.#store.getRun(this.runId);
    if (!run) throw new Error(`run ${this.runId} no longer exists`);
    return run;
  }

  #update(fields: Parameters<RunStore['updateRun']>[1]): void {
    this.#store.updateRun(this.runId, fields);
    this.emit('changed', this.#run());
  }

  /**
   * Starts (or resumes from its last checkpoint) the trainer. An automatic restart keeps the
   * crash's reason on show.
   */
  start(automatic = false): void {
    if (this.#child) return;
    const run = this.#run();
    const dataset = this.#opts.dataset();
    const latest = this.#store.latestCheckpoint(this.runId);
    const parent =
      !latest && run.parent_checkpoint_id !== null ? this.#store.getCheckpoint(run.parent_checkpoint_id) : undefined;
    const start: TrainerStart = {
      type: 'start',
      runId: run.id,
      config: JSON.parse(run.config) as GanConfig,
      seed: run.seed,
      sampleSeeds: JSON.parse(run.sample_seeds) as number[],
      cacheFile: dataset.cacheFile,
      cacheResolution: dataset.cacheResolution,
      slots: dataset.slots,
      targetKimg: run.target_kimg,
      snapshotKimg: run.snapshot_kimg,
      checkpointKimg: run.checkpoint_kimg,
      checkpointDir: join(this.#opts.home, 'checkpoints', `run-${run.id}`),
      snapshotDir: join(this.#opts.home, 'samples', `run-${run.id}`),
      snapshotKeyPrefix: `samples/run-${run.id}`,
      // A fork continues from its parent's checkpoint (with its own changed config for the rest).
      resumeFrom: latest?.path ?? null,
      initFrom: parent ? parent.path : run.init_from,
      tickSeconds: this.#opts.tickSeconds,
    };
    this.#ending = null;
    this.#failure = null;
    this.#requested = null;
    this.#progressSinceRestart = false;
    const child = this.#opts.spawn(TRAINER_SCRIPT);
    this.#child = child;
    let resolveExit!: () => void;
    this.#exited = new Promise((r) => (resolveExit = r));
    child.onMessage((m) => this.#onMessage(m));
    child.onExit((code, signal) => {
      this.#child = null;
      this.#onExit(code, signal);
      resolveExit();
    });
    child.send(start);
    this.#update(automatic ? { state: 'running' } : { state: 'running', error: null, restarts: 0 });
  }

  #onMessage(m: TrainerMessage): void {
    // The database first, then the event.
    switch (m.type) {
      case 'started':
        this.#update({ backend: m.description, kimg: m.kimg });
        this.emit('started', m);
        break;
      case 'tick': {
        const t = m.tick;
        const row = this.#store.insertTick(this.runId, {
          kimg: t.kimg,
          step: t.step,
          loss_g: t.lossG,
          loss_d: t.lossD,
          r1_penalty: t.r1Penalty,
          pl_penalty: t.plPenalty,
          score_real: t.scoreReal,
          score_fake: t.scoreFake,
          augment_p: t.augmentP,
          images_per_sec: t.imagesPerSec,
          sec_per_kimg: t.secPerKimg,
          tensors: t.tensors,
          rss_mb: t.rssMB,
          dataset_images: t.datasetImages,
          tensor_mb: t.tensorMB,
        });
        this.#store.updateRun(this.runId, { kimg: t.kimg });
        this.emit('tick', row);
        this.emit('timing', { stepSeconds: t.stepSeconds, wallSeconds: t.wallSeconds });
        break;
      }
      case 'snapshot':
        this.emit('snapshot', this.#store.insertSnapshot(this.runId, m.kimg, m.step, m.grid));
        break;
      case 'checkpoint': {
        // Listed only now: the trainer sends this after the file is renamed into place, whole.
        const row = this.#store.insertCheckpoint(this.runId, {
          kimg: m.kimg,
          step: m.step,
          path: m.path,
          sha256: m.sha256,
          bytes: m.bytes,
        });
        this.#store.updateRun(this.runId, { kimg: m.kimg });
        this.#progressSinceRestart = true;
        this.emit('checkpoint', row);
        this.emit('timing', { checkpointMs: m.ms });
        void this.#applyRetention();
        break;
      }
      case 'paused':
      case 'stopped':
      case 'done':
        this.#ending = m.type;
        this.#store.updateRun(this.runId, { kimg: m.kimg });
        break;
      case 'failed':
        this.#ending = 'failed';
        this.#failure = m.message;
        break;
      case 'error':
        this.#crashCause = m.message;
        break;
    }
  }

  #onExit(code: number | null, signal: string | null): void {
    if (this.#ending === 'paused' || this.#ending === 'stopped' || this.#ending === 'done') {
      this.#update({ state: this.#ending, error: null, restarts: 0 });
      return;
    }
    if (this.#ending === 'failed') {
      this.#update({ state: 'paused', error: this.#failure });
      return;
    }
    const why =
      (signal ? `the trainer was killed (${signal})` : `the trainer exited with code ${code}`) +
      (this.#crashCause ? `: ${this.#crashCause}` : '');
    this.#crashCause = null;
    if (this.#requested) {
      // It died while pausing or stopping: what was asked for still stands, from the last checkpoint.
      this.#update({
        state: this.#requested === 'pause' ? 'paused' : 'stopped',
        error: `${why} while ${this.#requested === 'pause' ? 'pausing' : 'stopping'}`,
      });
      return;
    }
    const run = this.#run();
    const restarts = this.#progressSinceRestart ? 1 : run.restarts + 1;
    if (restarts > this.#opts.maxRestarts) {
      this.#update({
        state: 'crashed',
        error: `${why}; gave up after ${this.#opts.maxRestarts} restarts without progress`,
      });
      return;
    }
    const delay = this.#opts.backoffMs * 2 ** (restarts - 1);
    this.#update({
      state: 'running',
      restarts,
      error: `${why}; restarting from the last checkpoint in ${(delay / 1000).toFixed(1)} s (restart ${restarts} of at most ${this.#opts.maxRestarts})`,
    });
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = null;
      this.start(true);
    }, delay);
  }

  /** Deletes all but the newest `keepCheckpoints` checkpoints: the row first, then the file. */
  async #applyRetention(): Promise<void> {
    const all = this.#store.listCheckpoints(this.runId);
    for (const old of all.slice(0, Math.max(0, all.length - this.#opts.keepCheckpoints))) {
      this.#store.deleteCheckpoint(old.id);
      await rm(old.path, { force: true });
    }
  }

  /** Finishes the step in flight, writes a checkpoint, ends the process. Resolves when it has exited. */
  async pause(): Promise<void> {
    return this.#end('pause');
  }

  async stop(): Promise<void> {
    return this.#end('stop');
  }

  async #end(kind: 'pause' | 'stop'): Promise<void> {
    if (this.#restartTimer) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
      this.#update({ state: kind === 'pause' ? 'paused' : 'stopped' });
      return;
    }
    if (!this.#child) {
      if (kind === 'stop' && this.#run().state !== 'done') this.#update({ state: 'stopped' });
      return;
    }
    this.#requested = kind;
    this.#child.send({ type: kind });
    await this.#exited;
  }

  snapshotNow(): void {
    this.#child?.send({ type: 'snapshot' });
  }

  /** New images joined the dataset: the trainer samples from them from its next step. */
  updateSlots(slots: number[]): void {
    this.#child?.send({ type: 'slots', slots });
  }

  /** Test hook and last resort: kill the trainer outright (it is treated as a crash). */
  killTrainer(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child?.kill(signal);
  }

  whenExited(): Promise<void> {
    return this.#exited;
  }
}
