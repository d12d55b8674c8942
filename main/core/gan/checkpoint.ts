/**
 * Checkpoints: G, G_ema and D under the reference's names and layouts (`G.synthesis.b4.const`, …),
 * the Adam moments (`opt.G.m.<name>`, …), and in the metadata the config (with the reference's
 * constructor arguments), the counters (steps, images seen, ADA p and its accumulators, Adam
 * steps, path-length mean) and the RNG state. Saving then loading restores every bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  PRESET_NAMES,
  blockResolutions,
  presetConfig,
  referenceArgs,
  validateConfig,
  type GanConfig,
} from './config.js';
import { generatorSpecs } from './generator.js';
import { resampleFilter2d } from './ops.js';
import { ParamSet, initialValues, refToTfjs, tfjsShape, tfjsToRef, type ParamSpec } from './params.js';
import { RandomState, type RandomStateSnapshot } from './rng.js';
import { CorruptCheckpointError, readSafetensors, writeSafetensors, type TensorEntry } from './safetensors.js';
import { GanTrainer, type ReplicaOptions, type TrainerCounters } from './training.js';

export const FORMAT = 'plumage-checkpoint/1';
/** A generator-only file: G_ema's weights and the config (loadGenerator reads it; training cannot resume from it). */
export const GENERATOR_FORMAT = 'plumage-generator/1';

interface StoredConfig {
  reference: Record<string, number>;
  plumage: GanConfig;
}

function paramEntries(set: ParamSet): TensorEntry[] {
  return set.specs.map((spec) => ({
    name: `${set.prefix}.${spec.name}`,
    shape: spec.refShape,
    data: async () => tfjsToRef(spec, (await set.variable(spec.name).data()) as Float32Array),
  }));
}

function momentEntries(
  label: 'G' | 'D',
  set: ParamSet,
  moments: { m: tf.Variable[]; v: tf.Variable[] },
): TensorEntry[] {
  const trainable = set.specs.filter((s) => s.trainable);
  return (['m', 'v'] as const).flatMap((kind) =>
    trainable.map((spec, i) => ({
      name: `opt.${label}.${kind}.${spec.name}`,
      shape: spec.refShape,
      data: async () => tfjsToRef(spec, (await moments[kind][i]!.data()) as Float32Array),
    })),
  );
}

/** Metadata keys of the RNG states: replica 0's (what a single process draws), and every replica's. */
export const RNG_KEY = 'plumage.rng';
export const REPLICA_RNGS_KEY = 'plumage.rngs';

/**
 * Writes a checkpoint (atomically, with its checksum). `replicaRngs`: every replica's RNG state
 * when replicas trained it (this trainer is one of them; their weights are identical).
 */
export async function saveCheckpoint(
  trainer: GanTrainer,
  file: string,
  extraMetadata: Record<string, string> = {},
  replicaRngs: RandomStateSnapshot[] = [trainer.rng.snapshot()],
): Promise<{ bytes: number; sha256: string }> {
  await trainer.syncCounters(); // the path-length mean and ADA's sign sum live on the device
  const tensors = [
    ...paramEntries(trainer.G),
    ...paramEntries(trainer.G_ema),
    ...paramEntries(trainer.D),
    ...momentEntries('G', trainer.G, trainer.optG),
    ...momentEntries('D', trainer.D, trainer.optD),
  ];
  const config: StoredConfig = { reference: referenceArgs(trainer.config), plumage: trainer.config };
  return writeSafetensors(file, tensors, {
    format: 'pt', // as the safetensors ecosystem labels PyTorch state dicts
    'plumage.format': FORMAT,
    'plumage.config': JSON.stringify(config),
    'plumage.counters': JSON.stringify(trainer.counters),
    [RNG_KEY]: JSON.stringify(replicaRngs[0]),
    [REPLICA_RNGS_KEY]: JSON.stringify(replicaRngs),
    ...extraMetadata,
  });
}

/**
 * Writes G_ema alone (atomically, with its checksum): a tenth of a checkpoint or less (no G, D or
 * Adam moments), for the Gallery to draw a run's newest birds between checkpoints.
 */
