/**
 * How many images a round of gradient accumulation (gan/rounds.ts) may take on the backend a
 * process runs: the memory model. The trainer trains in the rounds it is given; what decides them
 * is a property of the machine — one wasm instance addresses 4 GiB, a GPU binds at most
 * `maxStorageBufferBindingSize` bytes to one buffer — and lives here, beside the backends.
 */
import type { BackendInfo } from './backend-info.js';
import { blockResolutions, channelsAt, presetConfig, type GanConfig } from '../gan/config.js';
import { discriminatorSpecs } from '../gan/discriminator.js';
import { generatorSpecs } from '../gan/generator.js';
import type { RoundPlanner, RoundSizes } from '../gan/rounds.js';

/** A wasm instance addresses at most 4 GiB (32-bit memory). */
export const WASM_LIMIT_BYTES = 4 * 2 ** 30;

/** Kept free below the limit: the heap grows in steps of ~100 MB and its free lists fragment. */
const HEADROOM_BYTES = 256 * 2 ** 20;

/**
 * Training the 64² preset on wasm, measured as heap growth (the heap only grows, so this holds
 * the allocator's slack too) with the shared Identity above and the frugal backward pass of
 * tape.ts; 2-core machine, 2026-12-02. The heap with G, G_ema, D and Adam's moments alone (523 MB
 * of them, plus XNNPACK's packed weights). A round costs a part that does not depend on its size
 * (weight-shaped temporaries, weights packed again for the backward convolutions) and a part per
 * image, fitted from rounds of 1 and 4 images (path length: 1 and 2): G main 893 / 1516 MB,
 * D+R1 796 / 2346 MB (D main alone stays below it), path length 1612 / 1935 MB — it
 * differentiates a gradient of the whole synthesis network, so both passes are held at once.
 */
const MB = 2 ** 20;
const line = (fixedMB: number, perImageMB: number) => ({ fixedBytes: fixedMB * MB, perImageBytes: perImageMB * MB });
const MEASURED_64 = {
  stateBytes: 659 * MB,
  /** G main, and D+R1: a round of G main, D main and R1 costs the worse of the two. */
  rounds: [line(685, 208), line(279, 517)],
  plRound: line(1289, 323),
  largestRound: 4,
  largestPlRound: 2,
};

/** Activation elements of one image through G and D: what a round's memory scales with. */
function activationsPerImage(c: GanConfig): number {
  let sum = 0;
  for (const r of blockResolutions(c.resolution)) sum += 2 * r * r * channelsAt(c, r);
  return sum;
}

const parameters = (specs: { refShape: number[] }[]): number =>
  specs.reduce((a, s) => a + s.refShape.reduce((p, q) => p * q, 1), 0);

/** The model's terms for a config, in bytes (scaled from the 64² measurement). */
function terms(c: GanConfig): {
  fixed: number;
  images: number;
  round: (m: number) => number;
  plRound: (m: number) => number;
} {
  const ref = presetConfig('64');
  const g = parameters(generatorSpecs(c));
  const d = parameters(discriminatorSpecs(c));
  const weights = (g + d) / (parameters(generatorSpecs(ref)) + parameters(discriminatorSpecs(ref)));
  const sums = 2 * 4 * Math.max(g, d); // the running sum of one network's gradients, and the next round's
  const images = activationsPerImage(c) / activationsPerImage(ref);
  const cost =
    (...lines: { fixedBytes: number; perImageBytes: number }[]) =>
    (m: number): number =>
      Math.max(...lines.map((r) => r.fixedBytes * weights + m * r.perImageBytes * images));
  return {
    fixed: MEASURED_64.stateBytes * weights + sums,
    images,
    round: cost(...MEASURED_64.rounds),
    plRound: cost(MEASURED_64.plRound),
  };
}

/** The memory training takes with rounds of `perRound` images (path length: `plPerRound`), in bytes. */
export function trainingBytes(c: GanConfig, perRound: number, plPerRound: number): number {
  const t = terms(c);
  return Math.ceil(t.fixed + Math.max(t.round(perRound), t.plRound(plPerRound)));
}

export interface RoundPlan extends RoundSizes {
  /** The memory this plan is expected to take, in bytes. */
  bytes: number;
}

/**
 * The largest rounds a batch of n trains in within `limitBytes` (one wasm instance's 4 GiB by
 * default), with some headroom: the state, the summed gradients of one network and a round's
 * activations must fit.
 * Null where even the smallest rounds (one minibatch-stddev group; one image of path length) do not.
 */
export function wasmRoundPlan(c: GanConfig, n: number, limitBytes = WASM_LIMIT_BYTES): RoundPlan | null {
  const t = terms(c);
  const room = limitBytes - HEADROOM_BYTES - t.fixed;
  const group = Math.min(c.mbstdGroupSize, n);
  // A round bigger than any measured, in activations, is trusted only with half the room to spare.
  const trusted = (m: number, cost: number, measured: number): boolean => m * t.images <= measured || cost <= room / 2;
  const largest = (count: number, step: number, cost: (m: number) => number, measured: number): number => {
    for (let m = count; m >= step; m--)
      if (count % m === 0 && m % step === 0 && cost(m) <= room && trusted(m, cost(m), measured)) return m;
    return 0;
  };
  const perRound = largest(n, group, t.round, MEASURED_64.largestRound);
  const plPerRound = largest(Math.max(1, Math.floor(n / c.plBatchShrink)), 1, t.plRound, MEASURED_64.largestPlRound);
  if (!perRound || !plPerRound) return null;
  return { perRound, plPerRound, bytes: trainingBytes(c, perRound, plPerRound) };
}

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

/**
 * The rounds training takes on `backend` (null: none chosen, so no limit is known): on wasm the
 * largest that fit one instance's memory by the model above, on WebGPU the most whose largest
 * activation fits one storage binding, elsewhere the whole batch. A config's batchGpu overrides
 * it inside the trainer.
 */
export function roundPlanner(backend: Pick<BackendInfo, 'kind' | 'adapter'> | null): RoundPlanner {
  return (config, n) => {
    const plan = backend?.kind === 'wasm' ? wasmRoundPlan(config, n) : null;
    if (plan) return { perRound: plan.perRound, plPerRound: plan.plPerRound };
    const perRound = autoRoundSize(config, n, backend?.adapter?.maxStorageBufferBindingSize ?? null);
    return { perRound, plPerRound: perRound };
  };
}
