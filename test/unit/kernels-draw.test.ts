/**
 * The drawing path's fused kernels (main/core/kernels/draw-styles.ts, draw-epilogue.ts) against
 * the composed ops they replace — to the bit on wasm, to float32 rounding on webgpu (its matMul
 * sums in another order) — one kernel each; and a frozen generator's bird through them: the same
 * bytes as the training forward, in the number of kernels main/core/gan/draw.ts promises.
 * Runs on the tests' backend (PLUMAGE_TEST_BACKEND=webgpu for WebGPU).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { blockResolutions, presetConfig, type GanConfig } from '../../main/core/gan/config.js';
import { broadcastWs, generatorSpecs, synthesis } from '../../main/core/gan/generator.js';
import { biasLrelu, WeightConstants, resampleFilter2d } from '../../main/core/gan/ops.js';
import { drawsFused } from '../../main/core/gan/draw.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { sampleSeeds } from '../../main/core/gan/sample.js';
import { fusedHere } from '../../main/core/kernels/fused.js';
import { DEMOD_COEFS_KERNEL, MOD_STYLES_KERNEL, demodCoefs, modStyles } from '../../main/core/kernels/draw-styles.js';
import {
  DEMOD_EPILOGUE_KERNEL,
  INTERLEAVE_PHASES_KERNEL,
  demodEpilogue,
  interleavePhases,
} from '../../main/core/kernels/draw-epilogue.js';
import { backendReady, maxAbsDiff, micro } from '../helpers/gan.js';

before(() => backendReady);

const onWasm = (): boolean => tf.getBackend() === 'wasm';
const randn = (rng: RandomState, shape: number[], scale = 1): tf.Tensor =>
  tf.tensor(
    rng.randnF32(
      shape.reduce((a, b) => a * b, 1),
      scale,
    ),
    shape,
  );

/** `fused` dispatches one kernel and equals `composed`: to the bit on wasm, to `tol` (relative) elsewhere. */
async function holdsTo(fused: () => tf.Tensor, composed: () => tf.Tensor, tol = 1e-5): Promise<void> {
  const kernels = (await tf.profile(() => tf.dispose(fused()))).kernels.map((k) => k.name);
  assert.deepEqual(kernels.length, 1, `one kernel, not ${kernels.join(', ')}`);
  const [a, b] = [fused(), composed()];
  assert.deepEqual(a.shape, b.shape);
  const [x, y] = [(await a.data()) as Float32Array, (await b.data()) as Float32Array];
  tf.dispose([a, b]);
  if (onWasm()) {
    const bits = (v: Float32Array): Buffer => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
    assert.ok(bits(x).equals(bits(y)), `not the same bits: max |Δ| ${maxAbsDiff(x, y)}`);
  } else {
    const scale = Math.max(...y.map(Math.abs));
    assert.ok(maxAbsDiff(x, y) <= tol * scale, `max |Δ| ${maxAbsDiff(x, y)} of ${scale}`);
  }
}

test('styles: (w·A + b)·gain in one kernel, as the affine layer, its add and toRGB’s 1/√in', async (t) => {
  if (!fusedHere(MOD_STYLES_KERNEL)) return t.skip(`no fused styles on ${tf.getBackend()}`);
  const rng = new RandomState(5);
  const [w, a, b] = [randn(rng, [3, 24]), randn(rng, [24, 10], 0.2), randn(rng, [10])] as [
    tf.Tensor2D,
    tf.Tensor2D,
    tf.Tensor1D,
  ];
  for (const gain of [1, 1 / Math.sqrt(10)]) {
    const composed = (): tf.Tensor => {
      const s = tf.add(tf.matMul(w, a), b);
      return tf.reshape(gain === 1 ? s : tf.mul(s, gain), [3, 1, 1, 10]);
    };
    await holdsTo(() => modStyles(w, a, b, gain), composed);
  }
  assert.throws(() => modStyles(w, a, tf.zeros([9]) as tf.Tensor1D, 1), /styles: .*do not fit/);
  tf.dispose([w, a, b]);
});

