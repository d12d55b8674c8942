/** Input schemas of the export requests (see validate.ts; typed against the contract the same way). */
import { z } from 'zod';
import {
  PAPER_NAMES,
  PAPER_TONES,
  PRINT_FORMATS,
  TIMELAPSE_FORMATS,
  UPSCALERS,
  type ExportRequests,
  type RequestParams,
} from '../../../preload/contract.js';

const id = z.number().int().positive();
const folder = z.string().min(1, 'choose a folder').max(4096);
const fileName = z.string().min(1).max(255);
/** Paper sizes, DPI and margins are checked for meaning (and named in the error) by export/paper.ts. */
const paper = {
  paper: z.enum(PAPER_NAMES),
  customMm: z.strictObject({ width: z.number(), height: z.number() }).optional(),
  orientation: z.enum(['portrait', 'landscape']),
  tone: z.enum(PAPER_TONES),
};
const favourites = z.union([z.literal('all'), z.array(id).min(1).max(10_000)]);

type Schemas = { [K in keyof ExportRequests]: z.ZodType<RequestParams<K>, unknown> };

export const EXPORT_SCHEMAS: Schemas = {
  exportPrints: z.strictObject({
    favourites,
    options: z.strictObject({
      ...paper,
      dpi: z.number(),
      marginMm: z.number(),
      bleed: z.boolean(),
      caption: z.boolean(),
      format: z.enum(PRINT_FORMATS),
      upscaler: z.enum(UPSCALERS),
    }),
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
    format: z.enum(TIMELAPSE_FORMATS),
    fps: z.number(),
    overwrite: z.boolean().optional(),
  }),
  cancelExport: z.strictObject({ jobId: id }),
  describeUpscalers: z.undefined().or(z.strictObject({}).transform(() => undefined)),
};
