/**
 * A run's GAN config as the store keeps it (JSON in `runs.config`), read back checked: a row
 * edited by hand, written by a broken build or cut short on disk gives an error that names the
 * run and the field, never a TypeError deep in the trainer or an undefined resolution in the UI.
 */
import { z } from 'zod';
import { BACKENDS, PRESETS } from '../../common/vocabulary.js';
import { validateConfig, type GanConfig } from '../gan/config.js';

const count = z.number().int().positive();
const real = z.number().refine(Number.isFinite, 'a finite number');

/**
 * Every field of GanConfig, typed against it (a field missing here fails the build). Loose: a
 * field an older or newer Plumage wrote is carried through to the trainer as it was.
 */
const GAN_CONFIG = z.looseObject({
  preset: z.enum(PRESETS),
  resolution: count,
  imgChannels: count,
  zDim: count,
  wDim: count,
  mappingLayers: count,
  mappingLrMultiplier: real,
  wAvgBeta: real,
  channelBase: count,
  channelMax: count,
  mbstdGroupSize: count,
  mbstdChannels: count,
  batchSize: count,
  batchGpu: count.optional(),
  lr: real,
  betas: z.tuple([real, real]),
  eps: real,
  r1Gamma: real,
  r1Interval: count,
  plWeight: real,
  plInterval: count,
  plDecay: real,
  plBatchShrink: count,
  styleMixingProb: real,
  emaKimg: real,
  emaRampup: real,
  ada: z.looseObject({ target: real, interval: count, kimg: real, initialP: real }),
  freezeD: z.number().int().nonnegative().optional(),
  backend: z.enum(BACKENDS).optional(),
  replicas: count.optional(),
}) satisfies z.ZodType<GanConfig>;

/** A run's stored config that cannot be read as one. */
export class RunConfigError extends Error {
  constructor(
    readonly runId: number,
    why: string,
  ) {
    super(`run ${runId}'s stored config is damaged: ${why}`);
  }
}

/** The config stored with run `runId`, checked field by field; throws RunConfigError naming the field. */
export function parseRunConfig(runId: number, text: string): GanConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RunConfigError(runId, 'it is not valid JSON');
  }
  const parsed = GAN_CONFIG.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.length > 0 ? issue.path.join('.') : '(the whole config)';
    const value = issue.path.reduce<unknown>(
      (v, k) => (v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined),
      json,
    );
    throw new RunConfigError(runId, `its ${field} is ${JSON.stringify(value) ?? 'missing'} (${issue.message})`);
  }
  try {
    validateConfig(parsed.data);
  } catch (err) {
    throw new RunConfigError(runId, (err as Error).message);
  }
  return parsed.data;
}
