/**
 * conv2dUp2's polyphase kernel: the 3×3 weight's taps placed in four phase blocks of a 2×2 kernel.
 * Training builds it in every pass that runs G, and differentiates through it, so what it costs in
 * kernels is paid per step (issue 21). It must be the same kernel, and give the same weight
 * gradient, as the taps sliced and concatenated one by one (the construction below, which it
 * replaced), to the bit.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { polyphaseKernel } from '../../main/core/gan/ops.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady } from '../helpers/gan.js';

before(() => backendReady);

/** The kernel built tap by tap: slices, zero blocks, concatenations and a stack. */
function slicedKernel(weight: tf.Tensor4D): tf.Tensor4D {
  const [, , cin, cout] = weight.shape;
  const source = [
    [2, 0],
    [null, 1],
  ];
  const tap = (a: number, b: number): tf.Tensor2D =>
    tf.reshape(tf.slice(weight, [a, b, 0, 0], [1, 1, cin, cout]), [cin, cout]);
  const zero = tf.zeros([cin, cout]) as tf.Tensor2D;
  const blocks: tf.Tensor2D[] = [];
  for (let t = 0; t < 2; t++)
    for (let u = 0; u < 2; u++) {
      const phases: tf.Tensor2D[] = [];
      for (let r = 0; r < 2; r++)
        for (let s = 0; s < 2; s++) {
          const a = source[r]![t]!;
          const b = source[s]![u]!;
          phases.push(a === null || b === null ? zero : tap(a, b));
        }
      blocks.push(tf.concat(phases, 1));
    }
  return tf.reshape(tf.stack(blocks), [2, 2, cin, 4 * cout]) as tf.Tensor4D;
}

const rng = new RandomState(21);
const [cin, cout] = [5, 7];
const weight = (): tf.Tensor4D => tf.tensor4d(rng.randnF32(9 * cin * cout), [3, 3, cin, cout]);

test('the polyphase kernel and its weight gradient are the sliced construction, bit for bit', async () => {
  const w = weight();
  const upstream = tf.tensor4d(rng.randnF32(16 * cin * cout), [2, 2, cin, 4 * cout]);
  const loss = (f: (w: tf.Tensor4D) => tf.Tensor4D) => (x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor4D), upstream));
  assert.deepEqual(await polyphaseKernel(w).data(), await slicedKernel(w).data());
  const ours = await tf.grad(loss(polyphaseKernel))(w).data();
  const sliced = await tf.grad(loss(slicedKernel))(w).data();
  assert.deepEqual(ours, sliced);
  // Every tap is in the kernel exactly once: a nonzero gradient everywhere (nothing dropped).
  assert.ok(ours.every((v) => v !== 0));
});

test('the polyphase kernel and its gradient take a handful of kernels, not one per tap', async () => {
  const w = weight();
  const upstream = tf.ones([2, 2, cin, 4 * cout]);
  const profile = await tf.profile(() =>
    tf.grad((x) => tf.sum(tf.mul(polyphaseKernel(x as tf.Tensor4D), upstream)))(w),
  );
  // Forward and backward of the kernel, the loss's Multiply/Sum and their gradients and the tape's Identity
  // clones included: 23 here; tap by tap it was 103.
  assert.ok(profile.kernels.length <= 30, `${profile.kernels.length} kernels: ${profile.kernels.map((k) => k.name)}`);
});
