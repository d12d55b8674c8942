/**
 * The trainer process's protocol (spoken with util/child-rpc.ts): one long `train` request whose
 * events are the run's progress and whose result is how it ended, and the short requests that
 * steer it meanwhile (pause, stop, snapshot, new slots). Both sides import this.
 */
import type { TickInfo } from '../../common/records.js';
import type { BackendName } from '../runtime/backend.js';
import type { GanConfig } from '../gan/config.js';

/** What a checkpoint whose file is not there shows instead of a damage (found afresh each time: it may come back). */
export const FILE_MISSING = 'the file is missing';

export interface TrainerStart {
  runId: number;
  config: GanConfig;
  seed: number;
  sampleSeeds: number[];
  cacheFile: string;
  cacheResolution: number;
  slots: number[];
  targetKimg: number;
  snapshotKimg: number;
  checkpointKimg: number;
  /** A checkpoint at least this often in wall time, whichever comes first. */
  checkpointSeconds: number;
  checkpointDir: string;
  /** Absolute folder for grids, and the media key prefix they are served under. */
  snapshotDir: string;
  snapshotKeyPrefix: string;
  /**
   * Checkpoints to resume from, newest first: the trainer verifies each (checksums, shapes) and
   * resumes from the first intact one. `fork`: the parent run's checkpoint a fork continues from
   * (everything carries over; this run's config applies from there).
   */
  resumeFrom: ResumeCandidate[];
  /** Fine-tuning: G from this generator file (D, optimiser and counters start fresh). */
  initFrom: string | null;
  backend?: BackendName;
  /** Seconds between progress ticks. */
  tickSeconds: number;
}

export interface ResumeCandidate {
  id: number;
  path: string;
  kimg: number;
  fork: boolean;
}

/** A tick as the contract shows it (minus its database id and time), plus the trainer's own timing. */
export type TickMetrics = Omit<TickInfo, 'id' | 'at'> & {
  /** Seconds of this tick spent inside training steps, and in all (the rest: data, grids, checkpoints, IPC). */
  stepSeconds: number;
  wallSeconds: number;
};

/**
 * Training cannot go on. 'write' (a checkpoint or grid could not be written): the run pauses
 * with this error and resumes once fixed. 'fatal' (no checkpoint is intact): retrying cannot
 * help, the run is marked crashed and cannot resume. 'unsupported' (the preset cannot fit this
 * backend): crashed at once, and startable again where it fits (another backend installed).
 * 'missing' (no checkpoint to resume from is intact, and some are not there): crashed, and
 * resumable once the files are back. 'input' (the generator file to fine-tune from is gone or
 * unusable): the run pauses with this error, and resumes once the file is back.
 */
export interface TrainerFailure {
  message: string;
  kimg: number;
  kind: 'write' | 'fatal' | 'unsupported' | 'missing' | 'input';
}

/** The `train` request's progress, in the order it happens. */
// A type, not an interface: child-rpc's Protocol needs the index signature a type literal has.
export type TrainerEvents = {
  started: {
    backend: string;
    description: string;
    hint: string | null;
    /** Worker-thread replicas that answered ready (1: one GanTrainer in the trainer's own thread). */
    replicas: number;
    kimg: number;
    step: number;
    /** The checkpoint it resumed from (null: a fresh start or fine-tune). */
    resumedFrom: number | null;
  };
  /**
   * A resume candidate failed verification, or its file is not there (`missing`); the trainer
   * tries the next older one.
   */
  checkpointDamaged: { id: number; path: string; reason: string; missing: boolean };
  tick: { tick: TickMetrics };
  /** A grid was written, and with it G_ema alone at `generator` (absolute), for the Gallery. */
  snapshot: { kimg: number; step: number; grid: string; generator: string };
  checkpoint: { kimg: number; step: number; path: string; sha256: string; bytes: number; ms: number };
  /** A write failed: said at once (the trainer still tries to keep its progress), and again as the ending. */
  failed: TrainerFailure;
};

/**
 * How a `train` request ended: paused, stopped or done (a checkpoint written at the end); a
 * failure retrying cannot fix, or a write that failed; or an unexpected error, with the step it
 * happened at (-1: before training began) and whether it ran out of memory, after which the
 * process exits non-zero (a crash with its cause). null: its parent is gone, nobody to tell.
 */
export type TrainEnd =
  | { type: 'paused' | 'stopped' | 'done'; kimg: number; step: number }
  | ({ type: 'failed' } & TrainerFailure)
  | { type: 'error'; message: string; step: number; outOfMemory: boolean };

export interface TrainerProtocol {
  requests: {
    /** Trains the run (fresh, fine-tune or resume) until it ends; one per process. */
    train: { params: TrainerStart; result: TrainEnd | null };
    /** Finish the step in flight, write a checkpoint, end the `train` request. Answered at once. */
    pause: { params: null; result: null };
    stop: { params: null; result: null };
    /** A grid at the end of the step in flight. */
    snapshot: { params: null; result: null };
    /** New images joined the dataset: sample from these from the next step. */
    slots: { params: { slots: number[] }; result: null };
  };
  events: TrainerEvents;
}

/** Everything the supervisor hears from a trainer, one message each: its events and its ending. */
export type TrainerMessage =
  { [E in keyof TrainerEvents]: { type: E } & TrainerEvents[E] }[keyof TrainerEvents] | TrainEnd;

/** The `train` request's event handlers that hand each event on as a message. */
export function eventsAsMessages(heard: (m: TrainerMessage) => void): {
  [E in keyof TrainerEvents]: (payload: TrainerEvents[E]) => void;
} {
  return {
    started: (p) => heard({ type: 'started', ...p }),
    checkpointDamaged: (p) => heard({ type: 'checkpointDamaged', ...p }),
    tick: (p) => heard({ type: 'tick', ...p }),
    snapshot: (p) => heard({ type: 'snapshot', ...p }),
    checkpoint: (p) => heard({ type: 'checkpoint', ...p }),
    failed: (p) => heard({ type: 'failed', ...p }),
  };
}
