/**
 * Starting a run from a network file (the reference's --resume): G, G_ema and D from a Plumage
 * checkpoint, a reference export or one of NVIDIA's pickles, the architecture from the file and
 * the resolution from the run (its dataset). Every tensor whose name and shape match is copied;
 * the rest keep their fresh initialisation, and the report says which blocks were kept. ADA's p
 * starts from the file's (a pickle's augment_pipe, a checkpoint's counters); the optimiser and
 * the counters start fresh.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TransferInfo } from '../../common/records.js';
import { validateConfig, type GanConfig } from '../gan/config.js';
import { generatorLayout, openGeneratorFile, type TensorSource } from './generator-file.js';
import { discriminatorSpecs } from '../gan/discriminator.js';
import { generatorSpecs } from '../gan/generator.js';
import { refToTfjs, tfjsShape } from '../gan/params.js';
import { wholeBatch, type RoundPlanner } from '../gan/rounds.js';
import { GanTrainer, type ReplicaOptions } from '../gan/training.js';

/** What decides the networks' shapes and arithmetic: these come from the file, never the run. */
export const ARCHITECTURE = [
  'imgChannels',
  'zDim',
  'wDim',
  'mappingLayers',
  'channelBase',
  'channelMax',
  'mappingLrMultiplier',
  'mbstdChannels',
] as const;

/** What a run keeps of a file (the shape the API carries as TransferInfo). */
export type TransferReport = TransferInfo;

/** A network file opened for transfer: its generator's layout checked, its tensors by name. */
interface GeneratorFile {
  config: GanConfig;
  /** Where the generator's tensors are: `G_ema.`, `G.` or '' (bare names). */
  prefix: string;
  names: string[];
  shape(name: string): number[];
  src: TensorSource;
  augmentP: number | null;
  kimg: number | null;
}

/** ADA's p and the kimg a Plumage checkpoint's counters hold (null where it has none, or they are not numbers). */
function checkpointCounters(src: TensorSource): { augmentP: number | null; kimg: number | null } {
  let c: { augmentP?: unknown; imagesSeen?: unknown } = {};
  try {
    c = JSON.parse(src.metadata['plumage.counters'] ?? '{}') as typeof c;
  } catch {
    // a reference export has no counters; broken ones are not worth refusing a transfer over
  }
  const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const seen = num(c.imagesSeen);
  return { augmentP: num(c.augmentP), kimg: seen === null ? null : seen / 1000 };
}

async function openForTransfer(file: string): Promise<GeneratorFile> {
  const src = await openGeneratorFile(file);
  try {
    const { config, prefix } = generatorLayout(src);
    const counters = checkpointCounters(src);
    return {
      config,
      prefix,
      names: src.names,
      shape: (n) => src.shape(n),
      src,
      augmentP: src.augmentP ?? counters.augmentP,
      kimg: src.kimg ?? counters.kimg,
    };
  } catch (err) {
    await src.close();
    throw err;
  }
}

function blockOf(net: string, name: string): string {
  const parts = name.split('.');
  return `${net}.${parts[0] === 'synthesis' ? parts.slice(0, 2).join('.') : parts[0]}`;
}

/** The config a run from `file` trains with: the file's architecture, the run's settings and resolution. */
function transferConfig(src: GeneratorFile, overrides: Partial<GanConfig>): GanConfig {
  const arch = Object.fromEntries(ARCHITECTURE.map((k) => [k, src.config[k]])) as Partial<GanConfig>;
  const config: GanConfig = { ...src.config, ...overrides, ...arch };
  config.resolution = overrides.resolution ?? src.config.resolution;
  validateConfig(config);
  return config;
}

type Net = 'G' | 'G_ema' | 'D';

/** For each network, where its tensors are in the file (null: not there). */
function sources(src: GeneratorFile): Record<Net, string | null> {
  const has = (n: string): boolean => src.names.includes(n);
  const gen = (net: 'G' | 'G_ema'): string | null =>
    [`${net}.`, net === 'G' ? 'G_ema.' : 'G.', src.prefix].find((p) => has(`${p}mapping.fc0.weight`)) ?? null;
  return { G: gen('G'), G_ema: gen('G_ema'), D: has('D.b4.out.weight') ? 'D.' : null };
}

