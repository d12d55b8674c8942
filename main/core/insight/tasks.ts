/**
 * The insight operations as plain data in, a result out, so they run where the gallery draws:
 * its generator process in the app and `serve` (off the UI's thread, at low priority), this
 * process in the one-shot CLI. Each result is written whole to a JSON file (atomically) that the
 * caller reads: a cancelled or failed task leaves none.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { renderSquare } from '../dataset/process.js';
import type { GeneratorCache } from '../gallery/generator-cache.js';
import { renderBird, type BirdSpec, type Generator } from '../gallery/render.js';
import { directionsFile } from '../home-layout.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { DatasetImages } from './dataset-features.js';
import { computeDirections, GANSPACE_SAMPLES, type DirectionMethod, type Directions } from './directions.js';
import { InsightInputError } from './errors.js';
import { featureNetwork } from './feature-net.js';
import { computeMetrics, nearestPlates, type Progress } from './metrics.js';
import { projectTask, type ProjectTask } from './project-task.js';

export type InsightTask =
  | { op: 'metrics'; home: string; file: string; dataset: DatasetImages; images: number }
  | {
      op: 'nearest';
      home: string;
      dataset: DatasetImages;
      k: number;
      query: { kind: 'image'; path: string } | { kind: 'bird'; file: string; spec: BirdSpec };
    }
  | { op: 'directions'; home: string; file: string; method: DirectionMethod; layers: string }
  | ProjectTask;

/** Runs one task; `cancelled` is polled, and stops it between batches. */
export async function runInsightTask(
  task: InsightTask,
  cache: GeneratorCache,
  onProgress: (p: Progress) => void = () => {},
  cancelled: () => boolean = () => false,
): Promise<unknown> {
  const ac = new AbortController();
  const poll = setInterval(() => cancelled() && ac.abort(new Error('cancelled')), 100);
  try {
    switch (task.op) {
      case 'metrics': {
        const gen = await cache.get(task.file);
        const net = await featureNetwork();
        return await computeMetrics(task.home, gen, task.dataset, task.images, net, { signal: ac.signal, onProgress });
      }
      case 'nearest': {
        const net = await featureNetwork();
        const { pixels, side } = await queryPixels(task, cache);
        return await nearestPlates(task.home, pixels, side, task.dataset, task.k, net, ac.signal);
      }
      case 'directions':
        return await cachedDirections(task.home, await cache.get(task.file), task.file, task.method, task.layers);
      case 'project':
        return await projectTask(task, await cache.get(task.file), onProgress, ac.signal, cancelled);
    }
  } finally {
    clearInterval(poll);
  }
}

async function queryPixels(
  task: Extract<InsightTask, { op: 'nearest' }>,
  cache: GeneratorCache,
): Promise<{ pixels: Uint8Array; side: number }> {
  const ds = task.dataset;
  if (task.query.kind === 'bird') {
    const gen = await cache.get(task.query.file);
    return { pixels: await renderBird(gen, task.query.spec), side: gen.config.resolution };
  }
  // A file is made into the dataset's own square, exactly as ingest makes its training images.
  const input = await readFile(task.query.path).catch((err: NodeJS.ErrnoException) => {
    throw new InsightInputError(
      `cannot read ${task.query.kind === 'image' ? task.query.path : ''}: ${err.code ?? err.message}`,
    );
  });
  const square = await renderSquare(input, { resolution: ds.resolution, crop: ds.crop as never, paper: ds.paper });
  if (!square.ok) throw new InsightInputError(`${task.query.path}: ${square.reason}`);
  return { pixels: new Uint8Array(square.pixels), side: ds.resolution };
}

/** Directions of a generator, from the home's cache when it has them (keyed by the file's path, size and time). */
export async function cachedDirections(
  home: string,
  gen: Generator,
  file: string,
  method: DirectionMethod,
  layers: string,
): Promise<Directions> {
  const st = await stat(file);
  const key = createHash('sha256')
    .update(JSON.stringify([file, st.size, st.mtimeMs, method, layers, method === 'ganspace' ? GANSPACE_SAMPLES : 0]))
    .digest('hex')
    .slice(0, 24);
  const path = directionsFile(home, key);
  const hit = await readFile(path, 'utf8')
    .then((t) => JSON.parse(t) as Directions)
    .catch(() => null);
  if (hit && hit.wDim === gen.config.wDim && Array.isArray(hit.vectors)) return hit;
  const dirs = await computeDirections(gen, method, layers);
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, Buffer.from(JSON.stringify(dirs)), false);
  return dirs;
}
