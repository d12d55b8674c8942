/**
 * StyleGAN2 generator (config F, 'skip' architecture), as in the reference's
 * `training/networks.py`: MappingNetwork z → w, SynthesisNetwork w → image.
 * Builders only: parameters live in a ParamSet, forward passes are pure functions of them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { blockResolutions, channelsAt, numWs, type GanConfig } from './config.js';
import {
  biasLrelu,
  derived,
  fullyConnected,
  modulatedConv2d,
  normalize2ndMoment,
  upsample2d,
  type WeightConstants,
} from './ops.js';
import type { ParamSpec, ParamSet } from './params.js';
import { add, scale } from '../kernels/lean-ops.js';
import { drawnSynthesisLayer, drawnToRgb, drawsFused } from './draw.js';

export type NoiseMode = 'random' | 'const' | 'none';

/** Parameter and buffer specs of G under the reference's names (without the `G.` prefix). */
export function generatorSpecs(c: GanConfig): ParamSpec[] {
  const specs: ParamSpec[] = [];
  const add = (
    name: string,
    refShape: number[],
    layout: ParamSpec['layout'],
    init: ParamSpec['init'],
    trainable: boolean,
  ): void => {
    specs.push({ name, refShape, layout, init, trainable });
  };
  const layer = (p: string, cin: number, cout: number, res: number, k: number, kind: 'conv' | 'torgb'): void => {
    add(`${p}.weight`, [cout, cin, k, k], 'conv', 'randn', true);
    if (kind === 'conv') add(`${p}.noise_strength`, [], 'plain', 'zeros', true);
    add(`${p}.bias`, [cout], 'plain', 'zeros', true);
    if (kind === 'conv') {
      add(`${p}.resample_filter`, [4, 4], 'plain', 'filter', false);
      add(`${p}.noise_const`, [res, res], 'plain', 'randn', false);
    }
    add(`${p}.affine.weight`, [cin, c.wDim], 'fc', 'randn', true);
    add(`${p}.affine.bias`, [cin], 'plain', 'ones', true); // styles start at 1
  };
  for (const res of blockResolutions(c.resolution)) {
    const b = `synthesis.b${res}`;
    const cout = channelsAt(c, res);
    if (res === 4) {
      add(`${b}.const`, [cout, 4, 4], 'chw', 'randn', true);
      add(`${b}.resample_filter`, [4, 4], 'plain', 'filter', false);
    } else {
      add(`${b}.resample_filter`, [4, 4], 'plain', 'filter', false);
      layer(`${b}.conv0`, channelsAt(c, res / 2), cout, res, 3, 'conv');
    }
    layer(`${b}.conv1`, cout, cout, res, 3, 'conv');
    layer(`${b}.torgb`, cout, c.imgChannels, res, 1, 'torgb');
  }
  add('mapping.w_avg', [c.wDim], 'plain', 'zeros', false);
  for (let i = 0; i < c.mappingLayers; i++) {
    const fin = i === 0 ? c.zDim : c.wDim;
    specs.push({
      name: `mapping.fc${i}.weight`,
      refShape: [c.wDim, fin],
      layout: 'fc',
      init: 'randn-lr',
      lrMultiplier: c.mappingLrMultiplier,
      trainable: true,
    });
    add(`mapping.fc${i}.bias`, [c.wDim], 'plain', 'zeros', true);
  }
  return specs;
}

/** Mapping network: z [N,zDim] → w [N,wDim] (normalised z, then `mappingLayers` lrelu FC layers, lr × 0.01). */
export function mapping(G: ParamSet, c: GanConfig, z: tf.Tensor2D, constants?: WeightConstants): tf.Tensor2D {
  let x = normalize2ndMoment(z);
  for (let i = 0; i < c.mappingLayers; i++) {
    x = fullyConnected(x, G.get(`mapping.fc${i}.weight`), G.get(`mapping.fc${i}.bias`), {
      lrMultiplier: c.mappingLrMultiplier,
      activation: 'lrelu',
      constants,
    });
  }
  return x;
}

/** Truncation trick: w_avg + ψ·(w − w_avg). */
export function truncate(G: ParamSet, w: tf.Tensor2D, psi: number): tf.Tensor2D {
  if (psi === 1) return w;
  const avg = G.get<tf.Tensor1D>('mapping.w_avg');
  return tf.add(avg, tf.mul(tf.sub(w, avg), psi));
}

/** Broadcast one w per sample to every layer: [N,wDim] → [N,numWs,wDim]. */
export function broadcastWs(c: GanConfig, w: tf.Tensor2D): tf.Tensor3D {
  return tf.tile(tf.expandDims(w, 1), [1, numWs(c.resolution), 1]) as tf.Tensor3D;
}

export interface SynthesisOptions {
  noiseMode: NoiseMode;
  /** Seeds for 'random' noise, one per noisy layer, drawn by the caller from its RandomState. */
  noiseSeed?: () => number;
  /** 'random' noise made by the caller instead, one call per noisy layer in order ([N,res,res,1]). */
  noise?: (res: number) => tf.Tensor4D;
  /** A frozen generator's weight-derived tensors (the gallery's): the same values, computed once. */
  constants?: WeightConstants;
  /** Called after each block; throwing stops the pass there (a gallery job cancelled mid-batch). */
  afterBlock?: () => void;
}

