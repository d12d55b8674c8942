/**
 * Paper geometry for prints: page, bleed, margins, the square picture and the caption band,
 * in millimetres first and then in whole pixels at the chosen DPI and in PDF points.
 *
 * The page raster is the whole page at the DPI (A4 at 300 DPI: 2480 × 3508 px), and the PDF
 * page is the same page in points (595.28 × 841.89 pt): every box below is measured from the
 * page's top-left corner, bleed included.
 */
import { CUSTOM_MM_RANGE, type PaperName, type PaperTone } from '../../common/vocabulary.js';
import type { PrintOptions } from '../../common/records.js';
import { DEFAULT_PAPER } from '../paper-colour.js';

const MM_PER_INCH = 25.4;
const PT_PER_INCH = 72;

/** Trim sizes, portrait, in mm (ISO 216 and ANSI). */
export const PAPER_MM: Record<Exclude<PaperName, 'custom'>, { width: number; height: number }> = {
  A5: { width: 148, height: 210 },
  A4: { width: 210, height: 297 },
  A3: { width: 297, height: 420 },
  A2: { width: 420, height: 594 },
  Letter: { width: 215.9, height: 279.4 },
  Tabloid: { width: 279.4, height: 431.8 },
};

/** The paper tones; cream is the plates' own paper colour. */
export const PAPER_TONE_HEX: Record<PaperTone, string> = {
  white: '#ffffff',
  cream: DEFAULT_PAPER,
  antique: '#ebdfc5',
};

export const BLEED_MM = 3;
export const MAX_DPI = 1200;
/** A page raster beyond this many pixels is refused (sharp's own limit is 268 Mpx; RGB at 150 Mpx is 450 MB). */
export const MAX_PAGE_PIXELS = 150e6;
/** Below this the picture is too small to be worth printing: margins and caption ate the page. */
const MIN_PICTURE_MM = 10;

