/** Input schemas of the gallery's requests (see validate.ts; typed against the contract the same way). */
import { z } from 'zod';
import {
  FAVOURITE_SORTS,
  GALLERY_NOISE_MODES,
  INTERPOLATION_FORMATS,
  LATENT_SPACES,
  type GalleryRequests,
  type RequestParams,
} from '../../../preload/contract.js';

const id = z.number().int().positive();
const seed = z.number().int().min(0).max(0xffffffff);
const psi = z.number().min(0).max(1.2);
const path = z.string().min(1).max(4096);
/** Style mixes: a preset or "lo-hi"; checked against the generator's resolution by the gallery. */
const mixLayers = z.string().min(1).max(32);

const generatorRef = z.union([
  z.strictObject({ runId: id, checkpointId: id.optional(), kimg: z.number().min(0).max(1e6).optional() }),
  z.strictObject({ file: path }),
]);

/** Seeds one request may ask for: a few screenfuls; the UI pages. */
export const MAX_SEEDS_PER_REQUEST = 256;

type Schemas = { [K in keyof GalleryRequests]: z.ZodType<RequestParams<K>, unknown> };

export const GALLERY_SCHEMAS: Schemas = {
  openGenerator: generatorRef,
  generate: z.strictObject({
    generator: generatorRef,
    seeds: z.array(seed).min(1).max(MAX_SEEDS_PER_REQUEST),
    psi,
    noiseMode: z.enum(GALLERY_NOISE_MODES),
    mixSeed: seed.optional(),
    mixLayers: mixLayers.optional(),
  }),
  cancelGeneration: z.strictObject({ jobId: id }),
  addFavourite: z.strictObject({
    generator: generatorRef,
    seed,
    psi,
    noiseMode: z.enum(GALLERY_NOISE_MODES),
    mixSeed: seed.optional(),
    mixLayers: mixLayers.optional(),
    name: z.string().max(1000).optional(),
    note: z.string().max(20_000).optional(),
  }),
  listFavourites: z.strictObject({
    text: z.string().max(200).optional(),
    runId: id.optional(),
    sort: z.enum(FAVOURITE_SORTS).optional(),
    descending: z.boolean().optional(),
  }),
  updateFavourite: z.strictObject({
    id,
    name: z.string().max(1000).optional(),
    note: z.string().max(20_000).optional(),
  }),
  removeFavourite: z.strictObject({ id }),
  renderFavourite: z.strictObject({ id }),
  suggestName: z.strictObject({ seed, mixSeed: seed.optional() }),
  interpolate: z.strictObject({
    favouriteIds: z.array(id).min(2).max(64),
    space: z.enum(LATENT_SPACES),
    frames: z.number().int().min(2).max(1000),
    fps: z.number().positive().max(60),
    format: z.enum(INTERPOLATION_FORMATS),
    outDir: path.optional(),
    name: z.string().min(1).max(200).optional(),
  }),
  previewDeleteRun: z.strictObject({ runId: id }),
};
