/**
 * The main-side owner of one run's trainer process. It starts the child, writes every event to
 * SQLite before telling anyone (so nothing shown is lost), pauses / stops / snapshots on
 * request, and when the child dies unexpectedly records why and restarts it from the last
 * good checkpoint, with backoff, a bounded number of times.
 */
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PauseCause } from '../../../preload/contract.js';
import type { GanConfig } from '../gan/config.js';
import {
  assertWritableInHome,
  checkpointDir,
  liveGeneratorFiles,
  removeInHome,
  removeInHomeSync,
  samplesDir,
  samplesKey,
} from '../home-layout.js';
import type { RunRow, RunStore, SnapshotRow, TickRow, CheckpointRow } from '../store/runs.js';
import { forwardStderr } from '../util/child-stderr.js';
import { firstLine, writeAdvice } from './failure.js';
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

/**
 * Headless: a Node child process with an IPC channel (tfjs-node cannot run in worker threads).
 * `detached` puts it in a process group of its own, so a terminal's Ctrl-C (sent to the whole
 * foreground group) reaches only the supervisor, which pauses it with a checkpoint. Should the
 * supervisor die outright, the trainer sees its IPC channel close and exits.
 */
export const forkTrainer: SpawnTrainer = (script) => {
  const child = fork(script, [], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
    serialization: 'advanced',
    detached: true,
  });
  forwardStderr(child.stderr, 'trainer'); // without Dawn's native chatter
  return {
    get pid() {
      return child.pid;
    },
    send: (m) => {
      if (child.connected) child.send(m);
    },
    onMessage: (h) => child.on('message', (m) => h(m as TrainerMessage)),
    // 'close', not 'exit': it comes after the IPC channel has delivered every message, so the
    // crash's cause (sent just before the exit) is known when the exit is handled.
    onExit: (h) => child.on('close', (code, signal) => h(code, signal)),
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
  /** Intact checkpoints kept per run; older ones are deleted unless a foreign key (a fork) protects them. */
  keepCheckpoints?: number;
  /** G_ema files (one per grid) kept per run; older ones are deleted unless a favourite was drawn from one. */
  keepLiveGenerators?: number;
  tickSeconds?: number;
  /**
   * How long a trainer may take to answer a pause or stop beyond its slowest step and
   * checkpoint write, before it is killed (the run then resumes from its last checkpoint).
   */
  answerTimeoutMs?: number;
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
  started: [{ backend: string; description: string; hint: string | null; replicas: number }];
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
  /** What asked for the pause in hand when it was not the Pause button (a quit), recorded with it. */
  #pauseCause: PauseCause | null = null;
  #exited: Promise<void> = Promise.resolve();
  #restartTimer: NodeJS.Timeout | null = null;
  #progressSinceRestart = false;
  #crashCause: { message: string; step: number; outOfMemory: boolean } | null = null;
  /** The previous crash of this run (message and step): the same twice is not retried again. */
  #lastCrash: { message: string; step: number } | null = null;
  /** A write the supervisor itself could not make (the database): the run pauses with this. */
  #writeFailure: string | null = null;
  /** The trainer did not answer a pause or stop in time and was killed. */
  #unanswered: string | null = null;
  #fatal: 'fatal' | 'unsupported' | 'missing' | null = null;
  #slowestStepMs = 0;
  #slowestCheckpointMs = 0;
  #lastTickStep: number | null = null;
  /** When the trainer in hand was started: G_ema files named earlier are a past session's. */
  #startedAt = 0;

  constructor(store: RunStore, runId: number, opts: SupervisorOptions) {
    super();
    this.#store = store;
    this.runId = runId;
    this.#opts = {
      spawn: forkTrainer,
      maxRestarts: 5,
      backoffMs: 1000,
      keepCheckpoints: 3,
      keepLiveGenerators: 2,
      tickSeconds: 2,
      answerTimeoutMs: 60_000,
      ...opts,
    };
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

  /**
   * Writes the run's new state, then announces it. Should the database refuse (full disk), the
   * change is still announced (the UI shows why) and the failure is kept to pause the run.
   */
  #update(fields: Parameters<RunStore['updateRun']>[1]): void {
    try {
      this.#store.updateRun(this.runId, fields);
    } catch (err) {
      this.#dbFailed(err);
    }
    const row = this.#store.getRun(this.runId);
    if (row) this.emit('changed', { ...row, ...fields });
  }

  #dbFailed(err: unknown): void {
    this.#writeFailure ??= `could not record the run's progress in the database: ${writeAdvice(err)}`;
  }

  /** Temp files a killed write left behind (a whole checkpoint's size each): never read, so removed. */
  #removeLeftovers(run: RunRow): void {
    for (const dir of [checkpointDir(this.#opts.home, run.id), samplesDir(this.#opts.home, run.id)]) {
      let names: string[];
      try {
        names = readdirSync(dir);
      } catch {
        continue; // not there yet
      }
      for (const name of names) if (name.endsWith('.tmp')) removeInHomeSync(this.#opts.home, join(dir, name));
    }
  }

  /**
   * Starts (or resumes from its last checkpoint) the trainer. An automatic restart keeps the
   * crash's reason on show. Throws OutsideHomeError, and starts nothing, where the run's folders
   * lead out of the home (a copy whose `checkpoints/` links into the original's).
   */
  start(automatic = false): void {
    if (this.#child) return;
    const run = this.#run();
    const home = this.#opts.home;
    assertWritableInHome(home, checkpointDir(home, run.id));
    assertWritableInHome(home, samplesDir(home, run.id));
    this.#removeLeftovers(run);
    const dataset = this.#opts.dataset();
    // Newest first; the trainer resumes from the first that verifies. A fork continues from its
    // parent's checkpoint (everything: D, moments, ADA p, counters, RNG) until it has its own.
    const candidates: TrainerStart['resumeFrom'] = this.#store
      .goodCheckpoints(this.runId)
      .map((c) => ({ id: c.id, path: c.path, kimg: c.kimg, fork: false }));
    const parent = run.parent_checkpoint_id !== null ? this.#store.getCheckpoint(run.parent_checkpoint_id) : undefined;
    if (parent && !parent.damaged) candidates.push({ id: parent.id, path: parent.path, kimg: parent.kimg, fork: true });
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
      checkpointSeconds: run.checkpoint_minutes * 60,
      checkpointDir: checkpointDir(home, run.id),
      snapshotDir: samplesDir(home, run.id),
      snapshotKeyPrefix: samplesKey(run.id),
      resumeFrom: candidates,
      initFrom: run.init_from,
      tickSeconds: this.#opts.tickSeconds,
    };
    this.#ending = null;
    this.#failure = null;
    this.#requested = null;
    this.#pauseCause = null;
    this.#writeFailure = null;
    this.#unanswered = null;
    this.#fatal = null;
    this.#crashCause = null;
    this.#lastTickStep = null;
    this.#progressSinceRestart = false;
    if (!automatic) this.#lastCrash = null;
    this.#startedAt = Date.now();
    const child = this.#opts.spawn(TRAINER_SCRIPT);
    this.#child = child;
    let resolveExit!: () => void;
    this.#exited = new Promise((r) => (resolveExit = r));
    child.onMessage((m) => {
      // Nothing a message brings may take the process down (a full disk under the database, a
      // listener's bug): the run pauses with the reason instead, and the app stays up.
      try {
        this.#onMessage(m);
      } catch (err) {
        this.#dbFailed(err);
      }
      if (this.#writeFailure && this.#requested === null && this.#child === child) {
        this.#requested = 'pause';
        child.send({ type: 'pause' });
      }
    });
    child.onExit((code, signal) => {
      this.#child = null;
      try {
        this.#onExit(code, signal);
      } catch (err) {
        console.error(`plumage: run ${this.runId}: ${firstLine(err)}`);
      }
      resolveExit();
    });
    child.send(start);
    this.#update(
      automatic
        ? { state: 'running' }
        : { state: 'running', error: null, restarts: 0, cannot_resume: null, paused_by: null, paused_at: null },
    );
  }

  #onMessage(m: TrainerMessage): void {
    // The database first, then the event.
    switch (m.type) {
      case 'started': {
        // What came after the checkpoint it resumed from is recorded again: never a step twice.
        const dropped = this.#store.truncateAfter(this.runId, m.step);
        // A stale grid that cannot be removed is only a picture the history no longer lists.
        for (const grid of dropped) void removeInHome(this.#opts.home, join(this.#opts.home, grid)).catch(() => {});
        // Their G_ema files too, and any a killed trainer wrote without saying (none held by a favourite).
        this.#removeLiveGenerators(this.#startedAt);
        this.#update({ backend: m.description, backend_kind: m.backend, backend_hint: m.hint, kimg: m.kimg });
        this.emit('started', m);
        break;
      }
      case 'checkpointDamaged': {
        // A missing file is not marked: it is looked for again at every start, and may be back.
        if (!m.missing) this.#store.markCheckpointDamaged(m.id, m.reason);
        const row = this.#store.getCheckpoint(m.id);
        const at = `the checkpoint at ${row ? row.kimg.toFixed(3) : '?'} kimg`;
        this.#update({
          error: m.missing
            ? `${at} is missing (${m.path}); resuming from the newest one on disk`
            : `${at} is damaged (${m.reason}); resuming from the newest intact one`,
        });
        break;
      }
      case 'tick': {
        const t = m.tick;
        if (this.#lastTickStep !== null && t.step > this.#lastTickStep)
          this.#slowestStepMs = Math.max(this.#slowestStepMs, (t.stepSeconds * 1000) / (t.step - this.#lastTickStep));
        this.#lastTickStep = t.step;
        const row = this.#store.recordTick(this.runId, {
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
        this.emit('tick', row);
        this.emit('timing', { stepSeconds: t.stepSeconds, wallSeconds: t.wallSeconds });
        break;
      }
      case 'snapshot': {
        const row = this.#store.insertSnapshot(this.runId, m.kimg, m.step, m.grid, m.generator);
        this.emit('snapshot', row);
        this.#removeLiveGenerators(
          liveGeneratorFiles(this.#opts.home, this.runId).find((f) => f.path === m.generator)?.at,
        );
        break;
      }
      case 'checkpoint': {
        // Listed only now: the trainer sends this after the file is renamed into place, whole.
        const row = this.#store.recordCheckpoint(this.runId, {
          kimg: m.kimg,
          step: m.step,
          path: m.path,
          sha256: m.sha256,
          bytes: m.bytes,
        });
        // A fork with a checkpoint of its own no longer needs its parent's: let the parent's go.
        if (this.#run().parent_checkpoint_id !== null)
          this.#store.updateRun(this.runId, { parent_checkpoint_id: null });
        this.#slowestCheckpointMs = Math.max(this.#slowestCheckpointMs, m.ms);
        this.#progressSinceRestart = true;
        this.#lastCrash = null;
        this.emit('checkpoint', row);
        this.emit('timing', { checkpointMs: m.ms });
        // Housekeeping: a checkpoint that cannot be deleted costs disk space, never the run.
        void this.#applyRetention().catch((err: unknown) =>
          console.error(`plumage: run ${this.runId}: could not delete an old checkpoint: ${firstLine(err)}`),
        );
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
        this.#failure ??= m.message;
        if (m.kind === 'fatal' || m.kind === 'unsupported' || m.kind === 'missing') this.#fatal ??= m.kind;
        break;
      case 'error':
        this.#crashCause = { message: m.message, step: m.step, outOfMemory: m.outOfMemory };
        break;
    }
  }

  #onExit(code: number | null, signal: string | null): void {
    const resumeNote = (): string => {
      const at = this.#store.latestCheckpoint(this.runId);
      return at ? `resumes from its last checkpoint (${at.kimg.toFixed(3)} kimg)` : 'starts again from the beginning';
    };
    if (this.#unanswered) {
      const verb = this.#requested === 'stop' ? 'stopped' : 'paused';
      this.#update({
        state: verb,
        error: `${this.#unanswered}: it was ended, and the run ${resumeNote()}`,
        ...this.#pausedBy(verb),
      });
      return;
    }
    if (this.#writeFailure) {
      this.#update({ state: 'paused', error: this.#writeFailure });
      return;
    }
    if (this.#ending === 'paused' || this.#ending === 'stopped' || this.#ending === 'done') {
      this.#update({ state: this.#ending, error: null, restarts: 0, ...this.#pausedBy(this.#ending) });
      return;
    }
    if (this.#ending === 'failed') {
      this.#update(
        this.#fatal === 'fatal'
          ? { state: 'crashed', error: this.#failure, cannot_resume: this.#failure }
          : this.#fatal === 'unsupported' || this.#fatal === 'missing'
            ? { state: 'crashed', error: this.#failure }
            : { state: 'paused', error: this.#failure },
      );
      return;
    }
    const cause = this.#crashCause;
    const why =
      (signal ? `the trainer was killed (${signal})` : `the trainer exited with code ${code}`) +
      (cause ? `: ${cause.message}` : '');
    this.#crashCause = null;
    if (this.#requested) {
      // It died while pausing or stopping: what was asked for still stands, from the last checkpoint.
      this.#update({
        state: this.#requested === 'pause' ? 'paused' : 'stopped',
        error: `${why} while ${this.#requested === 'pause' ? 'pausing' : 'stopping'}`,
        ...this.#pausedBy(this.#requested === 'pause' ? 'paused' : 'stopped'),
      });
      return;
    }
    // A deterministic failure is not retried: out of memory, or the same error at the same step again.
    if (cause?.outOfMemory) {
      this.#update({ state: 'crashed', error: `${why}. Not retried: it would run out of memory again.` });
      return;
    }
    const last = this.#lastCrash;
    this.#lastCrash = cause ? { message: cause.message, step: cause.step } : null;
    if (cause && last && last.message === cause.message && last.step === cause.step) {
      const reason =
        `${why}. It failed the same way ${cause.step >= 0 ? `at step ${cause.step} ` : 'while starting '}` +
        'twice, so it is not retried: fork the run from its last checkpoint with a changed config';
      this.#update({ state: 'crashed', error: reason, cannot_resume: reason });
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
      try {
        this.start(true);
      } catch (err) {
        this.#update({ state: 'crashed', error: firstLine(err) });
      }
    }, delay);
  }

  /**
   * Deletes all but the newest `keepCheckpoints` intact checkpoints (damaged ones go too): the
   * row first, then the file. A checkpoint a fork (or a favourite) points to is kept: its
   * foreign key refuses the delete. A file is deleted only inside the home, and only when no row
   * still lists it (a run that resumed before a missing or damaged checkpoint rewrites its name).
   */
  async #applyRetention(): Promise<void> {
    const keep = new Set(
      this.#store
        .goodCheckpoints(this.runId)
        .slice(0, this.#opts.keepCheckpoints)
        .map((c) => c.id),
    );
    for (const old of this.#store.listCheckpoints(this.runId)) {
      if (keep.has(old.id) || !this.#store.deleteCheckpoint(old.id)) continue;
      if (this.#store.checkpointAt(old.path)) continue;
      // A row that named a file outside the home (an old database's) is forgotten; the file is not ours.
      await removeInHome(this.#opts.home, old.path).catch((err: unknown) => {
        if ((err as { code?: unknown }).code !== 'outside-home') throw err;
      });
    }
  }

  /**
   * Keeps the newest `keepLiveGenerators` snapshots' G_ema files and any a favourite was drawn
   * from; deletes the run's other G_ema files named before `before` (ms). A file named later may be
   * one the trainer has written and not yet announced, so it is never touched here.
   */
  #removeLiveGenerators(before: number | undefined): void {
    if (before === undefined) return;
    const held = this.#store.releaseLiveGenerators(this.runId, this.#opts.keepLiveGenerators);
    for (const f of liveGeneratorFiles(this.#opts.home, this.runId))
      if (f.at < before && !held.has(f.path)) void removeInHome(this.#opts.home, f.path).catch(() => {});
  }

  /**
   * Finishes the step in flight, writes a checkpoint, ends the process. Resolves when it has
   * exited. `cause`: what paused it when it was not the Pause button (the app quitting, …), kept
   * with the run so the view can say so.
   */
  async pause(cause: PauseCause | null = null): Promise<void> {
    this.#pauseCause = cause;
    return this.#end('pause');
  }

  /** The pause cause fields for a run ending in `state`: set for a pause a quit asked for, cleared otherwise. */
  #pausedBy(state: 'paused' | 'stopped' | 'done'): { paused_by: PauseCause | null; paused_at: number | null } {
    const cause = state === 'paused' ? this.#pauseCause : null;
    return { paused_by: cause, paused_at: cause ? Date.now() : null };
  }

  async stop(): Promise<void> {
    return this.#end('stop');
  }

  async #end(kind: 'pause' | 'stop'): Promise<void> {
    if (this.#restartTimer) {
      clearTimeout(this.#restartTimer);
      this.#restartTimer = null;
      const state = kind === 'pause' ? 'paused' : 'stopped';
      this.#update({ state, ...this.#pausedBy(state) });
      return;
    }
    if (!this.#child) {
      if (kind === 'stop' && this.#run().state !== 'done') this.#update({ state: 'stopped' });
      return;
    }
    const child = this.#child;
    this.#requested = kind;
    child.send({ type: kind });
    // Bounded: a trainer that does not answer (hung, stopped, stuck in a driver) is killed.
    const boundMs = this.#opts.answerTimeoutMs + this.#slowestStepMs + this.#slowestCheckpointMs;
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      this.#exited.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), boundMs))),
    ]);
    clearTimeout(timer);
    if (!answered && this.#child === child) {
      this.#unanswered = `the trainer did not answer the ${kind} request within ${(boundMs / 1000).toFixed(1)} s`;
      child.kill('SIGKILL');
      await this.#exited;
    }
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