export class PaperError extends RangeError {
  readonly code = 'invalid-input';
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface CaptionLayout {
  /** Font size in points (the same on paper whatever the DPI). */
  fontPt: number;
  /** Baseline-to-baseline distance in points. */
  lineHeightPt: number;
  lines: 2;
}

export interface PrintLayout {
  dpi: number;
  /** Trim size in mm, oriented. */
  trimMm: { width: number; height: number };
  bleedMm: number;
  /** Page = trim plus bleed on every side. */
  pageMm: { width: number; height: number };
  pagePx: { width: number; height: number };
  pagePt: { width: number; height: number };
  /** Inside the margins, in mm from the page corner. */
  printableMm: Box;
  /** The square picture, in mm and in whole pixels from the page corner. */
  pictureMm: Box;
  picturePx: Box;
  /** The caption band under the picture, or null without a caption. */
  captionMm: Box | null;
  caption: CaptionLayout | null;
  tone: string;
}

export const mmToPx = (mm: number, dpi: number): number => Math.round((mm / MM_PER_INCH) * dpi);
export const mmToPt = (mm: number): number => (mm / MM_PER_INCH) * PT_PER_INCH;
/** Pixels per metre, as PNG's pHYs chunk stores the DPI. */
export const dpiToPxPerMetre = (dpi: number): number => Math.round((dpi / MM_PER_INCH) * 1000);

/** The oriented trim size, after checking custom sizes. */
export function trimSize(o: Pick<PrintOptions, 'paper' | 'customMm' | 'orientation'>): {
  width: number;
  height: number;
} {
  let size: { width: number; height: number };
  if (o.paper === 'custom') {
    if (!o.customMm) throw new PaperError('custom paper needs a width and a height in mm');
    const { width, height } = o.customMm;
    for (const [side, v] of [
      ['width', width],
      ['height', height],
    ] as const) {
      if (!Number.isFinite(v) || v < CUSTOM_MM_RANGE.min || v > CUSTOM_MM_RANGE.max)
        throw new PaperError(
          `custom paper ${side} must be ${CUSTOM_MM_RANGE.min}–${CUSTOM_MM_RANGE.max} mm (got ${String(v)})`,
        );
    }
    size = { width, height };
  } else {
    size = PAPER_MM[o.paper];
    if (!size) throw new PaperError(`unknown paper ${JSON.stringify(o.paper)}`);
  }
  const landscape = o.orientation === 'landscape';
  const [short, long] = size.width <= size.height ? [size.width, size.height] : [size.height, size.width];
  return landscape ? { width: long, height: short } : { width: short, height: long };
}

/** Caption type scales with the paper's short side: 10 pt on A4, never under 7 or over 16. */
export function captionFor(trim: { width: number; height: number }): CaptionLayout {
  const fontPt = Math.min(16, Math.max(7, Math.round((Math.min(trim.width, trim.height) / 210) * 10 * 2) / 2));
  return { fontPt, lineHeightPt: fontPt * 1.4, lines: 2 };
}

/** Everything a print needs to know about where things go; throws PaperError for impossible requests. */
export function layoutPrint(
  o: Pick<PrintOptions, 'paper' | 'customMm' | 'orientation' | 'dpi' | 'marginMm' | 'bleed' | 'caption' | 'tone'>,
): PrintLayout {
  if (!Number.isInteger(o.dpi) || o.dpi <= 0 || o.dpi > MAX_DPI)
    throw new PaperError(`DPI must be a whole number from 1 to ${MAX_DPI} (got ${String(o.dpi)})`);
  const trimMm = trimSize(o);
  if (!Number.isFinite(o.marginMm) || o.marginMm < 0)
    throw new PaperError(`margins must be 0 mm or more (got ${String(o.marginMm)})`);
  const bleedMm = o.bleed ? BLEED_MM : 0;
  const pageMm = { width: trimMm.width + 2 * bleedMm, height: trimMm.height + 2 * bleedMm };
  const pagePx = { width: mmToPx(pageMm.width, o.dpi), height: mmToPx(pageMm.height, o.dpi) };
  if (pagePx.width * pagePx.height > MAX_PAGE_PIXELS)
    throw new PaperError(
      `${pagePx.width} × ${pagePx.height} px is too large to render (limit ${MAX_PAGE_PIXELS / 1e6} Mpx): ` +
        'choose a lower DPI or a smaller paper',
    );

  const printableMm: Box = {
    left: bleedMm + o.marginMm,
    top: bleedMm + o.marginMm,
    width: trimMm.width - 2 * o.marginMm,
    height: trimMm.height - 2 * o.marginMm,
  };
  const caption = o.caption ? captionFor(trimMm) : null;
  // The caption band: a gap of one line, then two lines of text.
  const captionBandMm = caption ? ((caption.lineHeightPt * 3) / PT_PER_INCH) * MM_PER_INCH : 0;
  const side = Math.min(printableMm.width, printableMm.height - captionBandMm);
  if (!(side >= MIN_PICTURE_MM))
    throw new PaperError(
      `margins of ${o.marginMm} mm leave no room for the picture on ${trimMm.width} × ${trimMm.height} mm paper`,
    );
  // Picture and caption together are centred in the printable area.
  const blockHeight = side + captionBandMm;
  const pictureMm: Box = {
    left: printableMm.left + (printableMm.width - side) / 2,
    top: printableMm.top + (printableMm.height - blockHeight) / 2,
    width: side,
    height: side,
  };
  const captionMm = caption
    ? { left: printableMm.left, top: pictureMm.top + side, width: printableMm.width, height: captionBandMm }
    : null;
  // Whole pixels: both edges are rounded, so neighbouring boxes never overlap or leave a gap.
  const left = mmToPx(pictureMm.left, o.dpi);
  const top = mmToPx(pictureMm.top, o.dpi);
  const sidePx = mmToPx(pictureMm.left + side, o.dpi) - left;
  return {
    dpi: o.dpi,
    trimMm,
    bleedMm,
    pageMm,
    pagePx,
    pagePt: { width: mmToPt(pageMm.width), height: mmToPt(pageMm.height) },
    printableMm,
    pictureMm,
    picturePx: { left, top, width: sidePx, height: sidePx },
    captionMm,
    caption,
    tone: PAPER_TONE_HEX[o.tone] ?? PAPER_TONE_HEX.cream,
  };
}
