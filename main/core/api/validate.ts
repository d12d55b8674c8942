import { z } from 'zod';
import { GALLERY_SCHEMAS } from './validate-gallery.js';
import { EXPORT_SCHEMAS } from './validate-export.js';
import { CROP_MODES, PRESETS, RESOLUTIONS, type RequestName, type RequestParams } from '../../../preload/contract.js';

/**
 * Every request's input is checked here before it reaches the core, whichever shell it came
 * through (IPC or WebSocket). Each schema is typed against the contract, so a change to one
 * that the other does not follow fails to compile.
 */
const id = z.number().int().positive();
const datasetRef = z.strictObject({ datasetId: id });
const runRef = z.strictObject({ runId: id });
const none = z.undefined().or(z.strictObject({}).transform(() => undefined));

type Schemas = { [K in RequestName]: z.ZodType<RequestParams<K>, unknown> };

export const REQUEST_SCHEMAS: Schemas = {
  getAppInfo: none,
  listDatasets: none,
  openDataset: z.strictObject({
    folder: z.string().min(1, 'choose a folder').max(4096),
    resolution: z.union(
      RESOLUTIONS.map((r) => z.literal(r)) as [z.ZodLiteral<64>, ...z.ZodLiteral<(typeof RESOLUTIONS)[number]>[]],
    ),
    crop: z.enum(CROP_MODES),
  }),
  getDataset: datasetRef,
  listSources: z.strictObject({
    datasetId: id,
    status: z.enum(['accepted', 'rejected', 'duplicate']),
    offset: z.number().int().min(0),
    limit: z.number().int().min(1).max(1000),
  }),
  cancelIngest: datasetRef,
  pickFolder: none,
  listRuns: none,
  getRun: runRef,
  createRun: z.strictObject({
    datasetId: id,
    preset: z.enum(PRESETS),
    targetKimg: z.number().positive().max(1e6),
    snapshotKimg: z.number().positive().max(1e5),
    checkpointKimg: z.number().positive().max(1e5),
    checkpointMinutes: z.number().min(0.05, 'must be at least 0.05 (3 seconds)').max(10_080).optional(),
    r1Gamma: z.number().min(0).max(1e4).optional(),
    adaTarget: z.number().min(0).max(1).optional(),
    name: z.string().min(1).max(200).optional(),
    fromCheckpointId: id.optional(),
    initFrom: z.string().min(1).max(4096).optional(),
    seed: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
  }),
  startRun: runRef,
  pauseRun: runRef,
  stopRun: runRef,
  snapshotRun: runRef,
  deleteRun: z.strictObject({ runId: id, confirm: z.boolean().optional() }),
  listTicks: z.strictObject({
    runId: id,
    afterId: z.number().int().min(0),
    maxPoints: z.number().int().min(4).max(100_000).optional(),
  }),
  ...GALLERY_SCHEMAS,
  ...EXPORT_SCHEMAS,
};

export class InvalidInputError extends Error {
  readonly code = 'invalid-input';
}

export function validateRequest<K extends RequestName>(name: K, params: unknown): RequestParams<K> {
  const schema = REQUEST_SCHEMAS[name] as z.ZodType<RequestParams<K>, unknown> | undefined;
  if (!schema) throw new InvalidInputError(`unknown request ${JSON.stringify(name)}`);
  const parsed = schema.safeParse(params);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'input'}: ${i.message}`).join('; ');
    throw new InvalidInputError(`invalid input for ${name}: ${issues}`);
  }
  return parsed.data;
}