export async function saveGenerator(
  trainer: GanTrainer,
  file: string,
  extraMetadata: Record<string, string> = {},
): Promise<{ bytes: number; sha256: string }> {
  const config: StoredConfig = { reference: referenceArgs(trainer.config), plumage: trainer.config };
  return writeSafetensors(file, paramEntries(trainer.G_ema), {
    format: 'pt',
    'plumage.format': GENERATOR_FORMAT,
    'plumage.config': JSON.stringify(config),
    'plumage.counters': JSON.stringify({ step: trainer.counters.step, imagesSeen: trainer.counters.imagesSeen }),
    ...extraMetadata,
  });
}

function parseJson<T>(file: string, meta: Record<string, string>, key: string): T {
  const raw = meta[key];
  if (raw === undefined) throw new CorruptCheckpointError(file, `no ${key} in its metadata`);
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new CorruptCheckpointError(file, `${key} is not valid JSON`);
  }
}

/**
 * Loads a full training checkpoint into a new trainer: weights, moments, counters, RNG. With
 * `override` (a fork), training goes on under that config; its architecture must be the same.
 * As `replica` (one of several worker-thread replicas) it takes that replica's RNG state. When
 * the checkpoint was written by fewer replicas (one, or a checkpoint from before replicas), a
 * replica it has no state for starts the stream a fresh run with `seed` would give it; states of
 * replicas beyond the count now are dropped. Weights, optimiser and counters carry over either way.
 */
export async function loadCheckpoint(
  file: string,
  override?: GanConfig,
  replica: ReplicaOptions | null = null,
  seed = 0,
): Promise<GanTrainer> {
  const st = await readSafetensors(file, { requireChecksum: true });
  if (st.metadata['plumage.format'] !== FORMAT)
    throw new CorruptCheckpointError(file, `unknown format ${st.metadata['plumage.format'] ?? '(none)'}`);
  const { plumage: stored } = parseJson<StoredConfig>(file, st.metadata, 'plumage.config');
  validateConfig(stored);
  if (override) {
    const arch = (c: GanConfig): string =>
      JSON.stringify([c.resolution, c.channelBase, c.channelMax, c.zDim, c.wDim, c.mappingLayers, c.imgChannels]);
    if (arch(override) !== arch(stored))
      throw new RangeError(`${file} holds a ${stored.preset} network; a fork keeps its parent's architecture`);
    validateConfig(override);
  }
  const config = override ?? stored;
  const counters = parseJson<TrainerCounters>(file, st.metadata, 'plumage.counters');
  const rngs = st.metadata[REPLICA_RNGS_KEY]
    ? parseJson<RandomStateSnapshot[]>(file, st.metadata, REPLICA_RNGS_KEY)
    : [parseJson<RandomStateSnapshot>(file, st.metadata, RNG_KEY)];
  const rng = rngs[replica?.index ?? 0];
  const trainer = new GanTrainer(config, seed, replica);
  try {
    const lookup = (name: string, spec: ParamSpec): Float32Array => {
      const shape = st.shape(name);
      if (shape.join() !== spec.refShape.join())
        throw new CorruptCheckpointError(file, `${name} has shape [${shape}], expected [${spec.refShape}]`);
      return st.read(name);
    };
    trainer.G.importRef(lookup);
    trainer.G_ema.importRef(lookup);
    trainer.D.importRef(lookup);
    for (const [label, set, opt] of [
      ['G', trainer.G, trainer.optG],
      ['D', trainer.D, trainer.optD],
    ] as const) {
      set.specs
        .filter((s) => s.trainable)
        .forEach((spec, i) => {
          for (const kind of ['m', 'v'] as const) {
            const values = refToTfjs(spec, lookup(`opt.${label}.${kind}.${spec.name}`, spec));
            tf.tidy(() => opt[kind][i]!.assign(tf.tensor(values, tfjsShape(spec))));
          }
        });
    }
    trainer.optG.step = counters.adamStepG;
    trainer.optD.step = counters.adamStepD;
    trainer.counters = { ...counters };
    if (rng) trainer.rng = RandomState.restore(rng);
    return trainer;
  } catch (err) {
    trainer.dispose();
    throw err;
  }
}

/**
 * A generator for sampling or fine-tuning, from a Plumage checkpoint or a generator exported
 * from the reference (`G_ema.*`, else `G.*`, else bare names). Without Plumage metadata the
 * architecture is read off the tensor shapes.
 */
