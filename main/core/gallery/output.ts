/**
 * Pixels to files: one PNG per bird, and interpolations as an animated WebP or GIF (sharp writes
 * both from a stack of frames, one page each), an MP4 (export/mp4.ts), a numbered PNG sequence
 * (tasks.ts stages it, so it appears whole), or a preview strip.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import type { AnimationFormat } from '../../common/vocabulary.js';
import { writeExport } from '../export/files.js';
import { Mp4Error, encodeMp4, whyNotFps, whyNotMp4Size } from '../export/mp4.js';
import { writeFileAtomic } from '../util/atomic.js';
import { MAX_FRAMES } from './limits.js';

export { ANIMATION_FORMATS, type AnimationFormat } from '../../common/vocabulary.js';

/** Frames an animation holds in memory at once are bounded by bytes, not count (512² frames are 768 KiB each). */
export const MAX_ANIMATION_BYTES = 256 * 2 ** 20;

/** Side of each frame in a preview strip: small enough to load at once, big enough to judge. */
export const STRIP_SIDE = 128;

export class OutputError extends Error {
  readonly code = 'invalid-input';
}

export async function pngBytes(pixels: Uint8Array, side: number): Promise<Buffer> {
  // Fixed settings, so the same pixels always give the same bytes.
  return sharp(pixels, { raw: { width: side, height: side, channels: 3 } })
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

export async function writePng(pixels: Uint8Array, side: number, file: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, await pngBytes(pixels, side), false);
}

/** Checks frames and fps before any work: the whole animation must fit the memory bound. */
export function checkAnimation(frames: number, fps: number, side: number, format: AnimationFormat): void {
  if (!Number.isInteger(frames) || frames < 2 || frames > MAX_FRAMES)
    throw new OutputError(`frames must be a whole number from 2 to ${MAX_FRAMES}, got ${frames}`);
  const why = whyNotFps(fps, format) ?? (format === 'mp4' ? whyNotMp4Size(side, side) : null);
  if (why) throw new OutputError(why);
  if (format !== 'png' && frames * side * side * 3 > MAX_ANIMATION_BYTES)
    throw new OutputError(
      `${frames} frames of ${side}² is more than an animated ${format} can be built from here ` +
        `(${MAX_ANIMATION_BYTES / 2 ** 20} MiB of frames): use fewer frames or a PNG sequence`,
    );
}

/** An animated WebP/GIF (looping) or an MP4 of frames of side² RGB, written whole or not at all, never over a file. */
export async function writeAnimation(
  frames: Uint8Array[],
  side: number,
  fps: number,
  format: Exclude<AnimationFormat, 'png'>,
  file: string,
): Promise<void> {
  await writeExport(file, await animationBytes(frames, side, fps, format), false);
}

/** The bytes of an animation of frames of side² RGB (the projection's video stages them with its image). */
export async function animationBytes(
  frames: Uint8Array[],
  side: number,
  fps: number,
  format: Exclude<AnimationFormat, 'png'>,
): Promise<Uint8Array> {
  if (format === 'mp4')
    return encodeMp4(frames, side, side, 3, fps).catch((err: unknown) => {
      throw err instanceof Mp4Error ? new OutputError(err.message) : err;
    });
  const stack = Buffer.alloc(frames.length * side * side * 3);
  frames.forEach((f, i) => stack.set(f, i * f.length));
  const delay = Math.round(1000 / fps);
  const img = sharp(stack, { raw: { width: side, height: side * frames.length, channels: 3, pageHeight: side } });
  const out =
    format === 'webp'
      ? img.webp({ loop: 0, delay: frames.map(() => delay), quality: 90 })
      : img.gif({ loop: 0, delay: frames.map(() => delay) });
  return out.toBuffer();
}

/** Name of frame i of a numbered sequence: zero-padded so the files sort in order. */
export const sequenceName = (prefix: string, i: number, count: number): string =>
  `${prefix}-${String(i).padStart(Math.max(4, String(count - 1).length), '0')}.png`;

export const sequencePath = (dir: string, prefix: string, i: number, count: number): string =>
  join(dir, sequenceName(prefix, i, count));

/** Frames side by side, each scaled to STRIP_SIDE, as one PNG. */
export async function writeStrip(frames: Uint8Array[], side: number, file: string): Promise<void> {
  const small = await Promise.all(
    frames.map((f) =>
      sharp(f, { raw: { width: side, height: side, channels: 3 } })
        .resize(STRIP_SIDE, STRIP_SIDE, { kernel: side > STRIP_SIDE ? 'lanczos3' : 'nearest' })
        .raw()
        .toBuffer(),
    ),
  );
  const composite = sharp({
    create: { width: STRIP_SIDE * frames.length, height: STRIP_SIDE, channels: 3, background: '#000' },
  }).composite(
    small.map((buf, i) => ({
      input: buf,
      raw: { width: STRIP_SIDE, height: STRIP_SIDE, channels: 3 },
      left: i * STRIP_SIDE,
      top: 0,
    })),
  );
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, await composite.png().toBuffer(), false);
}
