/**
 * The typed message protocol between the supervisor (main side) and the trainer child process,
 * defined once and imported by both.
 */
import type { TickInfo } from '../../common/records.js';
import type { BackendName } from '../runtime/backend.js';
import type { GanConfig } from '../gan/config.js';

/** What a checkpoint whose file is not there shows instead of a damage (found afresh each time: it may come back). */
export const FILE_MISSING = 'the file is missing';

export interface TrainerStart {
  type: 'start';
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

export type SupervisorMessage =
  TrainerStart | { type: 'pause' } | { type: 'stop' } | { type: 'snapshot' } | { type: 'slots'; slots: number[] };

/** A tick as the contract shows it (minus its database id and time), plus the trainer's own timing. */
export type TickMetrics = Omit<TickInfo, 'id' | 'at'> & {
  /** Seconds of this tick spent inside training steps, and in all (the rest: data, grids, checkpoints, IPC). */
  stepSeconds: number;
  wallSeconds: number;
};

export type TrainerMessage =
  | {
      type: 'started';
      backend: string;
      description: string;
      hint: string | null;
      /** Worker-thread replicas that answered ready (1: one GanTrainer in the trainer's own thread). */
      replicas: number;
      kimg: number;
      step: number;
      /** The checkpoint it resumed from (null: a fresh start or fine-tune). */
      resumedFrom: number | null;
    }
  /**
   * A resume candidate failed verification, or its file is not there (`missing`); the trainer
   * tries the next older one.
   */
  | { type: 'checkpointDamaged'; id: number; path: string; reason: string; missing: boolean }
  | { type: 'tick'; tick: TickMetrics }
  /** A grid was written, and with it G_ema alone at `generator` (absolute), for the Gallery. */
  | { type: 'snapshot'; kimg: number; step: number; grid: string; generator: string }
  | { type: 'checkpoint'; kimg: number; step: number; path: string; sha256: string; bytes: number; ms: number }
  | { type: 'paused' | 'stopped' | 'done'; kimg: number; step: number }
  /**
   * Training cannot go on. 'write' (a checkpoint or grid could not be written): the run pauses
   * with this error and resumes once fixed. 'fatal' (no checkpoint is intact): retrying cannot
   * help, the run is marked crashed and cannot resume. 'unsupported' (the preset cannot fit this
   * backend): crashed at once, and startable again where it fits (another backend installed).
   * 'missing' (no checkpoint to resume from is intact, and some are not there): crashed, and
   * resumable once the files are back.
   * 'input' (the generator file to fine-tune from is gone or unusable): the run pauses with this
   * error, and resumes once the file is back.
   */
  | { type: 'failed'; message: string; kimg: number; kind: 'write' | 'fatal' | 'unsupported' | 'missing' | 'input' }
  /**
   * An unexpected error, sent just before the process exits non-zero (a crash with its cause),
   * with the step it happened at (-1: before training began) and whether it ran out of memory.
   */
  | { type: 'error'; message: string; step: number; outOfMemory: boolean };
