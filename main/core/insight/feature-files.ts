/**
 * A dataset's feature caches and their removal: kept apart from the feature code so forgetting
 * a dataset does not load tfjs into the UI's process. Where they live is home-layout.ts's.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { featuresDir, removeInHome } from '../home-layout.js';

export { featureCacheFile as featureCacheFor } from '../home-layout.js';

/** Removes a dataset's feature caches, at every side (forgetting the dataset). */
export async function forgetDatasetFeatures(home: string, datasetId: number): Promise<void> {
  const dir = featuresDir(home);
  const names = await readdir(dir).catch(() => [] as string[]);
  const mine = new RegExp(`^dataset-${datasetId}-\\d+\\.f32$`);
  await Promise.all(names.filter((n) => mine.test(n)).map((n) => removeInHome(home, join(dir, n))));
}
