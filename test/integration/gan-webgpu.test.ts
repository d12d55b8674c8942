/**
 * The model and the training step on WebGPU (Dawn), against wasm in the same process. In CI
 * this runs on Mesa's software Vulkan driver (lavapipe, ~2.7 GFLOP/s), so every network here is
 * the 16² micro one. Skipped, with the reason printed, only where no WebGPU adapter exists.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { esrganUpscale } from '../../main/core/export/upscale.js';
import { initBackend, releaseBackend, type BackendName } from '../../main/core/runtime/backend.js';
import { loadCheckpoint, saveCheckpoint } from '../../main/core/netfile/checkpoint.js';
import { discriminate, discriminatorSpecs } from '../../main/core/gan/discriminator.js';
import { broadcastWs, generate, generatorSpecs, mapping, synthesis } from '../../main/core/gan/generator.js';
import { discriminatorLoss, generatorLoss, pathLengths, r1Penalty } from '../../main/core/gan/losses.js';
import { resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { sampleSeeds } from '../../main/core/gan/sample.js';
import { GanTrainer } from '../../main/core/gan/training.js';
import { openWebGpu } from '../../main/core/runtime/webgpu.js';
import { backendReady, micro } from '../helpers/gan.js';
import { SAMPLE_PLATES, tempDir } from '../helpers/paths.js';
import { PLATE_NAMES } from '../helpers/plates.js';

process.env.XDG_RUNTIME_DIR ??= '/tmp'; // Mesa's lavapipe warns without one

/** Why the file is skipped: no adapter at all. Any other failure to start is a failure. */
let noAdapter: string | false = false;
try {
  const adapter = await openWebGpu();
  console.log(`WebGPU adapter: ${adapter.vendor} ${adapter.description || adapter.device}`);
} catch (err) {
  if (!/no WebGPU adapter/.test((err as Error).message)) throw err;
  noAdapter = `skipped: ${(err as Error).message}`;
  console.log(noAdapter);
}

let tmp: ReturnType<typeof tempDir>;
before(async () => {
  await backendReady; // the helper's own choice first, so two backend switches never overlap
  tmp = tempDir('webgpu');
});
after(() => {
  tmp.cleanup();
  releaseBackend(); // a live device keeps the test process from exiting
});

const c = micro();
const use = async (kind: BackendName): Promise<void> => {
  const info = await initBackend(kind, () => {});
  assert.equal(info.kind, kind);
};

/**
 * Reads every tensor of a map out (asynchronously: WebGPU in Node cannot read synchronously),
 * keyed by parameter name without the per-instance variable prefix ("G#2/").
 */
