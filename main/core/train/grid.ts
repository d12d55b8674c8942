/**
 * The snapshot grid: the run's fixed seeds through G_ema at truncation 1 (left) and 0.7 (right),
 * side by side, as one PNG.
 */
import sharp, { type OverlayOptions } from 'sharp';
import { DEFAULT_PAPER } from '../paper-colour.js';

export const GRID_PSIS = [1, 0.7] as const;
const GAP = 8;

/**
 * `sample` draws G_ema's images ([res,res,3] uint8 each) for seeds at a truncation ψ with
 * constant noise: in this thread, or in a training replica that holds G_ema.
 */
export async function renderGrid(
  sample: (seeds: number[], psi: number) => Promise<Uint8Array[]>,
  res: number,
  seeds: number[],
): Promise<Buffer> {
  const cols = Math.min(4, seeds.length);
  const rows = Math.ceil(seeds.length / cols);
  const panelWidth = cols * res;
  const composites: OverlayOptions[] = [];
  for (const [panel, psi] of GRID_PSIS.entries()) {
    const images = await sample(seeds, psi);
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
