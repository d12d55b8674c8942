/** Input schemas of the export requests (see validate.ts; typed against the contract the same way). */
import { z } from 'zod';
import {
  CUSTOM_MM_RANGE,
  ORIENTATIONS,
  PAPER_NAMES,
  PAPER_TONES,
  PRINT_FORMATS,
  TIMELAPSE_FORMATS,
  UPSCALER_CHOICES,
} from '../../common/vocabulary.js';
import type { ExportRequests, RequestParams } from '../../../preload/contract.js';
import { MAX_DPI } from '../export/paper.js';
import { GALLERY_FIELDS } from './validate-gallery.js';

/** Ids say what is wrong with them the same way in every request. */
const id = GALLERY_FIELDS.id;
const folder = z.string().min(1, 'choose a folder').max(4096);
const fileName = GALLERY_FIELDS.fileName;
const oneOf = (values: readonly string[]) => ({ error: `must be one of ${values.join(', ')}` });
const customSide = (side: string) =>
  z
    .number()
    .min(CUSTOM_MM_RANGE.min, `custom paper ${side} must be ${CUSTOM_MM_RANGE.min}–${CUSTOM_MM_RANGE.max} mm`)
    .max(CUSTOM_MM_RANGE.max, `custom paper ${side} must be ${CUSTOM_MM_RANGE.min}–${CUSTOM_MM_RANGE.max} mm`);

/**
 * The exports' fields, exported so the CLI checks its flags with exactly these (`--dpi` is dpi,
 * `--paper` paper, …). Messages read after the flag's name: "--dpi must be …". export/paper.ts
 * checks the same ranges again for the engine's direct callers, and what only the whole layout
 * can say (margins that leave no room, a page too large to render).
 */
export const EXPORT_FIELDS = {
  paper: z.enum(PAPER_NAMES, oneOf(PAPER_NAMES)),
  customMm: z.strictObject({ width: customSide('width'), height: customSide('height') }),
  orientation: z.enum(ORIENTATIONS, oneOf(ORIENTATIONS)),
  tone: z.enum(PAPER_TONES, oneOf(PAPER_TONES)),
  dpi: z
    .number()
    .int(`must be a whole number from 1 to ${MAX_DPI}`)
    .min(1, `must be a whole number from 1 to ${MAX_DPI}`)
    .max(MAX_DPI, `must be a whole number from 1 to ${MAX_DPI}`),
  marginMm: z.number().min(0, 'must be 0 mm or more'),
  format: z.enum(PRINT_FORMATS, oneOf(PRINT_FORMATS)),
  upscaler: z.enum(UPSCALER_CHOICES, oneOf(UPSCALER_CHOICES)),
  favourites: z.union([z.literal('all'), z.array(id).min(1, 'must name at least one favourite').max(10_000)]),
  timelapseFormat: z.enum(TIMELAPSE_FORMATS, oneOf(TIMELAPSE_FORMATS)),
  fps: GALLERY_FIELDS.fps,
};
const F = EXPORT_FIELDS;
const paper = {
  paper: F.paper,
  customMm: F.customMm.optional(),
  orientation: F.orientation,
  tone: F.tone,
};
const favourites = F.favourites;
const printOptions = z.strictObject({
  ...paper,
  dpi: F.dpi,
  marginMm: F.marginMm,
  bleed: z.boolean(),
  caption: z.boolean(),
  format: F.format,
  upscaler: F.upscaler,
});

type Schemas = { [K in keyof ExportRequests]: z.ZodType<RequestParams<K>, unknown> };

export const EXPORT_SCHEMAS: Schemas = {
  exportPrints: z.strictObject({
    favourites,
    options: printOptions,
    folder,
    overwrite: z.boolean().optional(),
  }),
  exportContactSheet: z.strictObject({
    favourites,
    options: z.strictObject(paper),
    folder,
    fileName: fileName.optional(),
    overwrite: z.boolean().optional(),
  }),
  exportDataset: z.strictObject({
    datasetId: id,
    folder,
    fileName: fileName.optional(),
    overwrite: z.boolean().optional(),
  }),
  exportTimelapse: z.strictObject({
    runId: id,
    folder,
    format: F.timelapseFormat,
    fps: F.fps,
    overwrite: z.boolean().optional(),
  }),
  cancelExport: z.strictObject({ jobId: id }),
  describeUpscalers: z.undefined().or(z.strictObject({}).transform(() => undefined)),
  printAdvice: z.strictObject({ favourites, options: printOptions }),
};
