/**
 * Gradient accumulation (the reference's `--batch-gpu`): a phase's batch is split into rounds
 * whose gradients add up to the whole batch's, so a preset's batch no longer decides its peak
 * memory. Everything random is drawn for the whole batch first (so the RNG stream is the same
 * for any round size) and each round takes its rows. D's minibatch-stddev couples the samples
 * of a group (n, n + N/G, …), so a round holds whole groups, ordered so that its own grouping
 * is the batch's: then N rounds of B/N give one round of B's gradients to float rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AugmentPlan } from './augment.js';
import { blockResolutions, channelsAt, type GanConfig } from './config.js';

/** Row indices of each round, or null for one round over the batch in its own order. */
export type Rounds = Int32Array[] | null;

/**
 * Splits n samples into rounds of `perRound` (≤ n). `groupSize`: D's minibatch-stddev group
 * (0 where no D runs on the batch). Throws where the sizes cannot split evenly.
 */
export function roundIndices(n: number, perRound: number, groupSize: number): Rounds {
  if (perRound >= n) return null;
  if (n % perRound !== 0) throw new RangeError(`${n} images do not split into rounds of ${perRound}`);
  const rounds: Int32Array[] = [];
  const count = n / perRound;
  if (groupSize <= 1) {
    for (let r = 0; r < count; r++) rounds.push(Int32Array.from({ length: perRound }, (_, j) => r * perRound + j));
    return rounds;
  }
  const g = Math.min(groupSize, n);
  if (perRound % g !== 0)
    throw new RangeError(`rounds of ${perRound} do not hold whole minibatch-stddev groups of ${g}`);
  const groups = n / g; // group q = {q, q + groups, q + 2·groups, …}
  const perRoundGroups = perRound / g;
  for (let r = 0; r < count; r++) {
    const idx = new Int32Array(perRound);
    // Position j in the round: member k = ⌊j / perRoundGroups⌋ of group r·perRoundGroups + j mod perRoundGroups,
    // so the round's own grouping (j, j + perRoundGroups, …) is the batch's.
    for (let j = 0; j < perRound; j++) {
      const k = Math.floor(j / perRoundGroups);
      const q = r * perRoundGroups + (j % perRoundGroups);
      idx[j] = q + k * groups;
    }
    rounds.push(idx);
  }
  return rounds;
}

/** The largest round size ≤ limit that divides n (path length has no D, so any split works). */
export function largestDivisor(n: number, limit: number): number {
  for (let m = Math.min(n, limit); m > 1; m--) if (n % m === 0) return m;
  return 1;
}

/** Rows `idx` of a tensor (all of it for null). */
export const rows = <T extends tf.Tensor>(t: T, idx: Int32Array | null): T =>
  idx ? (tf.gather(t, tf.tensor1d(idx, 'int32')) as T) : t;

/** Rows `idx` of a row-major host array with `width` values per row. */
export function hostRows(data: Float32Array, width: number, idx: Int32Array | null): Float32Array {
  if (!idx) return data;
  const out = new Float32Array(idx.length * width);
  idx.forEach((i, j) => out.set(data.subarray(i * width, (i + 1) * width), j * width));
  return out;
}

/**
 * The samples `idx` of an augmentation plan. The batch's `geometric` / `coloured` flags stay:
 * an un-augmented sample's matrices are identities, which change nothing exactly.
 */
export function planRows(plan: AugmentPlan, size: number, idx: Int32Array | null): AugmentPlan {
  if (!idx) return plan;
  return {
    ...plan,
    transpose: hostRows(plan.transpose, 1, idx),
    rows: hostRows(plan.rows, size * size, idx),
    cols: hostRows(plan.cols, size * size, idx),
    colour: hostRows(plan.colour, 9, idx),
    colourBias: hostRows(plan.colourBias, 3, idx),
  };
}

/** Sums of gradients (and scalars) over rounds; a round's own tensors are taken over. */
export class RoundSums {
  grads: tf.NamedTensorMap = {};
  scalars: tf.Scalar[] = [];

  add(grads: tf.NamedTensorMap, scalars: tf.Tensor[]): void {
    for (const [name, g] of Object.entries(grads)) {
      const old = this.grads[name];
      this.grads[name] = old ? tf.add(old, g) : g;
      if (old) tf.dispose([old, g]);
    }
    scalars.forEach((s, i) => {
      const old = this.scalars[i];
      this.scalars[i] = (old ? tf.add(old, s) : s) as tf.Scalar;
      if (old) tf.dispose([old, s]);
    });
  }
}

/** x·scale, or x itself for a scale of 1 (so one round is bit-identical to no rounds). */
export const scaled = <T extends tf.Tensor>(x: T, scale: number): T => (scale === 1 ? x : (tf.mul(x, scale) as T));

/**
 * Bytes of the largest activation one image makes: at each resolution r, a layer's output
 * (r²·C) and the up-sampling conv's four phases ((r/2+1)²·4C), in float32.
 */
export function largestActivationBytes(c: GanConfig): number {
  let floats = 0;
  for (const r of blockResolutions(c.resolution)) {
    const ch = channelsAt(c, r);
    floats = Math.max(floats, r * r * ch, r > 4 ? (r / 2 + 1) ** 2 * 4 * ch : 0);
  }
  return floats * 4;
}

/**
 * Images per round for a batch of n when the config names none: the most whose largest
 * activation fits one GPU storage binding (WebGPU's maxStorageBufferBindingSize: 128 MiB on
 * Mesa's lavapipe, often 1–4 GiB on a discrete GPU); the whole batch where there is no such
 * limit (CPU backends, CUDA). Never below one minibatch-stddev group.
 */
export function autoRoundSize(c: GanConfig, n: number, maxBindingBytes: number | null): number {
  if (maxBindingBytes === null) return n;
  const group = Math.min(c.mbstdGroupSize, n);
  const perImage = largestActivationBytes(c);
  for (let m = n; m > group; m--) if (n % m === 0 && m % group === 0 && m * perImage <= maxBindingBytes) return m;
  return group;
}
