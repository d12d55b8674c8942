/**
 * The synthesis layers as a frozen generator draws them (the gallery's loaded G_ema, whose
 * weight-derived tensors are kept in WeightConstants): the same arithmetic as generator.ts's
 * composed path, in fewer kernels (issue #21: kernels per bird). A 3×3 layer is five kernels
 * instead of thirteen (styles, demodulation coefficients, the input scaled by the styles, the
 * convolution, one epilogue: demodulation, noise, bias, lrelu), an up-sampling one ten instead of
 * twenty-three (its four phase convolutions woven by one kernel, then the FIR), a toRGB four
 * instead of seven. On wasm every value is computed by the same float32 operations in the same
 * order, so a bird's bytes do not change (test/unit/kernels-draw.test.ts). Used only where every
 * kernel it needs is registered for the backend (wasm, webgpu) and fused kernels are on;
 * training never comes here (its forward must stay on the gradient tape).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedHere } from '../kernels/fused.js';
import { BIAS_ACT_KERNEL } from '../kernels/bias-act.js';
import { DEMOD_COEFS_KERNEL, MOD_STYLES_KERNEL, demodCoefs, modStyles } from '../kernels/draw-styles.js';
import {
  DEMOD_EPILOGUE_KERNEL,
  INTERLEAVE_PHASES_KERNEL,
  demodEpilogue,
  interleavePhases,
} from '../kernels/draw-epilogue.js';
import {
  LRELU_ALPHA,
  LRELU_GAIN,
  conv2dSame,
  fir2d,
  scaledFcWeight,
  upPhase,
  weightSquareSums,
  type WeightConstants,
} from './ops.js';
import type { ParamSet } from './params.js';

const KERNELS = [
  MOD_STYLES_KERNEL,
  DEMOD_COEFS_KERNEL,
  DEMOD_EPILOGUE_KERNEL,
  INTERLEAVE_PHASES_KERNEL,
  BIAS_ACT_KERNEL,
];

/** tfjs-core's engine state: gradientDepth > 0 while a gradient's function runs (tf.grad, variableGrads). */
const recording = (): boolean =>
  ((tf.engine() as unknown as { state: { gradientDepth?: number } }).state.gradientDepth ?? 0) > 0;

/**
 * Whether a frozen generator draws through this file here. Not while a gradient is recorded:
 * a projection differentiates the frozen generator with respect to w and the noise, and these
 * kernels have no gradients. bias_act's fused kernel is among the conditions because the
 * epilogue computes what it computes: where it is missing the composed path's bits would come
 * from tfjs's own add, leakyRelu and mul.
 */
export const drawsFused = (): boolean => !recording() && KERNELS.every(fusedHere);

/** The affine layer's weight times 1/√in: fullyConnected's kept tensor (a generator drawn both ways keeps one). */
const affineWeight = (G: ParamSet, p: string, constants: WeightConstants): tf.Tensor2D =>
  scaledFcWeight(G.get<tf.Tensor2D>(`${p}.affine.weight`), 1, constants);

/**
 * SynthesisLayer for a frozen generator: [N,H,W,in] → [N,res,res,out]. `noise` is the noise
 * already times its strength ([1|N,res,res,1]), or null ('none').
 */
export function drawnSynthesisLayer(
  G: ParamSet,
  p: string,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  up: 1 | 2,
  noise: tf.Tensor4D | null,
  constants: WeightConstants,
): tf.Tensor4D {
  const weight = G.get<tf.Tensor4D>(`${p}.weight`);
  const styles = modStyles(w, affineWeight(G, p, constants), G.get(`${p}.affine.bias`), 1); // [N,1,1,in]
  const dcoefs = demodCoefs(styles, weightSquareSums(weight, constants));
  const scaled = tf.mul(x, styles) as tf.Tensor4D;
  const y =
    up === 2
      ? fir2d(
          interleavePhases([
            upPhase(scaled, weight, constants, 0, 0),
            upPhase(scaled, weight, constants, 0, 1),
            upPhase(scaled, weight, constants, 1, 0),
            upPhase(scaled, weight, constants, 1, 1),
          ]),
          1,
          0,
          4,
        )
      : conv2dSame(scaled, weight);
  return demodEpilogue(y, dcoefs, noise, G.get(`${p}.bias`), { alpha: LRELU_ALPHA, gain: LRELU_GAIN });
}

/** ToRGBLayer for a frozen generator: styles times 1/√in, a 1×1 modulated conv, no demodulation, the bias. */
export function drawnToRgb(
  G: ParamSet,
  p: string,
  x: tf.Tensor4D,
  w: tf.Tensor2D,
  constants: WeightConstants,
): tf.Tensor4D {
  const styles = modStyles(w, affineWeight(G, p, constants), G.get(`${p}.affine.bias`), 1 / Math.sqrt(x.shape[3]));
  const y = tf.conv2d(tf.mul(x, styles) as tf.Tensor4D, G.get<tf.Tensor4D>(`${p}.weight`), 1, 'valid');
  return tf.add(y, G.get<tf.Tensor1D>(`${p}.bias`));
}
