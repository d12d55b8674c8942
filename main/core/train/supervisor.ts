/**
 * The main-side owner of one run's trainer process. It starts the child, writes every event to
 * SQLite before telling anyone (so nothing shown is lost), pauses / stops / snapshots on
 * request, and when the child dies unexpectedly records why and restarts it from the last
 * good checkpoint, with backoff, a bounded number of times. Its life is one `Phase`; what an
 * exit means is decided by exit-decision.ts, without a process.
 */
import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import type { PauseCause } from '../../common/vocabulary.js';
import {
  assertWritableInHome,
  checkpointDir,
  liveGeneratorFiles,
  removeInHome,
  samplesDir,
  samplesKey,
} from '../home-layout.js';
import type { TickInfo } from '../../common/records.js';
import type { CheckpointRow, RunRow, RunStore, RunUpdate, SnapshotRow } from '../store/runs.js';
import {
  NOTHING_HEARD,
  decideExit,
  hear,
  heardWriteFailure,
  pausedBy,
  type EndRequest,
  type Heard,
  type PreviousCrash,
} from './exit-decision.js';
import { firstLine, writeAdvice } from './failure.js';
import type { TrainerMessage, TrainerStart } from './protocol.js';
import { applyRetention, removeLeftovers, removeLiveGenerators } from './run-files.js';
import { TRAINER_SCRIPT, forkTrainer, type SpawnTrainer, type TrainerProcess } from './spawn-trainer.js';

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
  tick: [TickInfo];
  /** The trainer's own timing of a tick and of a checkpoint write (for benchmarks). */
  timing: [{ stepSeconds?: number; wallSeconds?: number; checkpointMs?: number }];
  snapshot: [SnapshotRow];
  checkpoint: [CheckpointRow];
  started: [{ backend: string; description: string; hint: string | null; replicas: number }];
}

/** One trainer process, from its start to its exit. */
interface Session {
  readonly child: TrainerProcess;
  /** When it was started: G_ema files named earlier are a past session's. */
  readonly startedAt: number;
  /** The crash an automatic restart followed (the same again is not retried). */
  readonly previousCrash: PreviousCrash | null;
  readonly heard: Heard;
  /** The step of its last tick, to time its steps. */
  readonly lastTickStep: number | null;
}

/**
 * The run's life in this process. idle: no trainer (created, paused, stopped, done, crashed);
 * training: a trainer works; ending: it was asked to pause or stop and has not exited yet;
 * backoff: it crashed and a restart is due when the timer fires.
 */
export type Phase =
  | { readonly name: 'idle' }
  | { readonly name: 'training'; readonly session: Session }
  | { readonly name: 'ending'; readonly session: Session; readonly request: EndRequest }
  | { readonly name: 'backoff'; readonly timer: NodeJS.Timeout; readonly crash: PreviousCrash | null };

export class RunSupervisor extends EventEmitter<SupervisorEvents> {
  readonly runId: number;
  readonly #store: RunStore;
  readonly #opts: Required<Omit<SupervisorOptions, 'dataset'>> & Pick<SupervisorOptions, 'dataset'>;
  #phase: Phase = { name: 'idle' };
  /** Resolves when the last trainer started has exited and its exit is recorded. */
  #exited: Promise<void> = Promise.resolve();
  /** The slowest step and checkpoint write seen (ms): a pause may take that long to be answered. */
  #slowest = { stepMs: 0, checkpointMs: 0 };

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

  /** A trainer works, is ending, or is due to restart. */
  get running(): boolean {
    return this.#phase.name !== 'idle';
  }

  get phase(): Phase['name'] {
    return this.#phase.name;
  }

  get pid(): number | undefined {
    return this.#child()?.pid;
  }

