/**
 * Where a dataset's feature caches live in the home, and their removal: kept apart from the
 * feature code so forgetting a dataset does not load tfjs into the UI's process.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';

/** Folder of the feature caches inside the home. */
export const FEATURES_DIR = 'features';
/** One file per dataset and side, its name derived from the home (a moved home keeps it). */
export const featureCacheFor = (home: string, datasetId: number, side: number): string =>
  join(home, FEATURES_DIR, `dataset-${datasetId}-${side}.f32`);

/** Removes a dataset's feature caches, at every side (forgetting the dataset). */
export async function forgetDatasetFeatures(home: string, datasetId: number): Promise<void> {
  const dir = join(home, FEATURES_DIR);
  const names = await readdir(dir).catch(() => [] as string[]);
  const mine = new RegExp(`^dataset-${datasetId}-\\d+\\.f32$`);
  await Promise.all(names.filter((n) => mine.test(n)).map((n) => rm(join(dir, n), { force: true })));
}
