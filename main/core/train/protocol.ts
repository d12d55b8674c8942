/**
 * The typed message protocol between the supervisor (main side) and the trainer child process,
 * defined once and imported by both.
 */
import type { TickInfo } from '../../../preload/contract.js';
import type { BackendName } from '../gan/backend.js';
import type { GanConfig } from '../gan/config.js';

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
  checkpointDir: string;
  /** Absolute folder for grids, and the media key prefix they are served under. */
  snapshotDir: string;
  snapshotKeyPrefix: string;
  resumeFrom: string | null;
  initFrom: string | null;
  backend?: BackendName;
  /** Seconds between progress ticks. */
  tickSeconds: number;
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
  | { type: 'started'; backend: string; description: string; hint: string | null; kimg: number; step: number }
  | { type: 'tick'; tick: TickMetrics }
  | { type: 'snapshot'; kimg: number; step: number; grid: string }
  | { type: 'checkpoint'; kimg: number; step: number; path: string; sha256: string; bytes: number; ms: number }
  | { type: 'paused' | 'stopped' | 'done'; kimg: number; step: number }
  /**
   * Training cannot go on (a checkpoint could not be written, the dataset is empty, …): the run
   * pauses with this error.
   */
  | { type: 'failed'; message: string; kimg: number }
  /** An unexpected error, sent just before the process exits non-zero (a crash with its cause). */
  | { type: 'error'; message: string };
