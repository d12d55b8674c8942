/** CLI commands over the model: init, generate, backend. Loaded only when used (tfjs is heavy). */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { BACKEND_NAMES, initBackend, isBackendName, releaseBackend, type BackendName } from '../core/gan/backend.js';
import { backendCommand } from './backend-command.js';
import { loadGenerator, saveCheckpoint } from '../core/gan/checkpoint.js';
import { PRESET_NAMES, presetConfig, type PresetName } from '../core/gan/config.js';
import type { NoiseMode } from '../core/gan/generator.js';
import { parseSeeds, sampleSeeds } from '../core/gan/sample.js';
import { GanTrainer } from '../core/gan/training.js';
import { UsageError } from './usage.js';

export async function ganCommand(command: 'init' | 'generate' | 'backend', argv: string[]): Promise<number> {
  if (command === 'backend') return backendCommand(argv);
  try {
    return await (command === 'init' ? init(argv) : generate(argv));
  } finally {
    releaseBackend(); // a live GPU device would keep the process from exiting
  }
}

async function init(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { preset: { type: 'string' }, seed: { type: 'string', default: '0' }, out: { type: 'string' } },
  });
  if (!values.preset || !PRESET_NAMES.includes(values.preset as PresetName))
    throw new UsageError(`--preset must be one of ${PRESET_NAMES.join(', ')}`);
  if (!values.out) throw new UsageError('--out FILE.safetensors is required');
  const seed = Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new UsageError('--seed must be an integer in 0..4294967295');
  const info = await initBackend();
  const trainer = new GanTrainer(presetConfig(values.preset as PresetName), seed);
  const out = resolve(values.out);
  const { bytes, sha256 } = await saveCheckpoint(trainer, out, { 'plumage.backend': info.kind });
  trainer.dispose();
  console.log(
    `wrote ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${sha256.slice(0, 12)}…, preset ${values.preset}, seed ${seed})`,
  );
  return 0;
}

async function generate(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      checkpoint: { type: 'string' },
      seeds: { type: 'string', default: '0-7' },
      psi: { type: 'string', default: '1' },
      noise: { type: 'string', default: 'const' },
      out: { type: 'string' },
      backend: { type: 'string' },
    },
  });
  if (!values.checkpoint) throw new UsageError('--checkpoint FILE is required');
  if (!values.out) throw new UsageError('--out DIR is required');
  const psi = Number(values.psi);
  if (!Number.isFinite(psi)) throw new UsageError('--psi must be a number');
  if (!['const', 'random', 'none'].includes(values.noise!))
    throw new UsageError('--noise must be const, random or none');
  let seeds: number[];
  try {
    seeds = parseSeeds(values.seeds!);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  await initBackend(backendOption(values.backend));
  const { config, G } = await loadGenerator(resolve(values.checkpoint));
  const out = resolve(values.out);
  mkdirSync(out, { recursive: true });
  const images = await sampleSeeds(G, config, seeds, psi, values.noise as NoiseMode);
  await Promise.all(
    images.map((pixels, i) =>
      sharp(pixels, { raw: { width: config.resolution, height: config.resolution, channels: 3 } })
        .png()
        .toFile(join(out, `seed${String(seeds[i]).padStart(4, '0')}.png`)),
    ),
  );
  G.dispose();
  console.log(`wrote ${images.length} images (${config.resolution}², ψ ${psi}, noise ${values.noise}) to ${out}`);
  return 0;
}

/** `--backend NAME`: one of the chain's names, or a usage error that lists them. */
export function backendOption(value: string | undefined): BackendName | undefined {
  if (value === undefined) return undefined;
  if (!isBackendName(value)) throw new UsageError(`--backend must be one of ${BACKEND_NAMES.join(', ')}`);
  return value;
}
