/**
 * A projection as the generator process runs it: the target file made into the generator's
 * square, the optimisation (project.ts) with a small preview of the reconstruction on each
 * report, and, once it has finished, the projected image, its latent and (if asked) the video of
 * the optimisation — written as one staged set, so a cancelled or failed projection leaves none.
 */
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { MAX_FILE_BYTES } from '../dataset/inspect.js';
import { renderSquare } from '../dataset/process.js';
import { readCapped } from '../dataset/scan.js';
import { StagedSet } from '../export/files.js';
import type { Generator } from '../gallery/render.js';
import { animationBytes, pngBytes } from '../gallery/output.js';
import { InsightInputError, checkImageFile } from './errors.js';
import { featureNetwork } from './feature-net.js';
import type { Progress } from './metrics.js';
import { project } from './project.js';
import { LATENT_FORMAT, type LatentFile } from './latent.js';
import {
  PREVIEW_SIDE,
  PROJECT_REPORT_EVERY,
  checkProjectVideo,
  videoNames,
  type ProjectVideo,
} from './project-video.js';

export interface ProjectTask {
  op: 'project';
  file: string;
  /** The image to project: made into a square of the generator's side, centre crop, on `paper`. */
  target: string;
  paper: string;
  steps: number;
  wPlus: boolean;
  /** Written only once the projection has finished: `<name>-projected.png`, `<name>-latent.json`, the video. */
  outDir: string;
  name: string;
  video: ProjectVideo | null;
}

export interface ProjectTaskResult {
  distance: number;
  psnr: number;
  steps: number;
  image: string;
  latent: string;
  video: string[];
  preview: string;
  targetPreview: string;
}

async function dataUrl(pixels: Uint8Array, side: number): Promise<string> {
  let img = sharp(pixels, { raw: { width: side, height: side, channels: 3 } });
  if (side > PREVIEW_SIDE) img = img.resize(PREVIEW_SIDE, PREVIEW_SIDE, { kernel: 'lanczos3' });
  return `data:image/png;base64,${(await img.png().toBuffer()).toString('base64')}`;
}

export async function projectTask(
  task: ProjectTask,
  gen: Generator,
  onProgress: (p: Progress) => void,
  signal: AbortSignal,
  /** Asked once more just before the files are moved in (the signal follows it by up to 100 ms). */
  cancelled: () => boolean = () => false,
): Promise<ProjectTaskResult> {
  const side = gen.config.resolution;
  if (task.video) checkProjectVideo(task.video, task.steps, side);
  const input = await readImageFile(task.target);
  const square = await renderSquare(input, { resolution: side, crop: 'centre', paper: task.paper });
  if (!square.ok) throw new InsightInputError(`${task.target}: ${square.reason}`);
  const target = new Uint8Array(square.pixels);
  const targetPreview = await dataUrl(target, side);
  const net = await featureNetwork();
  const frames: Uint8Array[] = [];
  // Reports come synchronously from the optimisation loop; their previews are encoded in order.
  let encoding: Promise<unknown> = Promise.resolve();
  const r = await project(
    gen,
    net,
    target,
    { steps: task.steps, wPlus: task.wPlus, reportEvery: task.video?.every ?? PROJECT_REPORT_EVERY },
    (p) => {
      if (task.video) frames.push(p.pixels);
      encoding = encoding.then(async () =>
        onProgress({
          phase: 'project',
          done: p.step,
          total: p.steps,
          distance: p.distance,
          psnr: p.psnr,
          preview: await dataUrl(p.pixels, side),
          ...(p.step === 0 ? { targetPreview } : {}),
        }),
      );
    },
    signal,
  );
  await encoding;
  signal.throwIfAborted();
  const image = `${task.name}-projected.png`;
  const latent = `${task.name}-latent.json`;
  const video = task.video ? videoNames(task.name, task.video, frames.length) : [];
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
  // One staged set: the image, its latent and the video appear together or not at all. A
  // projection of the same name replaces the last one's files (as it always has).
  const set = await StagedSet.open(task.outDir, [image, latent, ...video], true);
  try {
    await set.write(latent, Buffer.from(JSON.stringify(file)));
    await set.write(image, await pngBytes(r.pixels, side));
    if (task.video) await writeVideo(set, video, frames, side, task.video);
    signal.throwIfAborted();
    if (cancelled()) throw new Error('cancelled');
    await set.commit();
  } catch (err) {
    await set.discard();
    throw err;
  }
  const at = (n: string) => join(task.outDir, n);
  return {
    distance: r.distance,
    psnr: r.psnr,
    steps: r.steps,
    image: at(image),
    latent: at(latent),
    video: video.map(at),
    preview: await dataUrl(r.pixels, side),
    targetPreview,
  };
}

async function writeVideo(
  set: StagedSet,
  names: string[],
  frames: Uint8Array[],
  side: number,
  v: ProjectVideo,
): Promise<void> {
  if (v.format === 'png') {
    for (const [i, f] of frames.entries()) await set.write(names[i]!, await pngBytes(f, side));
    return;
  }
  // The interpolation's animation settings (gallery/output.ts), into the staged set.
  const bytes = await animationBytes(frames, side, v.fps, v.format);
  await set.write(names[0]!, bytes);
}

/**
 * An image file's bytes: a regular file, read with a cap (ingest's 1 GB), so a path such as
 * /dev/zero or a FIFO is refused by name instead of growing this process's memory.
 */
export async function readImageFile(path: string): Promise<Buffer> {
  await checkImageFile(path);
  const bytes = await readCapped(path, MAX_FILE_BYTES).catch((err: NodeJS.ErrnoException) => {
    throw new InsightInputError(`cannot read the image ${path}: ${err.code ?? err.message}`);
  });
  if (!bytes) throw new InsightInputError(`the image ${basename(path)} is over ${MAX_FILE_BYTES / 2 ** 30} GB`);
  return bytes;
}
