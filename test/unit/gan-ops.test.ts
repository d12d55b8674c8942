import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { conv2dUp2, downsample2d, minibatchStd, modulatedConv2d, upsample2d, fir2d } from '../../main/core/gan/ops.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, maxAbsDiff, valueOf } from '../helpers/gan.js';

before(() => backendReady);

const outer = (u: number[], v: number[]): number[] => u.flatMap((a) => v.map((b) => a * b));
const image = (values: number[], h: number, w: number): tf.Tensor4D => tf.tensor4d(values, [1, h, w, 1]);
const rand = (rng: RandomState, shape: number[]): tf.Tensor =>
  tf.tensor(rng.randnF32(shape.reduce((a, b) => a * b, 1)), shape);

test('FIR up-sampling by hand: [1,2,3,4] → [.75,1.25,1.75,2.25,2.75,3.25,3.75,3] on each axis', async () => {
  const u = [1, 2, 3, 4];
  const up = [0.75, 1.25, 1.75, 2.25, 2.75, 3.25, 3.75, 3];
  const y = upsample2d(image(outer(u, u), 4, 4));
  assert.deepEqual(y.shape, [1, 8, 8, 1]);
  assert.ok(maxAbsDiff(await y.data(), outer(up, up)) < 1e-5);
  // a constant stays constant away from the border (gain 4 keeps the mean)
  const flat = await upsample2d(tf.ones([1, 8, 8, 1]) as tf.Tensor4D).data();
  assert.ok(Math.abs(flat[5 * 16 + 5]! - 1) < 1e-6);
});

test('FIR down-sampling by hand: [1…8] → [1.5,3.5,5.5,6.375] on each axis', async () => {
  const u = [1, 2, 3, 4, 5, 6, 7, 8];
  const down = [1.5, 3.5, 5.5, 6.375];
  const y = downsample2d(image(outer(u, u), 8, 8));
  assert.deepEqual(y.shape, [1, 4, 4, 1]);
  assert.ok(maxAbsDiff(await y.data(), outer(down, down)) < 1e-5);
});

/** The reference's conv2d_resample(up=2) computed naively: scatter-add transposed conv, pad 1, FIR ×4. */
function naiveUp2(x: Float32Array, h: number, cin: number, wRef: Float32Array, cout: number): Float32Array {
  const t = 2 * h + 1;
  const ct = new Float32Array(t * t * cout);
  for (let y = 0; y < h; y++)
    for (let xx = 0; xx < h; xx++)
      for (let c = 0; c < cin; c++)
        for (let o = 0; o < cout; o++)
          for (let i = 0; i < 3; i++)
            for (let j = 0; j < 3; j++)
              ct[((2 * y + i) * t + (2 * xx + j)) * cout + o]! +=
                x[(y * h + xx) * cin + c]! * wRef[((o * cin + c) * 3 + i) * 3 + j]!;
  const f = [1, 3, 3, 1].map((v) => (v / 8) * 2);
  const pad = (r: number, c: number, o: number): number =>
    r < 1 || c < 1 || r > t || c > t ? 0 : ct[((r - 1) * t + (c - 1)) * cout + o]!;
  const out = new Float32Array(4 * h * h * cout);
  for (let r = 0; r < 2 * h; r++)
    for (let c = 0; c < 2 * h; c++)
      for (let o = 0; o < cout; o++) {
        let s = 0;
        for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += f[a]! * f[b]! * pad(r + a, c + b, o);
        out[(r * 2 * h + c) * cout + o] = s;
      }
  return out;
}

test('up-sampling conv (zero-stuffing + turned kernel) equals the reference transposed conv + FIR', async () => {
  const rng = new RandomState(5);
  const [h, cin, cout] = [3, 2, 3];
  const x = rng.randnF32(h * h * cin);
  const wRef = rng.randnF32(cout * cin * 9); // [out,in,3,3]
  const wTf = new Float32Array(9 * cin * cout); // [3,3,in,out]
  for (let o = 0; o < cout; o++)
    for (let c = 0; c < cin; c++)
      for (let i = 0; i < 9; i++) wTf[(i * cin + c) * cout + o] = wRef[(o * cin + c) * 9 + i]!;
  const y = conv2dUp2(tf.tensor4d(x, [1, h, h, cin]), tf.tensor4d(wTf, [3, 3, cin, cout]));
  assert.deepEqual(y.shape, [1, 6, 6, cout]);
  assert.ok(maxAbsDiff(await y.data(), naiveUp2(x, h, cin, wRef, cout)) < 1e-4);
});

