/**
 * A run's training time-lapse: its snapshot grids in order, as an animated WebP or GIF (sharp
 * joins the frames; the grids are not square, so the gallery's square-frame writer does not fit),
 * an MP4 (export/mp4.ts, from the grids' decoded pixels) or a numbered PNG sequence, with the
 * gallery's formats, fps bound and frame names. Long runs are thinned evenly (first and last
 * kept) so an animation's frames fit MAX_ANIMATION_BYTES.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import sharp from 'sharp';
import type { TimelapseFormat } from '../../common/vocabulary.js';
import { MAX_FRAMES } from '../gallery/limits.js';
import { MAX_ANIMATION_BYTES, sequenceName } from '../gallery/output.js';
import { ExportInputError, StagedSet, outputPath, refuseOverwrite, writeExport } from './files.js';
import { encodeMp4, whyNotFps, whyNotMp4Size } from './mp4.js';
import type { ExportJob } from './job.js';

/** How many frames of width × height an animation may hold (a PNG sequence streams: MAX_FRAMES). */
export function maxTimelapseFrames(format: TimelapseFormat, width: number, height: number): number {
  if (format === 'png') return MAX_FRAMES;
  return Math.max(2, Math.min(MAX_FRAMES, Math.floor(MAX_ANIMATION_BYTES / (width * height * 4))));
}

/** Evenly spaced picks of `n` out of `items`, first and last included. */
export function thin<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.round((i * (items.length - 1)) / (n - 1))]!);
}

/** The files a time-lapse will write: one animation, or one PNG per frame. */
export function timelapseFiles(folder: string, baseName: string, format: TimelapseFormat, frames: number): string[] {
  if (format !== 'png') return [outputPath(folder, `${baseName}.${format}`)];
  return Array.from({ length: frames }, (_, i) => outputPath(folder, sequenceName(baseName, i, frames)));
}

export function checkFps(fps: number, format: TimelapseFormat): void {
  const why = whyNotFps(fps, format);
  if (why) throw new ExportInputError(why);
}

/** The grids a time-lapse will show, thinned to what the format can hold. */
export async function timelapseFrames(gridFiles: string[], format: TimelapseFormat): Promise<string[]> {
  const { width, height } = await sharp(gridFiles[0]!).metadata();
  const notMp4 = format === 'mp4' ? whyNotMp4Size(width!, height!) : null;
  if (notMp4) throw new ExportInputError(`the run's snapshot grids cannot be an MP4: ${notMp4}`);
  return thin(gridFiles, maxTimelapseFrames(format, width!, height!));
}

/** The grids' pixels (RGB), each the first grid's size: an MP4's frames all have one size. */
async function gridPixels(frames: string[]): Promise<{ pixels: Uint8Array[]; width: number; height: number }> {
  const pixels: Uint8Array[] = [];
  let size: { width: number; height: number } | null = null;
  for (const f of frames) {
    const { data, info } = await sharp(await readFile(f))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    size ??= { width: info.width, height: info.height };
    if (info.width !== size.width || info.height !== size.height)
      throw new ExportInputError(
        `the snapshot grid ${basename(f)} is ${info.width} × ${info.height}, not ${size.width} × ${size.height} ` +
          'as the first: an MP4 holds frames of one size (export a PNG sequence instead)',
      );
    pixels.push(data);
  }
  return { pixels, ...size! };
}

export async function exportTimelapse(
  gridFiles: string[],
  opts: { folder: string; baseName: string; format: TimelapseFormat; fps: number; overwrite: boolean },
  job: ExportJob,
): Promise<string[]> {
  checkFps(opts.fps, opts.format);
  if (gridFiles.length === 0) throw new ExportInputError('the run has no snapshot grids yet');
  const frames = await timelapseFrames(gridFiles, opts.format);
  const files = timelapseFiles(opts.folder, opts.baseName, opts.format, frames.length);
  await refuseOverwrite(files, opts.overwrite);
  if (opts.format === 'png') {
    // A sequence appears whole or not at all (StagedSet), never as its first few frames.
    const names = files.map((f) => basename(f));
    const set = await StagedSet.open(opts.folder, names, opts.overwrite);
    try {
      for (const [i, frame] of frames.entries()) {
        job.step(`frame ${i + 1}`, 'writing', i / frames.length);
        const png = await sharp(await readFile(frame))
          .withIccProfile('srgb')
          .png()
          .toBuffer();
        await set.write(names[i]!, png);
      }
      job.step(`${frames.length} frames`, 'writing', 1);
      const written = await set.commit();
      for (const f of written) job.wrote(f);
      return written;
    } catch (err) {
      await set.discard();
      throw err;
    }
  }
  job.step(`${frames.length} frames`, 'composing');
  if (opts.format === 'mp4') {
    const { pixels, width, height } = await gridPixels(frames);
    const bytes = await encodeMp4(pixels, width, height, 3, opts.fps);
    job.step(`${frames.length} frames`, 'writing');
    await writeExport(files[0]!, bytes, opts.overwrite);
    job.wrote(files[0]!);
    return files;
  }
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
