/**
 * StyleGAN2's building blocks in tfjs-core, NHWC throughout. Each follows the reference's
 * `torch_utils/ops` semantics (upfirdn2d, conv2d_resample, bias_act) but is written only with
 * ops whose gradients (registered in grads.ts) are differentiable again, so R1 and path-length
 * regularisation work on every backend: FIR filters are depthwise convolutions with constant
 * kernels (strided for down-sampling), up-sampling convolutions avoid Conv2DBackpropInput and
 * StridedSlice entirely.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spreadSpatial } from './grads.js';
import { fusedHere } from '../kernels/fused.js';
import { FIR_TAPS, UPFIRDN_KERNEL, upFirDn2d } from '../kernels/upfirdn.js';
import { BIAS_ACT_KERNEL, biasAct } from '../kernels/bias-act.js';
import { add, reshape, scale, sum } from '../kernels/lean-ops.js';

export const LRELU_ALPHA = 0.2;
export const LRELU_GAIN = Math.SQRT2;

export { FIR_TAPS };

/** The 2-D filter as the reference stores it (`resample_filter`, [4, 4], sums to 1). */
export function resampleFilter2d(): Float32Array {
  const f = new Float32Array(16);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) f[i * 4 + j] = FIR_TAPS[i]! * FIR_TAPS[j]!;
  return f;
}

/** bias_act(act='lrelu'): leakyRelu(x + b, 0.2) · √2 · gain. b broadcasts over the last axis. */
export function biasLrelu<T extends tf.Tensor>(x: T, bias: tf.Tensor | null, gain = 1): T {
  if (bias && fusedHere(BIAS_ACT_KERNEL)) return biasAct(x, bias, { alpha: LRELU_ALPHA, gain: LRELU_GAIN * gain });
  const z = bias ? tf.add(x, bias) : x;
  return tf.mul(tf.leakyRelu(z, LRELU_ALPHA), LRELU_GAIN * gain) as T;
}

/**
 * Tensors computed from a weight alone (the up-sampling conv's polyphase kernel, the
 * demodulation sums, an FC layer's scaled weight), kept for the life of a generator whose
 * weights no longer change: the gallery's loaded G_ema. Made by the very ops the uncached path
 * runs, so every value is the same to the bit; on wasm they also keep XNNPACK's packed weights
 * (cached per filter tensor), which a kernel rebuilt each call would pack again. Training
 * passes none: its weights change every step and the forward must stay on the gradient tape.
 */
export class WeightConstants {
  readonly #kept = new Map<string, tf.Tensor>();

  of<T extends tf.Tensor>(weight: tf.Tensor, kind: string, make: () => T): T {
    const key = `${weight.id}:${kind}`;
    let t = this.#kept.get(key) as T | undefined;
    if (!t) {
      t = tf.keep(make());
      this.#kept.set(key, t);
    }
    return t;
  }

