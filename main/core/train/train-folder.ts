/**
 * "Train this folder": the workflow behind `plumage train` and the page's New run (the
 * `trainFolder` request). Which of the folder's datasets to train on, bringing its cache up to
 * date (a dataset the app watches is waited on, not ingested again), then resume-or-create: the
 * folder's run of this preset resumes (extended to a larger --kimg, on an asked-for backend),
 * else (or with `newRun`) a new run starts with the one rule's lengths (defaultRunLengths). It
 * does not start the run: the caller listens first, then sends startRun.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultRunLengths, type CropMode, type Resolution } from '../../common/vocabulary.js';
import type { RunSummary, TrainFolderParams, TrainFolderResult } from '../../../preload/contract.js';
import type { DatasetService } from '../dataset/service.js';
import type { DatasetRow } from '../store/datasets.js';
import { presetConfig } from '../gan/config.js';
import { NotFoundError } from '../errors.js';
import { RunError, type RunManager } from './run-manager.js';

/** What the workflow decided, as it decides it (the CLI prints each step as it comes). */
export type TrainFolderStep =
  | { step: 'reuse'; datasetId: number; resolution: Resolution; crop: CropMode }
  | { step: 'dataset'; ingest: TrainFolderResult['ingest']; trainsAt: number }
  | { step: 'resume'; run: RunSummary; fromKimg: number; kept: KeptSetting[] }
  | { step: 'created'; run: RunSummary };

/** A new-run setting asked for on a resume, which the resumed run does not take: it keeps its own. */
export interface KeptSetting {
  field: 'seed' | 'snapshotKimg' | 'checkpointKimg' | 'checkpointMinutes' | 'replicas' | 'freezeD';
  asked: number;
  kept: number;
}

/**
 * The folder's dataset to train on: the most recently opened one that can feed the preset (and
 * matches the asked resolution/crop when given), so the crop chosen with `ingest` or in the app is
 * the one trained on; else a new one at the preset's resolution (at least 64²) and centre crop.
 */
export function chooseDataset(
  datasets: DatasetRow[],
  folder: string,
  trainsAt: number,
  resolution: Resolution | undefined,
  crop: CropMode | undefined,
): { resolution: Resolution; crop: CropMode; existing: DatasetRow | undefined } {
  const existing = datasets.find(
    (d) =>
      d.folder === folder &&
      d.resolution % trainsAt === 0 &&
      (resolution === undefined || d.resolution === resolution) &&
      (crop === undefined || d.crop === crop),
  );
  if (existing) return { resolution: existing.resolution, crop: existing.crop, existing };
  return { resolution: resolution ?? (Math.max(64, trainsAt) as Resolution), crop: crop ?? 'centre', existing };
}

/**
 * The run a train of this dataset and preset continues, or undefined for a new one: one that is
 * not training, and not finished unless asked to train it further (a larger targetKimg).
 */
export function runToResume(
  runs: RunSummary[],
  datasetId: number,
  p: Pick<TrainFolderParams, 'preset' | 'targetKimg' | 'initFrom'>,
): RunSummary | undefined {
  // Asked to start from a file, only a run that started from that file continues (the same
  // `train --from F` again resumes it); the folder's other run is left alone and a new one starts,
  // as the README's `train --from` after a first `train` expects. Without it, any origin resumes
  // (the pause's resume command names no file).
  // The newest that can go on: a finished run newer than a paused one (a fine-tune that ended)
  // does not hide the paused one.
  const from = p.initFrom === undefined ? undefined : resolve(p.initFrom);
  return runs.find(
    (r) =>
      r.datasetId === datasetId &&
      r.preset === p.preset &&
      r.state !== 'running' &&
      (from === undefined || r.startedFrom?.file === from) &&
      (r.state !== 'done' || (p.targetKimg !== undefined && p.targetKimg > r.kimg)),
  );
}

