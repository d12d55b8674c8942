import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { applyAugment, planAugment } from '../../main/core/gan/augment.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, maxAbsDiff } from '../helpers/gan.js';

before(() => backendReady);

test('p = 0 leaves every image untouched', async () => {
  const plan = planAugment(new RandomState(1), 4, 16, 0);
  assert.ok(!plan.geometric && !plan.coloured);
  const x = tf.randomNormal([4, 16, 16, 3]) as tf.Tensor4D;
  assert.deepEqual(await applyAugment(x, plan).data(), await x.data());
});

test('interpolation matrices are a partition of unity (mirror padding never loses light)', () => {
  const plan = planAugment(new RandomState(2), 16, 16, 1);
  for (const m of [plan.rows, plan.cols]) {
    for (let row = 0; row < m.length / 16; row++) {
      const sum = m.subarray(row * 16, row * 16 + 16).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${row} sums to ${sum}`);
    }
  }
});

test('geometry cannot change a flat image; colour changes are one affine colour per image', async () => {
  const plan = planAugment(new RandomState(3), 8, 16, 1);
  assert.ok(plan.geometric && plan.coloured, 'with p = 1 every transform is drawn');
  const flat = tf.mul(tf.ones([8, 16, 16, 3]), tf.tensor1d([0.3, -0.2, 0.5])) as tf.Tensor4D;
  const y = (await applyAugment(flat, plan).array()) as number[][][][];
  for (let k = 0; k < 8; k++) {
    const first = y[k]![0]![0]!;
    for (const row of y[k]!) for (const px of row) assert.ok(maxAbsDiff(px, first) < 1e-4, `image ${k} stays flat`);
    // x·M + b for this image's colour matrix
    const expected = [0, 1, 2].map(
      (j) =>
        [0.3, -0.2, 0.5].reduce((acc, v, i) => acc + v * plan.colour[k * 9 + i * 3 + j]!, 0) +
        plan.colourBias[k * 3 + j]!,
    );
    assert.ok(maxAbsDiff(first, expected) < 1e-4);
  }
});

test('flips, quarter turns and integer translations move pixels exactly (a permutation with mirrored borders)', async () => {
  // Scaling off (std 0), colour off: only exact pixel moves remain, so the values are a
  // re-arrangement of the input's values (up to mirrored duplicates at the border).
  const plan = planAugment(new RandomState(4), 6, 8, 1, {
    translateMax: 0.125,
    scaleStd: 0,
    anisoStd: 0,
    brightnessStd: 0,
    contrastStd: 0,
    hueMax: 0,
    saturationStd: 0,
  });
  plan.coloured = false; // luma flip has no strength to turn down: leave colour out of this test
  for (const v of plan.rows) assert.ok(v === 0 || v === 1, 'row weights are 0 or 1');
  for (const v of plan.cols) assert.ok(v === 0 || v === 1, 'column weights are 0 or 1');
  const x = tf.tensor4d(
    Float32Array.from({ length: 6 * 8 * 8 * 3 }, (_, i) => i),
    [6, 8, 8, 3],
  );
  const y = await applyAugment(x, plan).data();
  const inputs = new Set(await x.data());
  for (const v of y) assert.ok(inputs.has(v), `${v} is one of the input values`);
});

test('augmentation is differentiable: its gradient matches finite differences (it is linear in the image)', async () => {
  const plan = planAugment(new RandomState(5), 2, 8, 1);
  const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const r = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 2);
  const f = (v: tf.Tensor): tf.Scalar => tf.sum(tf.mul(applyAugment(v as tf.Tensor4D, plan), r));
  const g = tf.grad(f)(x);
  const u = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3);
  const numeric = ((await f(tf.add(x, u)).data())[0]! - (await f(tf.sub(x, u)).data())[0]!) / 2;
  const analytic = (await tf.sum(tf.mul(g, u)).data())[0]!;
  assert.ok(Math.abs(numeric - analytic) < 1e-3 * Math.max(1, Math.abs(analytic)), `${analytic} vs ${numeric}`);
});