  dispose(): void {
    for (const t of this.#kept.values()) t.dispose();
    this.#kept.clear();
  }
}

/** `make()`, kept in `constants` under (weight, kind) when there are constants. */
export const derived = <T extends tf.Tensor>(
  constants: WeightConstants | undefined,
  weight: tf.Tensor,
  kind: string,
  make: () => T,
): T => (constants ? constants.of(weight, kind, make) : make());

const firKernels = new Map<string, tf.Tensor4D>();

/**
 * The 4×4 FIR kernel as a depthwise filter [4,4,C,1] scaled by `gain`. Kept for the life of the
 * process (one per backend, channel count and gain), so training does not rebuild constants every
 * step; per backend because a tensor moved onto a GPU backend cannot move back synchronously.
 */
function firKernel(channels: number, gain: number): tf.Tensor4D {
  const key = `${tf.getBackend()}:${channels}:${gain}`;
  let k = firKernels.get(key);
  if (!k) {
    const taps = resampleFilter2d();
    const data = new Float32Array(16 * channels);
    for (let t = 0; t < 16; t++) data.fill(taps[t]! * gain, t * channels, (t + 1) * channels);
    k = tf.keep(tf.tensor4d(data, [4, 4, channels, 1]));
    firKernels.set(key, k);
  }
  return k;
}

/**
 * Whether the FIR filters take the fused upfirdn2d: wherever it is registered for the backend,
 * training and drawing alike. Its separable sum rounds differently from the depthwise
 * convolution's (float32 rounding: a bird's byte off by one in ~10⁻⁴ of them), a change of
 * bytes recorded in docs/DECISIONS.md ("The FIR filters are fused when a bird is drawn too").
 */
const fusedFir = (): boolean => fusedHere(UPFIRDN_KERNEL);

/**
 * upfirdn2d's FIR: zero-pad by [before, after] on both axes, then filter with the 4×4 kernel
 * (symmetric, so correlation = convolution) times `gain`, optionally keeping every `stride`-th
 * sample. A depthwise convolution: one pass over memory, and XNNPACK runs it fast on wasm.
 * [N,H,W,C] → [N,(H+before+after−4)/stride+1,…,C]
 */
export function fir2d(x: tf.Tensor4D, before: number, after: number, gain = 1, stride: 1 | 2 = 1): tf.Tensor4D {
  if (fusedFir()) return upFirDn2d(x, { up: 1, down: stride, padY: [before, after], padX: [before, after], gain });
  const xp =
    before || after
      ? tf.pad(x, [
          [0, 0],
          [before, after],
          [before, after],
          [0, 0],
        ])
      : x;
  return tf.depthwiseConv2d(xp, firKernel(x.shape[3], gain), stride, 'valid');
}

/**
 * Zero-stuffing: [N,H,W,C] → [N,2H,2W,C] with x at even positions and zeros between
 * (upfirdn2d's up=2, for the 3-channel image path).
 */
export function zeroStuff2x(x: tf.Tensor4D): tf.Tensor4D {
  return spreadSpatial(x, 2);
}

/** upfirdn2d.upsample2d(x, f): [N,H,W,C] → [N,2H,2W,C], FIR-filtered, gain 4 (keeps the mean). */
export function upsample2d(x: tf.Tensor4D): tf.Tensor4D {
  if (fusedFir()) return upFirDn2d(x, { up: 2, down: 1, padY: [2, 1], padX: [2, 1], gain: 4 });
  return fir2d(zeroStuff2x(x), 2, 1, 4);
}

/**
 * upfirdn2d.downsample2d(x, f) as D's 1×1 skip uses it: pad 1, FIR, keep even samples (one strided
 * pass). [N,H,W,C] → [N,H/2,W/2,C].
 */
export function downsample2d(x: tf.Tensor4D): tf.Tensor4D {
  return fir2d(x, 1, 1, 1, 2);
}

/**
 * conv2d_resample with up=2 (stride-2 transposed 3×3 conv, then FIR with gain 4), computed in
 * polyphase form. The transposed conv's output ct (2H+1 per axis) interleaves four phases:
 * per axis, even outputs ct[2m] = x[m]·w[0] + x[m−1]·w[2] and odd ones ct[2m+1] = x[m]·w[1].
 * All four phases come out of ONE 2×2 convolution over x padded by 1, with 4·out channels
 * (each phase's taps placed in its own channel block), which skips the zeros a stride-2
 * transposed conv (or a conv over the zero-stuffed input) would multiply: 16 taps per output
 * quad instead of 36. A reshape + transpose interleaves the phases; their last row and column
 * are the zero padding the FIR needs. `weight` is [3,3,in,out] as tfjs stores it.
 * [N,H,W,in] → [N,2H,2W,out]
 */
export function conv2dUp2(x: tf.Tensor4D, weight: tf.Tensor4D, constants?: WeightConstants): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const cout = weight.shape[3];
  if (constants) return fir2d(phasesApart(x, weight, constants), 1, 0, 4);
  const phases = tf.conv2d(
    tf.pad(x, [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ]),
    polyphaseKernel(weight),
    1,
    'valid',
  ); // [N,H+1,W+1,4·out]
  // Interleave: phases[n, i, j, (r·2+s)·out + o] → ct[n, 2i+r, 2j+s, o], with 4-D tensors only
  // (tfjs-webgpu's transpose does not compile above four dimensions): rows (r) by one transpose
  // of [N·(H+1), W+1, 2, 2·out]; columns (s, o) are already in place.
  const byRow = tf.transpose(reshape(phases, [n * (h + 1), w + 1, 2, 2 * cout]), [0, 2, 1, 3]);
  const interleaved = reshape<tf.Tensor4D>(byRow, [n, 2 * h + 2, 2 * w + 2, cout]); // ct + a zero row and column
  return fir2d(interleaved, 1, 0, 4); // = FIR of ct padded [1, 1]: [N,2H,2W,out]
}