export async function loadGenerator(file: string): Promise<{ config: GanConfig; G: ParamSet }> {
  const st = await readSafetensors(file, { requireChecksum: false });
  const prefix = ['G_ema.', 'G.', ''].find((p) => st.names.includes(`${p}mapping.fc0.weight`));
  if (prefix === undefined)
    throw new CorruptCheckpointError(
      file,
      'it holds no generator (no mapping.fc0.weight under G_ema., G. or bare names)',
    );
  const stored = st.metadata['plumage.config']
    ? parseJson<StoredConfig>(file, st.metadata, 'plumage.config').plumage
    : inferConfig(file, st, prefix);
  const filter = resampleFilter2d();
  const G = new ParamSet('G_ema', generatorSpecs(stored), (s) => initialValues(s, new RandomState(0), filter));
  try {
    G.importRef((_full, spec) => {
      const name = `${prefix}${spec.name}`;
      const shape = st.shape(name);
      if (shape.join() !== spec.refShape.join())
        throw new CorruptCheckpointError(file, `${name} has shape [${shape}], expected [${spec.refShape}]`);
      return st.read(name);
    });
  } catch (err) {
    G.dispose();
    throw err;
  }
  return { config: stored, G };
}

/**
 * Transfer learning: a new trainer whose G and G_ema start from a generator file (a Plumage
 * checkpoint or a reference export); D, the optimisers and the counters start fresh. The
 * architecture comes from the file; training settings from `overrides`.
 */
export async function trainerFromGenerator(
  file: string,
  seed: number,
  overrides: Partial<GanConfig> = {},
  replica: ReplicaOptions | null = null,
): Promise<GanTrainer> {
  const { config, G } = await loadGenerator(file);
  const arch = ['resolution', 'imgChannels', 'zDim', 'wDim', 'mappingLayers', 'channelBase', 'channelMax'] as const;
  for (const k of arch) {
    if (overrides[k] !== undefined && overrides[k] !== config[k]) {
      G.dispose();
      throw new Error(
        `${k} comes from the generator file (${config[k]}); it cannot be changed to ${overrides[k]} when fine-tuning`,
      );
    }
  }
  const trainer = new GanTrainer({ ...config, ...overrides }, seed, replica);
  trainer.G.copyFrom(G);
  trainer.G_ema.copyFrom(G);
  G.dispose();
  return trainer;
}

/** Reads the architecture off a reference generator's tensor shapes. */
function inferConfig(file: string, st: Awaited<ReturnType<typeof readSafetensors>>, prefix: string): GanConfig {
  const fc0 = st.shape(`${prefix}mapping.fc0.weight`); // [w_dim, z_dim]
  let mappingLayers = 0;
  while (st.names.includes(`${prefix}mapping.fc${mappingLayers}.weight`)) mappingLayers++;
  const resolutions = st.names
    .map((n) => new RegExp(`^${prefix.replace('.', '\\.')}synthesis\\.b(\\d+)\\.`).exec(n)?.[1])
    .filter((r): r is string => r !== undefined)
    .map(Number);
  const resolution = Math.max(...resolutions);
  const channels = blockResolutions(resolution).map((r) => st.shape(`${prefix}synthesis.b${r}.conv1.weight`)[0]!);
  const channelMax = Math.max(...channels);
  const belowMax = blockResolutions(resolution).filter((_, i) => channels[i]! < channelMax);
  const channelBase =
    belowMax.length > 0
      ? channels[blockResolutions(resolution).indexOf(belowMax[0]!)]! * belowMax[0]!
      : channelMax * resolution;
  const preset = PRESET_NAMES.includes(String(resolution) as never)
    ? (String(resolution) as GanConfig['preset'])
    : 'tiny';
  const config = presetConfig(preset, {
    resolution,
    zDim: fc0[1]!,
    wDim: fc0[0]!,
    mappingLayers,
    channelBase,
    channelMax,
    imgChannels: st.shape(`${prefix}synthesis.b${resolution}.torgb.weight`)[0]!,
  });
  if (!Number.isFinite(resolution)) throw new CorruptCheckpointError(file, 'no synthesis blocks found');
  return config;
}
