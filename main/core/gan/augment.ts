/**
 * Adaptive discriminator augmentation (Karras et al. 2020, the reference's `training/augment.py`
 * 'bgc' pipeline): every image D sees is augmented, each transform applied with probability p,
 * differentiably (G learns through it and R1 differentiates through it).
 *
 * Geometric: x-flip, 90° rotations, integer translation (±1/8 of the side), isotropic and
 * anisotropic scaling (lognormal, σ = 0.2 octaves) — combined per sample into one optional
 * H↔W transpose and two separable interpolation matrices (rows, columns) with mirror padding,
 * applied as batched matrix products. Bilinear interpolation replaces the reference's
 * wavelet-filtered resampling (a simplification: scaled images are slightly softer).
 * Colour: brightness, contrast, luma flip, hue rotation, saturation — combined per sample into
 * one 3×4 matrix in RGB, as the reference does.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RandomState } from './rng.js';

export interface AugmentStrengths {
  translateMax: number; // integer translation range, fraction of the side
  scaleStd: number; // isotropic scaling, std in octaves
  anisoStd: number; // anisotropic scaling, std in octaves
  brightnessStd: number; // additive, in [-1, 1] image units
  contrastStd: number; // multiplicative, std in octaves
  hueMax: number; // hue rotation, fraction of a half-turn
  saturationStd: number; // std in octaves
}

export const DEFAULT_STRENGTHS: AugmentStrengths = {
  translateMax: 0.125,
  scaleStd: 0.2,
  anisoStd: 0.2,
  brightnessStd: 0.2,
  contrastStd: 0.5,
  hueMax: 1,
  saturationStd: 1,
};

/** Per-sample draws, made on the CPU from the trainer's RandomState (so runs are reproducible). */
export interface AugmentPlan {
  transpose: Float32Array; // [N] 1 = swap H and W (odd quarter-turns)
  rows: Float32Array; // [N,H,H] output row ← input rows
  cols: Float32Array; // [N,W,W] output column ← input columns
  colour: Float32Array; // [N,3,3] applied as x·M
  colourBias: Float32Array; // [N,3]
  geometric: boolean; // any sample has a geometric change
  coloured: boolean; // any sample has a colour change
}

const mirror = (i: number, n: number): number => {
  const period = 2 * n;
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - 1 - j;
  return j;
};

/**
 * Interpolation matrix [n,n]: out[o] = Σ_i m[o,i]·in[i], for out coordinate o ← in coordinate
 * (o − c)/scale + c − shift, optionally flipped.
 */
function axisMatrix(n: number, scale: number, shift: number, flip: boolean, out: Float32Array, offset: number): void {
  const c = n / 2;
  for (let o = 0; o < n; o++) {
    let u = (o + 0.5 - c) / scale + c - shift - 0.5;
    if (flip) u = n - 1 - u;
    const i0 = Math.floor(u);
    const frac = u - i0;
    out[offset + o * n + mirror(i0, n)]! += 1 - frac;
    if (frac > 0) out[offset + o * n + mirror(i0 + 1, n)]! += frac;
  }
}

/** Draws one batch's augmentations with probability p each. */
export function planAugment(
  rng: RandomState,
  n: number,
  size: number,
  p: number,
  s: AugmentStrengths = DEFAULT_STRENGTHS,
): AugmentPlan {
  const plan: AugmentPlan = {
    transpose: new Float32Array(n),
    rows: new Float32Array(n * size * size),
    cols: new Float32Array(n * size * size),
    colour: new Float32Array(n * 9),
    colourBias: new Float32Array(n * 3),
    geometric: false,
    coloured: false,
  };
  const chance = (): boolean => rng.random() < p;
  const octaves = (std: number): number => 2 ** (rng.gauss() * std);
  for (let k = 0; k < n; k++) {
    // ── geometric ──
    let flipX = chance() && rng.random() < 0.5;
    let flipY = false;
    const quarter = chance() ? Math.floor(rng.random() * 4) : 0;
    // rot90 = transpose then flip: k=1 flips rows, k=2 flips both, k=3 flips columns.
    if (quarter === 1) flipY = !flipY;
    if (quarter === 2) {
      flipX = !flipX;
      flipY = !flipY;
    }
    if (quarter === 3) flipX = !flipX;
    let tx = 0;
    let ty = 0;
    if (chance()) {
      tx = Math.round((rng.random() * 2 - 1) * s.translateMax * size);
      ty = Math.round((rng.random() * 2 - 1) * s.translateMax * size);
    }
    let sx = 1;
    let sy = 1;
    if (chance()) {
      const iso = octaves(s.scaleStd);
      sx *= iso;
      sy *= iso;
    }
    if (chance()) {
      const an = octaves(s.anisoStd);
      sx *= an;
      sy /= an;
    }
    plan.transpose[k] = quarter % 2;
    axisMatrix(size, sy, ty, flipY, plan.rows, k * size * size);
    axisMatrix(size, sx, tx, flipX, plan.cols, k * size * size);
    if (flipX || flipY || quarter || tx || ty || sx !== 1 || sy !== 1) plan.geometric = true;

    // ── colour, as a 4×4 homogeneous matrix on RGB (the luma axis v = [1,1,1]/√3) ──
    let C = identity4();
    if (chance()) C = mul4(translate4(rng.gauss() * s.brightnessStd), C);
    if (chance()) C = mul4(scale4(octaves(s.contrastStd)), C);
    const v = [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)];
    if (chance() && rng.random() < 0.5) C = mul4(householder4(v), C);
    if (chance()) C = mul4(rotate4(v, (rng.random() * 2 - 1) * Math.PI * s.hueMax), C);
    if (chance()) C = mul4(saturate4(v, octaves(s.saturationStd)), C);
    // x' = C·[x;1] → as a row vector: x'ᵀ = xᵀ·C[:3,:3]ᵀ + C[:3,3]
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) plan.colour[k * 9 + j * 3 + i] = C[i * 4 + j]!;
      plan.colourBias[k * 3 + i] = C[i * 4 + 3]!;
    }
    if (!isIdentity4(C)) plan.coloured = true;
  }
  return plan;
}