test('demodulation coefficients: rsqrt(styles²·wsq + 1e-8) in one kernel', async (t) => {
  if (!fusedHere(DEMOD_COEFS_KERNEL)) return t.skip(`no fused demodulation on ${tf.getBackend()}`);
  const rng = new RandomState(6);
  const s = randn(rng, [2, 1, 1, 16]) as tf.Tensor4D;
  const wsq = tf.sum(tf.square(randn(rng, [3, 3, 16, 12])), [0, 1]) as tf.Tensor2D;
  const composed = (): tf.Tensor => tf.rsqrt(tf.add(tf.matMul(tf.square(tf.reshape(s, [2, 16])), wsq), 1e-8));
  await holdsTo(() => demodCoefs(s, wsq), composed);
  tf.dispose([s, wsq]);
});

test('the epilogue: lrelu((y·dcoef + noise) + bias)·√2 in one kernel, with const, per-sample or no noise', async (t) => {
  if (!fusedHere(DEMOD_EPILOGUE_KERNEL)) return t.skip(`no fused epilogue on ${tf.getBackend()}`);
  const rng = new RandomState(7);
  const [n, h, w, c] = [2, 5, 3, 6];
  const y = randn(rng, [n, h, w, c]) as tf.Tensor4D;
  const d = tf.abs(randn(rng, [n, c])) as tf.Tensor2D;
  const b = randn(rng, [c], 0.5) as tf.Tensor1D;
  for (const noise of [randn(rng, [1, h, w, 1]), randn(rng, [n, h, w, 1]), null] as (tf.Tensor4D | null)[]) {
    const composed = (): tf.Tensor => {
      const demodulated = tf.mul(y, tf.reshape(d, [n, 1, 1, c]));
      return biasLrelu(noise ? tf.add(demodulated, noise) : demodulated, b);
    };
    await holdsTo(() => demodEpilogue(y, d, noise, b, { alpha: 0.2, gain: Math.SQRT2 }), composed);
  }
  assert.throws(() => demodEpilogue(y, d, tf.zeros([1, h + 1, w, 1]), b, { alpha: 0.2, gain: 1 }), /noise \[1,6,3,1\]/);
  tf.dispose([y, d, b]);
});

test('the four up-sampling phases woven into one tensor by one kernel, as the concats and reshapes did', async (t) => {
  if (!fusedHere(INTERLEAVE_PHASES_KERNEL)) return t.skip(`no fused interleave on ${tf.getBackend()}`);
  const rng = new RandomState(8);
  const [n, h, w, c] = [2, 4, 3, 5]; // H ≠ W
  const p = [0, 1, 2, 3].map(() => randn(rng, [n, h, w, c])) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D];
  const composed = (): tf.Tensor => {
    const row = (r: number): tf.Tensor => tf.reshape(tf.concat([p[2 * r]!, p[2 * r + 1]!], 3), [n, h, 2 * w, c]);
    return tf.reshape(tf.concat([row(0), row(1)], 2), [n, 2 * h, 2 * w, c]);
  };
  await holdsTo(() => interleavePhases(p), composed, 0);
  tf.dispose(p);
});

/**
 * The kernels one bird takes through main/core/gan/draw.ts, counted from the architecture: a
 * 3×3 layer 5, an up-sampling one 10 (4 phase convolutions, the weave, the FIR), a toRGB 4, the
 * image's up-sampling and add 2; the mapping 2 a layer; and 13 around them (normalising z 5,
 * truncation 3, broadcasting the ws 2, unstacking them 1, the 4×4 constant's tile 2).
 */
function drawnKernels(c: GanConfig): number {
  const blocks = blockResolutions(c.resolution).length;
  const [plain, upLayers] = [blocks, blocks - 1]; // conv1 everywhere, conv0 above 4×4
  return 5 * plain + 10 * upLayers + 4 * blocks + 2 * (blocks - 1) + 2 * c.mappingLayers + 13;
}

