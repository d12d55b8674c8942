/**
 * The snapshot grid: the run's fixed seeds through G_ema at truncation 1 (left) and 0.7 (right),
 * side by side, as one PNG.
 */
import sharp, { type OverlayOptions } from 'sharp';
import type { GanConfig } from '../gan/config.js';
import type { ParamSet } from '../gan/params.js';
import { sampleSeeds } from '../gan/sample.js';
import { DEFAULT_PAPER } from '../paper-colour.js';

export const GRID_PSIS = [1, 0.7] as const;
const GAP = 8;

export async function renderGrid(G: ParamSet, config: GanConfig, seeds: number[]): Promise<Buffer> {
  const res = config.resolution;
  const cols = Math.min(4, seeds.length);
  const rows = Math.ceil(seeds.length / cols);
  const panelWidth = cols * res;
  const composites: OverlayOptions[] = [];
  for (const [panel, psi] of GRID_PSIS.entries()) {
    const images = await sampleSeeds(G, config, seeds, psi, 'const');
    images.forEach((pixels, i) => {
      composites.push({
        input: Buffer.from(pixels),
        raw: { width: res, height: res, channels: 3 },
        left: panel * (panelWidth + GAP) + (i % cols) * res,
        top: Math.floor(i / cols) * res,
      });
    });
  }
  return sharp({ create: { width: 2 * panelWidth + GAP, height: rows * res, channels: 3, background: DEFAULT_PAPER } })
    .composite(composites)
    .png()
    .toBuffer();
}
