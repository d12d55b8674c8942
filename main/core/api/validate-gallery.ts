/** Input schemas of the gallery's requests (see validate.ts; typed against the contract the same way). */
import { z } from 'zod';
import {
  DIRECTION_METHODS,
  FAVOURITE_SORTS,
  GALLERY_NOISE_MODES,
  INTERPOLATION_FORMATS,
  LATENT_SPACES,
  MAX_PSI,
  MAX_SEEDS_LISTED,
} from '../../common/vocabulary.js';
import type { GalleryRequests, RequestParams } from '../../../preload/contract.js';
import {
  FPS_RANGE,
  MAX_FPS,
  MAX_FRAMES,
  MAX_NAME_LENGTH,
  MAX_NOTE_LENGTH,
  MAX_SEEDS_PER_REQUEST,
  MIN_FPS,
} from '../gallery/limits.js';
import { whyBadFileName, whyUnsafeText } from '../util/text.js';

const path = z.string().min(1).max(4096);
const MAX_SEED = 0xffffffff;
const MAX_KIMG = 1e6;
const between = (lo: number, hi: number) => `must be a number from ${lo} to ${hi}`;
const oneOf = (values: readonly string[]) => ({ error: `must be one of ${values.join(', ')}` });

/**
 * The gallery's fields, exported so the CLI checks its flags with exactly these (`--psi` is psi,
 * `--seed` a seed, …). Messages read after the flag's name: "--psi must be …".
 */
export const GALLERY_FIELDS = {
  id: z
    .number({ error: 'must be a positive whole number' })
    .int('must be a positive whole number')
    .positive('must be a positive whole number'),
  seed: z
    .number({ error: `must be a whole number in 0..${MAX_SEED}` })
    .int('must be a whole number')
    .min(0, `must be a whole number in 0..${MAX_SEED}`)
    .max(MAX_SEED, `must be a whole number in 0..${MAX_SEED}`),
  psi: z.number().min(0, between(0, MAX_PSI)).max(MAX_PSI, between(0, MAX_PSI)),
  noiseMode: z.enum(GALLERY_NOISE_MODES, { error: `must be ${GALLERY_NOISE_MODES.join(' or ')}` }),
  /** Style mixes: a preset or "lo-hi"; checked against the generator's resolution by the gallery. */
  mixLayers: z.string().min(1, 'must name layers').max(32, 'is too long'),
  kimg: z.number().min(0, between(0, MAX_KIMG)).max(MAX_KIMG, between(0, MAX_KIMG)),
  name: safeText(MAX_NAME_LENGTH),
  note: safeText(MAX_NOTE_LENGTH, true),
  sort: z.enum(FAVOURITE_SORTS, oneOf(FAVOURITE_SORTS)),
  space: z.enum(LATENT_SPACES, { error: `must be ${LATENT_SPACES.join(' or ')}` }),
  frames: z
    .number()
    .int('must be a whole number')
    .min(2, between(2, MAX_FRAMES))
    .max(MAX_FRAMES, between(2, MAX_FRAMES)),
  fps: z.number().min(MIN_FPS, FPS_RANGE).max(MAX_FPS, FPS_RANGE),
  format: z.enum(INTERPOLATION_FORMATS, oneOf(INTERPOLATION_FORMATS)),
  /** A file name the user chose (an interpolation's, a contact sheet's, a zip's). */
  fileName: z
    .string()
    .min(1, 'must not be empty')
    .superRefine((s, ctx) => {
      const why = whyBadFileName(s);
      if (why) ctx.addIssue({ code: 'custom', message: why.replace(/^a file name /, '') });
    }),
};

/**
 * Text a person types for the studio to keep and show (names, notes): at most `max` characters,
 * without control characters (notes may break lines) or bidirectional overrides (see util/text.ts).
 */
