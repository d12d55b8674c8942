/**
 * `plumage init` (generate is the gallery's; backend has its own file). tfjs is heavy, so it is
 * imported only once the arguments and files have been checked (and `--help` never loads it).
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { PRESET_NAMES, presetConfig, type PresetName } from '../core/gan/config.js';
import { fileProblem } from '../core/folders.js';
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
  synopsis: 'init --preset tiny|64|128|256|512|1024 [--seed S] --out FILE.safetensors [--json]',
  summary: 'Writes a freshly initialised checkpoint (G, G_ema, D) for a preset.',
  details: `  --preset NAME    the network size (tiny is 32², for CPUs and tests)
  --seed S         seeds the initial weights (0..4294967295, default 0)
  --out FILE       the safetensors file to write
  --json           print exactly one JSON object: file, bytes, checksum (the header's
                   plumage.sha256 over its tensors and metadata), preset, seed`,
  options: {
    preset: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
  async run(values) {
    const preset = required(choiceFlag(values, 'preset', presetField), 'preset', PRESET_NAMES.join('|'));
    const seed = numberFlag(values, 'seed', initSeedField) ?? 0;
    const out = resolve(required(values.out as string | undefined, 'out', 'FILE.safetensors'));
    const { initBackend, releaseBackend } = await import('../core/runtime/backend.js');
    const { saveCheckpoint } = await import('../core/netfile/checkpoint.js');
    const { GanTrainer } = await import('../core/gan/training.js');
    // init draws nothing: its weights come from the seed, drawn on the CPU, the same bytes whatever
    // the backend. So it never starts a GPU (a device, and what Dawn prints about it, for nothing).
    const info = await initBackend('wasm', () => {}).catch(() => initBackend('cpu', () => {}));
    const trainer = new GanTrainer(presetConfig(preset as PresetName), seed);
    const { bytes, sha256 } = await saveCheckpoint(trainer, out, { 'plumage.backend': info.kind }).finally(() => {
      trainer.dispose();
      releaseBackend(); // a live GPU device would keep the process from exiting
    });
    if (values.json) console.log(JSON.stringify({ file: out, bytes, checksum: sha256, preset, seed }));
    else
      say(
        `wrote ${out} (${(bytes / 2 ** 20).toFixed(1)} MiB, sha256 ${sha256.slice(0, 12)}…, preset ${preset}, seed ${seed})`,
      );
    return 0;
  },
};

export const exportReferenceCommand: CommandDef = {
  name: 'export-reference',
  synopsis: 'export-reference FILE --out FILE.safetensors [--json]',
  summary: "Writes G, G_ema and D under the reference's state_dict names, for stylegan2-ada-pytorch.",
  details: `  FILE             a Plumage checkpoint, or a network pickle (converted)
  --out FILE       the safetensors file to write; its metadata holds the reference's
                   Generator and Discriminator arguments (docs/reference-export.md loads it)
  --json           print exactly one JSON object: file, networks, tensors, bytes`,
  options: { out: { type: 'string' }, json: { type: 'boolean', default: false } },
  positionals: { min: 1, max: 1, name: 'FILE' },
  async run(values, positionals) {
    const source = resolve(positionals[0]!);
    const out = resolve(required(values.out as string | undefined, 'out', 'FILE.safetensors'));
    const problem = await fileProblem(source, 'checkpoint');
    if (problem) throw new Error(problem);
    const { exportForReference } = await import('../core/netfile/reference-export.js');
    const r = await exportForReference(source, out);
    if (values.json)
      console.log(JSON.stringify({ file: out, networks: r.networks, tensors: r.tensors, bytes: r.bytes }));
    else
      console.log(
        `wrote ${out} (${r.networks.join(', ')}: ${r.tensors} tensors, ${(r.bytes / 2 ** 20).toFixed(1)} MiB)`,
      );
    return 0;
  },
};
