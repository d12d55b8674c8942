/**
 * Projection: the w (or per-layer W+) and noise maps whose bird looks most like a target image,
 * as the reference's projector.py finds them — Adam on w starting from w_avg, Gaussian noise
 * added to w that decays to nothing over the first ¾ of the steps, a learning rate that ramps up
 * and cosine-decays, noise maps kept at zero mean and unit variance and regularised towards
 * spatially uncorrelated values. The perceptual distance there is VGG16-LPIPS, fetched from a URL;
 * here it is the shipped feature network's mixed5 maps (each position's 768 features scaled to
 * unit length, as LPIPS scales its layers), plus a pixel term.
 */
import * as tf from '@tensorflow/tfjs';
import { numWs } from '../gan/config.js';
import { noiseResolutions } from './latent.js';
import { mapping, synthesis } from '../gan/generator.js';
import { seedToZ } from '../gan/rng.js';
import { toUint8 } from '../gan/sample.js';
import type { Generator } from '../gallery/render.js';
import { Adam } from '../gan/adam.js';
import { variableOf } from '../gan/params.js';
import type { FeatureNetwork } from './feature-net.js';
import { resizeSquare } from './resize.js';

export interface ProjectOptions {
  steps: number; // optimisation steps (the reference's num_steps: 1000; ours defaults to 500)
  wPlus: boolean; // optimise one w per synthesis input (W+) instead of one w for all
  wAvgSamples: number; // w's sampled for w_avg and its spread
  initialLr: number; // peak learning rate
  initialNoiseFactor: number; // noise on w at the start, × the spread of w
  noiseRampLength: number; // share of the steps over which that noise decays to 0
  lrRampdownLength: number; // share of the steps (at the end) the learning rate cosine-decays over
  lrRampupLength: number; // share of the steps (at the start) it ramps up over
  regularizeNoiseWeight: number; // weight of the noise maps' autocorrelation penalty
  featureWeight: number; // weight of the feature network's distance (0: pixels only)
  pixelWeight: number; // weight of the mean squared pixel difference (images in [-1, 1])
  featureSide: number; // side the images are resized to for the feature network (≥ 75)
  /** Report every this many steps (and on the first and the last: a video starts from w_avg's bird). */
  reportEvery: number;
}

export const PROJECT_DEFAULTS: ProjectOptions = {
  steps: 500,
  wPlus: false,
  wAvgSamples: 10_000,
  initialLr: 0.1,
  initialNoiseFactor: 0.05,
  noiseRampLength: 0.75,
  lrRampdownLength: 0.25,
  lrRampupLength: 0.05,
  regularizeNoiseWeight: 1e5,
  featureWeight: 1,
  pixelWeight: 1,
  // The network is convolutional up to mixed5: 139² (7×7 maps) costs a fifth of 299² per step,
  // and a loss needs no fixed geometry the way a score does.
  featureSide: 139,
  reportEvery: 10,
};

export interface ProjectProgress {
  step: number;
  steps: number;
  /** Feature distance of the current reconstruction (without noise on w). */
  distance: number;
  psnr: number;
  /** The current reconstruction, [res,res,3] uint8 (on reports only). */
  pixels: Uint8Array;
}

export interface Projection {
  /** [numWs × wDim]: the per-layer w's the bird is drawn from (all rows equal unless W+). */
  ws: Float32Array;
  /** The noise maps, one per noisy layer in order (each res² values). */
  noise: { res: number; values: Float32Array }[];
  pixels: Uint8Array;
  distance: number;
  psnr: number;
  steps: number;
}

export { noiseResolutions };

