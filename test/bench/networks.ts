import type { GanConfig } from '../../main/core/gan/config.js';

/**
 * Networks the benchmarks can put in place of a preset's (`--network NAME`): `128ch` is the 32²
 * network of ../shared/docs/tfjs-notes.md (channel_base 4096, max 128, z/w 512), where the per-op
 * overhead that dominates `tiny` no longer does. scripts/reference/ref_nets.py's NETWORKS builds
 * the same one on the reference's side.
 */
export const NETWORKS: Record<string, Partial<GanConfig>> = {
  '128ch': { channelBase: 4096, channelMax: 128, zDim: 512, wDim: 512 },
};

/** The network a `--network` value names (undefined: the preset's own), or an error naming the choices. */
export function networkOf(name: string | undefined): Partial<GanConfig> | undefined {
  if (name === undefined) return undefined;
  const network = NETWORKS[name];
  if (!network) throw new Error(`--network must be one of ${Object.keys(NETWORKS).join(', ')} (got ${name})`);
  return network;
}