/** Applies a plan to images [N,H,W,3] (square). Differentiable in the images. */
export function applyAugment(x: tf.Tensor4D, plan: AugmentPlan): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  let y = x;
  if (plan.geometric) {
    const t = tf.reshape(tf.tensor1d(plan.transpose), [n, 1, 1, 1]);
    const swapped = tf.transpose(y, [0, 2, 1, 3]) as tf.Tensor4D;
    y = tf.add(tf.mul(swapped, t), tf.mul(y, tf.sub(1, t))) as tf.Tensor4D;
    // rows: [N,H,H] @ [N,H,W·C]
    y = tf.reshape(tf.matMul(tf.tensor3d(plan.rows, [n, h, h]), tf.reshape(y, [n, h, w * c])), [n, h, w, c]);
    // columns: work on the transposed image so it is again a plain (fast) batched product
    const yt = tf.reshape(tf.transpose(y, [0, 2, 1, 3]), [n, w, h * c]);
    y = tf.transpose(
      tf.reshape(tf.matMul(tf.tensor3d(plan.cols, [n, w, w]), yt), [n, w, h, c]),
      [0, 2, 1, 3],
    ) as tf.Tensor4D;
  }
  if (plan.coloured) {
    const flat = tf.reshape(y, [n, h * w, c]);
    const mixed = tf.add(
      tf.matMul(flat, tf.tensor3d(plan.colour, [n, 3, 3])),
      tf.reshape(tf.tensor2d(plan.colourBias, [n, 3]), [n, 1, 3]),
    );
    y = tf.reshape(mixed, [n, h, w, c]);
  }
  return y;
}

// ── 4×4 homogeneous colour matrices (row-major) ──
type M4 = number[];
const identity4 = (): M4 => [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
const isIdentity4 = (m: M4): boolean => identity4().every((v, i) => Math.abs(v - m[i]!) < 1e-12);
function mul4(a: M4, b: M4): M4 {
  const out = new Array<number>(16).fill(0);
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) for (let k = 0; k < 4; k++) out[i * 4 + j]! += a[i * 4 + k]! * b[k * 4 + j]!;
  return out;
}
const translate4 = (t: number): M4 => [1, 0, 0, t, 0, 1, 0, t, 0, 0, 1, t, 0, 0, 0, 1];
const scale4 = (s: number): M4 => [s, 0, 0, 0, 0, s, 0, 0, 0, 0, s, 0, 0, 0, 0, 1];
/** I − 2vvᵀ: reflects colours through the plane orthogonal to the luma axis (luma flip). */
function householder4(v: number[]): M4 {
  const m = identity4();
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) m[i * 4 + j]! -= 2 * v[i]! * v[j]!;
  return m;
}
/** Rotation by θ about the luma axis (hue). */
function rotate4(v: number[], theta: number): M4 {
  const [x, y, z] = v as [number, number, number];
  const c = Math.cos(theta);
  const s = Math.sin(theta);
  const t = 1 - c;
  return [
    t * x * x + c,
    t * x * y - s * z,
    t * x * z + s * y,
    0,
    t * x * y + s * z,
    t * y * y + c,
    t * y * z - s * x,
    0,
    t * x * z - s * y,
    t * y * z + s * x,
    t * z * z + c,
    0,
    0,
    0,
    0,
    1,
  ];
}
/** vvᵀ + (I − vvᵀ)·s: scales the chroma, keeps the luma (saturation). */
function saturate4(v: number[], s: number): M4 {
  const m = identity4();
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) m[i * 4 + j] = v[i]! * v[j]! + ((i === j ? 1 : 0) - v[i]! * v[j]!) * s;
  return m;
}
