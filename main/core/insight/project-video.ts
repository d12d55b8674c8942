/**
 * A projection's video, checked in the main process before the generator process starts (this
 * module brings no tensors): the reconstruction every `every` steps, held in memory until the
 * projection ends, so its frames are bounded as an interpolation's are.
 */
import type { AnimationFormat } from '../../common/vocabulary.js';
import { MAX_FRAMES } from '../gallery/limits.js';
import { MAX_ANIMATION_BYTES, checkAnimation, sequenceName } from '../gallery/output.js';
import { InsightInputError } from './errors.js';

/** Reports (and video frames) every this many steps unless a video asks for another spacing. */
export const PROJECT_REPORT_EVERY = 10;
export const DEFAULT_VIDEO_FPS = 12;
/** Previews cross to the page every few steps: wider generators are shown scaled down to this side. */
export const PREVIEW_SIDE = 256;

export interface ProjectVideo {
  format: AnimationFormat;
  every: number;
  fps: number;
}

/** Frames a video of `steps` steps holds: the start, every `every`-th step and the last. */
export const videoFrameCount = (steps: number, every: number): number =>
  1 + Math.floor(steps / every) + (steps % every === 0 ? 0 : 1);

/** Checks a video's spacing, fps and size before any work (the frames are held in memory until the end). */
export function checkProjectVideo(v: ProjectVideo, steps: number, side: number): void {
  if (!Number.isInteger(v.every) || v.every < 1 || v.every > steps)
    throw new InsightInputError(`the video's frame spacing must be a whole number of steps from 1 to ${steps}`);
  const frames = videoFrameCount(steps, v.every);
  const most =
    v.format === 'png' ? MAX_FRAMES : Math.min(MAX_FRAMES, Math.floor(MAX_ANIMATION_BYTES / (side * side * 3)));
  if (frames > most)
    throw new InsightInputError(
      `a video of ${steps} steps with a frame every ${v.every} has ${frames} frames; ` +
        `${v.format === 'png' ? 'a PNG sequence' : `an animated ${v.format} of ${side}²`} holds at most ${most} here: ` +
        `give a frame every ${Math.ceil(steps / Math.max(1, most - 2))} steps or more`,
    );
  checkAnimation(Math.max(2, frames), v.fps, side, v.format);
}

/** The video's file names in the output folder: one animation or a numbered PNG sequence. */
export function videoNames(name: string, v: ProjectVideo, frames: number): string[] {
  if (v.format !== 'png') return [`${name}-projection.${v.format}`];
  return Array.from({ length: frames }, (_, i) => sequenceName(`${name}-projection`, i, frames));
}
