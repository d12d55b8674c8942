/**
 * The training loop, as a function: steps until the run's length or until `signal` aborts, and
 * once per tick reports its metrics; at intervals asks for a snapshot and a checkpoint. What a
 * snapshot or checkpoint writes, and where it is told, is the caller's (the trainer process:
 * trainer.ts). Phases: train a step; once per tick: metrics; at intervals: snapshot, checkpoint.
 */
import type { TrainingEngine } from '../parallel/engine.js';
import type { StepReport, StepStats } from '../gan/training.js';
import type { TickMetrics } from './protocol.js';

/** Where the batches come from (a DatasetSampler). */
export interface BatchSource {
  /** n images as NHWC float32 in [-1, 1]. */
  next(n: number): Float32Array;
  /** Images it draws from now. */
  readonly size: number;
}

export interface TrainLoopOptions {
  /** Aborted: the loop returns 'aborted' at the next step boundary (the step in flight finishes). */
  signal: AbortSignal;
  targetKimg: number;
  snapshotKimg: number;
  checkpointKimg: number;
  /** A checkpoint at least this often in wall time, whichever comes first. */
  checkpointSeconds: number;
  /** Seconds between ticks. */
  tickSeconds: number;
  /** The step about to run (a crash report says where it happened). */
  onStep?: (step: number) => void;
  onTick: (tick: TickMetrics) => void;
  /** Writes a snapshot; false when it could not (the loop then keeps the progress and ends). */
  onSnapshot: () => Promise<boolean>;
  /** Writes a checkpoint; false when it could not (the loop ends). */
  onCheckpoint: () => Promise<boolean>;
  /** A snapshot was asked for (the Snapshot button): read once per step, taken at the step's end. */
  snapshotAsked?: () => boolean;
}

/**
 * 'done': the run reached its length (its last snapshot taken); 'aborted': `signal` stopped it
 * between steps; 'failed': a snapshot or checkpoint could not be written (the caller was told).
 */
export type LoopEnd = 'done' | 'aborted' | 'failed';

const EPS = 1e-9;

export async function trainLoop(engine: TrainingEngine, batches: BatchSource, o: TrainLoopOptions): Promise<LoopEnd> {
  const config = engine.config;
  const kimgNow = (): number => engine.imagesSeen / 1000;
  const next = (interval: number): number => (Math.floor(kimgNow() / interval + EPS) + 1) * interval;
  let nextSnapshot = next(o.snapshotKimg);
  let nextCheckpoint = next(o.checkpointKimg);
  let lastCheckpointAt = performance.now();
  const checkpoint = (): Promise<boolean> => {
    lastCheckpointAt = performance.now();
    return o.onCheckpoint();
  };
  /** A grid could not be written: keep the progress (a checkpoint, if the disk allows), then end. */
  const afterGridFailure = async (): Promise<LoopEnd> => {
    await checkpoint();
    return 'failed';
  };

  // The first grid: what an untrained G dreams.
  if (engine.step === 0 && !(await o.onSnapshot())) return afterGridFailure();

  // ── train ──
  let reports: StepReport[] = [];
  let stepSeconds = 0;
  let tickStarted = performance.now();
  for (;;) {
    if (o.signal.aborted) return 'aborted';
    if (kimgNow() >= o.targetKimg - EPS) return (await o.onSnapshot()) ? 'done' : afterGridFailure();
    o.onStep?.(engine.step);
    const reals = batches.next(config.batchSize);
    const t0 = performance.now();
    reports.push(await engine.trainStep(reals));
    stepSeconds += (performance.now() - t0) / 1000;

    // ── once per tick: metrics (the one read of the losses from the device) ──
    if ((performance.now() - tickStarted) / 1000 >= o.tickSeconds) {
      const t1 = performance.now();
      const stats = await engine.takeStats(); // also waits for the queued steps to finish
      stepSeconds += (performance.now() - t1) / 1000;
      const elapsed = (performance.now() - tickStarted) / 1000;
      o.onTick({
        ...summarise(reports, stats, elapsed, config.batchSize, stepSeconds, engine.memory()),
        datasetImages: batches.size,
      });
      reports = [];
      stepSeconds = 0;
      tickStarted = performance.now();
    }
    // ── at intervals: snapshot, checkpoint ──
    if (o.snapshotAsked?.() || kimgNow() >= nextSnapshot - EPS) {
      if (!(await o.onSnapshot())) return afterGridFailure();
      nextSnapshot = next(o.snapshotKimg);
    }
    // Every checkpointKimg, and at least every checkpointSeconds of wall time (a CPU run's first
    // 10 kimg can take a quarter of an hour).
    const due = (performance.now() - lastCheckpointAt) / 1000 >= o.checkpointSeconds;
    if (kimgNow() >= nextCheckpoint - EPS || due) {
      if (!(await checkpoint())) return 'failed';
      nextCheckpoint = next(o.checkpointKimg);
    }
    await new Promise((r) => setImmediate(r)); // let an abort or new slots arrive
  }
}

const finite = (x: number | null): number | null => (x !== null && Number.isFinite(x) ? x : null);

function summarise(
  reports: StepReport[],
  stats: StepStats,
  seconds: number,
  batch: number,
  stepSeconds: number,
  held: { tensors: number; bytes: number },
): Omit<TickMetrics, 'datasetImages'> {
  const last = reports[reports.length - 1]!;
  const imagesPerSec = (reports.length * batch) / seconds;
  return {
    kimg: last.kimg,
    step: last.step,
    lossG: finite(stats.lossG),
    lossD: finite(stats.lossD),
    r1Penalty: finite(stats.r1Penalty),
    plPenalty: finite(stats.plPenalty),
    scoreReal: finite(stats.scoreReal),
    scoreFake: finite(stats.scoreFake),
    augmentP: last.augmentP,
    imagesPerSec,
    secPerKimg: 1000 / imagesPerSec,
    tensors: held.tensors,
    tensorMB: Math.round((held.bytes / 2 ** 20) * 10) / 10,
    rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
    stepSeconds,
    wallSeconds: seconds,
  };
}
