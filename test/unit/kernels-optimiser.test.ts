/**
 * The optimiser's fused kernels (main/core/kernels/optimiser.ts) against the composed ops they
 * replace, on the tests' backend: Adam over several steps (a parameter without a gradient and a
 * frozen one included) and G_ema's lerp give the same bits.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { Adam } from '../../main/core/gan/adam.js';
import { ADAM_KERNEL, LERP_KERNEL, lerpAll } from '../../main/core/kernels/optimiser.js';
import { fusedHere, useFusedKernels } from '../../main/core/kernels/fused.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady } from '../helpers/gan.js';

before(() => backendReady);

const bits = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function withFused<T>(on: boolean, f: () => Promise<T>): Promise<T> {
  useFusedKernels(on);
  try {
    return await f();
  } finally {
    useFusedKernels(true);
  }
}

/** Four steps of Adam from the same start; the parameters and moments after them. */
async function adamRun(): Promise<Float32Array[]> {
  const rng = new RandomState(5);
  const shapes = [[3, 3, 4, 5], [5], [], [7, 2]];
  const params = shapes.map((s, i) =>
    tf.variable(tf.tensor(rng.randnF32(s.reduce((a, b) => a * b, 1)), s), true, `adam-test-${i}-${Math.random()}`),
  );
  const opt = new Adam(params, { lr: 0.002, betas: [0.0, 0.99], eps: 1e-8 }, 'test');
  opt.frozen = new Set([params[3]!.name]);
  try {
    for (let step = 0; step < 4; step++) {
      const grads: tf.NamedTensorMap = {};
      // The scalar has no gradient in odd steps; tiny and huge values test the rounding.
      params.forEach((p, i) => {
        if (i === 2 && step % 2) return;
        grads[p.name] = tf.tensor(rng.randnF32(p.size, step === 3 ? 1e-20 : 10 ** (i - 1)), p.shape);
      });
      opt.apply(grads);
      tf.dispose(Object.values(grads));
    }
    const out: Float32Array[] = [];
    for (const t of [...params, ...opt.m, ...opt.v]) out.push((await t.data()) as Float32Array);
    return out;
  } finally {
    opt.dispose();
    for (const p of params) p.dispose();
  }
}

test('fused Adam: the same bits as the composed update, a missing gradient and a frozen parameter included', async (t) => {
  if (!fusedHere(ADAM_KERNEL)) return t.skip(`no fused Adam on ${tf.getBackend()}`);
  const composed = await withFused(false, adamRun);
  const fused = await withFused(true, adamRun);
  assert.equal(fused.length, composed.length);
  fused.forEach((f, i) => assert.ok(bits(f).equals(bits(composed[i]!)), `tensor ${i} differs`));
  // The frozen parameter and its moments stay as they started.
  assert.ok(fused[7]!.every((v) => v === 0) && fused[11]!.every((v) => v === 0), 'frozen moments moved');
});

test('fused lerp: a + (b − a)·t to the bit, and one kernel for every pair', async (t) => {
  if (!fusedHere(LERP_KERNEL)) return t.skip(`no fused lerp on ${tf.getBackend()}`);
  const rng = new RandomState(8);
  const a = [tf.tensor(rng.randnF32(33)), tf.tensor(rng.randnF32(6), [2, 3])];
  const b = [tf.tensor(rng.randnF32(33, 3)), tf.tensor(rng.randnF32(6), [2, 3])];
  const beta = 0.9987;
  const profile = await tf.profile(() => {
    const out = lerpAll(a, b, beta);
    tf.dispose(out);
  });
  assert.equal(profile.kernels.length, 1);
  const fused = lerpAll(a, b, beta);
  for (const [i, f] of fused.entries()) {
    const composed = tf.add(a[i]!, tf.mul(tf.sub(b[i]!, a[i]!), beta));
    assert.deepEqual(f.shape, a[i]!.shape);
    assert.ok(bits((await f.data()) as Float32Array).equals(bits((await composed.data()) as Float32Array)));
    composed.dispose();
  }
  tf.dispose([...a, ...b, ...fused]);
});
