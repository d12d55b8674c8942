/**
 * Multiply-accumulates of one image through G and D as Plumage computes them (the up-sampling
 * conv is counted as its polyphase 2×2 convolution). For benchmarks: FLOPs = 2·MACs.
 */
import { blockResolutions, channelsAt, type GanConfig } from '../../main/core/gan/config.js';

export function generatorMacs(c: GanConfig): number {
  const ch = (r: number): number => channelsAt(c, r);
  let macs = c.zDim * c.wDim + (c.mappingLayers - 1) * c.wDim * c.wDim;
  for (const r of blockResolutions(c.resolution)) {
    const cout = ch(r);
    if (r > 4) {
      const cin = ch(r / 2);
      // conv0: one 2×2 conv with 4 phase blocks, and its affine
      macs += (r / 2 + 1) ** 2 * 4 * cin * 4 * cout + c.wDim * cin;
    }
    macs += r * r * 9 * cout * cout + c.wDim * cout; // conv1
    macs += r * r * cout * c.imgChannels + c.wDim * cout; // toRGB
  }
  return macs;
}

export function discriminatorMacs(c: GanConfig): number {
  const ch = (r: number): number => channelsAt(c, r);
  let macs = c.resolution ** 2 * c.imgChannels * ch(c.resolution); // fromRGB
  for (let r = c.resolution; r >= 8; r /= 2) {
    macs += r * r * 9 * ch(r) * ch(r); // conv0
    macs += (r / 2) ** 2 * 9 * ch(r) * ch(r / 2); // conv1 (stride 2)
    macs += (r / 2) ** 2 * ch(r) * ch(r / 2); // skip
  }
  const c4 = ch(4);
  return macs + 16 * 9 * (c4 + 1) * c4 + 16 * c4 * c4 + c4;
}

/**
 * Rough FLOPs per phase for batch B: a backward pass costs about twice its forward (input and
 * weight gradients), a pass that only needs input gradients about once; R1 and path length
 * differentiate a backward pass again (about 2× more).
 */
export function phaseFlops(c: GanConfig, batch: number): { Gmain: number; Greg: number; Dmain: number; Dreg: number } {
  const g = 2 * generatorMacs(c);
  const d = 2 * discriminatorMacs(c);
  const plBatch = Math.max(1, Math.floor(batch / c.plBatchShrink));
  return {
    Gmain: batch * (3 * g + 2 * d),
    Greg: plBatch * 6 * g,
    Dmain: batch * (g + 2 * 3 * d),
    Dreg: batch * 6 * d,
  };
}

/**
 * Multiply-accumulates of one image as the gallery draws it (`WeightConstants`): the up-sampling
 * conv's phases apart (9 taps per output quad, not the polyphase kernel's 16), and the FIR
 * filters counted too (16 taps per output value: after each up-sampling conv and on the image).
 */
export function sampleMacs(c: GanConfig): number {
  const ch = (r: number): number => channelsAt(c, r);
  let macs = c.zDim * c.wDim + (c.mappingLayers - 1) * c.wDim * c.wDim;
  for (const r of blockResolutions(c.resolution)) {
    const cout = ch(r);
    if (r > 4) {
      const cin = ch(r / 2);
      macs += (r / 2 + 1) ** 2 * 9 * cin * cout + c.wDim * cin; // conv0's four phases, and its affine
      macs += r * r * 16 * (cout + c.imgChannels); // FIR after conv0, and the image's up-sampling
    }
    macs += r * r * 9 * cout * cout + c.wDim * cout; // conv1
    macs += r * r * cout * c.imgChannels + c.wDim * cout; // toRGB
  }
  return macs;
}
