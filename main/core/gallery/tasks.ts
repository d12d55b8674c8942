/**
 * The work a generator process does, as plain data in and files out, so the same code runs in
 * the gallery's child process (the app, `serve`) and in-process (the one-shot CLI, tests).
 */
import { stat } from 'node:fs/promises';
import { loadGenerator } from '../gan/checkpoint.js';
import { WeightConstants } from '../gan/ops.js';
import {
  checkAnimation,
  refuseExisting,
  sequencePath,
  writeAnimation,
  writePng,
  writeStrip,
  type AnimationFormat,
} from './output.js';
import {
  batchSizeFor,
  interpolationFrames,
  renderBirds,
  type BirdSpec,
  type Generator,
  type LatentSpace,
} from './render.js';

export type GalleryTask =
  | { kind: 'warm-up' }
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
 * One loaded generator at a time: a gallery looks at one model; switching frees the last one's
 * tensors. Keyed by path, size and mtime, so a file replaced on disk is read again.
 */
export class GeneratorCache {
  #key = '';
  #gen: Generator | null = null;

  async get(file: string): Promise<Generator> {
    const st = await stat(file).catch(() => null);
    if (!st) throw Object.assign(new Error(`cannot open checkpoint ${file}: no such file`), { code: 'not-found' });
    const key = `${file}\0${st.size}\0${st.mtimeMs}`;
    if (this.#gen && key === this.#key) return this.#gen;
    this.dispose();
    this.#gen = { ...(await loadGenerator(file)), constants: new WeightConstants() };
    this.#key = key;
    return this.#gen;
  }

  dispose(): void {
    this.#gen?.constants?.dispose();
    this.#gen?.G.dispose();
    this.#gen = null;
    this.#key = '';
  }
}

/**
 * Runs a task. `cancelled` is asked between images, so a page of birds nobody looks at any more
 * stops after the image in flight. Resolves with the files written.
 */
export async function runTask(
  task: GalleryTask,
  cache: GeneratorCache,
  onFile: (f: TaskFile) => void = () => {},
  cancelled: () => boolean = () => false,
): Promise<string[]> {
  if (task.kind === 'warm-up') return []; // the process and its backend are up: that was the task
  const gen = await cache.get(task.file);
  const side = gen.config.resolution;
  const written: string[] = [];
  if (task.kind === 'birds') {
    const batch = batchSizeFor(side);
    for (let first = 0; first < task.specs.length; first += batch) {
      if (cancelled()) break;
      const t0 = performance.now();
      const chunk = task.specs.slice(first, first + batch);
      const pixels = await renderBirds(gen, chunk);
      const ms = (performance.now() - t0) / chunk.length;
      for (const [k, px] of pixels.entries()) {
        const index = first + k;
        await writePng(px, side, task.out[index]!);
        written.push(task.out[index]!);
        onFile({ index, file: task.out[index]!, ms });
      }
    }
    return written;
  }
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
