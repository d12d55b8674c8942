/**
 * The lean gradients (main/core/kernels/lean-gradients.ts) against tfjs's own, first and second
 * order: the same bits where only casts or the ones tensor went, the same values up to rounding
 * where the sum runs in another order (Tile) or the formula changed (Rsqrt); fewer kernels.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useFusedKernels } from '../../main/core/kernels/fused.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, maxAbsDiff } from '../helpers/gan.js';

before(() => backendReady);

interface Orders {
  first: Float32Array[];
  second: Float32Array[];
  kernels: number;
}

/**
 * ∇ₓ Σ f(x)·w and ∇ₓ Σ (∇ₓ Σ f(x)·w)² for every input, with the lean gradients on or off,
 * and the kernels the second order dispatched.
 */
async function orders(on: boolean, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): Promise<Orders> {
  useFusedKernels(on);
  try {
    const weighted = (...args: tf.Tensor[]): tf.Scalar => {
      const y = f(...args);
      return tf.sum(tf.mul(y, tf.sin(tf.range(0, y.size).reshape(y.shape))));
    };
    const first = tf.grads(weighted)(xs);
    const secondF = (): tf.Tensor[] =>
      tf.grads((...args: tf.Tensor[]) =>
        tf.addN(
          tf
            .grads(weighted)(args)
            .map((g) => tf.sum(tf.square(g))),
        ),
      )(xs);
    const kernels = (await tf.profile(() => tf.dispose(secondF()))).kernels.length; // the next profile reuses it
    const second = secondF();
    const read = (ts: tf.Tensor[]): Promise<Float32Array[]> =>
      Promise.all(ts.map(async (t) => (await t.data()) as Float32Array));
    const out = { first: await read(first), second: await read(second), kernels };
    tf.dispose([...first, ...second]);
    return out;
  } finally {
    useFusedKernels(true);
  }
}

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const rng = new RandomState(21);
const rand = (shape: number[], positive = false): tf.Tensor =>
  tf.tensor(
    rng.randnF32(shape.reduce((a, b) => a * b, 1)).map((v) => (positive ? 0.5 + Math.abs(v) : v)),
    shape,
  );

const CASES: { name: string; f: (...xs: tf.Tensor[]) => tf.Tensor; xs: () => tf.Tensor[]; exact: boolean }[] = [
  { name: 'mul, broadcast', f: (a, b) => tf.mul(a!, b!), xs: () => [rand([2, 3, 4]), rand([4])], exact: true },
  { name: 'mul by a scalar', f: (a, b) => tf.mul(a!, b!), xs: () => [rand([]), rand([5])], exact: true },
  { name: 'div, broadcast', f: (a, b) => tf.div(a!, b!), xs: () => [rand([3, 4]), rand([3, 1], true)], exact: true },
  { name: 'square', f: (a) => tf.square(a!), xs: () => [rand([6])], exact: true },
  { name: 'sqrt', f: (a) => tf.sqrt(a!), xs: () => [rand([6], true)], exact: true },
  { name: 'sum over axes', f: (a) => tf.sum(tf.square(a!), [1, 3]), xs: () => [rand([2, 3, 2, 4])], exact: true },
  { name: 'mean over an axis', f: (a) => tf.mean(tf.square(a!), 0), xs: () => [rand([4, 3])], exact: true },
  { name: 'rsqrt', f: (a) => tf.rsqrt(a!), xs: () => [rand([7], true)], exact: false },
  {
    name: 'tile, as minibatch stddev does',
    f: (a) => tf.tile(tf.square(a!), [4, 4, 4, 1]),
    xs: () => [rand([2, 1, 1, 1])],
    exact: false,
  },
];

for (const c of CASES) {
  test(`lean gradient of ${c.name}: first and second order as tfjs's own${c.exact ? ', to the bit' : ''}`, async () => {
    const xs = c.xs();
    try {
      const stock = await orders(false, c.f, xs);
      const lean = await orders(true, c.f, xs);
      for (const order of ['first', 'second'] as const)
        stock[order].forEach((s, i) => {
          const l = lean[order][i]!;
          if (c.exact) assert.ok(bits(l).equals(bits(s)), `${order} order, input ${i}: ${l} vs ${s}`);
          else {
            const scale = Math.max(...s.map(Math.abs));
            assert.ok(maxAbsDiff(l, s) <= 1e-6 * scale, `${order} order, input ${i}: ${l} vs ${s}`);
          }
        });
      assert.ok(lean.kernels < stock.kernels, `${lean.kernels} kernels, tfjs's own ${stock.kernels}`);
    } finally {
      tf.dispose(xs);
    }
  });
}
