import type * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendInfo } from '../../main/core/runtime/backend.js';
import { presetConfig, type GanConfig } from '../../main/core/gan/config.js';
import { readAndDispose } from '../../main/core/util/read.js';

/** The backend tests run on: the best one present here (wasm on the dev machine and CI). */
export const backendReady: Promise<BackendInfo> = initBackend(process.env.PLUMAGE_TEST_BACKEND as never);

/** A 16² network small enough for finite differences and hundreds of CPU steps. */
export function micro(overrides: Partial<GanConfig> = {}): GanConfig {
  return presetConfig('tiny', {
    resolution: 16,
    channelBase: 128,
    channelMax: 16,
    zDim: 16,
    wDim: 16,
    batchSize: 4,
    ...overrides,
  });
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} ≠ ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** A scalar's value (read asynchronously, so the test runs on WebGPU too); the tensor is disposed. */
export const valueOf = async (t: tf.Tensor): Promise<number> => (await readAndDispose(t))[0]!;

export { readAndDispose };
