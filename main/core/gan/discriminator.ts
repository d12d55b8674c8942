/**
 * StyleGAN2 discriminator ('resnet' architecture), as in the reference's `training/networks.py`:
 * fromRGB at full resolution, residual blocks that halve the resolution, and an epilogue at 4×4
 * with minibatch standard deviation.
 */
import * as tf from '@tensorflow/tfjs-core';
import { channelsAt, type GanConfig } from './config.js';
import { assertShape } from './generator.js';
import { biasLrelu, conv2dDown2, conv2dSame, downsample2d, fullyConnected, minibatchStd } from './ops.js';
import type { ParamSpec, ParamSet } from './params.js';

/** Block resolutions from the input resolution down to 8 (the 4×4 epilogue is `b4`). */
export function discriminatorResolutions(resolution: number): number[] {
  const out: number[] = [];
  for (let r = resolution; r >= 8; r /= 2) out.push(r);
  return out;
}

/**
 * Freeze-D: the parameters of D's first `n` layers, counted as the reference counts them
 * (from the input: fromRGB, then each block's conv0, conv1 and skip; the 4×4 epilogue never).
 */
export function frozenDParams(c: GanConfig, n: number): string[] {
  const out: string[] = [];
  let layer = 0;
  for (const res of discriminatorResolutions(c.resolution))
    for (const name of [...(res === c.resolution ? ['fromrgb'] : []), 'conv0', 'conv1', 'skip']) {
      if (layer++ < n) out.push(`b${res}.${name}.weight`, ...(name === 'skip' ? [] : [`b${res}.${name}.bias`]));
    }
  return out;
}

/** Parameter and buffer specs of D under the reference's names (without the `D.` prefix). */
export function discriminatorSpecs(c: GanConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const conv = (p: string, cout: number, cin: number, k: number, bias: boolean): void => {
    specs.push({ name: `${p}.weight`, refShape: [cout, cin, k, k], layout: 'conv', init: 'randn', trainable: true });
    if (bias) specs.push({ name: `${p}.bias`, refShape: [cout], layout: 'plain', init: 'zeros', trainable: true });
    specs.push({ name: `${p}.resample_filter`, refShape: [4, 4], layout: 'plain', init: 'filter', trainable: false });
  };
  for (const res of discriminatorResolutions(c.resolution)) {
    const b = `b${res}`;
    const tmp = channelsAt(c, res);
    const out = channelsAt(c, res / 2);
    specs.push({ name: `${b}.resample_filter`, refShape: [4, 4], layout: 'plain', init: 'filter', trainable: false });
    if (res === c.resolution) conv(`${b}.fromrgb`, tmp, c.imgChannels, 1, true);
    conv(`${b}.conv0`, tmp, tmp, 3, true);
    conv(`${b}.conv1`, out, tmp, 3, true);
    conv(`${b}.skip`, out, tmp, 1, false);
  }
  const c4 = channelsAt(c, 4);
  conv('b4.conv', c4, c4 + c.mbstdChannels, 3, true);
  specs.push({
    name: 'b4.fc.weight',
    refShape: [c4, c4 * 16],
    layout: 'fc-chw',
    chw: [c4, 4, 4],
    init: 'randn',
    trainable: true,
  });
  specs.push({ name: 'b4.fc.bias', refShape: [c4], layout: 'plain', init: 'zeros', trainable: true });
  specs.push({ name: 'b4.out.weight', refShape: [1, c4], layout: 'fc', init: 'randn', trainable: true });
  specs.push({ name: 'b4.out.bias', refShape: [1], layout: 'plain', init: 'zeros', trainable: true });
  return specs;
}

/** Equalised learning rate: the stored weight times 1/√fan_in, fan_in = kh·kw·in. */
function scaled(D: ParamSet, p: string): tf.Tensor4D {
  const w = D.get<tf.Tensor4D>(`${p}.weight`);
  const [kh, kw, cin] = w.shape;
  return tf.mul(w, 1 / Math.sqrt(kh * kw * cin));
}

/** DiscriminatorBlock ('resnet'): x = skip(x)·√½ + conv1↓(conv0(x))·√½. [N,res,res,tmp] → [N,res/2,res/2,out] */
function discriminatorBlock(
  D: ParamSet,
  c: GanConfig,
  res: number,
  x: tf.Tensor4D | null,
  img: tf.Tensor4D,
): tf.Tensor4D {
  const b = `b${res}`;
  if (x === null) x = biasLrelu(tf.conv2d(img, scaled(D, `${b}.fromrgb`), 1, 'valid'), D.get(`${b}.fromrgb.bias`)); // [N,res,res,tmp]
  const skip = tf.mul(tf.conv2d(downsample2d(x), scaled(D, `${b}.skip`), 1, 'valid'), Math.SQRT1_2) as tf.Tensor4D;
  let y = biasLrelu(conv2dSame(x, scaled(D, `${b}.conv0`)), D.get(`${b}.conv0.bias`));
  y = biasLrelu(conv2dDown2(y, scaled(D, `${b}.conv1`)), D.get(`${b}.conv1.bias`), Math.SQRT1_2);
  const out = tf.add(skip, y) as tf.Tensor4D;
  assertShape(out, [img.shape[0], res / 2, res / 2, channelsAt(c, res / 2)], `D.${b} output`);
  return out;
}

/** DiscriminatorEpilogue at 4×4: minibatch stddev, 3×3 conv, fc, out. [N,4,4,C] → [N,1] */
function discriminatorEpilogue(D: ParamSet, c: GanConfig, x: tf.Tensor4D): tf.Tensor2D {
  const n = x.shape[0];
  let y = minibatchStd(x, c.mbstdGroupSize, c.mbstdChannels); // [N,4,4,C+1]
  y = biasLrelu(conv2dSame(y, scaled(D, 'b4.conv')), D.get('b4.conv.bias')); // [N,4,4,C]
  const flat = tf.reshape(y, [n, -1]) as tf.Tensor2D; // [N,16C] in H,W,C order (the fc weight is stored to match)
  const hidden = fullyConnected(flat, D.get('b4.fc.weight'), D.get('b4.fc.bias'), { activation: 'lrelu' });
  return fullyConnected(hidden, D.get('b4.out.weight'), D.get('b4.out.bias'), { activation: 'linear' }); // [N,1]
}

/** D(img): real/fake logits. img [N,res,res,3] in [-1, 1] → [N,1]. */
export function discriminate(D: ParamSet, c: GanConfig, img: tf.Tensor4D): tf.Tensor2D {
  assertShape(img, [img.shape[0], c.resolution, c.resolution, c.imgChannels], 'D input');
  let x: tf.Tensor4D | null = null;
  for (const res of discriminatorResolutions(c.resolution)) x = discriminatorBlock(D, c, res, x, img);
  return discriminatorEpilogue(D, c, x!);
}
