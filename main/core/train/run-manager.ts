/**
 * Runs as the Studio offers them: create (fresh, forked from a checkpoint, or fine-tuning an
 * imported generator), start / resume, pause, stop, snapshot, delete — each run driven by its
 * RunSupervisor, every change written to SQLite and announced as an event.
 */
import { randomInt } from 'node:crypto';
import { availableParallelism, totalmem } from 'node:os';
import { EventEmitter } from 'node:events';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PRESETS, type PauseCause, type Preset } from '../../common/vocabulary.js';
import type { TickInfo, TransferInfo } from '../../common/records.js';
import type {
  CheckpointInfo,
  CreateRunParams,
  RunDetail,
  RunSummary,
  SnapshotInfo,
  TrainingCapacity,
} from '../../../preload/contract.js';
import { presetConfig } from '../gan/config.js';
import { chooseReplicas, machineReplicas } from '../parallel/replicas.js';
import {
  OutsideHomeError,
  checkpointDir,
  datasetCacheFile,
  removeInHome,
  runIdsOnDisk,
  samplesDir,
} from '../home-layout.js';
import type { DatasetStore } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import { downsampleTicks } from './tick-history.js';
import { RunStore, type CheckpointRow, type RunRow, type SnapshotRow } from '../store/runs.js';
import type { BackendName } from '../runtime/backend-info.js';
import { backendLimitMB, predictBackend, predictWithAdapter, presetFit, presetNeed } from './capacity.js';
import { FILE_MISSING } from './protocol.js';
import { checkFineTuneFile, planTransfer, type FineTuneError } from './fine-tune.js';
import { describeTransfer } from '../netfile/transfer.js';
import { RunSupervisor } from './supervisor.js';
import type { SpawnChild } from '../util/spawn-child.js';

export class RunError extends Error {
  constructor(
    message: string,
    readonly code: 'not-found' | 'invalid-input' | 'unsupported' = 'invalid-input',
  ) {
    super(message);
  }
}

export interface RunManagerOptions {
  home: string;
  /** How trainer processes are started (the studio's one SpawnChild seam). */
  spawn?: SpawnChild | undefined;
  maxRestarts?: number;
  backoffMs?: number;
  tickSeconds?: number;
  keepCheckpoints?: number;
  /** How long a trainer may take to answer pause/stop beyond its slowest step (default 60 s). */
  answerTimeoutMs?: number;
}

/** The default wall-clock bound between checkpoints. */
export const DEFAULT_CHECKPOINT_MINUTES = 10;

export interface RunManagerEvents {
  runChanged: [RunSummary];
  runTick: [{ runId: number; tick: TickInfo }];
  runSnapshot: [{ runId: number; snapshot: SnapshotInfo }];
  /** A checkpoint was written whole and recorded (the checkpoint scorer listens). */
  runCheckpoint: [CheckpointRow];
}

const SAMPLE_SEEDS = 8;

/** A checkpoint as the user sees it: a file that is not there shows as such, for as long as it is not. */
export const toCheckpointInfo = (c: CheckpointRow): CheckpointInfo => ({
  id: c.id,
  kimg: c.kimg,
  step: c.step,
  path: c.path,
  bytes: c.bytes,
  sha256: c.sha256,
  at: c.at,
  damaged: c.damaged ?? (existsSync(c.path) ? null : FILE_MISSING),
});
const toSnapshotInfo = (s: SnapshotRow): SnapshotInfo => ({
  id: s.id,
  kimg: s.kimg,
  step: s.step,
  grid: s.grid,
  generator: s.generator,
  at: s.at,
});
export class RunManager extends EventEmitter<RunManagerEvents> {
  readonly runs: RunStore;
  readonly #datasets: DatasetStore;
  readonly #opts: RunManagerOptions;
  readonly #supervisors = new Map<number, RunSupervisor>();

  constructor(db: Db, datasets: DatasetStore, opts: RunManagerOptions) {
    super();
    // New run ids start above the run folders on disk, whatever the database remembers.
    this.runs = new RunStore(db, opts.home, () => (runIdsOnDisk(opts.home).at(-1) ?? 0) + 1);
    this.#datasets = datasets;
    this.#opts = opts;
  }