test('a frozen generator’s bird: the training forward’s bytes, in the counted kernels (256²: at most 185)', async (t) => {
  if (!drawsFused()) return t.skip(`the drawing path is not fused on ${tf.getBackend()}`);
  const c = presetConfig('tiny');
  const G = new ParamSet('G_ema', generatorSpecs(c), (s) => initialValues(s, new RandomState(9), resampleFilter2d()));
  // Biases and noise strengths start at 0: give every parameter a value, so each term counts.
  G.importRef((_name, spec) => new RandomState(spec.name.length).randnF32(spec.refShape.reduce((a, b) => a * b, 1)));
  const constants = new WeightConstants();
  try {
    for (const mode of ['const', 'random', 'none'] as const) {
      const [trained] = await sampleSeeds(G, c, [3], 0.7, mode);
      const [drawn] = await sampleSeeds(G, c, [3], 0.7, mode, constants);
      if (onWasm()) assert.ok(Buffer.from(drawn!).equals(Buffer.from(trained!)), `${mode} noise: bytes differ`);
      else assert.ok(maxAbsDiff(drawn!, trained!) <= 2, `${mode} noise: a byte off by ${maxAbsDiff(drawn!, trained!)}`);
    }
    const profile = await tf.profile(() => sampleSeeds(G, c, [3], 0.7, 'const', constants));
    const names = profile.kernels.map((k) => k.name);
    assert.ok(names.includes(DEMOD_EPILOGUE_KERNEL), 'the bird went through the drawing kernels');
    assert.equal(names.length, drawnKernels(c), names.join(' '));
    // The same count at 256² (the gallery's usual bird; issue #21's goal: half of 379, the count when it was filed).
    assert.ok(drawnKernels(presetConfig('256')) <= 185, `${drawnKernels(presetConfig('256'))} kernels at 256²`);
  } finally {
    constants.dispose();
    G.dispose();
  }
});

test('a frozen generator differentiated (a projection) takes the composed ops, which have gradients', async (t) => {
  if (!drawsFused()) return t.skip(`the drawing path is not fused on ${tf.getBackend()}`);
  const c = micro();
  const G = new ParamSet('G_ema', generatorSpecs(c), (s) => initialValues(s, new RandomState(4), resampleFilter2d()));
  const constants = new WeightConstants();
  const w = tf.tensor2d(new RandomState(5).randnF32(c.wDim), [1, c.wDim]);
  try {
    const loss = (k?: WeightConstants) => (u: tf.Tensor) =>
      tf.sum(tf.square(synthesis(G, c, broadcastWs(c, u as tf.Tensor2D), { noiseMode: 'const', constants: k })));
    const profile = await tf.profile(() => tf.dispose(tf.grad(loss(constants))(w)));
    const names = new Set(profile.kernels.map((k) => k.name));
    assert.ok(!names.has(DEMOD_EPILOGUE_KERNEL) && !names.has(MOD_STYLES_KERNEL), [...names].join(' '));
    const [frozen, plain] = [tf.grad(loss(constants))(w), tf.grad(loss())(w)];
    const [a, b] = [(await frozen.data()) as Float32Array, (await plain.data()) as Float32Array];
    tf.dispose([frozen, plain]);
    assert.ok(
      maxAbsDiff(a, b) <= 1e-4 * Math.max(...b.map(Math.abs)),
      `max |Δ| ${maxAbsDiff(a, b)}: ${a.slice(0, 4)} vs ${b.slice(0, 4)}`,
    );
  } finally {
    tf.dispose(w);
    constants.dispose();
    G.dispose();
  }
});

test('a convolution with explicit, uneven padding (an up-sampling phase) has the gradient of pad-then-valid', async () => {
  const rng = new RandomState(10);
  const x = randn(rng, [2, 5, 4, 3]) as tf.Tensor4D;
  const f = randn(rng, [2, 1, 3, 4]) as tf.Tensor4D;
  const dy = randn(rng, [2, 5, 6, 4]) as tf.Tensor4D; // rows 5 + 1 − 2 + 1, columns 4 + 2 − 1 + 1
  type Pair = [number, number];
  const pads: [Pair, Pair, Pair, Pair] = [
    [0, 0],
    [0, 1],
    [1, 1],
    [0, 0],
  ];
  const grads = (conv: (u: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D): tf.Tensor[] =>
    tf.grads((u: tf.Tensor, v: tf.Tensor) => tf.sum(tf.mul(conv(u as tf.Tensor4D, v as tf.Tensor4D), dy)))([x, f]);
  const explicit = grads((u, v) => tf.conv2d(u, v, 1, pads));
  const padded = grads((u, v) => tf.conv2d(tf.pad(u, pads), v, 1, 'valid'));
  for (const [k, name] of ['x', 'filter'].entries()) {
    const [a, b] = [(await explicit[k]!.data()) as Float32Array, (await padded[k]!.data()) as Float32Array];
    assert.ok(maxAbsDiff(a, b) <= 1e-5 * Math.max(...b.map(Math.abs)), `${name}: max |Δ| ${maxAbsDiff(a, b)}`);
  }
  tf.dispose([x, f, dy, ...explicit, ...padded]);
});
