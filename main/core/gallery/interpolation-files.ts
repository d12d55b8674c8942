/**
 * Where an exported interpolation goes, checked whole before a frame is drawn: the folder by the
 * one rule every export follows (export/folder.ts), the file names (chosen or made up), the
 * frames and fps, and nothing in the way. The folder is not made here: the gallery makes it
 * last, and removes it again if the interpolation fails.
 */
import type { AnimationFormat } from '../../common/vocabulary.js';
import type { DirectionWalk, InterpolateParams } from '../../../preload/contract.js';
import { existing, outputPath } from '../export/files.js';
import { checkExportFolder } from '../export/folder.js';
import { whyBadFileName } from '../util/text.js';
import { checkAnimation, OutputError, sequenceName } from './output.js';

export interface InterpolationFiles {
  folder: string;
  /** What the sequence's frames are named after (`walk` → walk-0000.png, …), or the animation's base name. */
  name: string;
  /** Every file it will write: the animation, or each frame. */
  paths: string[];
}

export async function planInterpolationFiles(
  p: InterpolateParams & { format: AnimationFormat },
  home: string,
  resolution: number,
): Promise<InterpolationFiles> {
  if (p.name !== undefined) {
    const why = whyBadFileName(p.name);
    if (why) throw new OutputError(why);
  }
  const folder = await checkExportFolder(p.outDir, home);
  const name = p.name ?? (p.along ? directionWalkName(p.along) : interpolationName(p.favouriteIds, p.space));
  const names =
    p.format === 'png'
      ? Array.from({ length: p.frames }, (_, i) => sequenceName(name, i, p.frames))
      : [`${name}.${p.format}`];
  const paths = names.map((n) => outputPath(folder, n));
  checkAnimation(p.frames, p.fps, resolution, p.format);
  const inTheWay = await existing(paths);
  if (inTheWay.length === 1)
    throw new OutputError(`${inTheWay[0]} already exists: choose another name or folder (nothing was written)`);
  if (inTheWay.length > 1)
    throw new OutputError(
      `${inTheWay.length} of its files already exist (${inTheWay[0]}, …): choose another name or folder ` +
        '(nothing was written)',
    );
  return { folder, name, paths };
}

/**
 * The name an interpolation gets when none is chosen: its favourites and space, shortened to
 * the first and last where many ids would not fit a file name.
 */
export function interpolationName(ids: number[], space: string): string {
  const all = `interpolation-${ids.join('-')}-${space}`;
  return all.length <= 100 ? all : `interpolation-${ids[0]}-to-${ids.at(-1)}-${ids.length}-birds-${space}`;
}

/** The name a walk along a direction gets when none is chosen: the bird, the direction, its layers and reach. */
export function directionWalkName(w: DirectionWalk): string {
  const e = w.edit;
  const mix = w.mixSeed !== undefined ? `-mix${w.mixSeed}` : '';
  return `seed${w.seed}${mix}-${e.method}${e.direction}-${e.layers}-pm${Math.abs(e.amount)}`.replace(/[^\w.-]/g, '_');
}
