/**
 * The insight operations as plain data in, a result out, so they run where the gallery draws:
 * its generator process in the app and `serve` (off the UI's thread, at low priority), this
 * process in the one-shot CLI. Each result is written whole to a JSON file (atomically) that the
 * caller reads: a cancelled or failed task leaves none.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { MAX_FILE_BYTES } from '../dataset/inspect.js';
import { renderSquare } from '../dataset/process.js';
import { readCapped } from '../dataset/scan.js';
import type { GeneratorCache } from '../gallery/generator-cache.js';
import { renderBird, type BirdSpec, type Generator } from '../gallery/render.js';
import { directionsFile } from '../home-layout.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { DatasetImages } from './dataset-features.js';
import { computeDirections, GANSPACE_SAMPLES, type DirectionMethod, type Directions } from './directions.js';
import { InsightInputError, checkImageFile } from './errors.js';
import { featureNetwork } from './feature-net.js';
import { computeMetrics, nearestPlates, type Progress } from './metrics.js';
import { project } from './project.js';
import { LATENT_FORMAT, type LatentFile } from './latent.js';

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
  | {
      op: 'project';
      file: string;
      /** The image to project: made into a square of the generator's side, centre crop, on `paper`. */
      target: string;
      paper: string;
      steps: number;
      wPlus: boolean;
      /** Written only once the projection has finished: `<name>-projected.png` and `<name>-latent.json`. */
      outDir: string;
      name: string;
    };

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
        return await projectTask(task, await cache.get(task.file), onProgress, ac.signal);
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

async function projectTask(
  task: Extract<InsightTask, { op: 'project' }>,
  gen: Generator,
  onProgress: (p: Progress) => void,
  signal: AbortSignal,
): Promise<{ distance: number; psnr: number; steps: number; image: string; latent: string }> {
  const side = gen.config.resolution;
  const input = await readImageFile(task.target);
  const square = await renderSquare(input, { resolution: side, crop: 'centre', paper: task.paper });
  if (!square.ok) throw new InsightInputError(`${task.target}: ${square.reason}`);
  const net = await featureNetwork();
  const r = await project(
    gen,
    net,
    new Uint8Array(square.pixels),
    { steps: task.steps, wPlus: task.wPlus },
    (p) => onProgress({ phase: 'project', done: p.step, total: p.steps, distance: p.distance, psnr: p.psnr }),
    signal,
  );
  signal.throwIfAborted();
  // Written only now, each file whole: a cancelled projection leaves nothing behind.
  await mkdir(task.outDir, { recursive: true });
  const image = join(task.outDir, `${task.name}-projected.png`);
  const latent = join(task.outDir, `${task.name}-latent.json`);
  const file: LatentFile = {
    format: LATENT_FORMAT,
    generator: task.file,
    resolution: side,
    wDim: gen.config.wDim,
    wPlus: task.wPlus,
    ws: Array.from(r.ws),
    noise: r.noise.map((n) => ({ res: n.res, values: Array.from(n.values) })),
    steps: r.steps,
    distance: r.distance,
    psnr: r.psnr,
  };
  await writeFileAtomic(latent, Buffer.from(JSON.stringify(file)));
  const png = await sharp(r.pixels, { raw: { width: side, height: side, channels: 3 } })
    .png()
    .toBuffer();
  await writeFileAtomic(image, png);
  return { distance: r.distance, psnr: r.psnr, steps: r.steps, image, latent };
}

/**
 * An image file's bytes: a regular file, read with a cap (ingest's 1 GB), so a path such as
 * /dev/zero or a FIFO is refused by name instead of growing this process's memory.
 */
async function readImageFile(path: string): Promise<Buffer> {
  await checkImageFile(path);
  const bytes = await readCapped(path, MAX_FILE_BYTES).catch((err: NodeJS.ErrnoException) => {
    throw new InsightInputError(`cannot read the image ${path}: ${err.code ?? err.message}`);
  });
  if (!bytes) throw new InsightInputError(`the image ${path} is over ${MAX_FILE_BYTES / 2 ** 30} GB`);
  return bytes;
}
