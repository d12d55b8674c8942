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
import type { GanConfig } from './config.js';

/** Images per round: of G main, D main and R1 (whole minibatch-stddev groups), and of path length. */
export interface RoundSizes {
  perRound: number;
  plPerRound: number;
}

/**
 * Sizes a trainer's rounds from its config and its share of the batch. The trainer's caller picks
 * it: how much a round may hold depends on the memory of the backend the caller runs on
 * (runtime/round-plan.ts), which the model has no business reading. A config's batchGpu wins.
 */
export type RoundPlanner = (config: GanConfig, localBatch: number) => RoundSizes;

/** The whole batch in one round per phase: the reference's way when no --batch-gpu is given. */
export const wholeBatch: RoundPlanner = (_config, n) => ({ perRound: n, plPerRound: n });

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
