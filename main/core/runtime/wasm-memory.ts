/**
 * Memory on the wasm backend, where one instance addresses at most 4 GiB and its heap only grows.
 *
 * tfjs saves every tensor a gradient needs by cloning it (`engine.saveTensorsForBackwardMode`),
 * and a clone runs the Identity kernel. The cpu and webgl backends share the data there; the
 * wasm backend's Identity (4.22) copies it. So every weight and activation a taped forward pass
 * touched existed twice until the backward pass ended, and each copy of a conv weight had a new
 * data id, so XNNPACK packed it again. Measured on the 64² preset (4 images, G main phase): the
 * heap grew 659 → 2364 MB in the first third of the forward pass, most of it in Identity copies,
 * and the step aborted at 4 GiB. Sharing the data (refcounted, as the wasm backend's own Reshape
 * does) is safe because no tfjs kernel writes into its inputs and `Variable.assign` swaps data ids
 * rather than overwriting.
 */
import * as tf from '@tensorflow/tfjs-core';
import { blockResolutions, channelsAt, presetConfig, type GanConfig } from '../gan/config.js';
import { discriminatorSpecs } from '../gan/discriminator.js';
import { generatorSpecs } from '../gan/generator.js';
import { assertPatchedVersion } from './tfjs-version.js';

interface WasmBackend {
  incRef(dataId: object): void;
  numDataIds(): number;
  wasm: { HEAPU8: Uint8Array };
}

/** The wasm backend's own Identity and ours, once installed. */
let identities: { stock: tf.KernelConfig; shared: tf.KernelConfig } | null = null;

/**
 * Makes Identity on wasm share its input's data. Call after the wasm backend is registered, with
 * its `version_wasm`: the kernel counts on that release's reference counting (and tfjs-core's
 * kernel registry), so it refuses any other.
 */
export function shareIdentityOnWasm(wasmVersion: string, coreVersion: string = tf.version_core): void {
  if (identities) return;
  const stock = tf.getKernel(tf.Identity, 'wasm');
  if (!stock) return;
  assertPatchedVersion(
    'The shared wasm Identity (runtime/wasm-memory.ts)',
    '@tensorflow/tfjs-backend-wasm',
    wasmVersion,
  );
  assertPatchedVersion('The shared wasm Identity (runtime/wasm-memory.ts)', '@tensorflow/tfjs-core', coreVersion);
  identities = {
    stock,
    shared: {
      kernelName: tf.Identity,
      backendName: 'wasm',
      kernelFunc: (args) => {
        const x = args.inputs.x as tf.TensorInfo;
        if (x.dtype === 'string') return stock.kernelFunc(args) as tf.TensorInfo;
        (args.backend as unknown as WasmBackend).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
    },
  };
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(identities.shared);
}

/**
 * Switches between the wasm backend's own Identity (`true`, a copy) and the shared one, once
 * installed: the tests hold the shared one to the stock one, bit for bit.
 */
export function useStockIdentity(stock: boolean): void {
  if (!identities) return;
  tf.unregisterKernel(tf.Identity, 'wasm');
  tf.registerKernel(stock ? identities.stock : identities.shared);
}

/**
 * Data buffers the wasm backend holds (each tensor's data id, counted once however many tensors
 * share it): a reference counted twice keeps a buffer, and its heap, that `tf.memory()` no longer
 * counts. Null on other backends.
 */
export function wasmDataIds(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  return (tf.backend() as unknown as WasmBackend).numDataIds();
}

/**
 * Bytes of the wasm instance's linear memory: what the 4 GiB bound applies to. It never shrinks,
 * so it is the peak so far (with the allocator's slack). Null on other backends.
 */
export function wasmHeapBytes(): number | null {
  if (tf.getBackend() !== 'wasm') return null;
  return (tf.backend() as unknown as WasmBackend).wasm.HEAPU8.length;
}

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

export interface RoundPlan {
  /** Images per round of G main, D main and R1 (whole minibatch-stddev groups). */
  perRound: number;
  /** Images per round of path length. */
  plPerRound: number;
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