export function safeText(max: number, multiline = false) {
  return z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((s, ctx) => {
      const why = whyUnsafeText(s, multiline);
      if (why) ctx.addIssue({ code: 'custom', message: why });
    });
}
const F = GALLERY_FIELDS;
const id = F.id;
const seed = F.seed;
const psi = F.psi;
const mixLayers = F.mixLayers;

/** A generator: a run's checkpoint or G_ema snapshot, or any file (the insight requests take one too). */
export const generatorRef = z.union([
  z.strictObject({ runId: id, checkpointId: id.optional(), kimg: F.kimg.optional(), snapshotId: id.optional() }),
  z.strictObject({ file: path }),
]);

/** A move along a direction (the insight fields check the same numbers for `generate --direction`). */
export const birdEdit = z.strictObject({
  method: z.enum(DIRECTION_METHODS, { error: `must be ${DIRECTION_METHODS.join(' or ')}` }),
  layers: F.mixLayers,
  direction: z.number().int('must be a whole number').min(0, between(0, 511)).max(511, between(0, 511)),
  amount: z.number().min(-100, between(-100, 100)).max(100, between(-100, 100)),
});

export { MAX_SEEDS_PER_REQUEST };

/** What a kept bird has whether it is a seed's or a latent's. */
const keptBird = {
  generator: generatorRef,
  mixSeed: seed.optional(),
  mixLayers: mixLayers.optional(),
  edit: birdEdit.optional(),
  name: F.name.optional(),
  note: F.note.optional(),
};

/** An interpolation's frames and files, between favourites or along a direction. */
const interpolation = {
  space: F.space,
  frames: F.frames,
  fps: F.fps,
  format: F.format,
  outDir: path.optional(),
  name: F.fileName.optional(),
};

type Schemas = { [K in keyof GalleryRequests]: z.ZodType<RequestParams<K>, unknown> };

export const GALLERY_SCHEMAS: Schemas = {
  openGenerator: generatorRef,
  generate: z.strictObject({
    generator: generatorRef,
    seeds: z.array(seed).min(1).max(MAX_SEEDS_PER_REQUEST),
    psi,
    noiseMode: F.noiseMode,
    mixSeed: seed.optional(),
    mixLayers: mixLayers.optional(),
    edit: birdEdit.optional(),
  }),
  cancelGeneration: z.strictObject({ jobId: id }),
  addFavourite: z.union([
    z.strictObject({ ...keptBird, seed, psi, noiseMode: F.noiseMode }),
    z.strictObject({ ...keptBird, latent: path, psi: psi.optional(), noiseMode: F.noiseMode.optional() }),
  ]),
  listFavourites: z.strictObject({
    text: z.string().max(200).optional(),
    runId: id.optional(),
    sort: F.sort.optional(),
    descending: z.boolean().optional(),
  }),
  updateFavourite: z.strictObject({
    id,
    name: F.name.optional(),
    note: F.note.optional(),
  }),
  getFavourite: z.strictObject({ id }),
  removeFavourite: z.strictObject({ id }),
  renderFavourite: z.strictObject({ id }),
  suggestName: z.strictObject({ seed, mixSeed: seed.optional() }),
  interpolate: z.union([
    z.strictObject({ favouriteIds: z.array(id).min(2).max(64), ...interpolation }),
    z.strictObject({
      along: z.strictObject({
        generator: generatorRef,
        seed,
        psi,
        noiseMode: F.noiseMode,
        mixSeed: seed.optional(),
        mixLayers: mixLayers.optional(),
        edit: birdEdit,
      }),
      ...interpolation,
    }),
  ]),
  generateFiles: z.strictObject({
    generator: generatorRef,
    seeds: z.array(seed).min(1).max(MAX_SEEDS_LISTED),
    psi,
    noiseMode: F.noiseMode,
    mixSeed: seed.optional(),
    mixLayers: mixLayers.optional(),
    edit: birdEdit.optional(),
    outDir: path,
  }),
  previewDeleteRun: z.strictObject({ runId: id }),
};
