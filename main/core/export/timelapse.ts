/**
 * A run's training time-lapse: its snapshot grids in order, as an animated WebP or GIF (sharp
 * joins the frames) or as a numbered PNG sequence. Long runs are thinned evenly to at most
 * MAX_TIMELAPSE_FRAMES frames (first and last kept), which bounds the memory an animation takes.
 */
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { outputPath, refuseOverwrite, writeExport } from './files.js';
import type { ExportJob } from './job.js';

export const TIMELAPSE_FORMATS = ['webp', 'gif', 'png'] as const;
export type TimelapseFormat = (typeof TIMELAPSE_FORMATS)[number];
export const MAX_TIMELAPSE_FRAMES = 240;
export const FPS_RANGE = { min: 1, max: 60 } as const;

/** Evenly spaced picks of `n` out of `items`, first and last included. */
export function thin<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]!);
}

/** The files a time-lapse will write: one animation, or one PNG per frame. */
export function timelapseFiles(folder: string, baseName: string, format: TimelapseFormat, frames: number): string[] {
  if (format !== 'png') return [outputPath(folder, `${baseName}.${format}`)];
  return Array.from({ length: frames }, (_, i) =>
    outputPath(folder, `${baseName}-${String(i + 1).padStart(4, '0')}.png`),
  );
}

export async function exportTimelapse(
  gridFiles: string[],
  opts: { folder: string; baseName: string; format: TimelapseFormat; fps: number; overwrite: boolean },
  job: ExportJob,
): Promise<string[]> {
  if (!Number.isFinite(opts.fps) || opts.fps < FPS_RANGE.min || opts.fps > FPS_RANGE.max)
    throw new RangeError(`fps must be ${FPS_RANGE.min}–${FPS_RANGE.max} (got ${String(opts.fps)})`);
  if (gridFiles.length === 0) throw new RangeError('the run has no snapshot grids yet');
  const frames = thin(gridFiles, MAX_TIMELAPSE_FRAMES);
  const files = timelapseFiles(opts.folder, opts.baseName, opts.format, frames.length);
  await refuseOverwrite(files, opts.overwrite);
  if (opts.format === 'png') {
    for (const [i, frame] of frames.entries()) {
      job.step(`frame ${i + 1}`, 'writing', i / frames.length);
      const png = await sharp(await readFile(frame))
        .withIccProfile('srgb')
        .png()
        .toBuffer();
      await writeExport(files[i]!, png, opts.overwrite);
      job.wrote(files[i]!);
    }
    return files;
  }
  job.step(`${frames.length} frames`, 'composing');
  const buffers = await Promise.all(frames.map((f) => readFile(f)));
  const delay = Array<number>(frames.length).fill(Math.round(1000 / opts.fps));
  const animation = sharp(buffers, { join: { animated: true } });
  const bytes = await (
    opts.format === 'webp' ? animation.webp({ delay, loop: 0, lossless: true }) : animation.gif({ delay, loop: 0 })
  ).toBuffer();
  job.step(`${frames.length} frames`, 'writing');
  await writeExport(files[0]!, bytes, opts.overwrite);
  job.wrote(files[0]!);
  return files;
}
