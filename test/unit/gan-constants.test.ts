import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { presetConfig } from '../../main/core/gan/config.js';
import { generate, generatorSpecs, type NoiseMode } from '../../main/core/gan/generator.js';
import { WeightConstants, conv2dUp2, resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState, seedToZ } from '../../main/core/gan/rng.js';
import { backendReady, readAndDispose } from '../helpers/gan.js';

before(() => backendReady);

/** Indices where two float arrays differ in any bit (-0 and 0 differ too). */
function bitDifferences(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) n++;
  return n;
}

test('the up-sampling conv with its phases apart equals the single polyphase conv to the bit (H ≠ W)', async () => {
  const rng = new RandomState(3);
  const x = tf.tensor4d(rng.randnF32(2 * 5 * 7 * 12), [2, 5, 7, 12]);
  const w = tf.tensor4d(rng.randnF32(9 * 12 * 10), [3, 3, 12, 10]);
  const constants = new WeightConstants();
  try {
    const plain = conv2dUp2(x, w);
    const apart = conv2dUp2(x, w, constants);
    assert.deepEqual(apart.shape, [2, 10, 14, 10]);
    assert.equal(bitDifferences((await plain.data()) as Float32Array, (await apart.data()) as Float32Array), 0);
    tf.dispose([plain, apart]);
  } finally {
    constants.dispose();
    tf.dispose([x, w]);
  }
});

test("a frozen generator's constants give the same floats as the training path, alone and batched, and are made once", async () => {
  const c = presetConfig('tiny'); // 32², 64 → 16 channels: up-sampling convs with in ≠ out
  const filter = resampleFilter2d();
  const G = new ParamSet('G_ema', generatorSpecs(c), (s) => initialValues(s, new RandomState(7), filter));
  // initialValues leaves noise strengths and biases at 0: give them values so every term counts.
  G.importRef((_name, spec) => new RandomState(spec.name.length).randnF32(spec.refShape.reduce((a, b) => a * b, 1)));
  const constants = new WeightConstants();
  const seeds = [0, 1, 2];
  const zs = (s: number[]): tf.Tensor2D => {
    const out = new Float32Array(s.length * c.zDim);
    s.forEach((seed, k) => out.set(seedToZ(seed, c.zDim), k * c.zDim));
    return tf.tensor2d(out, [s.length, c.zDim]);
  };
  const draw = (s: number[], noiseMode: NoiseMode, k?: WeightConstants): Promise<Float32Array> =>
    readAndDispose(
      tf.tidy(() => {
        const noiseRng = new RandomState(11);
        const o = { noiseMode, noiseSeed: () => noiseRng.uint32(), constants: k };
        return generate(G, c, zs(s), 0.7, o);
      }),
    );
  try {
    for (const mode of ['const', 'random'] as const) {
      const [plain, frozen] = [await draw(seeds, mode), await draw(seeds, mode, constants)];
      assert.equal(bitDifferences(plain, frozen), 0, `${mode} noise, batch of 3`);
    }
    const batched = await draw(seeds, 'const', constants);
    const per = batched.length / seeds.length;
    for (const [k, seed] of seeds.entries())
      assert.equal(bitDifferences(batched.subarray(k * per, (k + 1) * per), await draw([seed], 'const', constants)), 0);
    const before = tf.memory().numTensors;
    await draw(seeds, 'const', constants);
    assert.equal(tf.memory().numTensors, before, 'a warm draw adds no kept tensors');
    constants.dispose();
    assert.ok(tf.memory().numTensors < before, 'dispose frees the constants');
  } finally {
    constants.dispose();
    G.dispose();
  }
});