/**
 * The same interleaved phases as conv2dUp2's single convolution, for a frozen generator: each
 * phase convolved with only its own taps (2×2, 2×1, 1×2 and 1×1: 9 per output quad instead of
 * 16, the other 7 being zero blocks). XNNPACK sums the taps in window order, one after another,
 * and a zero block only adds exact zeros, so the values are the same to the bit (tested); the
 * zero rows and columns come from the convolution's own padding. Training keeps the single
 * convolution, whose gradients are the ones tested. → [N,2H+2,2W+2,out], ct plus a zero row and column.
 */
function phasesApart(x: tf.Tensor4D, weight: tf.Tensor4D, constants: WeightConstants): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const cout = weight.shape[3];
  const phase = (r: number, s: number): tf.Tensor4D => upPhase(x, weight, constants, r, s);
  // Columns: (s, o) side by side is the interleaved row; rows: row r = 0 then r = 1 per i.
  const row = (r: number): tf.Tensor4D =>
    tf.reshape(tf.concat([phase(r, 0), phase(r, 1)], 3), [n, h + 1, 2 * w + 2, cout]);
  return tf.reshape(tf.concat([row(0), row(1)], 2), [n, 2 * h + 2, 2 * w + 2, cout]);
}

/** Phase (r, s) of the up-sampling conv for a frozen generator: [N,H,W,in] → [N,H+1,W+1,out] (phasesApart). */
export function upPhase(
  x: tf.Tensor4D,
  weight: tf.Tensor4D,
  constants: WeightConstants,
  r: number,
  s: number,
): tf.Tensor4D {
  return tf.conv2d(
    x,
    constants.of(weight, `up2-phase${r}${s}`, () => phaseKernel(weight, r, s)),
    1,
    [
      [0, 0],
      [1 - r, 1],
      [1 - s, 1],
      [0, 0],
    ],
  ); // [N,H+1,W+1,out]
}

/** Which weight row (column) feeds window offset t for output parity r: even ← [2, 0], odd ← [none, 1]. */
const PHASE_SOURCE: (number | null)[][] = [
  [2, 0],
  [null, 1],
];

/** Phase (r, s)'s own taps of a 3×3 weight, in window order: [2|1, 2|1, in, out]. */
function phaseKernel(weight: tf.Tensor4D, r: number, s: number): tf.Tensor4D {
  const rows = PHASE_SOURCE[r]!.filter((a): a is number => a !== null);
  const cols = PHASE_SOURCE[s]!.filter((b): b is number => b !== null);
  const [, , cin, cout] = weight.shape;
  const tap = (a: number, b: number): tf.Tensor4D => tf.slice(weight, [a, b, 0, 0], [1, 1, cin, cout]);
  return tf.concat(
    rows.map((a) =>
      tf.concat(
        cols.map((b) => tap(a, b)),
        1,
      ),
    ),
    0,
  );
}

/**
 * Where each 3×3 tap goes in conv2dUp2's 2×2 kernel: a 0/1 matrix [16, 9], row (t, u, r, s) —
 * window offset (t, u) of phase block (r, s) — and column a·3 + b for tap (a, b); a row of zeros
 * where the phase has no tap at that offset. Each tap lands exactly once.
 */
const POLYPHASE_SELECT: Float32Array = (() => {
  const m = new Float32Array(16 * 9);
  for (let t = 0; t < 2; t++)
    for (let u = 0; u < 2; u++)
      for (let r = 0; r < 2; r++)
        for (let s = 0; s < 2; s++) {
          const a = PHASE_SOURCE[r]![t]!;
          const b = PHASE_SOURCE[s]![u]!;
          if (a !== null && b !== null) m[(((t * 2 + u) * 2 + r) * 2 + s) * 9 + a * 3 + b] = 1;
        }
  return m;
})();

/**
 * conv2dUp2's 2×2 kernel [2,2,in,4·out]: the 3×3 weight's taps placed in the four phase blocks
 * (block (r, s) at channels (r·2+s)·out…). One product with the constant 0/1 POLYPHASE_SELECT
 * and a transpose, because training builds this kernel in every pass that runs G and
 * differentiates through it: taps sliced and concatenated one by one cost ~100 kernels a layer,
 * forward and backward, this ~10. The values are the same to the bit, and so is the weight's
 * gradient: every entry is one tap times 1 plus exact zeros (test/unit/gan-polyphase.test.ts).
 */
