/** The message a trainer starts from: the run's settings, where its files go, the checkpoints to resume from. */
import { checkpointDir, samplesDir, samplesKey } from '../home-layout.js';
import type { RunRow, RunStore } from '../store/runs.js';
import type { TrainerStart } from './protocol.js';

export function trainerStart(
  store: RunStore,
  run: RunRow,
  home: string,
  dataset: { cacheFile: string; cacheResolution: number; slots: number[] },
  tickSeconds: number,
): TrainerStart {
  // Newest first; the trainer resumes from the first that verifies. A fork continues from its
  // parent's checkpoint (everything: D, moments, ADA p, counters, RNG) until it has its own.
  const candidates: TrainerStart['resumeFrom'] = store
    .goodCheckpoints(run.id)
    .map((c) => ({ id: c.id, path: c.path, kimg: c.kimg, fork: false }));
  const parent = run.parent_checkpoint_id !== null ? store.getCheckpoint(run.parent_checkpoint_id) : undefined;
  if (parent && !parent.damaged) candidates.push({ id: parent.id, path: parent.path, kimg: parent.kimg, fork: true });
  return {
    runId: run.id,
    config: store.runConfig(run),
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
    tickSeconds,
  };
}
