/**
 * `plumage init` (generate is the gallery's; backend has its own file). tfjs is heavy, so it is
 * imported only once the arguments and files have been checked (and `--help` never loads it).
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { PRESET_NAMES, presetConfig, type PresetName } from '../core/gan/config.js';
import { choiceFlag, numberFlag, required, type CommandDef } from './usage.js';
import { say } from './terminal.js';

const presetField = z.enum(PRESET_NAMES, { error: `must be one of ${PRESET_NAMES.join(', ')}` });
/** init's seed seeds the weights' RNG (a uint32, as numpy's RandomState takes). */
const initSeedField = z
  .number()
  .int('must be a whole number')
  .min(0, 'must be between 0 and 4294967295')
  .max(0xffffffff, 'must be between 0 and 4294967295');

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
    say(
      `wrote ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${sha256.slice(0, 12)}…, preset ${preset}, seed ${seed})`,
    );
    return 0;
  },
};
