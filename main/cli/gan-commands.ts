/**
 * CLI commands over the model: init, generate, backend. tfjs is heavy, so it is imported only
 * once the arguments and files have been checked (and `--help` never loads it).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { PRESET_NAMES, presetConfig, type PresetName } from '../core/gan/config.js';
import { CREATE_RUN_FIELDS } from '../core/api/validate.js';
import { fileProblem } from '../core/folders.js';
import { choiceFlag, numberFlag, required, UsageError, type CommandDef } from './usage.js';

const NOISE_MODES = ['const', 'random', 'none'] as const;
const presetField = z.enum(PRESET_NAMES, { error: `must be one of ${PRESET_NAMES.join(', ')}` });
/** init's seed seeds the weights' RNG (a uint32, as numpy's RandomState takes). */
const initSeedField = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be between 0 and 4294967295')
  .max(0xffffffff, 'must be between 0 and 4294967295');
const psiField = z.number().min(-2, 'must be between -2 and 2').max(2, 'must be between -2 and 2');
const noiseField = z.enum(NOISE_MODES, { error: `must be one of ${NOISE_MODES.join(', ')}` });

export const initCommand: CommandDef = {
  name: 'init',
  synopsis: 'init --preset tiny|64|128|256|512|1024 [--seed S] --out FILE.safetensors',
  summary: 'Writes a freshly initialised checkpoint (G, G_ema, D) for a preset.',
  details: `  --preset NAME    the network size (tiny is 32², for CPUs and tests)
  --seed S         seeds the initial weights (0..4294967295, default 0)
  --out FILE       the safetensors file to write`,
  options: { preset: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' } },
  async run(values) {
    const preset = required(choiceFlag(values, 'preset', presetField), 'preset', PRESET_NAMES.join('|'));
    const seed = numberFlag(values, 'seed', initSeedField) ?? 0;
    const out = resolve(required(values.out as string | undefined, 'out', 'FILE.safetensors'));
    const { initBackend, releaseBackend } = await import('../core/gan/backend.js');
    const { saveCheckpoint } = await import('../core/gan/checkpoint.js');
    const { GanTrainer } = await import('../core/gan/training.js');
    const info = await initBackend();
    const trainer = new GanTrainer(presetConfig(preset as PresetName), seed);
    const { bytes, sha256 } = await saveCheckpoint(trainer, out, { 'plumage.backend': info.kind }).finally(() => {
      trainer.dispose();
      releaseBackend(); // a live GPU device would keep the process from exiting
    });
    console.log(
      `wrote ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${sha256.slice(0, 12)}…, preset ${preset}, seed ${seed})`,
    );
    return 0;
  },
};

export const generateCommand: CommandDef = {
  name: 'generate',
  synopsis: 'generate --checkpoint FILE --seeds 0-7 [--psi 1] [--noise const|random|none] [--backend B] --out DIR',
  summary: "Draws images from a checkpoint's G_ema, one PNG per seed.",
  details: `  --checkpoint FILE  a Plumage or converted safetensors checkpoint
  --seeds LIST       e.g. 0-7 or 1,5,9-11 (default 0-7)
  --psi X            truncation ψ (default 1 = none; 0.7 is tidier)
  --noise MODE       const (default), random or none
  --out DIR          the folder to write seedNNNN.png into (made if missing)
  --backend B        cuda, webgpu, cpu-native, wasm or cpu (default: the best one present)`,
  options: {
    checkpoint: { type: 'string' },
    seeds: { type: 'string', default: '0-7' },
    psi: { type: 'string' },
    noise: { type: 'string' },
    out: { type: 'string' },
    backend: { type: 'string' },
  },
  async run(values) {
    const backend = choiceFlag(values, 'backend', CREATE_RUN_FIELDS.backend);
    const checkpoint = resolve(required(values.checkpoint as string | undefined, 'checkpoint', 'FILE'));
    const out = resolve(required(values.out as string | undefined, 'out', 'DIR'));
    const psi = numberFlag(values, 'psi', psiField) ?? 1;
    const noise = choiceFlag(values, 'noise', noiseField) ?? 'const';
    const { parseSeeds } = await import('../core/gan/sample.js');
    let seeds: number[];
    try {
      seeds = parseSeeds(values.seeds as string);
    } catch (err) {
      throw new UsageError(`--seeds: ${(err as Error).message}`);
    }
    const problem = await fileProblem(checkpoint, 'checkpoint');
    if (problem) throw new Error(problem);
    const { initBackend, releaseBackend } = await import('../core/gan/backend.js');
    const { loadGenerator } = await import('../core/gan/checkpoint.js');
    const { sampleSeeds } = await import('../core/gan/sample.js');
    const { default: sharp } = await import('sharp');
    await initBackend(backend);
    const { config, G } = await loadGenerator(checkpoint);
    mkdirSync(out, { recursive: true });
    const images = await sampleSeeds(G, config, seeds, psi, noise).finally(() => {
      G.dispose();
      releaseBackend(); // a live GPU device would keep the process from exiting
    });
    await Promise.all(
      images.map((pixels, i) =>
        sharp(pixels, { raw: { width: config.resolution, height: config.resolution, channels: 3 } })
          .png()
          .toFile(join(out, `seed${String(seeds[i]).padStart(4, '0')}.png`)),
      ),
    );
    console.log(`wrote ${images.length} images (${config.resolution}², ψ ${psi}, noise ${noise}) to ${out}`);
    return 0;
  },
};
