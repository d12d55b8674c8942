/**
 * The work a generator process does, as plain data in and files out, so the same code runs in
 * the gallery's child process (the app, `serve`) and in-process (the one-shot CLI, tests).
 */
import { GeneratorCache } from './generator-cache.js';
import { StagedSet } from '../export/files.js';
import { describeGenerator } from '../netfile/generator-file.js';
import {
  checkAnimation,
  pngBytes,
  sequenceName,
  writeAnimation,
  writePng,
  writeStrip,
  type AnimationFormat,
} from './output.js';
import type { InsightTask } from '../insight/tasks.js';
import { writeFileAtomic } from '../util/atomic.js';
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
    }
  /** An insight operation (insight/tasks.ts); its result is written as JSON to `out`. */
  | { kind: 'insight'; task: InsightTask; out: string };

/** A file the task has finished (a bird, a frame, the animation), reported as soon as it is written. */
export interface TaskFile {
  index: number;
  file: string;
  ms: number;
  /** An insight task's progress (then `index` is -1 and `file` empty). */
  progress?: { phase: string; done: number; total: number };
}

/**
 * Where a page's batches are drawn: here, one after another (`lanes` 1), or on the generator
 * process's worker threads, several at once.
 */
export interface BirdDrawer {
  lanes: number;
  draw(file: string, specs: BirdSpec[]): Promise<Uint8Array[]>;
}

/** Draws here; `stopped` is asked between birds and blocks (see renderBirds). */
export const drawHere = (cache: GeneratorCache, stopped?: () => boolean): BirdDrawer => ({
  lanes: 1,
  draw: async (file, specs) => renderBirds(await cache.get(file), specs, stopped),
});

/**
 * Runs a task. `cancelled` is asked between birds (and the drawer stops a batch in flight
 * between its blocks), so a page of birds nobody looks at any more stops after the bird in
 * flight, and nothing is written once it says so. Resolves with the files written.
 */
export async function runTask(
  task: GalleryTask,
  cache: GeneratorCache,
  onFile: (f: TaskFile) => void = () => {},
  cancelled: () => boolean = () => false,
  drawer: BirdDrawer = drawHere(cache, cancelled),
): Promise<string[]> {
  if (task.kind === 'warm-up') {
    // The process and its backend are up: that was the task, unless a model is worth preloading.
    if (task.file) await preload(task.file, drawer);
    return [];
  }
  if (task.kind === 'birds') return drawBirds(task, drawer, onFile, cancelled);
  if (task.kind === 'insight') return runInsight(task, cache, onFile, cancelled);
  const gen = await cache.get(task.file);
  const side = gen.config.resolution;
  if (task.format !== 'strip') checkAnimation(task.frames, task.fps, side, task.format);
  // A PNG sequence is staged and moved in whole: a failure or a cancel leaves no frames behind.
  // (Drawn here, on this thread: a cancel is seen between frames, when writing one yields.)
  const names = Array.from({ length: task.frames }, (_, i) => sequenceName(task.prefix ?? 'frame', i, task.frames));
  const staged = task.format === 'png' ? await StagedSet.open(task.out, names, false) : null;
  try {
    const frames: Uint8Array[] = [];
    let index = 0;
    for await (const pixels of interpolationFrames(gen, task.keys, task.space, task.frames)) {
      if (cancelled()) {
        await staged?.discard();
        return [];
      }
      if (staged) await staged.write(names[index]!, await pngBytes(pixels, side));
      else frames.push(pixels);
      index++;
    }
    const t0 = performance.now();
    if (staged) {
      const written = await staged.commit();
      written.forEach((file, i) => onFile({ index: i, file, ms: 0 }));
      return written;
    }
    if (task.format === 'strip') await writeStrip(frames, side, task.out);
    else if (task.format !== 'png') await writeAnimation(frames, side, task.fps, task.format, task.out);
    onFile({ index: 0, file: task.out, ms: performance.now() - t0 });
    return [task.out];
  } catch (err) {
    await staged?.discard();
    throw err;
  }
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
        if (cancelled()) return null; // stopped mid-pass: not a failure
        failed = true;
        throw err;
      });
      if (!pixels || cancelled()) return;
      const ms = (performance.now() - t0) / chunk.length;
      const files: TaskFile[] = [];
      for (const [k, px] of pixels.entries()) {
        if (cancelled()) return; // nothing is written once the job is cancelled
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

/**
 * An insight task, loaded on first use (it brings the feature network). Progress is reported as
 * files with `index` -1 and the progress in `progress`; the result lands whole at `task.out`.
 */
async function runInsight(
  task: Extract<GalleryTask, { kind: 'insight' }>,
  cache: GeneratorCache,
  onFile: (f: TaskFile) => void,
  cancelled: () => boolean,
): Promise<string[]> {
  const { runInsightTask } = await import('../insight/tasks.js');
  const t0 = performance.now();
  const result = await runInsightTask(
    task.task,
    cache,
    (p) => onFile({ index: -1, file: '', ms: performance.now() - t0, progress: p }),
    cancelled,
  );
  if (cancelled()) return [];
  await writeFileAtomic(task.out, Buffer.from(JSON.stringify(result)), false);
  return [task.out];
}
