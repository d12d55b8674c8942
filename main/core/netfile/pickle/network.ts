/**
 * What a network pickle holds once read: Plumage's config (the architecture, checked against
 * what Plumage's networks are) and tensors under the reference's state_dict names, read on
 * demand. Shared by the PyTorch and the TensorFlow readers.
 */
import { PRESET_NAMES, presetConfig, type GanConfig, type PresetName } from '../../gan/config.js';
import { discriminatorSpecs } from '../../gan/discriminator.js';
import { generatorSpecs } from '../../gan/generator.js';
import { NetworkFileError } from './errors.js';

export type NetworkName = 'G' | 'G_ema' | 'D';

/** Tensors by full state_dict name (`G_ema.mapping.fc0.weight`), as a safetensors file offers them. */
export interface TensorSource {
  names: string[];
  shape(name: string): number[];
  /** float32 values in the reference layout (a fresh array). */
  read(name: string): Float32Array;
}

export interface NetworkPickle extends TensorSource {
  file: string;
  kind: 'stylegan2-ada-pytorch' | 'stylegan2-tf';
  config: GanConfig;
  /** Networks whose every tensor matches `config` (G_ema always; G and D when present and usable). */
  networks: NetworkName[];
  /** From a `network-snapshot-NNNNNN.pkl` name: the reference writes the kimg nowhere else. */
  kimg: number | null;
  /** ADA's p from `augment_pipe`, when the file has one. */
  augmentP: number | null;
  /** Things the user should know (a D that cannot be used, settings Plumage ignores). */
  notes: string[];
}

/** The architecture as the reference's constructor arguments spell it (defaults already applied). */
export interface ReferenceArch {
  zDim: number;
  wDim: number;
  resolution: number;
  imgChannels: number;
  mappingLayers: number;
  mappingLrMultiplier: number;
  wAvgBeta: number;
  channelBase: number;
  channelMax: number;
  mbstdGroupSize: number;
  mbstdChannels: number;
}

export function configFor(file: string, a: ReferenceArch): GanConfig {
  if (!(a.resolution >= 4 && (a.resolution & (a.resolution - 1)) === 0))
    throw new NetworkFileError(file, `holds a network of resolution ${a.resolution}, not a power of two`);
  const name = String(a.resolution);
  const preset: PresetName = PRESET_NAMES.includes(name as PresetName) ? (name as PresetName) : 'tiny';
  return presetConfig(preset, { ...a });
}

/** Which of `want`'s tensors are missing or misshapen, as one phrase (null when all match). */
export function mismatch(
  src: Pick<TensorSource, 'shape'> & { has(n: string): boolean },
  config: GanConfig,
  net: NetworkName,
): string | null {
  const specs = net === 'D' ? discriminatorSpecs(config) : generatorSpecs(config);
  for (const spec of specs) {
    const name = `${net}.${spec.name}`;
    if (!src.has(name)) return `${name} is missing`;
    const shape = src.shape(name);
    if (shape.join() !== spec.refShape.join()) return `${name} has shape [${shape}] where [${spec.refShape}] belongs`;
  }
  return null;
}

export function kimgFromName(file: string): number | null {
  const m = /network-snapshot-(\d{1,9})\.pkl$/i.exec(file);
  return m ? Number(m[1]) : null;
}
