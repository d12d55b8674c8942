/**
 * Kernel inception distance, as the reference's metrics/kernel_inception_distance.py computes it:
 * the unbiased estimate of the squared MMD between generated and real features under the cubic
 * polynomial kernel k(x, y) = (xᵀy/d + 1)³, averaged over random subsets of m = min(generated,
 * reals) of each, reported with the spread (standard deviation) of the subsets' values. Unbiased,
 * so it is usable with a few hundred reals (FID is biased at this size, and its covariance is
 * singular below 768 images); a set against itself scores about 0, either side of it.
 *
 * The kernel matrices are computed once on the tfjs backend; subsets only index into them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RandomState } from '../gan/rng.js';
import { FEATURE_DIM } from './feature-net.js';

/** Subsets averaged (the reference's num_subsets). */
export const KID_SUBSETS = 100;
/** Reals or generated images taken into the kernel matrices at most: 5,000² floats is 100 MB. */
export const MAX_KID_IMAGES = 5000;

export interface KidResult {
  kid: number;
  /** Standard deviation of the subsets' estimates. */
  kidStd: number;
  /** Images per subset, of each side. */
  subsetSize: number;
  subsets: number;
}

const rows = (f: Float32Array, d: number): number => {
  if (f.length % d !== 0) throw new RangeError(`features of length ${f.length} are not rows of ${d}`);
  return f.length / d;
};

/** (A Bᵀ/d + 1)³ for A [n,d], B [m,d], read back as [n·m]. */
async function kernel(a: Float32Array, b: Float32Array, d: number): Promise<Float32Array> {
  const k = tf.tidy(() => {
    const ta = tf.tensor2d(a, [rows(a, d), d]);
    const tb = tf.tensor2d(b, [rows(b, d), d]);
    return tf.pow(tf.add(tf.div(tf.matMul(ta, tb, false, true), d), 1), 3); // [n,m]
  });
  try {
    return (await k.data()) as Float32Array;
  } finally {
    k.dispose();
  }
}

/** k distinct indices of 0..n-1 (a partial Fisher–Yates shuffle). */
function choose(rng: RandomState, n: number, k: number): Uint32Array {
  const idx = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = rng.integer(i, n);
    [idx[i], idx[j]] = [idx[j]!, idx[i]!];
  }
  return idx.subarray(0, k);
}

/**
 * KID between generated features `gen` and real features `real` (rows of `d`). `seed` makes the
 * subsets (and so the result) reproducible.
 */
export async function kernelInceptionDistance(
  gen: Float32Array,
  real: Float32Array,
  opts: { subsets?: number; seed?: number; d?: number } = {},
): Promise<KidResult> {
  const d = opts.d ?? FEATURE_DIM;
  const n = rows(gen, d);
  const r = rows(real, d);
  const m = Math.min(n, r);
  if (m < 2) throw new RangeError(`KID needs at least 2 images on each side (got ${n} generated, ${r} real)`);
  if (n > MAX_KID_IMAGES || r > MAX_KID_IMAGES)
    throw new RangeError(`KID takes at most ${MAX_KID_IMAGES} images of each side (got ${n} and ${r})`);
  const subsets = opts.subsets ?? KID_SUBSETS;
  const kxx = await kernel(gen, gen, d); // [n,n]
  const kyy = await kernel(real, real, d); // [r,r]
  const kxy = await kernel(gen, real, d); // [n,r]
  const rng = new RandomState(opts.seed ?? 0);
  const values: number[] = [];
  for (let s = 0; s < subsets; s++) {
    const x = choose(rng, n, m);
    const y = choose(rng, r, m);
    let a = 0; // Σ_{i≠j} k(x_i,x_j) + k(y_i,y_j)
    let b = 0; // Σ_{i,j} k(x_i,y_j)
    for (let i = 0; i < m; i++) {
      const xi = x[i]! * n;
      const yi = y[i]! * r;
      const xyi = x[i]! * r;
      for (let j = 0; j < m; j++) {
        if (i !== j) a += kxx[xi + x[j]!]! + kyy[yi + y[j]!]!;
        b += kxy[xyi + y[j]!]!;
      }
    }
    values.push((a / (m - 1) - (2 * b) / m) / m);
  }
  const kid = values.reduce((s, v) => s + v, 0) / subsets;
  const variance = values.reduce((s, v) => s + (v - kid) ** 2, 0) / Math.max(1, subsets - 1);
  return { kid, kidStd: Math.sqrt(variance), subsetSize: m, subsets };
}
