/**
 * Nearest training images in feature space, and the memorisation rate of a set of birds.
 *
 * Distances are Euclidean (L2) between the 768-d pooled features, the same space and scale KID
 * scores in: an image and its exact copy are at 0, and "how close" means the same thing for the
 * closest plates, the memorisation rate and the quality score. (Cosine distance would ignore the
 * features' overall magnitude, which the pooled ReLU maps carry as contrast and texture energy.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { FEATURE_DIM } from './feature-net.js';

export interface Neighbour {
  /** Row in the reals. */
  index: number;
  distance: number;
}

/** Squared L2 distances [n × m] between the rows of a [n,d] and b [m,d], on the backend. */
export async function squaredDistances(a: Float32Array, b: Float32Array, d = FEATURE_DIM): Promise<Float32Array> {
  const n = a.length / d;
  const m = b.length / d;
  const t = tf.tidy(() => {
    const ta = tf.tensor2d(a, [n, d]);
    const tb = tf.tensor2d(b, [m, d]);
    const aa = tf.sum(tf.square(ta), 1, true); // [n,1]
    const bb = tf.reshape(tf.sum(tf.square(tb), 1), [1, m]); // [1,m]
    return tf.relu(tf.sub(tf.add(aa, bb), tf.mul(tf.matMul(ta, tb, false, true), 2))); // [n,m]
  });
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

/**
 * The `k` nearest reals of each query, nearest first. The distance is computed exactly in float64
 * from the features (the matrix form above only ranks), so an image and its copy are at 0.
 */
export async function nearestNeighbours(
  queries: Float32Array,
  reals: Float32Array,
  k: number,
  d = FEATURE_DIM,
): Promise<Neighbour[][]> {
  const n = queries.length / d;
  const m = reals.length / d;
  const sq = await squaredDistances(queries, reals, d);
  const out: Neighbour[][] = [];
  for (let q = 0; q < n; q++) {
    const row = sq.subarray(q * m, (q + 1) * m);
    const order = Array.from({ length: m }, (_, i) => i).sort((i, j) => row[i]! - row[j]!);
    const best = order
      .slice(0, Math.min(k + 4, m))
      .map((index) => ({ index, distance: exactL2(queries, q, reals, index, d) }));
    best.sort((x, y) => x.distance - y.distance || x.index - y.index);
    out.push(best.slice(0, k));
  }
  return out;
}

function exactL2(a: Float32Array, i: number, b: Float32Array, j: number, d: number): number {
  let s = 0;
  for (let c = 0; c < d; c++) {
    const diff = a[i * d + c]! - b[j * d + c]!;
    s += diff * diff;
  }
  return Math.sqrt(s);
}

export interface Memorisation {
  /** Share of the birds flagged (0–1). */
  rate: number;
  /** Per bird: flagged as a copy of its nearest real. */
  flagged: boolean[];
  /** Per bird: its nearest real and the distance. */
  nearest: Neighbour[];
}

/**
 * How much nearer than its plate's nearest fellow plate a bird must be to count as a copy. At 1 (a
 * bird closer to a plate than any other plate is) a fresh image of the same distribution is
 * flagged about half the time in 768 dimensions, where nearest-neighbour distances bunch up; at ½
 * fresh images stay near 0 % (tested) while a copy, or a copy with small changes, is caught.
 */
export const COPY_RATIO = 0.5;

/**
 * A bird copies a training image when it is nearer to its nearest training image than that
 * image is to any other training image, by COPY_RATIO: nearness like that is not what the data
 * looks like, it is the plate again. The rate is the share of birds flagged. With one training
 * image there is no "other", so nothing can be judged.
 */
export async function memorisation(birds: Float32Array, reals: Float32Array, d = FEATURE_DIM): Promise<Memorisation> {
  const m = reals.length / d;
  if (m < 2) throw new RangeError('the memorisation rate needs at least 2 training images');
  const nearest = (await nearestNeighbours(birds, reals, 1, d)).map((ns) => ns[0]!);
  const ownNearest = (await nearestNeighbours(reals, reals, 2, d)).map(
    (ns, i) => ns.find((x) => x.index !== i)!.distance,
  );
  const flagged = nearest.map((nb) => nb.distance < COPY_RATIO * ownNearest[nb.index]!);
  return { rate: flagged.filter(Boolean).length / Math.max(1, flagged.length), flagged, nearest };
}
