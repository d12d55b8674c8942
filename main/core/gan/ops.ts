/**
 * StyleGAN2's building blocks in tfjs-core, NHWC throughout. Each follows the reference's
 * `torch_utils/ops` semantics (upfirdn2d, conv2d_resample, bias_act) but is written only with
 * ops whose gradients are differentiable again, so R1 and path-length regularisation work on
 * every backend: FIR filters are sums of shifted slices (no depthwise convolution), strided
 * down-sampling is a reshape + slice (no StridedSlice), up-sampling is zero-stuffing + a plain
 * convolution (no Conv2DBackpropInput).
 */
import * as tf from '@tensorflow/tfjs-core';

export const LRELU_ALPHA = 0.2;
export const LRELU_GAIN = Math.SQRT2;

/** The resampling filter [1,3,3,1] ⊗ [1,3,3,1] / 64, separable: one axis is [1,3,3,1] / 8. */
export const FIR_TAPS = [1 / 8, 3 / 8, 3 / 8, 1 / 8] as const;

/** The 2-D filter as the reference stores it (`resample_filter`, [4, 4], sums to 1). */
export function resampleFilter2d(): Float32Array {
  const f = new Float32Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) f[i * 4 + j] = FIR_TAPS[i]! * FIR_TAPS[j]!;
  return f;
}

/** bias_act(act='lrelu'): leakyRelu(x + b, 0.2) · √2 · gain. b broadcasts over the last axis. */
export function biasLrelu<T extends tf.Tensor>(x: T, bias: tf.Tensor | null, gain = 1): T {
  const z = bias ? tf.add(x, bias) : x;
  return tf.mul(tf.leakyRelu(z, LRELU_ALPHA), LRELU_GAIN * gain) as T;
}

/**
 * One FIR pass along a spatial axis (1 = H, 2 = W) of [N,H,W,C]: zero-pad by (before, after),
 * then y[i] = Σ_k taps[k] · x[i + k] (the taps are symmetric, so correlation = convolution).
 */
export function fir1d(x: tf.Tensor4D, axis: 1 | 2, before: number, after: number, gain = 1): tf.Tensor4D {
  const padding: [number, number][] = [[0, 0], [0, 0], [0, 0], [0, 0]];
  padding[axis] = [before, after];
  const xp = before || after ? tf.pad(x, padding) : x;
  const len = xp.shape[axis] - FIR_TAPS.length + 1;
  const size: [number, number, number, number] = [...xp.shape];
  size[axis] = len;
  const terms = FIR_TAPS.map((t, k) => {
    const begin: [number, number, number, number] = [0, 0, 0, 0];
    begin[axis] = k;
    return tf.mul(tf.slice(xp, begin, size), t * gain);
  });
  return tf.addN(terms) as tf.Tensor4D;
}

/** 2-D FIR with padding [before, after] on both axes; `gain` is the total (split over the two axes). */
export function fir2d(x: tf.Tensor4D, before: number, after: number, gain = 1): tf.Tensor4D {
  const g = Math.sqrt(gain);
  return fir1d(fir1d(x, 1, before, after, g), 2, before, after, g);
}

/** Zero-stuffing: [N,H,W,C] → [N,2H,2W,C] with x at even positions and zeros between (upfirdn2d's up=2). */
export function zeroStuff2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const spread = tf.pad(tf.reshape(x, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, 1], [0, 0], [0, 1], [0, 0]]);
  return tf.reshape(spread, [n, 2 * h, 2 * w, c]);
}

/** Keeps even rows and columns: [N,2H,2W,C] → [N,H,W,C] (upfirdn2d's down=2). */
export function takeEven2x(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h2, w2, c] = x.shape;
  const h = h2 / 2;
  const w = w2 / 2;
  const grouped = tf.reshape(x, [n, h, 2, w, 2, c]);
  return tf.reshape(tf.slice(grouped, [0, 0, 0, 0, 0, 0], [n, h, 1, w, 1, c]), [n, h, w, c]);
}

/** upfirdn2d.upsample2d(x, f): [N,H,W,C] → [N,2H,2W,C], FIR-filtered, gain 4 (keeps the mean). */
export function upsample2d(x: tf.Tensor4D): tf.Tensor4D {
  return fir2d(zeroStuff2x(x), 2, 1, 4);
}

/** upfirdn2d.downsample2d(x, f) as D's 1×1 skip uses it: pad 1, FIR, keep even samples. [N,H,W,C] → [N,H/2,W/2,C]. */
export function downsample2d(x: tf.Tensor4D): tf.Tensor4D {
  const filtered = fir2d(x, 1, 1); // [N,H-1,W-1,C]
  const evenable = tf.pad(filtered, [[0, 0], [0, 1], [0, 1], [0, 0]]); // [N,H,W,C]: the padded row is never kept
  return takeEven2x(evenable);
}

/**
 * conv2d_resample with up=2 (transposed stride-2 conv, then FIR with gain 4) for a kh×kw
 * kernel with padding kh/2. `weight` is [kh,kw,in,out] in correlation form (as tfjs stores it).
 * The transposed convolution is a correlation of the zero-stuffed input with the kernel turned
 * 180°; the FIR then removes the stuffing's aliasing. [N,H,W,in] → [N,2H,2W,out].
 */