async function read(tensors: Record<string, tf.Tensor>): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of Object.entries(tensors)) out.set(k.replace(/^[^/]*\//, ''), (await t.data()) as Float32Array);
  tf.dispose(Object.values(tensors));
  return out;
}

/** ‖a − b‖ / ‖b‖ over one tensor. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

test(
  'the generator on webgpu matches wasm within 1/255 per pixel (same weights, seeds, ψ, const noise)',
  {
    skip: noAdapter,
  },
  async () => {
    const images: Record<string, Uint8Array[]> = {};
    const floats: Record<string, Float32Array> = {};
    for (const kind of ['wasm', 'webgpu'] as const) {
      await use(kind);
      const trainer = new GanTrainer(c, 7); // weights drawn on the CPU from the seed: the same on both
      images[kind] = await sampleSeeds(trainer.G_ema, c, [0, 1, 2], 0.7, 'const');
      const z = tf.tensor2d(new RandomState(3).randnF32(2 * c.zDim), [2, c.zDim]);
      const img = generate(trainer.G_ema, c, z, 1, { noiseMode: 'const' });
      floats[kind] = (await img.data()) as Float32Array;
      tf.dispose([z, img]);
      trainer.dispose();
    }
    let worst = 0;
    images.wasm!.forEach((a, i) =>
      a.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - images.webgpu![i]![j]!)))),
    );
    let worstFloat = 0;
    floats.wasm!.forEach((v, i) => (worstFloat = Math.max(worstFloat, Math.abs(v - floats.webgpu![i]!))));
    console.log(`generator parity: max |Δ| ${worst}/255 in uint8, ${worstFloat.toExponential(2)} in [-1, 1]`);
    assert.ok(worst <= 1, `pixels differ by up to ${worst}/255`);
    assert.ok(worstFloat <= 2 / 255, `float output differs by ${worstFloat}`); // 1/255 of the [-1, 1] range
  },
);

/**
 * Each phase's gradients for every trainable parameter, on one backend, from weights and inputs
 * drawn on the CPU (so both backends start from identical numbers).
 */
async function phaseGradients(): Promise<Record<string, Map<string, Float32Array>>> {
  const rng = new RandomState(21);
  const filt = resampleFilter2d();
  const G = new ParamSet('G', generatorSpecs(c), (s) => initialValues(s, rng, filt));
  const D = new ParamSet('D', discriminatorSpecs(c), (s) => initialValues(s, rng, filt));
  const z = tf.tensor2d(rng.randnF32(4 * c.zDim), [4, c.zDim]);
  const reals = tf.tensor4d(rng.randnF32(4 * 16 * 16 * 3), [4, 16, 16, 3]);
  const plNoise = tf.div(tf.tensor4d(rng.randnF32(2 * 16 * 16 * 3), [2, 16, 16, 3]), 16) as tf.Tensor4D;
  const fake = (zz: tf.Tensor2D): tf.Tensor4D =>
    synthesis(G, c, broadcastWs(c, mapping(G, c, zz)), { noiseMode: 'const' });
  const fakes = tf.tidy(() => fake(z));
  const phase = async (loss: () => tf.Scalar, vars: tf.Variable[]): Promise<Map<string, Float32Array>> => {
    const { value, grads } = tf.variableGrads(loss, vars);
    value.dispose();
    return read(grads);
  };
  const out = {
    Gmain: await phase(() => generatorLoss(discriminate(D, c, fake(z))), G.trainable()),
    Dmain: await phase(() => discriminatorLoss(discriminate(D, c, fakes), discriminate(D, c, reals)), D.trainable()),
    Dreg: await phase(() => tf.mean(r1Penalty((x) => discriminate(D, c, x), reals)), D.trainable()),
    Greg: await phase(() => {
      const ws = broadcastWs(c, mapping(G, c, tf.slice(z, [0, 0], [2, c.zDim])));
      return tf.mean(pathLengths((w) => synthesis(G, c, w, { noiseMode: 'const' }), ws, plNoise));
    }, G.trainable()),
  };
  tf.dispose([z, reals, plNoise, fakes]);
  G.dispose();
  D.dispose();
  return out;
}

/**
 * Tolerance: ‖g_webgpu − g_wasm‖ / ‖g_wasm‖ ≤ 1e-4 per parameter tensor. Both compute in float32
 * (unit roundoff 6e-8) but sum in different orders (GPU workgroup tiles against XNNPACK's),
 * which moves each of the network's ~40 layers by a few 1e-7 relative, and the second-order
 * terms (R1, path length) go through the network twice. Measured on lavapipe: at most 4.2e-6
 * (path length), 2.1e-6 (R1), 1.3e-6 (D), 8.4e-7 (G); 1e-4 leaves 20× for other GPUs' orders.
 * A wrong kernel or a broken layout gives errors of order 1.
 */
const GRAD_TOLERANCE = 1e-4;

test("each phase's gradients on webgpu match wasm (G, path length, D, R1)", { skip: noAdapter }, async () => {
  await use('wasm');
  const wasm = await phaseGradients();
  await use('webgpu');
  const gpu = await phaseGradients();
  for (const [name, reference] of Object.entries(wasm)) {
    let worst = 0;
    let worstParam = '';
    for (const [param, g] of reference) {
      const got = gpu[name]!.get(param);
      assert.ok(got, `${name}: no gradient for ${param} on webgpu`);
      const err = relativeError(got, g);
      if (err > worst) [worst, worstParam] = [err, param];
    }
    console.log(`${name}: worst relative gradient error ${worst.toExponential(2)} (${worstParam})`);
    assert.ok(worst <= GRAD_TOLERANCE, `${name}: ${worstParam} differs by ${worst} relative`);
  }
});

test(
  'training on webgpu: steps leak no tensors, statistics are finite, pause/resume continues exactly',
  {
    skip: noAdapter,
  },
  async () => {
    await use('webgpu');
    const config = micro({ ada: { target: 0.6, interval: 2, kimg: 1, initialP: 0.3 } });
    const rng = new RandomState(12);
    const batches = Array.from({ length: 4 }, () =>
      tf.tensor4d(rng.randnF32(4 * 16 * 16 * 3).map(Math.tanh), [4, 16, 16, 3]),
    );
    const straight = new GanTrainer(config, 9);
    await straight.trainStep(batches[0]!); // every phase runs at step 0; first-use allocations
    await straight.takeStats();
    const before = tf.memory().numTensors;
    for (const b of batches.slice(1)) await straight.trainStep(b);
    const stats = await straight.takeStats();
    assert.equal(tf.memory().numTensors, before, 'three steps and one read of the statistics leaked tensors');
    assert.equal(stats.steps, 3);
    assert.ok(Number.isFinite(stats.lossG) && Number.isFinite(stats.lossD) && Number.isFinite(stats.scoreReal));

    // Pause after two steps (a checkpoint), resume in a new trainer, two more: the same as four straight.
    const first = new GanTrainer(config, 9);
    for (const b of batches.slice(0, 2)) await first.trainStep(b);
    const file = join(tmp.dir, 'pause.safetensors');
    await saveCheckpoint(first, file);
    first.dispose();
    const resumed = await loadCheckpoint(file);
    for (const b of batches.slice(2)) await resumed.trainStep(b);
    for (const set of ['G', 'G_ema', 'D'] as const) {
      const [a, b] = [await straight[set].exportRef(), await resumed[set].exportRef()];
      for (const [k, v] of a)
        assert.ok(Buffer.from(v.data.buffer).equals(Buffer.from(b.get(k)!.data.buffer)), `${set} ${k} differs`);
    }
    assert.deepEqual(await resumed.syncCounters(), await straight.syncCounters());
    assert.deepEqual(resumed.rng.snapshot(), straight.rng.snapshot());
    tf.dispose(batches);
    straight.dispose();
    resumed.dispose();
  },
);

test(
  'ESRGAN on webgpu upscales a picture as wasm does, within 1/255 per channel (×2 and ×4)',
  { skip: noAdapter },
  async () => {
    // A real picture's detail: a plate shrunk to a 24² square (one tile, its border clamped).
    const side = 24;
    const rgb = new Uint8Array(
      await sharp(join(SAMPLE_PLATES, PLATE_NAMES[0]!)).resize(side, side).removeAlpha().raw().toBuffer(),
    );
    const out: Record<string, Uint8Array> = {};
    // wasm first: the models loaded there move to webgpu when it runs them (a wasm read is synchronous).
    for (const kind of ['wasm', 'webgpu'] as const) {
      await use(kind);
      for (const scale of [2, 4] as const) out[`${kind} ×${scale}`] = await esrganUpscale(rgb, side, side, scale);
    }
    for (const scale of [2, 4]) {
      const [a, b] = [out[`wasm ×${scale}`]!, out[`webgpu ×${scale}`]!];
      assert.equal(a.length, side * scale * side * scale * 3);
      let worst = 0;
      a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]!))));
      console.log(`ESRGAN ×${scale} parity: max |Δ| ${worst}/255`);
      assert.ok(worst <= 1, `ESRGAN ×${scale} differs by ${worst}/255`);
    }
  },
);