export async function trainFolder(
  services: { datasets: DatasetService; runs: RunManager },
  p: TrainFolderParams,
  onStep: (s: TrainFolderStep) => void = () => {},
): Promise<TrainFolderResult> {
  const { datasets, runs } = services;
  const trainsAt = presetConfig(p.preset).resolution;
  const pick = chooseDataset(datasets.store.listDatasets(), p.folder, trainsAt, p.resolution, p.crop);
  if (pick.existing)
    onStep({ step: 'reuse', datasetId: pick.existing.id, resolution: pick.resolution, crop: pick.crop });
  // Brings the cache up to date (only changed files are decoded again). A known dataset whose
  // folder has gone (moved, an unplugged drive) still trains on what its cache holds: the cache
  // is the home's, and refusing would lose a user's run for a folder they may bring back.
  const folderGone = pick.existing !== undefined && !existsSync(pick.existing.folder);
  const report = folderGone
    ? datasets.cachedReport(pick.existing!)
    : await datasets.ingestOnce(p.folder, pick.resolution, pick.crop);
  if (folderGone && report.accepted.length === 0)
    throw new NotFoundError(`folder not found: ${pick.existing!.folder} (and its dataset's cache holds no images)`);
  // Said here, with the folder and why its files were refused, rather than as the run's
  // "the dataset has no accepted images yet" that names neither.
  if (report.accepted.length === 0) throw new RunError(noImages(report));
  const ingest = {
    ...report,
    accepted: report.accepted.length,
    rejected: report.rejected.length,
    duplicates: report.duplicates.length,
    ...(folderGone ? { folderGone: true } : {}),
  };
  onStep({ step: 'dataset', ingest, trainsAt });
  const ds = datasets.store
    .listDatasets()
    .find((d) => d.folder === report.dataset && d.resolution === pick.resolution && d.crop === pick.crop)!;
  const base = { datasetId: ds.id, reused: pick.existing !== undefined, trainsAt, ingest };

  const existing = p.newRun ? undefined : runToResume(runs.listRuns(), ds.id, p);
  if (existing) {
    if (p.targetKimg !== undefined) runs.extendRun(existing.id, p.targetKimg);
    // Asked for a backend: this resume trains on it (the trainer reports it and the run records it).
    if (p.backend !== undefined) runs.setRunBackend(existing.id, p.backend);
    // Where it truly resumes: its last checkpoint (what was trained after that is done again).
    const fromKimg = runs.resumePoint(existing.id);
    const run = runs.listRuns().find((r) => r.id === existing.id)!;
    onStep({ step: 'resume', run, fromKimg, kept: keptSettings(p, runs, run) });
    return { ...base, action: 'resumed', run, fromKimg };
  }
  await runs.backendKnown(); // which presets fit depends on the GPU adapter too
  const lengths = defaultRunLengths(p.preset, p.targetKimg);
  // The folder's own words and the workflow's choice left, what remains is the new run's settings.
  const { folder: _f, resolution: _r, crop: _c, newRun: _n, targetKimg: _t, ...settings } = p;
  const run = await runs.createRun({
    ...settings,
    datasetId: ds.id,
    targetKimg: lengths.targetKimg,
    snapshotKimg: p.snapshotKimg ?? lengths.snapshotKimg,
    checkpointKimg: p.checkpointKimg ?? lengths.checkpointKimg,
  });
  onStep({ step: 'created', run });
  return { ...base, action: 'created', run, fromKimg: 0 };
}

/** Why a folder gives no training images: what it holds, naming the first files it refused. */
function noImages(r: { dataset: string; rejected: { file: string; reason: string }[] }): string {
  const named = r.rejected.slice(0, 3).map((x) => `${x.file}: ${x.reason}`);
  const more = r.rejected.length > named.length ? `; ${r.rejected.length - named.length} more` : '';
  return r.rejected.length === 0
    ? `${r.dataset} holds no images to train on`
    : `${r.dataset} holds no image Plumage can train on (${named.join('; ')}${more})`;
}

/**
 * The settings asked for that a resume does not take (a run keeps its seed, intervals and
 * replicas: they are what makes its resume bit-exact), so the caller can say so instead of
 * dropping them in silence. Only those that differ from the run's own.
 */
function keptSettings(p: TrainFolderParams, runs: RunManager, run: RunSummary): KeptSetting[] {
  const row = runs.runs.getRun(run.id)!;
  const own: Record<KeptSetting['field'], number> = {
    seed: row.seed,
    snapshotKimg: run.snapshotKimg,
    checkpointKimg: run.checkpointKimg,
    checkpointMinutes: run.checkpointMinutes,
    replicas: run.replicas,
    freezeD: runs.runs.runConfig(row).freezeD ?? 0,
  };
  return (Object.keys(own) as KeptSetting['field'][]).flatMap((field) => {
    const asked = p[field];
    return asked === undefined || asked === own[field] ? [] : [{ field, asked, kept: own[field] }];
  });
}