export function conv2dUp2(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  if (weight.shape[0] !== 3 || weight.shape[1] !== 3) throw new RangeError('conv2dUp2 is written for 3×3 kernels');
  // conv_transpose2d(x, w, stride 2) == correlate(zero-stuffed x padded [2, 1], w turned 180°)
  const stuffed = tf.pad(zeroStuff2x(x), [[0, 0], [2, 1], [2, 1], [0, 0]]); // [N,2H+3,2W+3,in]
  const y = tf.conv2d(stuffed, tf.reverse(weight, [0, 1]) as tf.Tensor4D, 1, 'valid'); // [N,2H+1,2W+1,out]
  // The reference's padding arithmetic leaves [1, 1] for the FIR after a 3×3 transposed conv.
  return fir2d(y, 1, 1, 4); // [N,2H,2W,out]
}

/**
 * conv2d_resample with down=2 for a 3×3 kernel: FIR with padding 2, then a stride-2 correlation.
 * [N,H,W,in] → [N,H/2,W/2,out].
 */
export function conv2dDown2(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(fir2d(x, 2, 2), weight, 2, 'valid');
}

/** Same-size correlation (padding k/2). */
export function conv2dSame(x: tf.Tensor4D, weight: tf.Tensor4D): tf.Tensor4D {
  return tf.conv2d(x, weight, 1, 'same');
}

/**
 * Modulated convolution in the input-scaling form (DESIGN.md): scale the input channels by the
 * styles, convolve with the shared weight, scale the output channels by the per-sample
 * demodulation coefficients rsqrt(Σ_{in,kh,kw} (weight·style)² + 1e-8). Mathematically equal to
 * modulating the weight per sample (the reference's fused grouped convolution).
 *   x [N,H,W,in], weight [kh,kw,in,out], styles [N,in] → [N,H',W',out]
 */
export function modulatedConv2d(
  x: tf.Tensor4D,
  weight: tf.Tensor4D,
  styles: tf.Tensor2D,
  opts: { demodulate: boolean; up: 1 | 2 },
): tf.Tensor4D {
  const [n, , , cin] = x.shape;
  const cout = weight.shape[3];
  const scaled = tf.mul(x, tf.reshape(styles, [n, 1, 1, cin])) as tf.Tensor4D;
  let y = opts.up === 2 ? conv2dUp2(scaled, weight) : weight.shape[0] === 1 ? tf.conv2d(scaled, weight, 1, 'valid') : conv2dSame(scaled, weight);
  if (opts.demodulate) {
    const wsq = tf.sum(tf.square(weight), [0, 1]) as tf.Tensor2D; // [in,out]
    const dcoefs = tf.rsqrt(tf.add(tf.matMul(tf.square(styles), wsq), 1e-8)); // [N,out]
    y = tf.mul(y, tf.reshape(dcoefs, [n, 1, 1, cout])) as tf.Tensor4D;
  }
  return y;
}

/** FullyConnectedLayer: x·(W·lrMul/√in) + b·lrMul, then lrelu·√2 or linear. x [N,in], W [in,out] → [N,out]. */
export function fullyConnected(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor | null,
  opts: { lrMultiplier?: number; activation: 'lrelu' | 'linear' },
): tf.Tensor2D {
  const lr = opts.lrMultiplier ?? 1;
  const gain = lr / Math.sqrt(weight.shape[0]);
  const y = tf.matMul(x, tf.mul(weight, gain) as tf.Tensor2D) as tf.Tensor2D;
  const b = bias ? (lr === 1 ? bias : tf.mul(bias, lr)) : null;
  if (opts.activation === 'lrelu') return biasLrelu(y, b);
  return b ? (tf.add(y, b) as tf.Tensor2D) : y;
}

/** normalize_2nd_moment: x · rsqrt(mean(x², axis 1) + 1e-8). [N,D] → [N,D] */
export function normalize2ndMoment(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-8)));
}

/**
 * Minibatch standard deviation (group size G, F feature channels): the batch is split into
 * groups of samples n, n + N/G, …; each group's stddev, averaged over channels and pixels,
 * is appended as F constant channels. [N,H,W,C] → [N,H,W,C+F].
 */
export function minibatchStd(x: tf.Tensor4D, groupSize: number, numChannels = 1): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = Math.min(groupSize, n);
  if (n % g !== 0) throw new RangeError(`batch ${n} is not divisible by the minibatch-stddev group ${g}`);
  const f = numChannels;
  let y: tf.Tensor = tf.reshape(x, [g, n / g, h, w, f, c / f]); // [G,n,H,W,F,c]
  y = tf.sub(y, tf.mean(y, 0)); // subtract the group mean
  y = tf.mean(tf.square(y), 0); // [n,H,W,F,c] variance over the group
  y = tf.sqrt(tf.add(y, 1e-8)); // stddev
  y = tf.mean(y, [1, 2, 4]); // [n,F] average over pixels and channels
  y = tf.tile(tf.reshape(y, [n / g, 1, 1, f]), [g, h, w, 1]); // [N,H,W,F]
  return tf.concat([x, y as tf.Tensor4D], 3);
}
