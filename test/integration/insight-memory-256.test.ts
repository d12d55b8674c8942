// Memory of the insight work at a 256² architecture, where the wasm backend's 4 GiB heap is near.
// `npm run bench -- insight --preset 256` aborted ("Aborted()" in a slice kernel, the wasm
// allocator out of heap) before its projection began: the bench's 16 birds, like the KID's
// chunks of 32, were drawn in one pass, and 16 256² birds in a pass fill the heap. The network
// here is the 256² preset's architecture (256² output, 14 ws, noise maps up to 256², the
// feature network on every step) with its channels capped at 32, so the test takes seconds per
// step rather than the full width's tens; memory per bird scales with the width, the shape of
// the growth (per bird, per step) does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { presetConfig } from '../../main/core/gan/config.js';
import { generatorSpecs } from '../../main/core/gan/generator.js';
import { WeightConstants, resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { renderBird, renderBirds, type Generator } from '../../main/core/gallery/render.js';
import { featureNetwork } from '../../main/core/insight/feature-net.js';
import { project } from '../../main/core/insight/project.js';
import { wasmHeapBytes } from '../../main/core/runtime/wasm-memory.js';
import { backendReady } from '../helpers/gan.js';

const MB = 2 ** 20;

async function capped256(): Promise<Generator> {
  await backendReady;
  const config = presetConfig('256', { channelMax: 32 });
  const G = new ParamSet('G_ema', generatorSpecs(config), (s) =>
    initialValues(s, new RandomState(0), resampleFilter2d()),
  );
  return { config, G, constants: new WeightConstants() };
}

test('birds drawn together at 256² never hold more than one pass of them (the bench and KID asked for 16, 32)', async () => {
  const gen = await capped256();
  try {
    const spec = (seed: number) => ({ seed, psi: 1, noiseMode: 'const' as const });
    // (tf.profile hands back the engine's one profile object: read each peak before the next.)
    const one = (await tf.profile(() => renderBird(gen, spec(0)))).peakBytes;
    let birds: Uint8Array[] = [];
    const six = (
      await tf.profile(async () => {
        birds = await renderBirds(gen, [0, 1, 2, 3, 4, 5].map(spec));
      })
    ).peakBytes;
    // One pass of six birds peaked at 1016 MB of tensors, one bird at 177 MB (the weights
    // included); passes of batchSizeFor(256) = 1 bird peak as one bird does.
    assert.ok(six < 1.5 * one, `six birds peaked at ${(six / MB).toFixed(0)} MB, one at ${(one / MB).toFixed(0)} MB`);
    // Still the same birds as one at a time.
    assert.deepEqual(birds[5], await renderBird(gen, spec(5)));
  } finally {
    gen.constants!.dispose();
    gen.G.dispose();
  }
});

test('projection steps at 256² leave the tensors and the wasm heap flat, step after step and run after run', async () => {
  const gen = await capped256();
  const net = await featureNetwork();
  try {
    const target = await renderBird(gen, { seed: 3, psi: 1, noiseMode: 'const' });
    const run = async () => {
      const seen: { step: number; tensors: number; bytes: number; heap: number | null }[] = [];
      await project(gen, net, target, { steps: 5, reportEvery: 1, wAvgSamples: 500 }, (p) => {
        const m = tf.memory();
        seen.push({ step: p.step, tensors: m.numTensors, bytes: m.numBytes, heap: wasmHeapBytes() });
      });
      return seen;
    };
    const first = await run();
    const after = tf.memory();
    const second = await run();
    assert.deepEqual(
      first.map((s) => s.step),
      [0, 1, 2, 3, 4, 5],
    );
    // Every report after a step sees the same live tensors: nothing a step made outlives it.
    // (The report before the first step sees the optimiser's moments still as their first zeros.)
    for (const s of [...first, ...second].filter((x) => x.step > 0)) {
      assert.equal(s.tensors, first[1]!.tensors, `step ${s.step}: ${s.tensors} tensors, step 1 ${first[1]!.tensors}`);
      assert.equal(s.bytes, first[1]!.bytes, `step ${s.step}: ${s.bytes} bytes, step 1 ${first[1]!.bytes}`);
    }
    // A finished projection gives back all it held (the feature network and resize matrices stay).
    assert.equal(tf.memory().numTensors, after.numTensors);
    assert.equal(tf.memory().numBytes, after.numBytes);
    const heaps = [...first, ...second].map((s) => s.heap);
    if (heaps[0] !== null) {
      // The heap only grows (wasm memory never shrinks): it reached its size by the first step's
      // backward pass and a second projection found room in it. Measured 429 MB at 64 channels.
      const settled = heaps[2]!;
      for (const [i, h] of heaps.entries()) assert.ok(h! <= settled + 16 * MB, `report ${i}: heap ${h! / MB} MB`);
      assert.ok(settled < 2048 * MB, `heap ${settled / MB} MB, half the 4 GiB wasm bound`);
    }
  } finally {
    gen.constants!.dispose();
    gen.G.dispose();
  }
});
