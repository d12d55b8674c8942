import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import * as tf from '@tensorflow/tfjs-core';
import { FEATURE_DIM, featureNetwork } from '../../main/core/insight/feature-net.js';
import { boxDown, lanczosMatrix, resizeSquare } from '../../main/core/insight/resize.js';
import { backendReady } from '../helpers/gan.js';
import { FIXTURES } from '../helpers/paths.js';

const DIR = join(FIXTURES, 'features');
const expected = JSON.parse(readFileSync(join(DIR, 'plate-64.json'), 'utf8')) as { features: number[] };
const plate = async (): Promise<Uint8Array> =>
  new Uint8Array(await sharp(join(DIR, 'plate-64.png')).removeAlpha().raw().toBuffer());

/** Backends differ in float summation order; a one-pixel shift moves some feature by ~0.05. */
const TOLERANCE = 2e-3;

test(
  'the features of the fixture plate equal the stored vector (weights and resize unchanged)',
  { timeout: 120_000 },
  async () => {
    await backendReady;
    const net = await featureNetwork();
    const f = await net.features([await plate()], 64);
    assert.equal(f.length, FEATURE_DIM);
    let worst = 0;
    for (let i = 0; i < FEATURE_DIM; i++) worst = Math.max(worst, Math.abs(f[i]! - expected.features[i]!));
    assert.ok(worst < TOLERANCE, `largest difference from the fixture: ${worst}`);
  },
);

test('a different resize is caught by the fixture', { timeout: 120_000 }, async () => {
  await backendReady;
  const net = await featureNetwork();
  const pixels = await plate();
  // The same plate brought to 299² by nearest-neighbour instead of the Lanczos matrices.
  const f = tf.tidy(() => {
    const x = tf.sub(tf.div(tf.tensor4d(pixels, [1, 64, 64, 3], 'float32'), 127.5), 1) as tf.Tensor4D;
    const nearest = tf.image.resizeNearestNeighbor(x, [299, 299]);
    return tf.mean(net.maps(nearest), [1, 2]);
  });
  const v = (await f.data()) as Float32Array;
  f.dispose();
  let worst = 0;
  for (let i = 0; i < FEATURE_DIM; i++) worst = Math.max(worst, Math.abs(v[i]! - expected.features[i]!));
  assert.ok(worst > 10 * TOLERANCE, `nearest-neighbour resize moved the features by only ${worst}`);
});

test('the Lanczos matrices: rows sum to 1, a same-size resize is the identity, a constant stays constant', async () => {
  await backendReady;
  for (const [from, to] of [
    [32, 299],
    [512, 299],
    [64, 64],
  ] as const) {
    const m = lanczosMatrix(from, to);
    for (let i = 0; i < to; i++) {
      let s = 0;
      for (let j = 0; j < from; j++) s += m[i * from + j]!;
      assert.ok(Math.abs(s - 1) < 1e-5, `${from}→${to} row ${i} sums to ${s}`);
    }
  }
  const same = lanczosMatrix(8, 8);
  for (let i = 0; i < 8; i++)
    for (let j = 0; j < 8; j++) assert.ok(Math.abs(same[i * 8 + j]! - (i === j ? 1 : 0)) < 1e-6);
  const out = tf.tidy(() => resizeSquare(tf.fill([1, 16, 16, 3], 0.25) as tf.Tensor4D, 40));
  const data = await out.data();
  out.dispose();
  assert.deepEqual(out.shape, [1, 40, 40, 3]);
  assert.ok(data.every((v) => Math.abs(v - 0.25) < 1e-5));
});

test('boxDown averages whole blocks, as the trainer feeds a smaller network', () => {
  const px = new Uint8Array(4 * 4 * 3);
  for (let i = 0; i < 16; i++) px.set([i * 10, 0, 255], i * 3);
  const out = boxDown(px, 4, 2);
  // top-left block: pixels 0,1,4,5 → (0+10+40+50)/4 = 25
  assert.deepEqual(Array.from(out.subarray(0, 3)), [25, 0, 255]);
  assert.throws(() => boxDown(px, 4, 3), /cannot be box-filtered/);
});
