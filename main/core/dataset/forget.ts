import { datasetCacheFile, removeInHome, thumbsDir } from '../home-layout.js';
import { forgetDatasetFeatures } from '../insight/feature-files.js';
import type { DatasetRow } from '../store/datasets.js';
import type { DatasetIngestor } from './ingest.js';

/**
 * What forgetting a dataset removes from the home: its watcher, its packed training cache, its
 * thumbnails and its feature caches. Only files Plumage made under the home; the user's folder is never touched.
 */
export async function forgetDatasetFiles(
  home: string,
  ds: Pick<DatasetRow, 'id' | 'resolution'>,
  ingestor: DatasetIngestor | undefined,
): Promise<void> {
  await ingestor?.close();
  await removeInHome(home, datasetCacheFile(home, ds));
  await removeInHome(home, thumbsDir(home, ds.id), { recursive: true });
  await forgetDatasetFeatures(home, ds.id);
}
