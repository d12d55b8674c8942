/**
 * Sampling images from a generator, as the reference's generate.py writes them:
 * z from the seed (numpy's RandomState), G_ema with truncation ψ, pixels
 * uint8(clamp(x·127.5 + 128, 0, 255)) — truncated, not rounded.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MAX_SEEDS_LISTED } from '../../common/vocabulary.js';
import type { GanConfig } from './config.js';
import { generate, type NoiseMode } from './generator.js';
import type { WeightConstants } from './ops.js';
import type { ParamSet } from './params.js';
import { readAndDispose } from '../util/read.js';
import { RandomState, seedToZ } from './rng.js';

/**
 * One image per seed: [res,res,3] uint8, row-major RGB; `constants` for a frozen generator
 * (the gallery's), the same bytes faster. Asynchronous because a GPU backend
 * (WebGPU in Node) can only read its results back that way.
 */
export async function sampleSeeds(
  G: ParamSet,
  config: GanConfig,
  seeds: number[],
  psi: number,
  noiseMode: NoiseMode,
  constants?: WeightConstants,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (const seed of seeds) {
    const img = tf.tidy(() => {
      const z = tf.tensor2d(seedToZ(seed, config.zDim), [1, config.zDim]);
      const noiseRng = new RandomState(seed); // 'random' noise is drawn per seed, so a seed stays one image
      return generate(G, config, z, psi, { noiseMode, noiseSeed: () => noiseRng.uint32(), constants }); // [1,res,res,3]
    });
    out.push(toUint8(await readAndDispose(img)));
  }
  return out;
}

/** [-1, 1] floats → uint8(clamp(x·127.5 + 128, 0, 255)). */
export function toUint8(x: Float32Array): Uint8Array {
  const out = new Uint8Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.trunc(Math.min(255, Math.max(0, x[i]! * 127.5 + 128)));
  return out;
}

export { MAX_SEEDS_LISTED };

/** "0-7", "3", "1,5,9-11" → seeds (each in 0..2^32-1), at most MAX_SEEDS_LISTED of them. */
export function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (!m) throw new RangeError(`seeds must look like 0-7 or 1,5,9-11, got ${JSON.stringify(spec)}`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a || b > 0xffffffff) throw new RangeError(`bad seed range ${part}`);
    if (out.length + (b - a + 1) > MAX_SEEDS_LISTED)
      throw new RangeError(`seeds name more than ${MAX_SEEDS_LISTED} seeds: draw them in several runs`);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
}
