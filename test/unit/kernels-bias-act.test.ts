/**
 * The fused bias_act (main/core/kernels/bias-act.ts) against the composed add, leakyRelu and mul
 * it replaces: forward and gradient to the bit (input and bias), the gradient of a gradient to
 * float32 rounding; one kernel forward, one (and the bias's sum) backward.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { biasLrelu } from '../../main/core/gan/ops.js';
import { fusedHere, useFusedKernels } from '../../main/core/kernels/fused.js';
import { BIAS_ACT_KERNEL } from '../../main/core/kernels/bias-act.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, maxAbsDiff } from '../helpers/gan.js';

before(() => backendReady);

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function run(on: boolean, x: tf.Tensor, b: tf.Tensor, gain: number) {
  useFusedKernels(on);
  try {
    const w = tf.sin(tf.mul(tf.range(0, x.size).reshape(x.shape), 0.7));
    const f = (u: tf.Tensor, v: tf.Tensor): tf.Tensor => biasLrelu(u, v, gain);
    const y = f(x, b);
    // tf.profile hands back one object that its next call overwrites: count at once.
    const forwardKernels = (await tf.profile(() => tf.dispose(f(x, b)))).kernels.filter(
      (k) => k.name !== 'Identity',
    ).length;
    const backwardKernels = (
      await tf.profile(() => tf.dispose(tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(f(u, v), w)))([x, b])))
    ).kernels.length;
    const [dx, db] = tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(f(u, v), w)))([x, b]);
    // R1's shape: the input gradient squared, differentiated again for the bias (and the input).
    const [ddx, ddb] = tf.grads((u: tf.Tensor, v: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((s: tf.Tensor) => tf.sum(tf.mul(tf.square(f(s, v)), w)))(u))),
    )([x, b]);
    const read = async (t: tf.Tensor): Promise<Float32Array> => (await t.data()) as Float32Array;
    const out = {
      y: await read(y),
      dx: await read(dx!),
      db: await read(db!),
      ddx: await read(ddx!),
      ddb: await read(ddb!),
      forwardKernels,
      backwardKernels,
    };
    tf.dispose([w, y, dx!, db!, ddx!, ddb!]);
    return out;
  } finally {
    useFusedKernels(true);
  }
}

for (const [name, shape, gain] of [
  ['a 4-D activation (a conv layer)', [2, 3, 5, 4], 1],
  ['a 2-D one (a mapping layer), with a gain of √½', [3, 6], Math.SQRT1_2],
] as [string, number[], number][]) {
  test(`fused bias_act on ${name}: forward and gradient to the bit, second order to rounding`, async (t) => {
    if (!fusedHere(BIAS_ACT_KERNEL)) return t.skip(`no fused bias_act on ${tf.getBackend()}`);
    const rng = new RandomState(12);
    const x = tf.tensor(rng.randnF32(shape.reduce((a, b) => a * b, 1)), shape);
    const b = tf.tensor1d(rng.randnF32(shape.at(-1)!, 0.5));
    try {
      const composed = await run(false, x, b, gain);
      const fused = await run(true, x, b, gain);
      for (const k of ['y', 'dx', 'db'] as const) assert.ok(bits(fused[k]).equals(bits(composed[k])), `${k} differs`);
      for (const k of ['ddx', 'ddb'] as const) {
        const scale = Math.max(...composed[k].map(Math.abs));
        assert.ok(maxAbsDiff(fused[k], composed[k]) <= 1e-6 * scale, `${k}: ${fused[k]} vs ${composed[k]}`);
      }
      assert.equal(fused.forwardKernels, 1);
      assert.ok(
        fused.backwardKernels < composed.backwardKernels,
        `${fused.backwardKernels} vs ${composed.backwardKernels}`,
      );
    } finally {
      tf.dispose([x, b]);
    }
  });
}

test('fused bias_act at the kink: x + b of exactly +0, −0 and the smallest floats either side, to the bit', async (t) => {
  if (!fusedHere(BIAS_ACT_KERNEL)) return t.skip(`no fused bias_act on ${tf.getBackend()}`);
  // The slope is picked from the bits of x + b (no branch): zeros of either sign and the
  // subnormals next to them are where a sign test could go wrong.
  const tiny = 1.401298464324817e-45;
  const x = tf.tensor2d([0, -0, tiny, -tiny, -0.5, 0.25, 3, -3], [4, 2]);
  const b = tf.tensor1d([0, -0]);
  try {
    const composed = await run(false, x, b, 1);
    const fused = await run(true, x, b, 1);
    for (const k of ['y', 'dx', 'db'] as const) assert.ok(bits(fused[k]).equals(bits(composed[k])), `${k} differs`);
  } finally {
    tf.dispose([x, b]);
  }
});
