/**
 * Which upscaler a print uses, and whether it is worth printing at that size, from one number:
 * the bird's pixels per inch of paper after ESRGAN's ×4 (PRINT_PPI in the contract says the two
 * thresholds, docs/DECISIONS.md how they were chosen). The DPI does not enter it: a print at
 * 150 or 300 DPI of the same enlarged picture looks the same; the picture's size on paper does.
 * Pure arithmetic over paper.ts's layout, so the studio's process advises without loading tfjs.
 */
import {
  CUSTOM_MM_RANGE,
  PAPER_NAMES,
  PRINT_PPI,
  type PaperName,
  type PrintAdvice,
  type PrintOptions,
  type Upscaler,
  type UpscalerChoice,
} from '../../../preload/contract.js';
import { PAPER_MM, layoutPrint, trimSize } from './paper.js';

const MM_PER_INCH = 25.4;
/** ESRGAN's largest step (upscale.ts): what the thresholds count after. */
const ESRGAN_SCALE = 4;

type LayoutOptions = Parameters<typeof layoutPrint>[0];

/** A size × size bird's pixels per inch of paper on this layout. */
export function printPpi(size: number, options: LayoutOptions): number {
  return size / (layoutPrint(options).pictureMm.width / MM_PER_INCH);
}

/** The upscaler 'auto' picks for a bird with `ppi` pixels per printed inch. */
export const autoUpscaler = (ppi: number): Upscaler => (ppi * ESRGAN_SCALE >= PRINT_PPI.esrgan ? 'esrgan' : 'lanczos');

/** The upscaler a print uses: the one asked for, or the one 'auto' picks for this bird on this paper. */
export function upscalerFor(choice: UpscalerChoice, size: number, options: LayoutOptions): Upscaler {
  return choice === 'auto' ? autoUpscaler(printPpi(size, options)) : choice;
}

/** Papers by size, largest first (trim area): the order a smaller one is looked for in. */
const NAMED_BY_AREA = (PAPER_NAMES.filter((n) => n !== 'custom') as Exclude<PaperName, 'custom'>[]).sort(
  (a, b) => PAPER_MM[b].width * PAPER_MM[b].height - PAPER_MM[a].width * PAPER_MM[a].height,
);

const fits = (size: number, o: LayoutOptions): number | null => {
  try {
    const after = printPpi(size, o) * ESRGAN_SCALE;
    return after >= PRINT_PPI.soft ? after : null;
  } catch {
    return null; // margins that leave no room on this paper
  }
};

/**
 * The largest paper smaller than the one asked for on which a size × size bird is not soft:
 * a named one, else a custom one of the same proportions (whole mm, within CUSTOM_MM_RANGE);
 * null when even the smallest custom paper is not enough (the margins take the room).
 */
export function smallerPaper(size: number, options: LayoutOptions): PrintAdvice['smallerPaper'] {
  const trim = trimSize(options);
  const area = trim.width * trim.height;
  for (const paper of NAMED_BY_AREA) {
    if (PAPER_MM[paper].width * PAPER_MM[paper].height >= area - 1e-6) continue;
    const after = fits(size, { ...options, paper });
    if (after !== null) return { paper, ppiAfterX4: round1(after) };
  }
  // The same proportions, scaled down until the bird is dense enough (the picture shrinks with the
  // paper). Too small a paper has no room left inside its margins, so the search goes down in
  // steps from the paper asked for, and the first step that fits is narrowed to the whole mm.
  const custom = (k: number): LayoutOptions => ({
    ...options,
    paper: 'custom',
    customMm: {
      width: Math.max(CUSTOM_MM_RANGE.min, Math.floor(trim.width * k)),
      height: Math.max(CUSTOM_MM_RANGE.min, Math.floor(trim.height * k)),
    },
  });
  const STEP = 1 / 128;
  let lo = 1 - STEP;
  while (lo > 0 && fits(size, custom(lo)) === null) lo -= STEP;
  if (lo <= 0) return null;
  let hi = lo + STEP;
  for (let i = 0; i < 20; i++) {
    const mid = (lo + hi) / 2;
    if (fits(size, custom(mid)) !== null) lo = mid;
    else hi = mid;
  }
  const best = custom(lo);
  return { paper: 'custom', customMm: best.customMm!, ppiAfterX4: round1(fits(size, best)!) };
}

/** How birds of `resolution` will print at `options`: their ppi, the upscaler used, softness, a smaller paper. */
export function adviseUpscale(resolution: number, favouriteIds: number[], options: PrintOptions): PrintAdvice {
  const ppi = printPpi(resolution, options);
  const soft = ppi * ESRGAN_SCALE < PRINT_PPI.soft;
  return {
    resolution,
    favouriteIds,
    ppi: round1(ppi),
    ppiAfterX4: round1(ppi * ESRGAN_SCALE),
    upscaler: options.upscaler === 'auto' ? autoUpscaler(ppi) : options.upscaler,
    soft,
    smallerPaper: soft ? smallerPaper(resolution, options) : null,
  };
}

const round1 = (x: number): number => Math.round(x * 10) / 10;
