/**
 * Birds from a generator, as pixels: one seed (exactly `sampleSeeds`, so the gallery, the CLI's
 * `generate` and a favourite's regeneration agree to the byte), a style mix of two seeds, and
 * interpolation frames between key birds in W (lerp) or Z (slerp).
 */
import { stat } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import type { GalleryNoiseMode } from '../../common/vocabulary.js';
import { numWs, type GanConfig } from '../gan/config.js';
import { generate, mapping, synthesis, truncate } from '../gan/generator.js';
import type { WeightConstants } from '../gan/ops.js';
import type { ParamSet } from '../gan/params.js';
import { readAndDispose } from '../util/read.js';
import { RandomState, seedToZ } from '../gan/rng.js';
import { sampleSeeds, toUint8 } from '../gan/sample.js';
import { applyEdit } from '../insight/directions.js';
import { readLatent, type Latent } from '../insight/latent.js';
import { lerp, slerp, framePositions } from './interpolate.js';
import { mixIndices } from './mixing.js';

export interface BirdSpec {
  /** The bird's seed; with a latent, only the seed of its 'random' noise (when the latent has no maps). */
  seed: number;
  psi: number;
  noiseMode: GalleryNoiseMode;
  /** The bird is this latent file's ws (and noise maps, when it has them) instead of the seed's w. */
  latent?: { file: string } | null;
  /** Style mix: ws at the resolutions `layers` ("4-8") come from `seed`'s w (same ψ). */
  mix?: { seed: number; layers: string } | null;
  /** A move along a direction in w (insight/directions.ts) on the layers `layers` ("lo-hi"), after the mix. */
  edit?: { vector: number[]; layers: string; amount: number } | null;
}

export interface Generator {
  config: GanConfig;
  G: ParamSet;
  /** Its weight-derived tensors, kept while it is loaded (same bytes, several times faster). */
  constants?: WeightConstants;
}

export type LatentSpace = 'w' | 'z';

/** [res,res,3] uint8 RGB of one bird. */
export async function renderBird(gen: Generator, spec: BirdSpec): Promise<Uint8Array> {
  if (!spec.mix && !spec.edit && !spec.latent) {
    const [pixels] = await sampleSeeds(gen.G, gen.config, [spec.seed], spec.psi, spec.noiseMode, gen.constants);
    return pixels!;
  }
  const noise = spec.latent ? (await latentOf(gen, spec.latent.file)).noise : null;
  return synthesise(gen, await birdWs(gen, spec), spec.noiseMode, spec.seed, noise);
}

/** Latents read lately, by file (and its size and time): a slider over a projected bird reads its file once. */
const latents = new Map<string, Latent>();
const LATENTS_KEPT = 4;

async function latentOf(gen: Generator, file: string): Promise<Latent> {
  const st = await stat(file).catch(() => null);
  const key = `${file}\0${st?.size}\0${st?.mtimeMs}\0${gen.config.resolution}\0${gen.config.wDim}`;
  const hit = latents.get(key);
  if (hit) return hit;
  const latent = await readLatent(file, gen.config);
  latents.set(key, latent);
  if (latents.size > LATENTS_KEPT) latents.delete(latents.keys().next().value!);
  return latent;
}

/** Thrown out of a pass whose job was cancelled: the birds of that pass are not drawn. */
export class DrawStoppedError extends Error {
  readonly code = 'cancelled';
  constructor() {
    super('drawing stopped: the job was cancelled');
  }
}

/** A check that throws DrawStoppedError once `stopped()` says so (between birds, and between a pass's blocks). */
const stopper = (stopped?: () => boolean) => (): void => {
  if (stopped?.()) throw new DrawStoppedError();
};

/** Birds drawn in one pass at most: small, so a running trainer waits for no long job. */
export const BATCH_SIZE = 8;
/**
 * And a pass holds at most this many pixels: memory grows with the batch, and on wasm (4 GB) a
 * 256² batch of 4 measured 3.3 GB of RSS, so 8 of them aborted ("table index is out of bounds").
 * 32² and 64² birds go 8 at a time, 128² two, 256² and up one by one.
 */
const BATCH_PIXELS = BATCH_SIZE * 64 * 64;
export const batchSizeFor = (resolution: number): number =>
  Math.max(1, Math.min(BATCH_SIZE, Math.floor(BATCH_PIXELS / (resolution * resolution))));

/**
 * Several birds. Those with const noise, no mix and one ψ share one pass through the networks
 * (5–6× faster per bird on wasm); every sample of a batch is computed as it is alone (the
 * convolutions share their weights, the batch only adds rows), so the bytes equal renderBird's
 * (tested against sampleSeeds). Random noise is drawn per seed, so those birds go one by one.
 * `stopped` is asked between birds and between a shared pass's blocks: a cancelled job's batch
 * ends within a block (DrawStoppedError) instead of drawing its birds for nobody.
 */
export async function renderBirds(gen: Generator, specs: BirdSpec[], stopped?: () => boolean): Promise<Uint8Array[]> {
  const check = stopper(stopped);
  const shared = specs.every(
    (s) => s.noiseMode === 'const' && !s.mix && !s.edit && !s.latent && s.psi === specs[0]!.psi,
  );
  if (specs.length < 2 || !shared) {
    const out: Uint8Array[] = [];
    for (const s of specs) {
      check();
      out.push(await renderBird(gen, s));
    }
    return out;
  }
  // A caller may ask for more birds than a pass may hold (the KID's chunks, a bench): at 256²
  // one pass of 16 birds filled the wasm heap's 4 GiB and aborted the process, so a pass takes
  // at most batchSizeFor(side) of them, whoever asks.
  const { config: c } = gen;
  const most = batchSizeFor(c.resolution);
  const out: Uint8Array[] = [];
  for (let first = 0; first < specs.length; first += most) {
    check();
    out.push(...(await sharedPass(gen, specs.slice(first, first + most), check)));
  }
  return out;
}

