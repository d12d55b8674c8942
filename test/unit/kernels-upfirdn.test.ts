/**
 * The fused upfirdn2d (main/core/kernels/upfirdn.ts) against the composed ops it replaces (pad,
 * zero-stuffing, depthwise convolution), in every form the networks use, H ≠ W: forward, the
 * gradient, and the gradient of a gradient (R1 and path length), to float32 rounding.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { downsample2d, fir2d, upsample2d } from '../../main/core/gan/ops.js';
import { useFusedKernels, fusedHere } from '../../main/core/kernels/fused.js';
import { UPFIRDN_KERNEL, adjointAttrs } from '../../main/core/kernels/upfirdn.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, maxAbsDiff } from '../helpers/gan.js';

before(() => backendReady);

const FORMS: { name: string; f: (x: tf.Tensor4D) => tf.Tensor4D }[] = [
  { name: 'upsample2d (up 2, pad 2/1, gain 4)', f: upsample2d },
  { name: 'downsample2d (pad 1/1, down 2)', f: downsample2d },
  { name: "conv2dDown2's FIR (pad 2/2)", f: (x) => fir2d(x, 2, 2) },
  { name: "conv2dUp2's FIR (pad 1/0, gain 4)", f: (x) => fir2d(x, 1, 0, 4) },
];

interface Result {
  y: Float32Array;
  shape: number[];
  dx: Float32Array;
  ddx: Float32Array;
  kernels: number;
}

/**
 * f(x) as training computes it, under a gradient tape (the fused filter runs only there: ops.ts),
 * and the kernels that forward pass dispatched.
 */
async function taped(f: (x: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D): Promise<{ y: tf.Tensor4D; kernels: number }> {
  let y: tf.Tensor4D | null = null;
  const info = await tf.profile(() =>
    tf.dispose(
      tf.grad((v: tf.Tensor) => {
        y = tf.keep(f(v as tf.Tensor4D));
        return tf.sum(y);
      })(x),
    ),
  );
  // The forward kernels are those before the Sum that ends the loss (less the tape's Identity copies).
  const forward = info.kernels.slice(
    0,
    info.kernels.findIndex((k) => k.name === 'Sum'),
  );
  return { y: y!, kernels: forward.filter((k) => k.name !== 'Identity').length };
}

/** y = f(x), the gradient of Σ y·r, and the gradient of ‖that gradient ⊙ y-independent weights‖² through f twice. */
async function run(on: boolean, f: (x: tf.Tensor4D) => tf.Tensor4D, x: tf.Tensor4D): Promise<Result> {
  useFusedKernels(on);
  try {
    const weights = (t: tf.Tensor): tf.Tensor => tf.cos(tf.mul(tf.range(0, t.size).reshape(t.shape), 0.37));
    const loss = (v: tf.Tensor): tf.Scalar => tf.sum(tf.mul(f(v as tf.Tensor4D), weights(f(x))));
    const { y, kernels } = await taped(f, x); // kernels read now: the next profile reuses the object
    const dx = tf.grad(loss)(x);
    // A second-order term as R1 makes it: the input gradient of f, squared, differentiated again.
    const ddx = tf.grad((v: tf.Tensor) =>
      tf.sum(tf.square(tf.grad((u: tf.Tensor) => tf.sum(tf.square(f(u as tf.Tensor4D))))(v))),
    )(x);
    const out = {
      y: (await y.data()) as Float32Array,
      shape: y.shape,
      dx: (await dx.data()) as Float32Array,
      ddx: (await ddx.data()) as Float32Array,
      kernels,
    };
    tf.dispose([y, dx, ddx]);
    return out;
  } finally {
    useFusedKernels(true);
  }
}

const close = (a: Float32Array, b: Float32Array, what: string): void => {
  const scale = Math.max(...b.map(Math.abs));
  assert.ok(maxAbsDiff(a, b) <= 2e-6 * scale, `${what}: differs by ${maxAbsDiff(a, b)} (scale ${scale})`);
};

for (const form of FORMS) {
  test(`fused upfirdn2d, ${form.name}: forward, gradient and second order as the composed ops`, async (t) => {
    if (!fusedHere(UPFIRDN_KERNEL)) return t.skip(`no fused upfirdn2d on ${tf.getBackend()}`);
    const rng = new RandomState(31);
    const x = tf.tensor4d(rng.randnF32(2 * 6 * 10 * 3), [2, 6, 10, 3]);
    try {
      const composed = await run(false, form.f, x);
      const fused = await run(true, form.f, x);
      assert.deepEqual(fused.shape, composed.shape);
      close(fused.y, composed.y, 'forward');
      close(fused.dx, composed.dx, 'gradient');
      close(fused.ddx, composed.ddx, 'second order');
      assert.equal(fused.kernels, 1, 'one kernel forward');
      assert.ok(composed.kernels > 1, `${composed.kernels} composed`);
    } finally {
      x.dispose();
    }
  });
}

test('outside a tape (a bird drawn) the filters take the fused kernel too, and compute what the composed ops do', async (t) => {
  if (!fusedHere(UPFIRDN_KERNEL)) return t.skip(`no fused upfirdn2d on ${tf.getBackend()}`);
  const rng = new RandomState(5);
  const x = tf.tensor4d(rng.randnF32(2 * 6 * 10 * 3), [2, 6, 10, 3]);
  for (const form of FORMS) {
    const runs: { y: Float32Array; kernels: number }[] = [];
    for (const on of [true, false]) {
      useFusedKernels(on);
      let y: tf.Tensor | undefined;
      const info = await tf.profile(() => {
        y = form.f(x);
        return y;
      });
      runs.push({ y: (await y!.data()) as Float32Array, kernels: info.kernels.length });
      y!.dispose();
    }
    useFusedKernels(true);
    assert.equal(runs[0]!.kernels, 1, `${form.name}: one kernel without a tape`);
    assert.ok(runs[1]!.kernels > 1, `${form.name}: ${runs[1]!.kernels} composed kernels with fused kernels off`);
    close(runs[0]!.y, runs[1]!.y, form.name);
  }
  x.dispose();
});

test('fused upfirdn2d: a sample alone gives the bits it gives in a batch', async (t) => {
  if (!fusedHere(UPFIRDN_KERNEL)) return t.skip(`no fused upfirdn2d on ${tf.getBackend()}`);
  const rng = new RandomState(4);
  const x = tf.tensor4d(rng.randnF32(3 * 5 * 5 * 4), [3, 5, 5, 4]);
  const up = async (v: tf.Tensor4D): Promise<Float32Array> => {
    const { y } = await taped(upsample2d, v);
    const out = (await y.data()) as Float32Array;
    y.dispose();
    return out;
  };
  const batch = await up(x);
  const one = await up(tf.slice(x, [1, 0, 0, 0], [1, 5, 5, 4]));
  const per = batch.length / 3;
  assert.ok(Buffer.from(batch.buffer, per * 4, per * 4).equals(Buffer.from(one.buffer)));
  x.dispose();
});

test("upfirdn2d's adjoint padding inverts the shapes (the reference's backward)", () => {
  const up = adjointAttrs({ up: 2, down: 1, padY: [2, 1], padX: [2, 1], gain: 4 }, 8, 8);
  assert.deepEqual(up, { up: 1, down: 2, padY: [1, 1], padX: [1, 1], gain: 4 });
  const down = adjointAttrs({ up: 1, down: 2, padY: [1, 1], padX: [1, 1], gain: 1 }, 9, 8);
  assert.deepEqual(down.padY, [2, 2]); // an odd input: the last row never reached a kept sample
  assert.deepEqual(down.padX, [2, 1]);
});