  /** After the app (or the server) restarts: runs a dead process left 'running' are paused. */
  recoverInterrupted(): number {
    return this.runs.markInterrupted();
  }

  #row(runId: number): RunRow {
    const run = this.runs.getRun(runId);
    if (!run) throw new RunError(`no run with id ${runId}`, 'not-found');
    return run;
  }

  summary(run: RunRow): RunSummary {
    const config = this.runs.runConfig(run);
    const snapshots = this.runs.listSnapshots(run.id);
    const latest = this.runs.latestCheckpoint(run.id);
    return {
      id: run.id,
      name: run.name,
      datasetId: run.dataset_id,
      datasetFolder: this.#datasets.getDataset(run.dataset_id)?.folder ?? '',
      preset: run.preset as Preset,
      resolution: config.resolution,
      batchSize: config.batchSize,
      replicas: config.replicas ?? 1,
      r1Gamma: config.r1Gamma,
      adaTarget: config.ada.target,
      state: run.state,
      kimg: run.kimg,
      targetKimg: run.target_kimg,
      snapshotKimg: run.snapshot_kimg,
      checkpointKimg: run.checkpoint_kimg,
      checkpointMinutes: run.checkpoint_minutes,
      backend: run.backend,
      backendKind: run.backend_kind as BackendName | null,
      backendHint: run.backend_hint,
      error: run.error,
      restarts: run.restarts,
      cannotResume: this.#cannotStart(run),
      resumeKimg: this.#resumeKimg(run),
      pausedBy: run.paused_by !== null ? { cause: run.paused_by, at: run.paused_at ?? run.updated_at } : null,
      parentRunId: run.parent_run_id,
      startedFrom: startedFrom(run),
      lastSnapshot: snapshots.at(-1)?.grid ?? null,
      lastCheckpoint: latest ? toCheckpointInfo(latest) : null,
      kidImages: run.kid_images,
      createdAt: run.created_at,
    };
  }

  /** Why this run cannot be started or resumed now (null: it can). */
  #cannotStart(run: RunRow): string | null {
    if (run.cannot_resume) return run.cannot_resume;
    const asked = this.runs.runConfig(run).backend;
    return presetFit(run.preset as Preset, asked ?? predictBackend()).reason;
  }

  /** Resolves once the predicted backend accounts for a WebGPU adapter (asked once per process). */
  backendKnown(): Promise<BackendName> {
    return predictWithAdapter();
  }

  /** The backend a run would train on here, and which presets fit it (for the Training form). */
  capacity(): TrainingCapacity {
    const backend = predictBackend();
    return {
      backend,
      memoryLimitMB: backendLimitMB(backend),
      presets: PRESETS.map((preset) => {
        const fit = presetFit(preset, backend);
        return { preset, needMB: fit.needMB, fits: fit.fits, rounds: fit.rounds, reason: fit.reason };
      }),
    };
  }

  listRuns(): RunSummary[] {
    return this.runs.listRuns().map((r) => this.summary(r));
  }

  getRun(runId: number): RunDetail {
    const run = this.#row(runId);
    const checkpoints = this.runs.listCheckpoints(runId).map(toCheckpointInfo);
    const snapshots = this.runs.listSnapshots(runId).map(toSnapshotInfo);
    let diskBytes = checkpoints.reduce((a, c) => a + c.bytes, 0);
    for (const s of snapshots)
      diskBytes += statSync(join(this.#opts.home, s.grid), { throwIfNoEntry: false })?.size ?? 0;
    return { ...this.summary(run), checkpoints, snapshots, diskBytes };
  }

  async createRun(p: CreateRunParams): Promise<RunSummary> {
    const ds = this.#datasets.getDataset(p.datasetId);
    if (!ds) throw new RunError(`no dataset with id ${p.datasetId}`, 'not-found');
    let parent: CheckpointRow | undefined;
    if (p.fromCheckpointId !== undefined) {
      parent = this.runs.getCheckpoint(p.fromCheckpointId);
      if (!parent) throw new RunError(`no checkpoint with id ${p.fromCheckpointId}`, 'not-found');
    }
    const base = presetConfig(p.preset);
    const config = presetConfig(p.preset, {
      ...(p.r1Gamma !== undefined ? { r1Gamma: p.r1Gamma } : {}),
      ada: { ...base.ada, ...(p.adaTarget !== undefined ? { target: p.adaTarget } : {}) },
      ...(p.backend !== undefined ? { backend: p.backend } : {}),
      ...(p.freezeD !== undefined ? { freezeD: p.freezeD } : {}),
    });
    // Decided once, here, and stored with the run: a resume trains with the same replicas.
    try {
      const backend = p.backend ?? predictBackend();
      const room = machineReplicas(availableParallelism(), presetNeed(p.preset, backend).mb, totalmem() / 2 ** 20);
      config.replicas = chooseReplicas(config, p.replicas, backend, room);
    } catch (err) {
      throw new RunError((err as Error).message);
    }
    if (ds.resolution % config.resolution !== 0) {
      throw new RunError(
        `the ${p.preset} preset trains at ${config.resolution}²; the dataset was prepared at ${ds.resolution}² — ingest it at ${Math.max(64, config.resolution)}`,
      );
    }
    if (parent) {
      const parentConfig = this.runs.runConfig(this.#row(parent.run_id));
      if (parentConfig.resolution !== config.resolution || parentConfig.channelBase !== config.channelBase) {
        throw new RunError(`a fork keeps its parent's architecture: choose the ${parentConfig.preset} preset`);
      }
    }
    if (this.#datasets.countSources(ds.id).accepted === 0) throw new RunError('the dataset has no accepted images yet');
    if (parent && p.initFrom !== undefined)
      throw new RunError('a run either forks a checkpoint or fine-tunes a generator file, not both');
    // The file is opened and checked now (and again by the trainer): a run it cannot start is never created.
    const initFrom =
      p.initFrom === undefined
        ? null
        : await checkFineTuneFile(p.initFrom, config).catch((err: FineTuneError) => {
            throw new RunError(err.message, err.code);
          });
    const started =
      initFrom === null
        ? null
        : await planTransfer(initFrom, config).catch((err: FineTuneError) => {
            throw new RunError(err.message, err.code);
          });
    // Before anything is made: a preset this machine cannot train fails now, not six minutes in.
    const fit = presetFit(p.preset, p.backend ?? predictBackend());
    if (!fit.fits) throw new RunError(fit.reason!, 'unsupported');
    const run = this.runs.createRun({
      dataset_id: ds.id,
      parent_run_id: parent?.run_id ?? null,
      parent_checkpoint_id: parent?.id ?? null,
      init_from: initFrom,
      started_from: started === null ? null : JSON.stringify({ ...started, file: undefined }),
      name: p.name ?? `${p.preset} on ${ds.folder.split(/[\\/]/).pop() || ds.folder}`,
      preset: p.preset,
      config: JSON.stringify(config),
      seed: p.seed ?? randomInt(0, 2 ** 31),
      sample_seeds: JSON.stringify(
        Array.from({ length: SAMPLE_SEEDS }, (_, i) =>
          p.seed !== undefined ? p.seed * SAMPLE_SEEDS + i : randomInt(0, 2 ** 31),
        ),
      ),
      target_kimg: p.targetKimg,
      snapshot_kimg: p.snapshotKimg,
      checkpoint_kimg: p.checkpointKimg,
      checkpoint_minutes: p.checkpointMinutes ?? DEFAULT_CHECKPOINT_MINUTES,
      ...(p.kidImages !== undefined ? { kid_images: p.kidImages } : {}),
    });
    const summary = this.summary(run);
    this.emit('runChanged', summary);
    return summary;
  }

  #supervisor(run: RunRow): RunSupervisor {
    let sup = this.#supervisors.get(run.id);
    if (sup) return sup;
    sup = new RunSupervisor(this.runs, run.id, {
      home: this.#opts.home,
      ...(this.#opts.spawn ? { spawn: this.#opts.spawn } : {}),
      ...(this.#opts.maxRestarts !== undefined ? { maxRestarts: this.#opts.maxRestarts } : {}),
      ...(this.#opts.backoffMs !== undefined ? { backoffMs: this.#opts.backoffMs } : {}),
      ...(this.#opts.tickSeconds !== undefined ? { tickSeconds: this.#opts.tickSeconds } : {}),
      ...(this.#opts.keepCheckpoints !== undefined ? { keepCheckpoints: this.#opts.keepCheckpoints } : {}),
      ...(this.#opts.answerTimeoutMs !== undefined ? { answerTimeoutMs: this.#opts.answerTimeoutMs } : {}),
      dataset: () => {
        const ds = this.#datasets.getDataset(run.dataset_id)!;
        return {
          cacheFile: datasetCacheFile(this.#opts.home, ds),
          cacheResolution: ds.resolution,
          slots: this.#datasets.acceptedSlots(ds.id).map((s) => s.slot),
        };
      },
    });
    sup.on('changed', (r) => this.emit('runChanged', this.summary(r)));
    sup.on('tick', (tick) => this.emit('runTick', { runId: run.id, tick }));
    sup.on('snapshot', (s) => this.emit('runSnapshot', { runId: run.id, snapshot: toSnapshotInfo(s) }));
    sup.on('checkpoint', (c) => {
      this.emit('runCheckpoint', c);
      const row = this.runs.getRun(run.id);
      if (row) this.emit('runChanged', this.summary(row));
    });
    this.#supervisors.set(run.id, sup);
    return sup;
  }

  supervisorOf(runId: number): RunSupervisor | undefined {
    return this.#supervisors.get(runId);
  }

  /** Sets a new target length (the CLI's `train --kimg` on an existing run). */
  extendRun(runId: number, targetKimg: number): void {
    this.#row(runId);
    this.runs.updateRun(runId, { target_kimg: targetKimg });
  }

  /**
   * Trains the run on `backend` from its next start (the CLI's `train --backend` on an existing
   * run): the config the trainer starts from names it, so the trainer uses it and the run's row
   * records it at start. Refused while the run trains, or where its preset cannot fit that backend.
   */
  setRunBackend(runId: number, backend: BackendName): void {
    const run = this.#row(runId);
    if (this.#supervisors.get(runId)?.running)
      throw new RunError(`run ${runId} is training: pause it before changing its backend`);
    const fit = presetFit(run.preset as Preset, backend);
    if (!fit.fits) throw new RunError(`run ${runId} cannot train on ${backend}: ${fit.reason!}`, 'unsupported');
    const config = this.runs.runConfig(run);
    if (config.backend === backend) return;
    this.runs.updateRun(runId, { config: JSON.stringify({ ...config, backend }) });
  }

  /**
   * The kimg a start would resume from: the newest intact checkpoint on disk (the trainer falls
   * back further if it turns out damaged), a fork's parent checkpoint, or 0.
   */
  resumePoint(runId: number): number {
    return this.#resumeKimg(this.#row(runId));
  }

  #resumeKimg(run: RunRow): number {
    const own = this.runs.goodCheckpoints(run.id).find((c) => existsSync(c.path));
    if (own) return own.kimg;
    const parent = run.parent_checkpoint_id !== null ? this.runs.getCheckpoint(run.parent_checkpoint_id) : undefined;
    return parent?.kimg ?? 0;
  }

  startRun(runId: number): RunSummary {
    const run = this.#row(runId);
    if (run.state === 'done' && run.kimg >= run.target_kimg)
      throw new RunError(`run ${runId} is done (${run.kimg.toFixed(1)} of ${run.target_kimg} kimg)`);
    if (this.#datasets.acceptedSlots(run.dataset_id).length === 0)
      throw new RunError('the dataset has no accepted images to train on');
    const why = this.#cannotStart(run);
    if (why)
      throw new RunError(`run ${runId} cannot ${run.state === 'created' ? 'start' : 'resume'}: ${why}`, 'unsupported');
    try {
      this.#supervisor(run).start();
    } catch (err) {
      if (err instanceof OutsideHomeError) throw new RunError(`run ${runId} cannot start: ${err.message}`);
      throw err;
    }
    return this.summary(this.#row(runId));
  }

  /** `cause`: what paused it when not its Pause button (a quit), shown with the run until it starts again. */
  async pauseRun(runId: number, cause: PauseCause | null = null): Promise<RunSummary> {
    const run = this.#row(runId);
    await this.#supervisors.get(runId)?.pause(cause);
    return this.summary(this.#row(run.id));
  }

  async stopRun(runId: number): Promise<RunSummary> {
    const run = this.#row(runId);
    const sup = this.#supervisors.get(runId);
    if (sup) await sup.stop();
    else if (run.state !== 'done') this.runs.updateRun(runId, { state: 'stopped' });
    return this.summary(this.#row(runId));
  }

  snapshotRun(runId: number): RunSummary {
    const run = this.#row(runId);
    const sup = this.#supervisors.get(runId);
    if (!sup?.running) throw new RunError(`run ${runId} is not running: start it to take a snapshot`);
    sup.snapshotNow();
    return this.summary(run);
  }

  /** `beforeDelete` runs just before the row goes (after the checks and the trainer's stop): the favourites. */
  async deleteRun(runId: number, beforeDelete: () => void = () => {}): Promise<RunSummary[]> {
    this.#row(runId);
    // A fork that has not yet written a checkpoint of its own still needs one of this run's.
    const forks = this.runs.forksPointingAt(runId).filter((f) => f.id !== runId);
    if (forks.length > 0) {
      const names = forks.map((f) => `#${f.id}`).join(', ');
      throw new RunError(
        `run ${names} continues from a checkpoint of run #${runId} and has none of its own yet: ` +
          `start it until it writes one (or delete it) before deleting run #${runId}`,
      );
    }
    // A trainer still running is stopped; a run at rest is not marked 'stopped' on its way out
    // (that announced a run the UI then asked for after it was gone).
    const sup = this.#supervisors.get(runId);
    if (sup?.running) await sup.stop();
    sup?.removeAllListeners();
    this.#supervisors.delete(runId);
    beforeDelete();
    this.runs.deleteRun(runId);
    await removeInHome(this.#opts.home, checkpointDir(this.#opts.home, runId), { recursive: true });
    await removeInHome(this.#opts.home, samplesDir(this.#opts.home, runId), { recursive: true });
    return this.listRuns();
  }

  /** Ticks after `afterId`: 5,000 at most per page, or the whole history in `maxPoints` (downsampled). */
  listTicks(runId: number, afterId: number, maxPoints?: number): TickInfo[] {
    this.#row(runId);
    if (maxPoints === undefined) return this.runs.listTicks(runId, afterId);
    const count = this.runs.countTicks(runId, afterId); // before iterating: the connection is busy meanwhile
    return downsampleTicks(this.runs.iterateTicks(runId, afterId), count, maxPoints);
  }

  /** The dataset changed: running trainers sample from the new set of images at their next step. */
  datasetChanged(datasetId: number): void {
    const slots = this.#datasets.acceptedSlots(datasetId).map((s) => s.slot);
    for (const [runId, sup] of this.#supervisors) {
      if (sup.running && this.runs.getRun(runId)?.dataset_id === datasetId) sup.updateSlots(slots);
    }
  }

  /**
   * Quitting pauses every running run (checkpoint written), so the next start offers Resume and
   * says what paused it. `onPausing` hears of each run as its pause is asked for; resolves to the
   * runs it paused, as they are now.
   */
  async pauseAll(cause: PauseCause, onPausing: (run: RunSummary) => void = () => {}): Promise<RunSummary[]> {
    const running = [...this.#supervisors.values()].filter((s) => s.running);
    return Promise.all(
      running.map(async (sup) => {
        const row = this.runs.getRun(sup.runId);
        if (row) onPausing(this.summary(row));
        await sup.pause(cause);
        return this.summary(this.#row(sup.runId));
      }),
    );
  }
}

/**
 * A run's start file and what it kept, with the sentence the app and the CLI show; null when it
 * started fresh or forked.
 */
function startedFrom(run: RunRow): RunSummary['startedFrom'] {
  if (run.init_from === null || run.started_from === null) return null;
  const info = { ...(JSON.parse(run.started_from) as Omit<TransferInfo, 'file'>), file: run.init_from };
  return { ...info, note: describeTransfer(info) };
}