/** Birds of const noise, no mix and one ψ in one pass through the networks. */
async function sharedPass(gen: Generator, specs: BirdSpec[], check: () => void): Promise<Uint8Array[]> {
  const { config: c, G, constants } = gen;
  const zs = new Float32Array(specs.length * c.zDim);
  specs.forEach((s, k) => zs.set(seedToZ(s.seed, c.zDim), k * c.zDim));
  const img = tf.tidy(() =>
    generate(G, c, tf.tensor2d(zs, [specs.length, c.zDim]), specs[0]!.psi, {
      noiseMode: 'const',
      constants,
      afterBlock: check,
    }),
  ); // [N,res,res,3]
  const all = toUint8(await readAndDispose(img));
  const n = c.resolution * c.resolution * c.imgChannels;
  return specs.map((_, k) => all.subarray(k * n, (k + 1) * n));
}

/**
 * The bird's per-layer w, flattened [numWs × wDim]: the seed's truncated w on every layer (or the
 * latent's ws), with the mix's layers swapped in, then moved by the edit.
 */
export async function birdWs(gen: Generator, spec: BirdSpec): Promise<Float32Array> {
  const c = gen.config;
  const n = numWs(c.resolution);
  const own = spec.latent ? (await latentOf(gen, spec.latent.file)).ws : null;
  const w1 = own ? null : await wOf(gen, seedToZ(spec.seed, c.zDim), spec.psi);
  const w2 = spec.mix ? await wOf(gen, seedToZ(spec.mix.seed, c.zDim), spec.psi) : null;
  const swapped = new Set(spec.mix ? mixIndices(spec.mix.layers, c.resolution) : []);
  const out = new Float32Array(n * c.wDim);
  for (let i = 0; i < n; i++)
    out.set(swapped.has(i) ? w2! : (own?.subarray(i * c.wDim, (i + 1) * c.wDim) ?? w1!), i * c.wDim);
  if (!spec.edit) return out;
  const { vector, layers, amount } = spec.edit;
  return applyEdit(out, c.resolution, vector, layers, amount);
}

/** w of one z after truncation. */
function wOf({ G, config: c, constants }: Generator, z: Float32Array, psi: number): Promise<Float32Array> {
  const w = tf.tidy(() => truncate(G, mapping(G, c, tf.tensor2d(z, [1, c.zDim]), constants), psi)); // [1,wDim]
  return readAndDispose(w);
}

/**
 * Synthesis from per-layer ws; 'random' noise is drawn from `noiseSeed` as sampleSeeds draws it,
 * and a latent's own noise maps (`maps`, in the synthesis network's order) replace either mode.
 */
async function synthesise(
  gen: Generator,
  ws: Float32Array,
  noiseMode: GalleryNoiseMode,
  noiseSeed: number,
  maps: Float32Array[] | null = null,
): Promise<Uint8Array> {
  const { config: c, G, constants } = gen;
  const img = tf.tidy(() => {
    const noiseRng = new RandomState(noiseSeed);
    const t = tf.tensor3d(ws, [1, numWs(c.resolution), c.wDim]);
    if (maps) {
      let k = 0;
      const noise = (res: number): tf.Tensor4D => tf.tensor4d(maps[k++]!, [1, res, res, 1]);
      return synthesis(G, c, t, { noiseMode: 'random', noise, constants });
    }
    return synthesis(G, c, t, { noiseMode, noiseSeed: () => noiseRng.uint32(), constants }); // [1,res,res,3]
  });
  return toUint8(await readAndDispose(img));
}

export class InterpolationError extends Error {
  readonly code = 'invalid-input';
}

/**
 * `frames` images along the path through `keys` (≥ 2), first and last exactly the end birds'
 * latents. W: per-layer lerp of each key's truncated (and mixed) ws. Z: slerp of z and lerp of
 * ψ, then mapping and truncation, so style mixes have no place in it. Noise is the learned
 * constant, so the birds move smoothly instead of flickering.
 */
export async function* interpolationFrames(
  gen: Generator,
  keys: BirdSpec[],
  space: LatentSpace,
  frames: number,
): AsyncGenerator<Uint8Array> {
  const c = gen.config;
  const positions = framePositions(keys.length, frames);
  if (space === 'w') {
    const ws: Float32Array[] = [];
    for (const k of keys) ws.push(await birdWs(gen, k));
    for (const { segment, t } of positions)
      yield await synthesise(gen, lerp(ws[segment]!, ws[segment + 1]!, t), 'const', 0);
    return;
  }
  if (keys.some((k) => k.mix))
    throw new InterpolationError('a style-mixed bird has no single z: interpolate it in W instead');
  if (keys.some((k) => k.latent))
    throw new InterpolationError('a projected bird (a latent) has no z: interpolate it in W instead');
  if (keys.some((k) => k.edit))
    throw new InterpolationError('a bird moved along a direction has no single z: interpolate it in W instead');
  const zs = keys.map((k) => seedToZ(k.seed, c.zDim));
  for (const { segment, t } of positions) {
    const psi = keys[segment]!.psi + t * (keys[segment + 1]!.psi - keys[segment]!.psi);
    const w = await wOf(gen, slerp(zs[segment]!, zs[segment + 1]!, t), psi);
    const ws = new Float32Array(numWs(c.resolution) * c.wDim);
    for (let i = 0; i < numWs(c.resolution); i++) ws.set(w, i * c.wDim);
    yield await synthesise(gen, ws, 'const', 0);
  }
}