/** SynthesisLayer: modulated 3×3 conv (up-sampling in conv0), noise, bias, lrelu. [N,H,W,in] → [N,res,res,out] */
function synthesisLayer(
  G: ParamSet,
  p: string,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  res: number,
  up: 1 | 2,
  o: SynthesisOptions,
): tf.Tensor4D {
  if (o.constants && drawsFused()) return drawnSynthesisLayer(G, p, x, w, up, layerNoise(G, p, x, res, o), o.constants);
  const styles = fullyConnected(w, G.get(`${p}.affine.weight`), G.get(`${p}.affine.bias`), {
    activation: 'linear',
    constants: o.constants,
  }); // [N,in]
  let y = modulatedConv2d(x, G.get(`${p}.weight`), styles, { demodulate: true, up, constants: o.constants }); // [N,res,res,out]
  const noise = layerNoise(G, p, x, res, o);
  if (noise) y = add(y, noise); // the lean add: its gradient saves no copies (the same bits as tf.add)
  return biasLrelu(y, G.get(`${p}.bias`));
}

/** A layer's noise times its strength ([N|1,res,res,1]), or null when the mode is 'none'. */
function layerNoise(G: ParamSet, p: string, x: tf.Tensor4D, res: number, o: SynthesisOptions): tf.Tensor4D | null {
  const strength = G.get<tf.Scalar>(`${p}.noise_strength`);
  if (o.noiseMode === 'random') {
    const noise = o.noise ? o.noise(res) : tf.randomNormal([x.shape[0], res, res, 1], 0, 1, 'float32', o.noiseSeed?.());
    return tf.mul(noise, strength) as tf.Tensor4D;
  }
  if (o.noiseMode === 'const') {
    const noiseConst = G.get(`${p}.noise_const`);
    return derived(o.constants, noiseConst, 'scaled', () =>
      tf.mul(tf.reshape(noiseConst, [1, res, res, 1]), strength),
    ) as tf.Tensor4D;
  }
  return null;
}

/** ToRGBLayer: 1×1 modulated conv without demodulation, styles scaled by 1/√in, linear. → [N,res,res,3] */
function toRgb(G: ParamSet, p: string, x: tf.Tensor4D, w: tf.Tensor2D, constants?: WeightConstants): tf.Tensor4D {
  if (constants && drawsFused()) return drawnToRgb(G, p, x, w, constants);
  const cin = x.shape[3];
  const styles = scale<tf.Tensor2D>(
    fullyConnected(w, G.get(`${p}.affine.weight`), G.get(`${p}.affine.bias`), { activation: 'linear', constants }),
    1 / Math.sqrt(cin),
  );
  const y = modulatedConv2d(x, G.get(`${p}.weight`), styles, { demodulate: false, up: 1, constants });
  return add(y, G.get<tf.Tensor1D>(`${p}.bias`));
}

/**
 * SynthesisBlock ('skip'): [conv0 ↑2] → conv1 → toRGB, and the running image is up-sampled
 * with the FIR filter and added to. Block k reads ws[2k−1] (conv0), ws[2k] (conv1),
 * ws[2k+1] (toRGB); the 4×4 block reads ws[0], ws[1].
 */
function synthesisBlock(
  G: ParamSet,
  c: GanConfig,
  res: number,
  x: tf.Tensor4D | null,
  img: tf.Tensor4D | null,
  ws: tf.Tensor2D[],
  k: number,
  o: SynthesisOptions,
): { x: tf.Tensor4D; img: tf.Tensor4D } {
  const b = `synthesis.b${res}`;
  const n = ws[0]!.shape[0];
  if (res === 4) {
    const constant = G.get<tf.Tensor3D>(`${b}.const`); // [4,4,C]
    x = tf.tile(tf.expandDims(constant, 0), [n, 1, 1, 1]) as tf.Tensor4D; // [N,4,4,C]
    x = synthesisLayer(G, `${b}.conv1`, x, ws[0]!, res, 1, o);
  } else {
    x = synthesisLayer(G, `${b}.conv0`, x!, ws[2 * k - 1]!, res, 2, o); // [N,res,res,C]
    x = synthesisLayer(G, `${b}.conv1`, x, ws[2 * k]!, res, 1, o);
  }
  const rgb = toRgb(G, `${b}.torgb`, x, ws[2 * k + 1]!, o.constants); // [N,res,res,3]
  const out = img ? add(upsample2d(img), rgb) : rgb;
  assertShape(out, [n, res, res, c.imgChannels], `${b} image`);
  return { x, img: out as tf.Tensor4D };
}

/** SynthesisNetwork: ws [N,numWs,wDim] → image [N,res,res,3] in about [-1, 1]. */
export function synthesis(G: ParamSet, c: GanConfig, ws: tf.Tensor3D, o: SynthesisOptions): tf.Tensor4D {
  assertShape(ws, [ws.shape[0], numWs(c.resolution), c.wDim], 'ws');
  const perLayer = tf.unstack(ws, 1) as tf.Tensor2D[];
  let x: tf.Tensor4D | null = null;
  let img: tf.Tensor4D | null = null;
  blockResolutions(c.resolution).forEach((res, k) => {
    ({ x, img } = synthesisBlock(G, c, res, x, img, perLayer, k, o));
    o.afterBlock?.();
  });
  return img!;
}

/** Full generator for sampling: z → image (G_ema, truncation ψ). */
export function generate(G: ParamSet, c: GanConfig, z: tf.Tensor2D, psi: number, o: SynthesisOptions): tf.Tensor4D {
  return synthesis(G, c, broadcastWs(c, truncate(G, mapping(G, c, z, o.constants), psi)), o);
}

export function assertShape(t: tf.Tensor, shape: number[], what: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${what}: expected shape [${shape}], got [${t.shape}]`);
  }
}
