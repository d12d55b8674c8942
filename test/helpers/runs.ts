import type { NewRun } from '../../main/core/store/runs.js';

/** A run row for store-level tests: tiny, 1 kimg, every interval 1; `over` changes what a test cares about. */
export const newRunRow = (datasetId: number, over: Partial<NewRun> = {}): NewRun => ({
  dataset_id: datasetId,
  parent_run_id: null,
  parent_checkpoint_id: null,
  init_from: null,
  name: 'r',
  preset: 'tiny',
  config: '{}',
  seed: 1,
  sample_seeds: '[]',
  target_kimg: 1,
  snapshot_kimg: 1,
  checkpoint_kimg: 1,
  checkpoint_minutes: 10,
  ...over,
});