test('modulated conv: scaling the input equals modulating and demodulating the weight per sample', async () => {
  const rng = new RandomState(9);
  const [n, h, cin, cout] = [3, 4, 5, 6];
  const x = rand(rng, [n, h, h, cin]) as tf.Tensor4D;
  const weight = rand(rng, [3, 3, cin, cout]) as tf.Tensor4D;
  const styles = tf.add(rand(rng, [n, cin]), 1) as tf.Tensor2D;
  for (const up of [1, 2] as const) {
    const fast = (await modulatedConv2d(x, weight, styles, { demodulate: true, up }).array()) as number[][][][];
    for (let k = 0; k < n; k++) {
      const wk = tf.mul(weight, tf.reshape(tf.slice(styles, [k, 0], [1, cin]), [1, 1, cin, 1])); // w·s
      const wd = tf.mul(wk, tf.rsqrt(tf.add(tf.sum(tf.square(wk), [0, 1, 2]), 1e-8))) as tf.Tensor4D; // demodulated
      const xk = tf.slice(x, [k, 0, 0, 0], [1, h, h, cin]);
      const slow = up === 2 ? conv2dUp2(xk, wd) : tf.conv2d(xk, wd, 1, 'same');
      assert.ok(
        maxAbsDiff(await slow.data(), (fast[k] as unknown as number[][][]).flat(2)) < 1e-4,
        `sample ${k}, up ${up}`,
      );
    }
  }
});

test('demodulation gives unit-variance outputs for unit-variance inputs', async () => {
  const rng = new RandomState(11);
  const x = rand(rng, [8, 16, 16, 64]) as tf.Tensor4D;
  const weight = rand(rng, [3, 3, 64, 32]) as tf.Tensor4D;
  const styles = tf.add(tf.mul(rand(rng, [8, 64]), 0.5), 1) as tf.Tensor2D;
  const y = modulatedConv2d(x, weight, styles, { demodulate: true, up: 1 });
  // interior pixels only (zero padding lowers the border's variance)
  const inner = tf.slice(y, [0, 1, 1, 0], [8, 14, 14, 32]);
  const variance = await valueOf(tf.moments(inner).variance);
  assert.ok(Math.abs(variance - 1) < 0.1, `variance ${variance}`);
});

test('minibatch stddev by hand, with the reference grouping (samples n, n+N/G, …)', async () => {
  const one = minibatchStd(tf.tensor4d([1, 0, 2, 0, 3, 0, 4, 0], [4, 1, 1, 2]), 4);
  assert.deepEqual(one.shape, [4, 1, 1, 3]);
  const expected = (Math.sqrt(1.25 + 1e-8) + Math.sqrt(1e-8)) / 2;
  assert.ok(maxAbsDiff(await one.data(), [1, 0, expected, 2, 0, expected, 3, 0, expected, 4, 0, expected]) < 1e-5);
  const strided = await minibatchStd(tf.tensor4d([0, 10, 1, 10, 2, 10, 3, 10], [8, 1, 1, 1]), 4).data();
  const a = Math.sqrt(1.25 + 1e-8);
  const b = Math.sqrt(1e-8);
  assert.ok(
    maxAbsDiff(
      Array.from({ length: 8 }, (_, k) => strided[k * 2 + 1]!),
      [a, b, a, b, a, b, a, b],
    ) < 1e-5,
  );
  assert.throws(() => minibatchStd(tf.zeros([6, 1, 1, 1]) as tf.Tensor4D, 4), /not divisible/);
});

test('a 2-D FIR pass with gain 1 keeps the sum of a padded impulse', async () => {
  const impulse = tf.tensor4d(outer([0, 0, 1, 0, 0], [0, 0, 1, 0, 0]), [1, 5, 5, 1]);
  const y = fir2d(impulse, 2, 1);
  assert.ok(Math.abs((await valueOf(tf.sum(y))) - 1) < 1e-6);
});
