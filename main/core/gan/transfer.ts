/**
 * Starting a run from a network file (the reference's --resume): G, G_ema and D from a Plumage
 * checkpoint, a reference export or one of NVIDIA's pickles, the architecture from the file and
 * the resolution from the run (its dataset). Every tensor whose name and shape match is copied;
 * the rest keep their fresh initialisation, and the report says which blocks were kept. ADA's p
 * starts from the file's (a pickle's augment_pipe, a checkpoint's counters); the optimiser and
 * the counters start fresh.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GanConfig } from './config.js';
import { openGeneratorFile } from './checkpoint.js';
import { refToTfjs, tfjsShape, type ParamSet } from './params.js';
import { GanTrainer, type ReplicaOptions } from './training.js';

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

export interface TransferReport {
  file: string;
  /** Networks that came from the file (a generator-only file leaves D fresh). */
  networks: ('G' | 'G_ema' | 'D')[];
  /** Blocks (`G.synthesis.b64`, `D.b32`, `G.mapping`, …) copied whole, and those started fresh. */
  kept: string[];
  fresh: string[];
  /** Tensors copied, of all the trainer has. */
  copied: number;
  total: number;
  augmentP: number | null;
  kimg: number | null;
}

function blockOf(net: string, name: string): string {
  const parts = name.split('.');
  return `${net}.${parts[0] === 'synthesis' ? parts.slice(0, 2).join('.') : parts[0]}`;
}

export async function trainerFromNetworkFile(
  file: string,
  seed: number,
  overrides: Partial<GanConfig> = {},
  replica: ReplicaOptions | null = null,
): Promise<{ trainer: GanTrainer; report: TransferReport }> {
  const src = await openGeneratorFile(file);
  const arch = Object.fromEntries(ARCHITECTURE.map((k) => [k, src.config[k]])) as Partial<GanConfig>;
  const config: GanConfig = { ...src.config, ...overrides, ...arch };
  config.resolution = overrides.resolution ?? src.config.resolution;
  const trainer = new GanTrainer(config, seed, replica);
  try {
    const has = (n: string): boolean => src.names.includes(n);
    const genPrefix = (net: 'G' | 'G_ema'): string | null =>
      [`${net}.`, net === 'G' ? 'G_ema.' : 'G.', src.prefix].find((p) => has(`${p}mapping.fc0.weight`)) ?? null;
    const prefixes: [ParamSet, 'G' | 'G_ema' | 'D', string | null][] = [
      [trainer.G, 'G', genPrefix('G')],
      [trainer.G_ema, 'G_ema', genPrefix('G_ema')],
      [trainer.D, 'D', has('D.b4.out.weight') ? 'D.' : null],
    ];
    const blocks = new Map<string, { copied: number; total: number }>();
    let copied = 0;
    let total = 0;
    const networks: TransferReport['networks'] = [];
    for (const [set, net, prefix] of prefixes) {
      if (prefix !== null) networks.push(net);
      for (const spec of set.specs) {
        const name = `${prefix}${spec.name}`;
        const b = blocks.get(blockOf(net, spec.name)) ?? { copied: 0, total: 0 };
        blocks.set(blockOf(net, spec.name), b);
        b.total++;
        total++;
        if (prefix === null || !has(name) || src.shape(name).join() !== spec.refShape.join()) continue;
        const values = refToTfjs(spec, src.read(name));
        const v = set.variable(spec.name);
        tf.tidy(() => v.assign(tf.tensor(values, tfjsShape(spec))));
        b.copied++;
        copied++;
      }
    }
    if (src.augmentP !== null) trainer.counters = { ...trainer.counters, augmentP: src.augmentP };
    const report: TransferReport = {
      file,
      networks,
      kept: [...blocks].filter(([, b]) => b.copied === b.total).map(([k]) => k),
      fresh: [...blocks].filter(([, b]) => b.copied < b.total).map(([k]) => k),
      copied,
      total,
      augmentP: src.augmentP,
      kimg: src.kimg,
    };
    return { trainer, report };
  } catch (err) {
    trainer.dispose();
    throw err;
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
): Promise<GanTrainer> {
  return (await trainerFromNetworkFile(file, seed, overrides, replica)).trainer;
}
