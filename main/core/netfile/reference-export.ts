/**
 * "Save for the reference": G, G_ema and D of a Plumage checkpoint (or of a network pickle,
 * which this converts) as a plain safetensors file under the reference's state_dict names,
 * with the reference's constructor arguments in the metadata, so that stylegan2-ada-pytorch
 * can rebuild its networks and `load_state_dict` them strictly (docs/reference-export.md).
 * Optimiser moments and counters are left out: the reference starts those afresh on --resume.
 */
import type { GanConfig } from '../gan/config.js';
import { generatorLayout, openGeneratorFile } from './generator-file.js';
import { CorruptCheckpointError, writeSafetensors } from './safetensors.js';
import { FORMAT } from './checkpoint.js';

/** The reference's `Generator(**G_kwargs)` and `Discriminator(**D_kwargs)` for a config. */
export function referenceKwargs(c: GanConfig): { G: object; D: object } {
  const common = { c_dim: 0, img_resolution: c.resolution, img_channels: c.imgChannels };
  return {
    G: {
      z_dim: c.zDim,
      w_dim: c.wDim,
      ...common,
      mapping_kwargs: { num_layers: c.mappingLayers, lr_multiplier: c.mappingLrMultiplier, w_avg_beta: c.wAvgBeta },
      synthesis_kwargs: { channel_base: c.channelBase, channel_max: c.channelMax },
    },
    D: {
      ...common,
      channel_base: c.channelBase,
      channel_max: c.channelMax,
      epilogue_kwargs: { mbstd_group_size: c.mbstdGroupSize, mbstd_num_channels: c.mbstdChannels },
    },
  };
}

export interface ReferenceExport {
  networks: string[];
  tensors: number;
  bytes: number;
}

export async function exportForReference(source: string, out: string): Promise<ReferenceExport> {
  const src = await openGeneratorFile(source);
  try {
    let config: GanConfig;
    if (src.config)
      config = src.config; // a network pickle: its constructor arguments, checked as it was read
    else {
      if (src.metadata['plumage.format'] !== FORMAT)
        throw new CorruptCheckpointError(source, 'it is not a Plumage checkpoint (no plumage.format in its metadata)');
      if (!src.metadata['plumage.config'])
        throw new CorruptCheckpointError(source, 'no plumage.config in its metadata');
      config = { ...(JSON.parse(src.metadata['plumage.config']) as { plumage: GanConfig }).plumage };
      await src.verify();
    }
    generatorLayout(src); // every generator tensor there, in the shape its config gives it
    return await write(src, config, out);
  } finally {
    await src.close();
  }
}

async function write(
  src: Awaited<ReturnType<typeof openGeneratorFile>>,
  config: GanConfig,
  out: string,
): Promise<ReferenceExport> {
  const nets = ['G', 'G_ema', 'D'].filter((n) => src.names.some((name) => name.startsWith(`${n}.`)));
  const names = src.names.filter((n) => nets.includes(n.slice(0, n.indexOf('.'))));
  const kwargs = referenceKwargs(config);
  const { bytes } = await writeSafetensors(
    out,
    names.map((name) => ({ name, shape: src.shape(name), data: () => src.read(name) })),
    {
      format: 'pt',
      'reference.G_kwargs': JSON.stringify(kwargs.G),
      'reference.D_kwargs': JSON.stringify(kwargs.D),
      'reference.names': 'stylegan2-ada-pytorch state_dict, prefixed G., G_ema., D.',
    },
  );
  return { networks: nets, tensors: names.length, bytes };
}
