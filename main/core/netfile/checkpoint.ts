/**
 * Checkpoints: G, G_ema and D under the reference's names and layouts (`G.synthesis.b4.const`, …),
 * the Adam moments (`opt.G.m.<name>`, …), and in the metadata the config (with the reference's
 * constructor arguments), the counters (steps, images seen, ADA p and its accumulators, Adam
 * steps, path-length mean) and the RNG state. Saving then loading restores every bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ARCH_KEYS, referenceArgs, validateConfig, whyBadArchitecture, type GanConfig } from '../gan/config.js';
import { discriminatorSpecs } from '../gan/discriminator.js';
import { generatorSpecs } from '../gan/generator.js';
import { ParamSet, refToTfjs, tfjsShape, tfjsToRef, type ParamSpec } from '../gan/params.js';
import { RandomState, type RandomStateSnapshot } from '../gan/rng.js';
import {
  CorruptCheckpointError,
  readSafetensors,
  writeSafetensors,
  type SafetensorsFile,
  type TensorEntry,
} from './safetensors.js';
import { wholeBatch, type RoundPlanner } from '../gan/rounds.js';
import { GanTrainer, type ReplicaOptions, type TrainerCounters } from '../gan/training.js';

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
 * The file's checksum, its config's bounds and every tensor's shape are checked before the
 * trainer is built; tensors are then read one network at a time.
 */
export async function loadCheckpoint(
  file: string,
  override?: GanConfig,
  replica: ReplicaOptions | null = null,
  seed = 0,
  rounds: RoundPlanner = wholeBatch,
): Promise<GanTrainer> {
  const st = await readSafetensors(file, { requireChecksum: true });
  try {
    return await trainerFromCheckpoint(st, override, replica, seed, rounds);
  } finally {
    await st.close();
  }
}

async function trainerFromCheckpoint(
  st: SafetensorsFile,
  override: GanConfig | undefined,
  replica: ReplicaOptions | null,
  seed: number,
  rounds: RoundPlanner,
): Promise<GanTrainer> {
  const file = st.path;
  if (st.metadata['plumage.format'] !== FORMAT)
    throw new CorruptCheckpointError(file, `unknown format ${st.metadata['plumage.format'] ?? '(none)'}`);
  const stored = parseJson<Partial<StoredConfig> | null>(file, st.metadata, 'plumage.config')?.plumage;
  if (typeof stored !== 'object' || stored === null)
    throw new CorruptCheckpointError(file, 'its plumage.config holds no network settings');
  const why = whyBadArchitecture(stored as unknown as Record<string, unknown>);
  if (why) throw new CorruptCheckpointError(file, why);
  validateConfig(stored);
  if (override) {
    const arch = (c: GanConfig): string => JSON.stringify(ARCH_KEYS.map((k) => c[k]));
    if (arch(override) !== arch(stored))
      throw new RangeError(`${file} holds a ${stored.preset} network; a fork keeps its parent's architecture`);
    validateConfig(override);
  }
  const config = override ?? stored;
  const counters = parseJson<TrainerCounters | null>(file, st.metadata, 'plumage.counters');
  if (typeof counters !== 'object' || counters === null || !Number.isSafeInteger(counters.step))
    throw new CorruptCheckpointError(file, 'its plumage.counters holds no step counts');
  const rngs = st.metadata[REPLICA_RNGS_KEY]
    ? parseJson<RandomStateSnapshot[]>(file, st.metadata, REPLICA_RNGS_KEY)
    : [parseJson<RandomStateSnapshot>(file, st.metadata, RNG_KEY)];
  const rng = rngs[replica?.index ?? 0];
  // Every tensor the trainer will read, with its shape: all checked before the trainer is built.
  const wanted: [string, ParamSpec][] = [];
  const G = generatorSpecs(config);
  const D = discriminatorSpecs(config);
  for (const spec of G) wanted.push([`G.${spec.name}`, spec], [`G_ema.${spec.name}`, spec]);
  for (const spec of D) wanted.push([`D.${spec.name}`, spec]);
  for (const [label, specs] of [
    ['G', G],
    ['D', D],
  ] as const)
    for (const spec of specs.filter((s) => s.trainable))
      for (const kind of ['m', 'v']) wanted.push([`opt.${label}.${kind}.${spec.name}`, spec]);
  const present = new Set(st.names);
  for (const [name, spec] of wanted) {
    if (!present.has(name)) throw new CorruptCheckpointError(file, `missing tensor ${name}`);
    const shape = st.shape(name);
    if (shape.join() !== spec.refShape.join())
      throw new CorruptCheckpointError(file, `${name} has shape [${shape}], expected [${spec.refShape}]`);
  }
  const trainer = new GanTrainer(config, seed, replica, rounds);
  try {
    /** One network's values, read from the file, then assigned (one network in memory at a time). */
    const importSet = async (set: ParamSet): Promise<void> => {
      const values = new Map<string, Float32Array>();
      for (const spec of set.specs) values.set(spec.name, await st.read(`${set.prefix}.${spec.name}`));
      set.importRef((_full, spec) => values.get(spec.name)!);
    };
    await importSet(trainer.G);
    await importSet(trainer.G_ema);
    await importSet(trainer.D);
    for (const [label, set, opt] of [
      ['G', trainer.G, trainer.optG],
      ['D', trainer.D, trainer.optD],
    ] as const) {
      const trainable = set.specs.filter((s) => s.trainable);
      for (const [i, spec] of trainable.entries()) {
        for (const kind of ['m', 'v'] as const) {
          const values = refToTfjs(spec, await st.read(`opt.${label}.${kind}.${spec.name}`));
          tf.tidy(() => opt[kind][i]!.assign(tf.tensor(values, tfjsShape(spec))));
        }
      }
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
