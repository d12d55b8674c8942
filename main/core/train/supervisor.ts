/**
 * The main-side owner of one run's trainer process. It starts the child, writes every event to
 * SQLite before telling anyone (so nothing shown is lost), pauses / stops / snapshots on
 * request, and when the child dies unexpectedly records why and restarts it from the last
 * good checkpoint, with backoff, a bounded number of times. Its life is one `Phase`; what an
 * exit means is decided by exit-decision.ts, without a process.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { PauseCause } from '../../common/vocabulary.js';
import { assertWritableInHome, checkpointDir, samplesDir } from '../home-layout.js';
import type { RunRow, RunStore, RunUpdate } from '../store/runs.js';
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
import { RpcClient } from '../util/child-rpc.js';
import { forkChild, onEnded, type ChildHandle, type SpawnChild } from '../util/spawn-child.js';
import { eventsAsMessages, type TrainerMessage, type TrainerProtocol } from './protocol.js';
import { removeLeftovers } from './run-files.js';
import { recordMessage, type Journal, type SupervisorEvents } from './run-journal.js';
import { trainerStart } from './trainer-start.js';

export type { SupervisorEvents };

export const TRAINER_SCRIPT = fileURLToPath(new URL('./trainer.js', import.meta.url));

export interface SupervisorOptions {
  home: string;
  /** How the trainer process is started (forkChild headless; the Electron shell's utility process). */
  spawn?: SpawnChild;
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

/** One trainer process, from its start to its exit. */
interface Session {
  readonly child: ChildHandle;
  /** The trainer protocol over the child's channel. */
  readonly rpc: RpcClient<TrainerProtocol>;
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
  readonly #journal: Journal;
  /** The slowest step and checkpoint write seen (ms): a pause may take that long to be answered. */
  #slowest = { stepMs: 0, checkpointMs: 0 };

  constructor(store: RunStore, runId: number, opts: SupervisorOptions) {
    super();
    this.#store = store;
    this.runId = runId;
    this.#opts = {
      spawn: forkChild,
      maxRestarts: 5,
      backoffMs: 1000,
      keepCheckpoints: 3,
      keepLiveGenerators: 2,
      tickSeconds: 2,
      answerTimeoutMs: 60_000,
      ...opts,
    };
    this.#journal = {
      store,
      home: this.#opts.home,
      runId,
      keepCheckpoints: this.#opts.keepCheckpoints,
      keepLiveGenerators: this.#opts.keepLiveGenerators,
      update: (fields) => this.#update(fields),
      events: this,
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

  #child(): ChildHandle | undefined {
    return this.#phase.name === 'training' || this.#phase.name === 'ending' ? this.#phase.session.child : undefined;
  }

  #run(): RunRow {
    const run = this.#store.getRun(this.runId);
    if (!run) throw new Error(`run ${this.runId} no longer exists`);
    return run;
  }

  /** Replaces the session in hand, if `child` is its trainer's. */
  #session(child: ChildHandle, change: (s: Session) => Session): void {
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
    const start = trainerStart(this.#store, run, home, this.#opts.dataset(), this.#opts.tickSeconds);
    // In a process group of its own where the shell can (a terminal's Ctrl-C reaches only this
    // process, which pauses the trainer with a checkpoint); should this process die outright,
    // the trainer sees its channel close and exits.
    const child = this.#opts.spawn(TRAINER_SCRIPT, { name: 'trainer', ownGroup: true });
    const rpc = new RpcClient<TrainerProtocol>(child, { name: 'trainer' });
    this.#phase = {
      name: 'training',
      session: {
        child,
        rpc,
        startedAt: Date.now(),
        previousCrash: restartAfter?.crash ?? null,
        heard: NOTHING_HEARD,
        lastTickStep: null,
      },
    };
    let resolveExit!: () => void;
    this.#exited = new Promise((r) => (resolveExit = r));
    const heard = (m: TrainerMessage): void => {
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
        this.#tell(rpc, 'pause');
      }
    };
    // Its events, then how it ended; a trainer that died without an answer fails the request,
    // and its exit says what that means.
    void rpc.request('train', start, { on: eventsAsMessages(heard) }).then(
      (end) => end && heard(end),
      () => {},
    );
    // After every message it sent (the crash's cause, sent just before it exits) has been heard.
    onEnded(child, (code, signal) => {
      try {
        this.#onExit(child, code, signal);
      } catch (err) {
        console.error(`plumage: run ${this.runId}: ${firstLine(err)}`);
      }
      resolveExit();
    });
    this.#update(
      restartAfter
        ? { state: 'running' }
        : { state: 'running', error: null, restarts: 0, cannot_resume: null, paused_by: null, paused_at: null },
    );
  }

  #onMessage(child: ChildHandle, m: TrainerMessage): void {
    const p = this.#phase;
    const session = (p.name === 'training' || p.name === 'ending') && p.session.child === child ? p.session : null;
    this.#session(child, (s) => ({ ...s, heard: hear(s.heard, m) }));
    if (m.type === 'tick') {
      const last = session?.lastTickStep ?? null;
      if (last !== null && m.tick.step > last)
        this.#slowest.stepMs = Math.max(this.#slowest.stepMs, (m.tick.stepSeconds * 1000) / (m.tick.step - last));
      this.#session(child, (s) => ({ ...s, lastTickStep: m.tick.step }));
    }
    if (m.type === 'checkpoint') this.#slowest.checkpointMs = Math.max(this.#slowest.checkpointMs, m.ms);
    recordMessage(this.#journal, m, session?.startedAt);
  }

  #onExit(child: ChildHandle, code: number | null, signal: string | null): void {
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
    const { child, rpc } = p.session;
    const previous = p.name === 'ending' ? p.request : null;
    const request = { kind, cause: cause === undefined ? (previous?.cause ?? null) : cause, unanswered: null };
    this.#phase = { name: 'ending', session: p.session, request };
    this.#tell(rpc, kind);
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
    const rpc = this.#rpc();
    if (rpc) this.#tell(rpc, 'snapshot');
  }

  /** New images joined the dataset: the trainer samples from them from its next step. */
  updateSlots(slots: number[]): void {
    void this.#rpc()
      ?.request('slots', { slots })
      .catch(() => {});
  }

  #rpc(): RpcClient<TrainerProtocol> | undefined {
    return this.#phase.name === 'training' || this.#phase.name === 'ending' ? this.#phase.session.rpc : undefined;
  }

  /**
   * Asks the trainer to pause, stop or snapshot. Its answer is only that it heard: what it does
   * comes as its events and its ending, and a trainer that does not answer is bounded by its exit
   * (#end), not by this reply; one that died fails this request, and its exit says what it means.
   */
  #tell(rpc: RpcClient<TrainerProtocol>, name: 'pause' | 'stop' | 'snapshot'): void {
    void rpc.request(name, null).catch(() => {});
  }

  /** Test hook and last resort: kill the trainer outright (it is treated as a crash). */
  killTrainer(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.#child()?.kill(signal);
  }

  whenExited(): Promise<void> {
    return this.#exited;
  }
}