export function polyphaseKernel(weight: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, cin, cout] = weight.shape;
  if (kh !== 3 || kw !== 3) throw new RangeError('conv2dUp2 is written for 3×3 kernels');
  const taps = tf.matMul(tf.tensor2d(POLYPHASE_SELECT, [16, 9]), reshape(weight, [9, cin * cout])); // [16, in·out]
  // (t·2+u, r·2+s, in, out) → (t·2+u, in, r·2+s, out)
  const blocks = tf.transpose(reshape(taps, [4, 4, cin, cout]), [0, 2, 1, 3]);
  return reshape<tf.Tensor4D>(blocks, [2, 2, cin, 4 * cout]);
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

/** The demodulation's Σ over the taps of weight² [in,out]; kept under 'wsq' while a model is loaded. */
export const weightSquareSums = (weight: tf.Tensor4D, constants?: WeightConstants): tf.Tensor2D =>
  derived(constants, weight, 'wsq', () => sum<tf.Tensor2D>(tf.square(weight), [0, 1]));

/** A fully connected layer's weight times lr/√in (equalized learning rate); kept under its gain. */
export function scaledFcWeight(weight: tf.Tensor2D, lr: number, constants?: WeightConstants): tf.Tensor2D {
  const gain = lr / Math.sqrt(weight.shape[0]);
  return derived(constants, weight, `fc×${gain}`, () => scale<tf.Tensor2D>(weight, gain));
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
  opts: { demodulate: boolean; up: 1 | 2; constants?: WeightConstants },
): tf.Tensor4D {
  const [n, , , cin] = x.shape;
  const cout = weight.shape[3];
  const scaled = tf.mul(x, reshape(styles, [n, 1, 1, cin])) as tf.Tensor4D;
  let y =
    opts.up === 2
      ? conv2dUp2(scaled, weight, opts.constants)
      : weight.shape[0] === 1
        ? tf.conv2d(scaled, weight, 1, 'valid')
        : conv2dSame(scaled, weight);
  if (opts.demodulate) {
    const wsq = weightSquareSums(weight, opts.constants); // [in,out]
    const dcoefs = tf.rsqrt(add(tf.matMul(tf.square(styles), wsq), 1e-8)); // [N,out]
    y = tf.mul(y, reshape(dcoefs, [n, 1, 1, cout])) as tf.Tensor4D;
  }
  return y;
}

/** FullyConnectedLayer: x·(W·lrMul/√in) + b·lrMul, then lrelu·√2 or linear. x [N,in], W [in,out] → [N,out]. */
export function fullyConnected(
  x: tf.Tensor2D,
  weight: tf.Tensor2D,
  bias: tf.Tensor | null,
  opts: { lrMultiplier?: number; activation: 'lrelu' | 'linear'; constants?: WeightConstants },
): tf.Tensor2D {
  const lr = opts.lrMultiplier ?? 1;
  const y = tf.matMul(x, scaledFcWeight(weight, lr, opts.constants)) as tf.Tensor2D;
  const b = bias ? (lr === 1 ? bias : derived(opts.constants, bias, `×${lr}`, () => scale(bias, lr))) : null;
  if (opts.activation === 'lrelu') return biasLrelu(y, b);
  return b ? add<tf.Tensor2D>(y, b) : y;
}

/** normalize_2nd_moment: x · rsqrt(mean(x², axis 1) + 1e-8). [N,D] → [N,D] */
export function normalize2ndMoment(x: tf.Tensor2D): tf.Tensor2D {
  return tf.mul(x, tf.rsqrt(add(tf.mean(tf.square(x), 1, true), 1e-8)));
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
  // At most 4-D throughout (tfjs-webgpu's programs compile up to four): pixels and channels
  // flattened, then the channels split into F groups.
  let y: tf.Tensor = tf.reshape(x, [g, n / g, h * w, c]); // [G,n,HW,C]
  y = tf.sub(y, tf.mean(y, 0)); // subtract the group mean
  y = tf.mean(tf.square(y), 0); // [n,HW,C] variance over the group
  y = tf.sqrt(tf.add(y, 1e-8)); // stddev
  y = tf.mean(tf.reshape(y, [n / g, h * w, f, c / f]), [1, 3]); // [n,F] average over pixels and channels
  y = tf.tile(tf.reshape(y, [n / g, 1, 1, f]), [g, h, w, 1]); // [N,H,W,F]
  return tf.concat([x, y as tf.Tensor4D], 3);
}
