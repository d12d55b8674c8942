/**
 * The quality score of a generator against a dataset, and the closest plates of one image:
 * the operations behind `plumage metrics` / `plumage nearest` and their requests. Plain data in
 * and out, so they run wherever the gallery draws (its child process, or this process).
 */
import { kidLabel } from '../../common/vocabulary.js';
import { renderBirds, type BirdSpec, type Generator } from '../gallery/render.js';
import { datasetFeatures, type DatasetImages } from './dataset-features.js';
import { FEATURE_DIM, type FeatureNetwork } from './feature-net.js';
import { kernelInceptionDistance, MAX_KID_IMAGES } from './kid.js';
import { memorisation, nearestNeighbours } from './nearest.js';

export { MAX_KID_IMAGES };
/** Birds drawn and run through the network at a time. */
const CHUNK = 32;

export { kidLabel };

export interface MetricsResult {
  kid: number;
  kidStd: number;
  /** Generated images. */
  images: number;
  /** Training images they were compared with. */
  reals: number;
  subsetSize: number;
  /** Share of the generated birds closer to a training image than training images are to each other. */
  memorisation: number;
  label: string;
}

export interface Progress {
  phase: 'reals' | 'birds' | 'scoring' | 'project';
  done: number;
  total: number;
  /** A projection's current feature distance and PSNR against the target. */
  distance?: number;
  psnr?: number;
  /** A projection's current reconstruction, and (first report only) its target, as PNG data: URLs. */
  preview?: string;
  targetPreview?: string;
}

/**
 * Features of the birds of `seeds` (ψ 1, the learned constant noise: the untruncated model, drawn
 * the same every time), drawn and embedded a chunk at a time so memory stays flat.
 */
export async function birdFeatures(
  gen: Generator,
  seeds: number[],
  net: FeatureNetwork,
  opts: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<Float32Array> {
  const out = new Float32Array(seeds.length * FEATURE_DIM);
  for (let first = 0; first < seeds.length; first += CHUNK) {
    opts.signal?.throwIfAborted();
    const specs = seeds.slice(first, first + CHUNK).map((seed): BirdSpec => ({ seed, psi: 1, noiseMode: 'const' }));
    const pixels = await renderBirds(gen, specs);
    out.set(await net.features(pixels, gen.config.resolution, opts.signal), first * FEATURE_DIM);
    opts.onProgress?.(first + specs.length, seeds.length);
  }
  return out;
}

/** KID and the memorisation rate of `images` birds (seeds 0…images−1) against the dataset. */
export async function computeMetrics(
  home: string,
  gen: Generator,
  ds: DatasetImages,
  images: number,
  net: FeatureNetwork,
  opts: { signal?: AbortSignal; onProgress?: (p: Progress) => void } = {},
): Promise<MetricsResult> {
  const side = gen.config.resolution;
  if (ds.sources.length < 2)
    throw new RangeError(`the dataset has ${ds.sources.length} accepted image(s): a score needs at least 2`);
  const reals = await datasetFeatures(home, ds, side, net, {
    signal: opts.signal,
    onProgress: (done, total) => opts.onProgress?.({ phase: 'reals', done, total }),
  });
  const realRows = capRows(reals.features, MAX_KID_IMAGES);
  const seeds = Array.from({ length: images }, (_, i) => i);
  const birds = await birdFeatures(gen, seeds, net, {
    signal: opts.signal,
    onProgress: (done, total) => opts.onProgress?.({ phase: 'birds', done, total }),
  });
  opts.onProgress?.({ phase: 'scoring', done: 0, total: 1 });
  const kid = await kernelInceptionDistance(birds, realRows);
  const mem = await memorisation(birds, realRows);
  opts.onProgress?.({ phase: 'scoring', done: 1, total: 1 });
  return {
    kid: kid.kid,
    kidStd: kid.kidStd,
    images,
    reals: realRows.length / FEATURE_DIM,
    subsetSize: kid.subsetSize,
    memorisation: mem.rate,
    label: kidLabel(images),
  };
}

/** The first `max` rows (the reals are in path order; a larger dataset is compared on a fixed part). */
function capRows(f: Float32Array, max: number): Float32Array {
  return f.length / FEATURE_DIM > max ? f.subarray(0, max * FEATURE_DIM) : f;
}

export interface NearestResult {
  neighbours: { file: string; distance: number }[];
  /** The side the images were compared at. */
  side: number;
}

/** The `k` training images nearest to one image (a uint8 RGB square of `side`), nearest first. */
export async function nearestPlates(
  home: string,
  query: Uint8Array,
  side: number,
  ds: DatasetImages,
  k: number,
  net: FeatureNetwork,
  signal?: AbortSignal,
): Promise<NearestResult> {
  const reals = await datasetFeatures(home, ds, side, net, { signal });
  const q = await net.features([query], side, signal);
  const [ns] = await nearestNeighbours(q, reals.features, k);
  return { neighbours: ns!.map((n) => ({ file: reals.files[n.index]!, distance: n.distance })), side };
}
