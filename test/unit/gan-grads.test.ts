import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { numWs } from '../../main/core/gan/config.js';
import { discriminate, discriminatorSpecs } from '../../main/core/gan/discriminator.js';
import { broadcastWs, generatorSpecs, mapping, synthesis } from '../../main/core/gan/generator.js';
import { discriminatorLoss, generatorLoss, pathLengths, r1Penalty } from '../../main/core/gan/losses.js';
import { resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { backendReady, micro, valueOf } from '../helpers/gan.js';

before(() => backendReady);

const c = micro();
const rng = new RandomState(21);
let G: ParamSet;
let D: ParamSet;
let z: tf.Tensor2D;
let reals: tf.Tensor4D;
let plNoise: tf.Tensor4D;

before(() => {
  const filt = resampleFilter2d();
  G = new ParamSet('G', generatorSpecs(c), (s) => initialValues(s, rng, filt));
  D = new ParamSet('D', discriminatorSpecs(c), (s) => initialValues(s, rng, filt));
  // Non-zero noise strengths and biases, so their gradients are exercised too.
  for (const spec of G.specs.filter((s) => s.name.endsWith('noise_strength') || s.name.endsWith('.bias'))) {
    const v = G.variable(spec.name);
    tf.tidy(() => v.assign(tf.add(v, tf.mul(tf.randomNormal(v.shape, 0, 1, 'float32', 4), 0.3))));
  }
  z = tf.tensor2d(rng.randnF32(4 * c.zDim), [4, c.zDim]);
  reals = tf.tensor4d(rng.randnF32(4 * 16 * 16 * 3), [4, 16, 16, 3]);
  plNoise = tf.div(tf.tensor4d(rng.randnF32(2 * 16 * 16 * 3), [2, 16, 16, 3]), 16) as tf.Tensor4D;
});

const generateFixed = (zz: tf.Tensor2D): tf.Tensor4D =>
  synthesis(G, c, broadcastWs(c, mapping(G, c, zz)), { noiseMode: 'const' });

/**
 * Compares the analytic directional derivative ⟨∇L, u⟩ with central differences
 * (L(θ+εu) − L(θ−εu)) / 2ε along a random direction u over `vars`, for several ε.
 * Leaky ReLU makes L only piecewise smooth (and R1 / path length piecewise constant in the
 * activation masks), so a step that flips a mask ruins that ε's estimate, and float32 rounding
 * ruins the smallest ones: the gradient must agree with at least one ε to within `tol`.
 */
async function checkDirectional(
  loss: () => tf.Scalar,
  vars: tf.Variable[],
  what: string,
  steps = [1e-3, 1e-4, 3e-5, 1e-5],
  tol = 0.02,
): Promise<void> {
  const { grads, value } = tf.variableGrads(loss, vars);
  value.dispose();
  const dir = new RandomState(99);
  const directions = vars.map((v) => tf.tensor(dir.randnF32(v.size), v.shape));
  let analytic = 0;
  for (const [i, v] of vars.entries())
    if (grads[v.name]) analytic += await valueOf(tf.sum(tf.mul(grads[v.name]!, directions[i]!)));
  const originals = vars.map((v) => tf.clone(v));
  const at = (step: number): Promise<number> => {
    vars.forEach((v, i) => tf.tidy(() => v.assign(tf.add(originals[i]!, tf.mul(directions[i]!, step)))));
    return valueOf(tf.tidy(() => loss()));
  };
  const numeric: number[] = [];
  for (const eps of steps) numeric.push(((await at(eps)) - (await at(-eps))) / (2 * eps));
  vars.forEach((v, i) => v.assign(originals[i]!));
  tf.dispose([...directions, ...originals, ...Object.values(grads)]);
  const relErr = numeric.map((n) => Math.abs(analytic - n) / Math.max(Math.abs(n), Math.abs(analytic), 1e-9));
  assert.ok(
    Math.min(...relErr) < tol,
    `${what}: analytic ${analytic} vs finite differences ${numeric.join(', ')} (ε = ${steps.join(', ')})`,
  );
}

test('G loss gradient matches finite differences (all of G, and the up-sampling conv alone)', async () => {
  const lossG = (): tf.Scalar => generatorLoss(discriminate(D, c, generateFixed(z)));
  await checkDirectional(lossG, G.trainable(), 'G loss, all parameters');
  await checkDirectional(lossG, [G.variable('synthesis.b8.conv0.weight')], 'G loss, b8.conv0.weight');
  await checkDirectional(
    lossG,
    [G.variable('mapping.fc0.weight'), G.variable('synthesis.b16.conv1.noise_strength')],
    'G loss, mapping and noise strength',
  );
});

test('D loss gradient matches finite differences (all of D, and the stride-2 conv alone)', async () => {
  const fakes = tf.tidy(() => generateFixed(z));
  const lossD = (): tf.Scalar => discriminatorLoss(discriminate(D, c, fakes), discriminate(D, c, reals));
  await checkDirectional(lossD, D.trainable(), 'D loss, all parameters');
  await checkDirectional(lossD, [D.variable('b16.conv1.weight')], 'D loss, b16.conv1.weight');
  await checkDirectional(lossD, [D.variable('b4.fc.weight'), D.variable('b16.skip.weight')], 'D loss, fc and skip');
});

test("R1 (a gradient of a gradient) matches finite differences for D's weights", async () => {
  const r1 = (): tf.Scalar => tf.mean(r1Penalty((x) => discriminate(D, c, x), reals));
  await checkDirectional(r1, D.trainable(), 'R1, all parameters');
  await checkDirectional(r1, [D.variable('b8.conv1.weight')], 'R1, b8.conv1.weight');
  // After the last nonlinearity R1 is an exact quadratic: every step size must agree, tightly.
  await checkDirectional(r1, [D.variable('b4.out.weight')], 'R1, b4.out.weight (smooth)', [1e-2], 0.002);
});

test("path-length penalty (a gradient of a gradient) matches finite differences for G's weights", async () => {
  const ws = (): tf.Tensor3D => broadcastWs(c, mapping(G, c, tf.slice(z, [0, 0], [2, c.zDim])));
  const pl = (): tf.Scalar => tf.mean(pathLengths((w) => synthesis(G, c, w, { noiseMode: 'const' }), ws(), plNoise));
  await checkDirectional(pl, G.trainable(), 'path length, all parameters');
  await checkDirectional(
    pl,
    [G.variable('synthesis.b16.conv0.weight'), G.variable('synthesis.b8.conv1.affine.weight')],
    'path length, conv and affine',
  );
  // The last toRGB is linear in its weight: the penalty is smooth there, every step size must agree.
  await checkDirectional(
    pl,
    [G.variable('synthesis.b16.torgb.weight')],
    'path length, last toRGB (smooth)',
    [1e-2],
    0.005,
  );
  assert.equal(numWs(c.resolution), 6);
});

test('the R1 gradient with respect to the input matches finite differences', async () => {
  const f = (x: tf.Tensor4D): tf.Scalar => tf.sum(discriminate(D, c, x));
  const g = tf.grad((x: tf.Tensor) => f(x as tf.Tensor4D))(reals);
  const u = tf.tensor4d(new RandomState(5).randnF32(reals.size), reals.shape);
  const eps = 2e-3;
  const numeric =
    ((await valueOf(f(tf.add(reals, tf.mul(u, eps)) as tf.Tensor4D))) -
      (await valueOf(f(tf.sub(reals, tf.mul(u, eps)) as tf.Tensor4D)))) /
    (2 * eps);
  const analytic = await valueOf(tf.sum(tf.mul(g, u)));
  assert.ok(Math.abs(analytic - numeric) / Math.abs(numeric) < 0.03, `${analytic} vs ${numeric}`);
});
