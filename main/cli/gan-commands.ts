/** CLI commands over the model: init, backend (generate is in gallery-commands.ts). Loaded only when used. */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../core/gan/backend.js';
import { saveCheckpoint } from '../core/gan/checkpoint.js';
import { PRESET_NAMES, presetConfig, type PresetName } from '../core/gan/config.js';
import { GanTrainer } from '../core/gan/training.js';
import { UsageError } from './usage.js';

export async function ganCommand(command: 'init' | 'backend', argv: string[]): Promise<number> {
  if (command === 'backend') {
    const info = await initBackend();
    console.log(JSON.stringify(info, null, 2));
    return 0;
  }
  if (command === 'init') {
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
  throw new UsageError(`unknown command ${command}`);
}
