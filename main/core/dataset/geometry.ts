import type { CropMode } from '../../common/vocabulary.js';

export interface Size {
  width: number;
  height: number;
}

/**
 * How an upright W×H image becomes an R×R square. Resizing happens first (so sharp can
 * shrink-on-load, decoding a 2000 px JPEG at 1/2, 1/4 or 1/8 scale), then a crop or a pad.
 */
export type SquarePlan =
  /** Resize to `resize`, then cut the R×R window at (left, top). */
  | { mode: 'crop'; resize: Size; left: number; top: number }
  /** Resize to `resize` (cover), then let sharp's attention strategy place the R×R window. */
  | { mode: 'attention'; resize: Size }
  /** Resize to fit inside R×R, then extend with the paper colour on each side. */
  | { mode: 'pad'; resize: Size; top: number; bottom: number; left: number; right: number };

/** The side that must reach the resolution: the short side when cropping, the long one when padding. */
export function decisiveSide(size: Size, crop: CropMode): number {
  return crop === 'pad' ? Math.max(size.width, size.height) : Math.min(size.width, size.height);
}

export function planSquare(size: Size, resolution: number, crop: CropMode): SquarePlan {
  const { width, height } = size;
  if (!(width > 0 && height > 0)) throw new RangeError(`invalid image size ${width}×${height}`);
  if (crop === 'pad') {
    const scale = resolution / Math.max(width, height);
    const resize = {
      width: Math.max(1, Math.min(resolution, Math.round(width * scale))),
      height: Math.max(1, Math.min(resolution, Math.round(height * scale))),
    };
    const padX = resolution - resize.width;
    const padY = resolution - resize.height;
    const left = Math.floor(padX / 2);
    const top = Math.floor(padY / 2);
    return { mode: 'pad', resize, left, right: padX - left, top, bottom: padY - top };
  }
  const scale = resolution / Math.min(width, height);
  const resize = {
    width: Math.max(resolution, Math.round(width * scale)),
    height: Math.max(resolution, Math.round(height * scale)),
  };
  if (crop === 'subject') return { mode: 'attention', resize };
  return {
    mode: 'crop',
    resize,
    left: Math.floor((resize.width - resolution) / 2),
    top: Math.floor((resize.height - resolution) / 2),
  };
}

/** '#rrggbb' → {r, g, b}. */
export function parseHexColour(hex: string): { r: number; g: number; b: number } {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new RangeError(`colour must look like #rrggbb, got ${JSON.stringify(hex)}`);
  return { r: parseInt(m[1]!, 16), g: parseInt(m[2]!, 16), b: parseInt(m[3]!, 16) };
}
