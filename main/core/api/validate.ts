import { z } from 'zod';
import { GALLERY_SCHEMAS, safeText } from './validate-gallery.js';
import { EXPORT_SCHEMAS } from './validate-export.js';
import { INSIGHT_SCHEMAS } from './validate-insight.js';
import {
  BACKENDS,
  CROP_MODES,
  MAX_METRIC_IMAGES,
  MAX_REPLICAS,
  PRESETS,
  RESOLUTIONS,
} from '../../common/vocabulary.js';
import type { RequestName, RequestParams } from '../../../preload/contract.js';

/**
 * Every request's input is checked here before it reaches the core, whichever shell it came
 * through (IPC or WebSocket). Each schema is typed against the contract, so a change to one
 * that the other does not follow fails to compile.
 */
const id = z.number().int().positive();
const datasetRef = z.strictObject({ datasetId: id });
const runRef = z.strictObject({ runId: id });
const none = z.undefined().or(z.strictObject({}).transform(() => undefined));

/**
 * The fields of openDataset and createRun, exported so the CLI validates its flags with exactly
 * these (`--kimg` is targetKimg, …). Messages read after the field's name: "--kimg must be …".
 */
export const OPEN_DATASET_FIELDS = {
  folder: z.string().min(1, 'choose a folder').max(4096),
  resolution: z.union(
    RESOLUTIONS.map((r) => z.literal(r)) as [z.ZodLiteral<64>, ...z.ZodLiteral<(typeof RESOLUTIONS)[number]>[]],
    { error: `must be one of ${RESOLUTIONS.join(', ')}` },
  ),
  crop: z.enum(CROP_MODES, { error: `must be one of ${CROP_MODES.join(', ')}` }),
};

/** The smallest interval: one image. Below it a snapshot or checkpoint would be due at every step. */
const MIN_INTERVAL_KIMG = 0.001;
const interval = z
  .number()
  .min(MIN_INTERVAL_KIMG, `must be at least ${MIN_INTERVAL_KIMG} kimg (one image)`)
  .max(1e5, 'must be at most 100000 kimg');

export const CREATE_RUN_FIELDS = {
  datasetId: id,
  preset: z.enum(PRESETS, { error: `must be one of ${PRESETS.join(', ')}` }),
  targetKimg: z.number().positive('must be a positive number').max(1e6, 'must be at most 1000000 kimg'),
  snapshotKimg: interval,
  checkpointKimg: interval,
  checkpointMinutes: z.number().min(0.05, 'must be at least 0.05 (3 seconds)').max(10_080).optional(),
  r1Gamma: z.number().min(0, 'must be 0 or more').max(1e4, 'must be at most 10000').optional(),
  adaTarget: z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1').optional(),
  name: safeText(200).min(1).optional(),
  fromCheckpointId: id.optional(),
  initFrom: z.string().min(1).max(4096).optional(),
  freezeD: z
    .number()
    .int('must be a whole number')
    .min(0, 'must be 0 or more')
    .max(64, 'must be at most 64')
    .optional(),
  seed: z
    .number()
    .int('must be a whole number')
    .min(0, `must be between 0 and ${2 ** 31 - 1}`)
    .max(2 ** 31 - 1, `must be between 0 and ${2 ** 31 - 1}`)
    .optional(),
  backend: z.enum(BACKENDS, { error: `must be one of ${BACKENDS.join(', ')}` }).optional(),
  replicas: z
    .number()
    .int('must be a whole number')
    .min(1, `must be between 1 and ${MAX_REPLICAS}`)
    .max(MAX_REPLICAS, `must be between 1 and ${MAX_REPLICAS}`)
    .optional(),
  /** 0 turns the per-checkpoint score off; a KID needs at least 2 birds. */
  kidImages: z
    .number({ error: `must be 0 (off) or a whole number from 2 to ${MAX_METRIC_IMAGES}` })
    .int(`must be 0 (off) or a whole number from 2 to ${MAX_METRIC_IMAGES}`)
    .refine((n) => n === 0 || (n >= 2 && n <= MAX_METRIC_IMAGES), {
      error: `must be 0 (off) or a whole number from 2 to ${MAX_METRIC_IMAGES}`,
    })
    .optional(),
};

type Schemas = { [K in RequestName]: z.ZodType<RequestParams<K>, unknown> };

export const REQUEST_SCHEMAS: Schemas = {
  getAppInfo: none,
  listDatasets: none,
  openDataset: z.strictObject(OPEN_DATASET_FIELDS),
  getDataset: datasetRef,
  listSources: z.strictObject({
    datasetId: id,
    status: z.enum(['accepted', 'rejected', 'duplicate']),
    offset: z.number().int().min(0),
    limit: z.number().int().min(1).max(1000),
  }),
  cancelIngest: datasetRef,
  forgetDataset: datasetRef,
  previewSource: z.strictObject({ datasetId: id, sourceId: id }),
  pickFolder: none,
  revealFile: z.strictObject({ path: z.string().min(1, 'name the file').max(4096) }),
  listRuns: none,
  getRun: runRef,
  createRun: z.strictObject(CREATE_RUN_FIELDS),
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
  trainFolder: z.strictObject({
    folder: OPEN_DATASET_FIELDS.folder,
    preset: CREATE_RUN_FIELDS.preset,
    resolution: OPEN_DATASET_FIELDS.resolution.optional(),
    crop: OPEN_DATASET_FIELDS.crop.optional(),
    targetKimg: CREATE_RUN_FIELDS.targetKimg.optional(),
    snapshotKimg: interval.optional(),
    checkpointKimg: interval.optional(),
    checkpointMinutes: CREATE_RUN_FIELDS.checkpointMinutes,
    seed: CREATE_RUN_FIELDS.seed,
    backend: CREATE_RUN_FIELDS.backend,
    replicas: CREATE_RUN_FIELDS.replicas,
    initFrom: CREATE_RUN_FIELDS.initFrom,
    freezeD: CREATE_RUN_FIELDS.freezeD,
    r1Gamma: CREATE_RUN_FIELDS.r1Gamma,
    adaTarget: CREATE_RUN_FIELDS.adaTarget,
    kidImages: CREATE_RUN_FIELDS.kidImages,
    newRun: z.boolean().optional(),
  }),
  ...GALLERY_SCHEMAS,
  ...EXPORT_SCHEMAS,
  ...INSIGHT_SCHEMAS,
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