  #child(): TrainerProcess | undefined {
    return this.#phase.name === 'training' || this.#phase.name === 'ending' ? this.#phase.session.child : undefined;
  }

  #run(): RunRow {
    const run = this.#store.getRun(this.runId);
    if (!run) throw new Error(`run ${this.runId} no longer exists`);
    return run;
  }

  /** Replaces the session in hand, if `child` is its trainer's. */
  #session(child: TrainerProcess, change: (s: Session) => Session): void {
    const p = this.#phase;
    if ((p.name === 'training' || p.name === 'ending') && p.session.child === child)
      this.#phase = { ...p, session: change(p.session) };
  }

  /**
   * Writes the run's new state, then announces it. Should the database refuse (full disk), the
   * change is still announced (the UI shows why) and the failure is kept to pause the run.
   */
  #update(fields: RunUpdate): void {
    try {
      this.#store.updateRun(this.runId, fields);
    } catch (err) {
      this.#dbFailed(err);
    }
    const row = this.#store.getRun(this.runId);
    if (row) this.emit('changed', { ...row, ...fields });
  }

  /** The database refused a write: the trainer in hand (if any) is paused with the reason. */
  #dbFailed(err: unknown): void {
    const message = `could not record the run's progress in the database: ${writeAdvice(err)}`;
    const child = this.#child();
    if (child) this.#session(child, (s) => ({ ...s, heard: heardWriteFailure(s.heard, message) }));
  }

  /** What the trainer starts from: the run's settings, where its files go, the checkpoints to resume from. */
  #startMessage(run: RunRow): TrainerStart {
    const home = this.#opts.home;
    const dataset = this.#opts.dataset();
    // Newest first; the trainer resumes from the first that verifies. A fork continues from its
    // parent's checkpoint (everything: D, moments, ADA p, counters, RNG) until it has its own.
    const candidates: TrainerStart['resumeFrom'] = this.#store
      .goodCheckpoints(this.runId)
      .map((c) => ({ id: c.id, path: c.path, kimg: c.kimg, fork: false }));
    const parent = run.parent_checkpoint_id !== null ? this.#store.getCheckpoint(run.parent_checkpoint_id) : undefined;
    if (parent && !parent.damaged) candidates.push({ id: parent.id, path: parent.path, kimg: parent.kimg, fork: true });
    return {
      type: 'start',
      runId: run.id,
      config: this.#store.runConfig(run),
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
  }

  /**
   * Starts (or resumes from its last checkpoint) the trainer; a start while a restart is due
   * starts it now, as a fresh start. Throws OutsideHomeError, and starts nothing, where the run's
   * folders lead out of the home (a copy whose `checkpoints/` links into the original's).
   */
  start(): void {
    const p = this.#phase;
    if (p.name === 'training' || p.name === 'ending') return;
    this.#launch(null);
    if (p.name === 'backoff') clearTimeout(p.timer);
  }

  /** `restartAfter`: the crash an automatic restart follows (the crash's reason stays on show); null: a fresh start. */
  #launch(restartAfter: { crash: PreviousCrash | null } | null): void {
    const run = this.#run();
    const home = this.#opts.home;
    assertWritableInHome(home, checkpointDir(home, run.id));
    assertWritableInHome(home, samplesDir(home, run.id));
    removeLeftovers(home, run.id);
    const start = this.#startMessage(run);
    const child = this.#opts.spawn(TRAINER_SCRIPT);
    this.#phase = {
      name: 'training',
      session: {
        child,
        startedAt: Date.now(),
        previousCrash: restartAfter?.crash ?? null,
        heard: NOTHING_HEARD,
        lastTickStep: null,
      },
    };
    let resolveExit!: () => void;
    this.#exited = new Promise((r) => (resolveExit = r));
    child.onMessage((m) => {
      // Nothing a message brings may take the process down (a full disk under the database, a
      // listener's bug): the run pauses with the reason instead, and the app stays up.
      try {
        this.#onMessage(child, m);
      } catch (err) {
        this.#dbFailed(err);
      }
      const p = this.#phase;
      if (p.name === 'training' && p.session.child === child && p.session.heard.writeFailure) {
        this.#phase = { name: 'ending', session: p.session, request: { kind: 'pause', cause: null, unanswered: null } };
        child.send({ type: 'pause' });
      }
    });
    child.onExit((code, signal) => {
      try {
        this.#onExit(child, code, signal);
      } catch (err) {
        console.error(`plumage: run ${this.runId}: ${firstLine(err)}`);
      }
      resolveExit();
    });
    child.send(start);
    this.#update(
      restartAfter
        ? { state: 'running' }
        : { state: 'running', error: null, restarts: 0, cannot_resume: null, paused_by: null, paused_at: null },
    );
  }

  #onMessage(child: TrainerProcess, m: TrainerMessage): void {
    this.#session(child, (s) => ({ ...s, heard: hear(s.heard, m) }));
    // The database first, then the event.
    switch (m.type) {
      case 'started': {
        // What came after the checkpoint it resumed from is recorded again: never a step twice.
        const dropped = this.#store.truncateAfter(this.runId, m.step);
        // A stale grid that cannot be removed is only a picture the history no longer lists.
        for (const grid of dropped) void removeInHome(this.#opts.home, join(this.#opts.home, grid)).catch(() => {});
        // Their G_ema files too, and any a killed trainer wrote without saying (none held by a favourite).
        const p = this.#phase;
        if ((p.name === 'training' || p.name === 'ending') && p.session.child === child)
          this.#removeLiveGenerators(p.session.startedAt);
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
        this.#session(child, (s) => {
          if (s.lastTickStep !== null && t.step > s.lastTickStep)
            this.#slowest.stepMs = Math.max(this.#slowest.stepMs, (t.stepSeconds * 1000) / (t.step - s.lastTickStep));
          return { ...s, lastTickStep: t.step };
        });
        const row = this.#store.recordTick(this.runId, t);
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
        this.#slowest.checkpointMs = Math.max(this.#slowest.checkpointMs, m.ms);
        this.emit('checkpoint', row);
        this.emit('timing', { checkpointMs: m.ms });
        // Housekeeping: a checkpoint that cannot be deleted costs disk space, never the run.
        void applyRetention(this.#store, this.#opts.home, this.runId, this.#opts.keepCheckpoints).catch(
          (err: unknown) =>
            console.error(`plumage: run ${this.runId}: could not delete an old checkpoint: ${firstLine(err)}`),
        );
        break;
      }
      case 'paused':
      case 'stopped':
      case 'done':
        this.#store.updateRun(this.runId, { kimg: m.kimg });
        break;
      case 'failed':
      case 'error':
        break; // heard: decided at the exit
    }
  }

  #onExit(child: TrainerProcess, code: number | null, signal: string | null): void {
    const p = this.#phase;
    if ((p.name !== 'training' && p.name !== 'ending') || p.session.child !== child) return;
    this.#phase = { name: 'idle' };
    const { update, restart } = decideExit({
      request: p.name === 'ending' ? p.request : null,
      heard: p.session.heard,
      previousCrash: p.session.previousCrash,
      code,
      signal,
      restarts: this.#run().restarts,
      maxRestarts: this.#opts.maxRestarts,
      backoffMs: this.#opts.backoffMs,
      resumeKimg: this.#store.latestCheckpoint(this.runId)?.kimg ?? null,
      now: Date.now(),
    });
    if (restart) {
      const timer = setTimeout(() => {
        this.#phase = { name: 'idle' };
        try {
          this.#launch({ crash: restart.crash });
        } catch (err) {
          this.#update({ state: 'crashed', error: firstLine(err) });
        }
      }, restart.delayMs);
      this.#phase = { name: 'backoff', timer, crash: restart.crash };
    }
    this.#update(update);
  }

  #removeLiveGenerators(before: number | undefined): void {
    removeLiveGenerators(this.#store, this.#opts.home, this.runId, this.#opts.keepLiveGenerators, before);
  }

  /**
   * Finishes the step in flight, writes a checkpoint, ends the process. Resolves when it has
   * exited. `cause`: what paused it when it was not the Pause button (the app quitting, …), kept
   * with the run so the view can say so.
   */
  async pause(cause: PauseCause | null = null): Promise<void> {
    return this.#end('pause', cause);
  }

  async stop(): Promise<void> {
    return this.#end('stop');
  }

  /** `cause` undefined: the cause of a pause already asked for stands. */
  async #end(kind: 'pause' | 'stop', cause?: PauseCause | null): Promise<void> {
    const p = this.#phase;
    if (p.name === 'backoff') {
      clearTimeout(p.timer);
      this.#phase = { name: 'idle' };
      const state = kind === 'pause' ? 'paused' : 'stopped';
      this.#update({ state, ...pausedBy(state, cause ?? null, Date.now()) });
      return;
    }
    if (p.name === 'idle') {
      if (kind === 'stop' && this.#run().state !== 'done') this.#update({ state: 'stopped' });
      return;
    }
    const { child } = p.session;
    const previous = p.name === 'ending' ? p.request : null;
    const request = { kind, cause: cause === undefined ? (previous?.cause ?? null) : cause, unanswered: null };
    this.#phase = { name: 'ending', session: p.session, request };
    child.send({ type: kind });
    // Bounded: a trainer that does not answer (hung, stopped, stuck in a driver) is killed.
    const boundMs = this.#opts.answerTimeoutMs + this.#slowest.stepMs + this.#slowest.checkpointMs;
    const exited = this.#exited;
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      exited.then(() => true),
      new Promise<false>((r) => (timer = setTimeout(() => r(false), boundMs))),
    ]);
    clearTimeout(timer);
    const now = this.#phase;
    if (!answered && now.name === 'ending' && now.session.child === child) {
      const unanswered = `the trainer did not answer the ${kind} request within ${(boundMs / 1000).toFixed(1)} s`;
      this.#phase = { ...now, request: { ...now.request, unanswered } };
      child.kill('SIGKILL');
      await exited;
    }
  }

  snapshotNow(): void {
    this.#child()?.send({ type: 'snapshot' });
  }

  /** New images joined the dataset: the trainer samples from them from its next step. */
  updateSlots(slots: number[]): void {
    this.#child()?.send({ type: 'slots', slots });
  }

  /** Test hook and last resort: kill the trainer outright (it is treated as a crash). */
  killTrainer(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child()?.kill(signal);
  }

  whenExited(): Promise<void> {
    return this.#exited;
  }
}
