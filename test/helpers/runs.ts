import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from '../../main/core/store/db.js';
import { MIGRATIONS } from '../../main/core/store/migrations/index.js';
import { presetConfig } from '../../main/core/gan/config.js';
import type { RunSummary } from '../../preload/contract.js';
import type { NewRun } from '../../main/core/store/runs.js';
import { Studio, type StudioOptions } from '../../main/core/studio.js';
import { CLI, REPO_ROOT, SAMPLE_PLATES, tempDir, waitFor } from './paths.js';

/** A run row for store-level tests: tiny, 1 kimg, every interval 1; `over` changes what a test cares about. */
export const newRunRow = (datasetId: number, over: Partial<NewRun> = {}): NewRun => ({
  dataset_id: datasetId,
  parent_run_id: null,
  parent_checkpoint_id: null,
  init_from: null,
  name: 'r',
  preset: 'tiny',
  config: JSON.stringify(presetConfig('tiny')),
  seed: 1,
  sample_seeds: '[]',
  target_kimg: 1,
  snapshot_kimg: 1,
  checkpoint_kimg: 1,
  checkpoint_minutes: 10,
  ...over,
});

/** A studio over a fresh home with the sample plates ingested at 64², for tests that train runs. */
export interface TrainingStudio {
  dir: string;
  home: string;
  studio: Studio;
  datasetId: number;
  close: () => Promise<void>;
}

/**
 * Opens it with fast ticks and restarts (`training` overrides them); `close` stops every trainer
 * and removes the folder.
 */
export async function trainingStudio(
  prefix: string,
  training: StudioOptions['training'] = {},
): Promise<TrainingStudio> {
  const tmp = tempDir(prefix);
  const home = join(tmp.dir, 'home');
  const studio = Studio.open({
    home,
    resourcesDir: join(REPO_ROOT, 'resources'),
    shell: 'server',
    watch: false,
    training: { tickSeconds: 0.2, backoffMs: 100, maxRestarts: 3, ...training },
  });
  await studio.ingestOnce(SAMPLE_PLATES, 64, 'centre');
  return {
    dir: tmp.dir,
    home,
    studio,
    datasetId: studio.datasets.listDatasets()[0]!.id,
    close: async () => {
      await studio.close();
      tmp.cleanup();
    },
  };
}

/** How a test's `plumage train` differs from the usual one (100 kimg, snapshots every 50, JSON lines). */
export interface TrainArgs {
  kimg?: number;
  snapshotKimg?: number;
  /** false: the text a terminal shows, not JSON lines. */
  json?: boolean;
  backend?: string;
}

/**
 * `plumage train` on the sample plates with the tiny preset, as a terminal would type it:
 * JSON lines, 100 kimg, snapshots every 50 kimg; checkpoints every `checkpointKimg`.
 */
export const trainArgs = (home: string, checkpointKimg: number, o: TrainArgs = {}): string[] => [
  CLI,
  'train',
  '--dataset',
  SAMPLE_PLATES,
  '--preset',
  'tiny',
  '--kimg',
  String(o.kimg ?? 100),
  '--home',
  home,
  ...(o.json === false ? [] : ['--json']),
  '--snapshot-kimg',
  String(o.snapshotKimg ?? 50),
  '--checkpoint-kimg',
  String(checkpointKimg),
  ...(o.backend === undefined ? [] : ['--backend', o.backend]),
];

/** What `tinyRunOnPlates` needs of a served studio: `apiSocket`'s request/reply. */
type Call = (method: string, params?: unknown) => Promise<unknown>;

/**
 * Over a served studio's API (`apiSocket`): the sample plates opened at 64² and ingested (all
 * 24 accepted), then a tiny run created on them, not started: 100 kimg, snapshots and
 * checkpoints every 50 kimg unless `run` says otherwise.
 */
export async function tinyRunOnPlates(
  call: Call,
  run: { snapshotKimg?: number; checkpointKimg?: number } = {},
): Promise<RunSummary> {
  const ds = (await call('openDataset', { folder: SAMPLE_PLATES, resolution: 64, crop: 'centre' })) as { id: number };
  await waitFor(
    async () =>
      ((await call('getDataset', { datasetId: ds.id })) as { counts: { accepted: number } }).counts.accepted === 24,
    60_000,
    'ingest',
  );
  return (await call('createRun', {
    datasetId: ds.id,
    preset: 'tiny',
    targetKimg: 100,
    snapshotKimg: 50,
    checkpointKimg: 50,
    ...run,
  })) as RunSummary;
}

/**
 * A database as an older Plumage left it, for a migration's test: migrated to `version`, holding
 * dataset 1 and its run 1 ('a', tiny, in `run.state`) with checkpoint 7 at `run.kimg`, stored at
 * `run.path`; the test adds what its migration is about.
 */
export function databaseAt(version: number, run: { state: string; kimg: number; path: string }): Database.Database {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db, MIGRATIONS.slice(0, version));
  db.exec(`
    INSERT INTO datasets (id, folder, resolution, crop, paper, created_at, opened_at) VALUES (1, '/p', 64, 'centre', '#fff', 0, 0);
    INSERT INTO runs (id, dataset_id, name, preset, config, seed, sample_seeds, target_kimg, snapshot_kimg,
      checkpoint_kimg, state, created_at, updated_at) VALUES (1, 1, 'a', 'tiny', '{}', 1, '[]', 1, 1, 1, '${run.state}', 0, 0);
    INSERT INTO checkpoints (id, run_id, kimg, step, path, sha256, bytes, at) VALUES (7, 1, ${run.kimg}, 10, '${run.path}', 'x', 1, 0);
  `);
  return db;
}
