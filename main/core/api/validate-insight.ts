/** Input schemas of the insight requests (see validate.ts; typed against the contract the same way). */
import { z } from 'zod';
import {
  ANIMATION_FORMATS,
  DIRECTION_METHODS,
  MAX_METRIC_IMAGES,
  MAX_NEIGHBOURS,
  MAX_PROJECT_STEPS,
} from '../../common/vocabulary.js';
import type { InsightRequests, RequestParams } from '../../../preload/contract.js';
import { GALLERY_FIELDS, generatorRef } from './validate-gallery.js';

const G = GALLERY_FIELDS;
const whole = (lo: number, hi: number) =>
  z
    .number({ error: `must be a whole number from ${lo} to ${hi}` })
    .int(`must be a whole number from ${lo} to ${hi}`)
    .min(lo, `must be a whole number from ${lo} to ${hi}`)
    .max(hi, `must be a whole number from ${lo} to ${hi}`);

/** The insight fields, exported so the CLI checks its flags with exactly these (`--images`, `--k`, …). */
export const INSIGHT_FIELDS = {
  images: whole(2, MAX_METRIC_IMAGES),
  k: whole(1, MAX_NEIGHBOURS),
  method: z.enum(DIRECTION_METHODS, { error: `must be ${DIRECTION_METHODS.join(' or ')}` }),
  /** 'all', a preset or "lo-hi"; checked against the generator's resolution by the core. */
  layers: z.string().min(1, 'must name layers').max(32, 'is too long'),
  direction: whole(0, 511),
  amount: z.number().min(-100, 'must be a number from -100 to 100').max(100, 'must be a number from -100 to 100'),
  path: z.string().min(1, 'must name a file').max(4096),
  steps: whole(1, MAX_PROJECT_STEPS),
  name: z.string().min(1).max(200),
};
const F = INSIGHT_FIELDS;

type Schemas = { [K in keyof InsightRequests]: z.ZodType<RequestParams<K>, unknown> };

const bird = z.strictObject({
  generator: generatorRef,
  seed: G.seed,
  psi: G.psi,
  noiseMode: G.noiseMode,
  mixSeed: G.seed.optional(),
  mixLayers: G.mixLayers.optional(),
});

export const INSIGHT_SCHEMAS: Schemas = {
  computeMetrics: z.strictObject({ generator: generatorRef, datasetId: G.id.optional(), images: F.images.optional() }),
  listCheckpointScores: z.strictObject({ runId: G.id }),
  findNearest: z.union([
    z.strictObject({ datasetId: G.id, k: F.k.optional(), image: F.path }),
    z.strictObject({ datasetId: G.id, k: F.k.optional(), bird }),
  ]),
  computeDirections: z.strictObject({ generator: generatorRef, method: F.method, layers: F.layers }),
  projectImage: z.strictObject({
    generator: generatorRef,
    image: F.path,
    steps: F.steps.optional(),
    wPlus: z.boolean().optional(),
    outDir: F.path.optional(),
    name: F.name.optional(),
    video: z
      .strictObject({
        format: z.enum(ANIMATION_FORMATS, { error: `must be ${ANIMATION_FORMATS.join(', ')}` }),
        every: F.steps.optional(),
        fps: G.fps.optional(),
      })
      .optional(),
  }),
  cancelProjection: z.strictObject({ jobId: G.id }),
};
