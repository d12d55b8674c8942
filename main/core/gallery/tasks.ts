/**
 * The work a generator process does, as plain data in and files out, so the same code runs in
 * the gallery's child process (the app, `serve`) and in-process (the one-shot CLI, tests).
 */
import { GeneratorCache } from './generator-cache.js';
import { describeGenerator } from '../gan/generator-file.js';
import {
  checkAnimation,
  refuseExisting,
  sequencePath,
  writeAnimation,
  writePng,
  writeStrip,
  type AnimationFormat,
} from './output.js';
import { batchSizeFor, interpolationFrames, renderBirds, type BirdSpec, type LatentSpace } from './render.js';

export { GeneratorCache };

export type GalleryTask =
  /** Starts the backend (and lanes); with `file`, loads it and draws a batch on each lane to compile. */
  | { kind: 'warm-up'; file?: string }
  | { kind: 'birds'; file: string; specs: BirdSpec[]; out: string[] }
  | {
      kind: 'interpolate';
      file: string;
      keys: BirdSpec[];
      space: LatentSpace;
      frames: number;
      fps: number;
      /** 'strip': one preview PNG at `out`; 'png': a numbered sequence in the folder `out`. */
      format: AnimationFormat | 'strip';
      out: string;
      /** Sequence file names start with this. */
      prefix?: string;
    };

/** A file the task has finished (a bird, a frame, the animation), reported as soon as it is written. */
export interface TaskFile {
  index: number;
  file: string;
  ms: number;
}

/**
 * Where a page's batches are drawn: here, one after another (`lanes` 1), or on the generator
 * process's worker threads, several at once.
 */
export interface BirdDrawer {
  lanes: number;
  draw(file: string, specs: BirdSpec[]): Promise<Uint8Array[]>;
}

export const drawHere = (cache: GeneratorCache): BirdDrawer => ({
  lanes: 1,
  draw: async (file, specs) => renderBirds(await cache.get(file), specs),
});

/**
 * Runs a task. `cancelled` is asked between batches, so a page of birds nobody looks at any
 * more stops after the batches in flight. Resolves with the files written.
 */
export async function runTask(
  task: GalleryTask,
  cache: GeneratorCache,
  onFile: (f: TaskFile) => void = () => {},
  cancelled: () => boolean = () => false,
  drawer: BirdDrawer = drawHere(cache),
): Promise<string[]> {
  if (task.kind === 'warm-up') {
    // The process and its backend are up: that was the task, unless a model is worth preloading.
    if (task.file) await preload(task.file, drawer);
    return [];
  }
  if (task.kind === 'birds') return drawBirds(task, drawer, onFile, cancelled);
  const gen = await cache.get(task.file);
  const side = gen.config.resolution;
  const written: string[] = [];
  if (task.format !== 'strip') checkAnimation(task.frames, task.fps, side, task.format);
  if (task.format !== 'png') await refuseExisting(task.out);
  const frames: Uint8Array[] = [];
  let index = 0;
  let t0 = performance.now();
  for await (const pixels of interpolationFrames(gen, task.keys, task.space, task.frames)) {
    if (cancelled()) return written;
    if (task.format === 'png') {
      const file = sequencePath(task.out, task.prefix ?? 'frame', index, task.frames);
      await refuseExisting(file);
      await writePng(pixels, side, file);
      written.push(file);
      onFile({ index, file, ms: performance.now() - t0 });
    } else frames.push(pixels);
    index++;
    t0 = performance.now();
  }
  if (task.format === 'strip') await writeStrip(frames, side, task.out);
  else if (task.format !== 'png') await writeAnimation(frames, side, task.fps, task.format, task.out);
  if (task.format !== 'png') {
    written.push(task.out);
    onFile({ index: 0, file: task.out, ms: performance.now() - t0 });
  }
  return written;
}

/**
 * A page of birds in batches, `drawer.lanes` batches at a time, each bird's PNG written as soon
 * as its batch is done and reported in order. A failure stops the other lanes after their batch.
 */
async function drawBirds(
  task: Extract<GalleryTask, { kind: 'birds' }>,
  drawer: BirdDrawer,
  onFile: (f: TaskFile) => void,
  cancelled: () => boolean,
): Promise<string[]> {
  const side = (await describeGenerator(task.file)).config.resolution;
  // As many batches as keep every lane equally busy: 24 birds, batches of up to 8, on two lanes
  // go 6 at a time, two batches a lane (8 at a time would leave one lane a batch behind).
  const lanes = Math.max(1, drawer.lanes);
  const batches = lanes * Math.ceil(task.specs.length / (lanes * batchSizeFor(side)));
  const batch = Math.ceil(task.specs.length / Math.max(1, batches));
  const written: { index: number; file: string }[] = [];
  // Birds are reported in seed order (the grid fills from the top): a batch that finishes
  // before an earlier one waits, written, until that one is reported.
  const finished = new Map<number, TaskFile[]>();
  let reported = 0;
  let next = 0;
  let failed = false;
  const lane = async (): Promise<void> => {
    while (next < task.specs.length && !failed && !cancelled()) {
      const first = next;
      next += batch;
      const t0 = performance.now();
      const chunk = task.specs.slice(first, first + batch);
      const pixels = await drawer.draw(task.file, chunk).catch((err: unknown) => {
        failed = true;
        throw err;
      });
      const ms = (performance.now() - t0) / chunk.length;
      const files: TaskFile[] = [];
      for (const [k, px] of pixels.entries()) {
        const index = first + k;
        await writePng(px, side, task.out[index]!);
        written.push({ index, file: task.out[index]! });
        files.push({ index, file: task.out[index]!, ms });
      }
      finished.set(first, files);
      for (let f = finished.get(reported); f; f = finished.get(reported)) {
        finished.delete(reported);
        f.forEach(onFile);
        reported += f.length;
      }
    }
  };
  const ended = await Promise.allSettled(Array.from({ length: lanes }, lane));
  const failure = ended.find((l): l is PromiseRejectedResult => l.status === 'rejected');
  if (failure) throw failure.reason;
  return written.sort((a, b) => a.index - b.index).map((w) => w.file);
}

/**
 * One batch on every lane (each busy until its batch is done, so each gets one): the generator
 * loaded and the kernels of a page's batch size compiled before the page is asked for.
 */
async function preload(file: string, drawer: BirdDrawer): Promise<void> {
  const batch = batchSizeFor((await describeGenerator(file)).config.resolution);
  const specs = Array.from({ length: batch }, (_, seed): BirdSpec => ({ seed, psi: 1, noiseMode: 'const' }));
  await Promise.all(Array.from({ length: Math.max(1, drawer.lanes) }, () => drawer.draw(file, specs)));
}
