/**
 * How the Studio scores a checkpoint beside the trainer: the insight `metrics` task in a
 * generator process of its own, started for the score and ended after it (its feature network
 * and generator hold no memory while the trainer runs on), at the lowest CPU priority, drawing
 * one batch at a time, on the backend the app draws on.
 */
import type { BackendChoice } from '../../common/vocabulary.js';
import type { Gallery } from '../gallery/gallery.js';
import { GeneratorClient } from '../gallery/generator-client.js';
import type { DatasetStore } from '../store/datasets.js';
import type { Db } from '../store/db.js';
import type { ScoreCheckpoint } from './checkpoint-scorer.js';
import { Insight } from './service.js';

/** Niceness of the scoring process: the lowest priority there is, below the gallery's (10). */
export const SCORER_NICE = 19;

export function scoreInChildProcess(deps: {
  db: Db;
  home: string;
  datasets: DatasetStore;
  gallery: Gallery;
  backend: BackendChoice | undefined;
}): ScoreCheckpoint {
  return async (checkpoint, images, signal) => {
    signal.throwIfAborted();
    const client = new GeneratorClient({ lanes: () => 1, backend: deps.backend, nice: SCORER_NICE, background: true });
    // A close answers at once: the score's process is ended, and whatever the score was waiting
    // on (its process, the dataset's features, the generator's file) is not waited for.
    let stop = (): void => {};
    const stopped = new Promise<never>((_, reject) => {
      stop = () => {
        void client.close();
        reject(signal.reason as Error);
      };
    });
    signal.addEventListener('abort', stop, { once: true });
    try {
      const insight = new Insight(deps.db, deps.home, client, deps.datasets, deps.gallery);
      const scoring = insight.computeMetrics({
        generator: { runId: checkpoint.run_id, checkpointId: checkpoint.id },
        images,
      });
      scoring.catch(() => {}); // after a close its failure is nobody's: the race below has ended
      const r = await Promise.race([scoring, stopped]);
      return { kid: r.kid, kidStd: r.kidStd, images: r.images, memorisation: r.memorisation, label: r.label };
    } finally {
      signal.removeEventListener('abort', stop);
      await client.close();
    }
  };
}