/** PSNR (dB) between two uint8 images. */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i]! - b[i]!) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** w_avg and the spread of w, from `n` sampled seeds (as the reference's projector computes them). */
async function wStats(gen: Generator, n: number): Promise<{ avg: Float32Array; std: number }> {
  const c = gen.config;
  const sum = new Float64Array(c.wDim);
  const ws: Float32Array[] = [];
  const CHUNK = 1000;
  for (let first = 0; first < n; first += CHUNK) {
    const k = Math.min(CHUNK, n - first);
    const z = new Float32Array(k * c.zDim);
    for (let i = 0; i < k; i++) z.set(seedToZ(123_456 + first + i, c.zDim), i * c.zDim);
    const t = tf.tidy(() => mapping(gen.G, c, tf.tensor2d(z, [k, c.zDim]), gen.constants));
    const w = (await t.data()) as Float32Array;
    t.dispose();
    ws.push(w);
    for (let i = 0; i < w.length; i++) sum[i % c.wDim] = sum[i % c.wDim]! + w[i]!;
  }
  const avg = Float32Array.from(sum, (s) => s / n);
  let sq = 0;
  for (const w of ws) for (let i = 0; i < w.length; i++) sq += (w[i]! - avg[i % c.wDim]!) ** 2;
  return { avg, std: Math.sqrt(sq / n) };
}

/** [N,h,w,C] maps → each position's feature vector scaled to unit length. */
const unitFeatures = (maps: tf.Tensor4D): tf.Tensor4D =>
  tf.div(maps, tf.add(tf.sqrt(tf.sum(tf.square(maps), 3, true)), 1e-10)) as tf.Tensor4D;

/**
 * Projects `target` (a [res,res,3] uint8 square, res the generator's) into the generator.
 * `signal` stops it between steps (it then throws, and nothing has been written anywhere).
 */
export async function project(
  gen: Generator,
  net: FeatureNetwork,
  target: Uint8Array,
  options: Partial<ProjectOptions> = {},
  onProgress?: (p: ProjectProgress) => void,
  signal?: AbortSignal,
): Promise<Projection> {
  const o = { ...PROJECT_DEFAULTS, ...options };
  const c = gen.config;
  const res = c.resolution;
  if (target.length !== res * res * 3) throw new RangeError(`the target must be ${res}²×3 bytes, got ${target.length}`);
  if (o.featureSide < 75) throw new RangeError('the feature network needs images of at least 75²');
  const nWs = numWs(res);
  const { avg, std } = await wStats(gen, o.wAvgSamples);
  const rows = o.wPlus ? nWs : 1;
  const start = new Float32Array(rows * c.wDim);
  for (let r = 0; r < rows; r++) start.set(avg, r * c.wDim);
  // variableOf, not tf.variable: the latter keeps its initial tensor alive beside the variable,
  // one per optimised tensor that outlived each projection (14 at 256², 0.7 MB).
  const w = variableOf(tf.tensor2d(start, [rows, c.wDim]), true, `project/w#${Date.now()}`);
  // Noise maps start as unit Gaussians (seeded: a projection is repeatable) and are optimised too.
  let noiseSeed = 1;
  const noise = noiseResolutions(res).map((r, i) =>
    variableOf(tf.randomNormal([1, r, r, 1], 0, 1, 'float32', noiseSeed++), true, `project/noise${i}#${Date.now()}`),
  );
  const targetT = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(target, [1, res, res, 3], 'float32'), 127.5), 1));
  const features = (img: tf.Tensor4D): tf.Tensor4D => unitFeatures(net.maps(resizeSquare(img, o.featureSide)));
  const targetFeatures = tf.tidy(() => (o.featureWeight > 0 ? features(targetT as tf.Tensor4D) : tf.zeros([1])));
  const adam = new Adam([w, ...noise], { lr: o.initialLr, betas: [0.9, 0.999], eps: 1e-8 }, 'project');
  const draw = (wsIn: tf.Tensor2D): tf.Tensor4D => {
    let k = 0;
    const wsAll = o.wPlus ? wsIn : tf.tile(wsIn, [nWs, 1]);
    return synthesis(gen.G, c, tf.reshape(wsAll, [1, nWs, c.wDim]) as tf.Tensor3D, {
      noiseMode: 'random',
      noise: () => noise[k++]! as unknown as tf.Tensor4D,
      constants: gen.constants,
    });
  };
  const distanceOf = (img: tf.Tensor4D): tf.Scalar => {
    const pixels = tf.mul(tf.mean(tf.square(tf.sub(img, targetT))), o.pixelWeight);
    if (o.featureWeight === 0) return pixels as tf.Scalar;
    const feat = tf.mean(tf.sum(tf.square(tf.sub(features(img), targetFeatures)), 3));
    return tf.add(tf.mul(feat, o.featureWeight), pixels) as tf.Scalar;
  };
  const report = async (step: number): Promise<{ pixels: Uint8Array; distance: number; psnr: number }> => {
    const [img, dist] = tf.tidy(() => {
      const im = draw(w as tf.Tensor2D);
      return [im, distanceOf(im)];
    });
    const pixels = toUint8((await img.data()) as Float32Array);
    const distance = (await dist.data())[0]!;
    img.dispose();
    dist.dispose();
    const p = { pixels, distance, psnr: psnr(pixels, target) };
    onProgress?.({ step, steps: o.steps, ...p });
    return p;
  };
  try {
    await report(0);
    for (let step = 0; step < o.steps; step++) {
      signal?.throwIfAborted();
      const t = step / o.steps;
      const wNoiseScale = std * o.initialNoiseFactor * Math.max(0, 1 - t / o.noiseRampLength) ** 2;
      let lrRamp = Math.min(1, (1 - t) / o.lrRampdownLength);
      lrRamp = 0.5 - 0.5 * Math.cos(lrRamp * Math.PI);
      lrRamp *= Math.min(1, t / o.lrRampupLength);
      adam.settings.lr = o.initialLr * lrRamp;
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => {
          const noisy = tf.add(w, tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 1_000_000 + step), wNoiseScale));
          const img = draw(noisy as tf.Tensor2D);
          let reg = tf.scalar(0);
          for (const n of noise) {
            let x = n as unknown as tf.Tensor4D;
            for (;;) {
              const rollX = tf.concat(
                [tf.slice(x, [0, 0, 1, 0], [-1, -1, -1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, -1, 1, -1])],
                2,
              );
              const rollY = tf.concat(
                [tf.slice(x, [0, 1, 0, 0], [-1, -1, -1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, 1, -1, -1])],
                1,
              );
              reg = tf.add(reg, tf.add(tf.square(tf.mean(tf.mul(x, rollX))), tf.square(tf.mean(tf.mul(x, rollY)))));
              if (x.shape[1] <= 8) break;
              x = tf.avgPool(x, 2, 2, 'valid');
            }
          }
          return tf.add(distanceOf(img), tf.mul(reg, o.regularizeNoiseWeight)) as tf.Scalar;
        }, [w, ...noise]);
        adam.apply(grads);
      });
      // Noise maps back to zero mean, unit variance.
      for (const n of noise)
        tf.tidy(() => {
          const centred = tf.sub(n, tf.mean(n));
          n.assign(tf.mul(centred, tf.rsqrt(tf.mean(tf.square(centred)))));
        });
      if ((step + 1) % o.reportEvery === 0 && step + 1 < o.steps) await report(step + 1);
      else await new Promise((r) => setImmediate(r)); // let a cancel through
    }
    const last = await report(o.steps);
    const wData = (await w.data()) as Float32Array;
    const ws = new Float32Array(nWs * c.wDim);
    for (let i = 0; i < nWs; i++)
      ws.set(wData.subarray((o.wPlus ? i : 0) * c.wDim, ((o.wPlus ? i : 0) + 1) * c.wDim), i * c.wDim);
    const noiseOut = await Promise.all(
      noise.map(async (n) => ({ res: n.shape[1]!, values: (await n.data()) as Float32Array })),
    );
    return { ws, noise: noiseOut, steps: o.steps, ...last };
  } finally {
    adam.dispose();
    w.dispose();
    for (const n of noise) n.dispose();
    targetT.dispose();
    targetFeatures.dispose();
  }
}