/** Which of the trainer's tensors come from the file (by full name, e.g. `G.mapping.fc0.weight`). */
function plan(
  src: GeneratorFile,
  config: GanConfig,
): { from: Map<string, string>; report: Omit<TransferReport, 'file'> } {
  const where = sources(src);
  const from = new Map<string, string>();
  const blocks = new Map<string, { copied: number; total: number }>();
  for (const net of ['G', 'G_ema', 'D'] as const) {
    const prefix = where[net];
    for (const spec of net === 'D' ? discriminatorSpecs(config) : generatorSpecs(config)) {
      const block = blockOf(net, spec.name);
      const b = blocks.get(block) ?? { copied: 0, total: 0 };
      blocks.set(block, b);
      b.total++;
      const name = `${prefix}${spec.name}`;
      if (prefix === null || !src.names.includes(name) || src.shape(name).join() !== spec.refShape.join()) continue;
      from.set(`${net}.${spec.name}`, name);
      b.copied++;
    }
  }
  const all = [...blocks.values()];
  return {
    from,
    report: {
      networks: (['G', 'G_ema', 'D'] as const).filter((n) => where[n] !== null),
      kept: [...blocks].filter(([, b]) => b.copied === b.total).map(([k]) => k),
      fresh: [...blocks].filter(([, b]) => b.copied < b.total).map(([k]) => k),
      copied: all.reduce((a, b) => a + b.copied, 0),
      total: all.reduce((a, b) => a + b.total, 0),
      augmentP: src.augmentP,
      kimg: src.kimg,
    },
  };
}

/** What starting from `file` would keep, without building a network (the CLI says it before training). */
export async function transferReport(file: string, overrides: Partial<GanConfig> = {}): Promise<TransferReport> {
  const src = await openForTransfer(file);
  try {
    return { file, ...plan(src, transferConfig(src, overrides)).report };
  } finally {
    await src.src.close();
  }
}

export async function trainerFromNetworkFile(
  file: string,
  seed: number,
  overrides: Partial<GanConfig> = {},
  replica: ReplicaOptions | null = null,
  rounds: RoundPlanner = wholeBatch,
): Promise<{ trainer: GanTrainer; report: TransferReport }> {
  const src = await openForTransfer(file);
  let trainer: GanTrainer | null = null;
  try {
    const config = transferConfig(src, overrides);
    const { from, report } = plan(src, config);
    await src.src.verify();
    trainer = new GanTrainer(config, seed, replica, rounds);
    for (const set of [trainer.G, trainer.G_ema, trainer.D])
      for (const spec of set.specs) {
        const name = from.get(`${set.prefix}.${spec.name}`);
        if (name === undefined) continue;
        const values = refToTfjs(spec, await src.src.read(name));
        const v = set.variable(spec.name);
        tf.tidy(() => v.assign(tf.tensor(values, tfjsShape(spec))));
      }
    if (src.augmentP !== null) trainer.counters = { ...trainer.counters, augmentP: src.augmentP };
    return { trainer, report: { file, ...report } };
  } catch (err) {
    trainer?.dispose();
    throw err;
  } finally {
    await src.src.close();
  }
}

/** One paragraph for the run's log: where it started and what it kept. */
export function describeTransfer(r: TransferReport): string {
  const fresh = r.fresh.length ? `; started fresh: ${r.fresh.join(', ')}` : '';
  const p = r.augmentP !== null ? `; ADA p starts at ${r.augmentP.toFixed(3)}` : '';
  return (
    `started from ${r.file}${r.kimg !== null ? ` (${r.kimg} kimg)` : ''}: ${r.networks.join(', ')} ` +
    `— ${r.copied} of ${r.total} tensors kept${fresh}${p}; the optimiser starts fresh`
  );
}

/**
 * Transfer learning as a run starts it (`initFrom`): the trainer of `trainerFromNetworkFile`.
 * `overrides` is the run's config: its training settings and resolution are kept, its
 * architecture fields give way to the file's.
 */
export async function trainerFromGenerator(
  file: string,
  seed: number,
  overrides: Partial<GanConfig> = {},
  replica: ReplicaOptions | null = null,
  rounds: RoundPlanner = wholeBatch,
): Promise<GanTrainer> {
  return (await trainerFromNetworkFile(file, seed, overrides, replica, rounds)).trainer;
}
