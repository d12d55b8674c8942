/**
 * Meaningful directions in w, two ways, computed once per generator and layer range:
 * - SeFa (Shen & Zhou, closed-form factorisation): the style affine weights A of the chosen
 *   layers' convolutions (each output row normalised, as the authors' code does), and the
 *   eigenvectors of AᵀA, largest first. No sampling.
 * - GANSpace (Härkönen et al.): principal components of sampled w's (seeds 0…N−1 through the
 *   mapping network).
 * An edit moves the bird's w by `amount` along one unit direction, on the chosen layers only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { numWs } from '../gan/config.js';
import { mapping } from '../gan/generator.js';
import { seedToZ } from '../gan/rng.js';
import { mixIndices } from '../gallery/mixing.js';
import type { Generator } from '../gallery/render.js';
import { symmetricEigen } from './eigen.js';

export type DirectionMethod = 'sefa' | 'ganspace';
/** w's sampled for GANSpace. */
export const GANSPACE_SAMPLES = 10_000;
/** Directions kept (and offered as sliders at most). */
export const MAX_DIRECTIONS = 32;

export interface Directions {
  method: DirectionMethod;
  /** The stored "lo-hi" range of resolutions they were computed over. */
  layers: string;
  wDim: number;
  /** Unit vectors, strongest first: [count × wDim]. */
  vectors: number[][];
  /** Each one's eigenvalue (SeFa) or variance along it (GANSpace). */
  strengths: number[];
}

/** The synthesis conv layers (by parameter prefix) that read the ws at these indices. */
export function convLayersOf(resolution: number, wsIndices: number[]): string[] {
  const out: string[] = [];
  const want = new Set(wsIndices);
  let k = 0;
  for (let res = 4; res <= resolution; res *= 2, k++) {
    const b = `synthesis.b${res}`;
    if (res === 4) {
      if (want.has(0)) out.push(`${b}.conv1`);
    } else {
      if (want.has(2 * k - 1)) out.push(`${b}.conv0`);
      if (want.has(2 * k)) out.push(`${b}.conv1`);
    }
  }
  return out;
}

/** "lo-hi" resolutions → ws indices; the whole network for `4-resolution`. */
export function layerIndices(layers: string, resolution: number): number[] {
  const [lo, hi] = layers.split('-').map(Number) as [number, number];
  if (lo === 4 && hi === resolution) return Array.from({ length: numWs(resolution) }, (_, i) => i);
  return mixIndices(layers, resolution);
}

async function sefaMatrix(gen: Generator, layers: string): Promise<Float64Array> {
  const c = gen.config;
  const names = convLayersOf(c.resolution, layerIndices(layers, c.resolution));
  if (names.length === 0) throw new RangeError(`layers ${layers} hold no convolution of a ${c.resolution}² generator`);
  const d = c.wDim;
  const ata = new Float64Array(d * d);
  for (const name of names) {
    // tfjs layout [wDim, cin]: column o is output channel o's weights over w.
    const w = (await gen.G.get<tf.Tensor2D>(`${name}.affine.weight`).data()) as Float32Array;
    const cin = w.length / d;
    const col = new Float64Array(d);
    for (let o = 0; o < cin; o++) {
      let norm = 0;
      for (let i = 0; i < d; i++) {
        col[i] = w[i * cin + o]!;
        norm += col[i]! * col[i]!;
      }
      norm = Math.sqrt(norm) || 1;
      for (let i = 0; i < d; i++) {
        const a = col[i]! / norm;
        if (a === 0) continue;
        for (let j = 0; j < d; j++) ata[i * d + j] = ata[i * d + j]! + (a * col[j]!) / norm;
      }
    }
  }
  return ata;
}

async function ganspaceMatrix(gen: Generator, samples: number): Promise<Float64Array> {
  const c = gen.config;
  const d = c.wDim;
  const sum = new Float64Array(d);
  const outer = new Float64Array(d * d);
  const CHUNK = 500;
  for (let first = 0; first < samples; first += CHUNK) {
    const n = Math.min(CHUNK, samples - first);
    const z = new Float32Array(n * c.zDim);
    for (let k = 0; k < n; k++) z.set(seedToZ(first + k, c.zDim), k * c.zDim);
    const wT = tf.tidy(() => mapping(gen.G, c, tf.tensor2d(z, [n, c.zDim]), gen.constants));
    const w = (await wT.data()) as Float32Array;
    wT.dispose();
    for (let k = 0; k < n; k++) {
      const row = w.subarray(k * d, (k + 1) * d);
      for (let i = 0; i < d; i++) {
        sum[i] = sum[i]! + row[i]!;
        const ri = row[i]!;
        for (let j = 0; j < d; j++) outer[i * d + j] = outer[i * d + j]! + ri * row[j]!;
      }
    }
  }
  const cov = new Float64Array(d * d);
  for (let i = 0; i < d; i++)
    for (let j = 0; j < d; j++) cov[i * d + j] = (outer[i * d + j]! - (sum[i]! * sum[j]!) / samples) / (samples - 1);
  return cov;
}

export async function computeDirections(
  gen: Generator,
  method: DirectionMethod,
  layers: string,
  samples = GANSPACE_SAMPLES,
): Promise<Directions> {
  const d = gen.config.wDim;
  const m = method === 'sefa' ? await sefaMatrix(gen, layers) : await ganspaceMatrix(gen, samples);
  const { values, vectors } = symmetricEigen(m, d);
  const count = Math.min(MAX_DIRECTIONS, d);
  return {
    method,
    layers,
    wDim: d,
    vectors: Array.from({ length: count }, (_, k) => Array.from(vectors.subarray(k * d, (k + 1) * d))),
    strengths: Array.from(values.subarray(0, count)),
  };
}

/** ws [numWs × wDim] moved by `amount` along `vector` on the layers `layers` (a new array). */
export function applyEdit(
  ws: Float32Array,
  resolution: number,
  vector: ArrayLike<number>,
  layers: string,
  amount: number,
): Float32Array {
  const d = vector.length;
  const out = Float32Array.from(ws);
  if (amount === 0) return out;
  for (const i of layerIndices(layers, resolution))
    for (let j = 0; j < d; j++) out[i * d + j] = out[i * d + j]! + amount * vector[j]!;
  return out;
}
