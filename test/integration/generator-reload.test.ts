import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { presetConfig } from '../../main/core/gan/config.js';
import { GeneratorCache } from '../../main/core/gallery/generator-cache.js';
import { renderBirds } from '../../main/core/gallery/render.js';
import { backendReady } from '../helpers/gan.js';
import { randomGenerator } from '../helpers/hostile-files.js';
import { tempDir } from '../helpers/paths.js';

// A gallery switching models must give back what the last one held. It did not: each reload
// kept the previous generator's weights (tf.variable shares its initial tensor's data, and that
// tensor was never disposed), so the generator process grew by a model per reload, for ever.

/** 32², 128 channels throughout: about 9 MB of weights, enough for a leak to stand out of RSS noise. */
const config = presetConfig('tiny', { channelBase: 4096, channelMax: 128 });
const RELOADS = 50;

test(
  `a model loaded and unloaded ${RELOADS} times holds no more tensors or memory than once`,
  { timeout: 300_000 },
  async () => {
    await backendReady;
    const tmp = tempDir('reload');
    try {
      const files = [join(tmp.dir, 'a.safetensors'), join(tmp.dir, 'b.safetensors')];
      const modelBytes = await randomGenerator(files[0]!, config, 1);
      await randomGenerator(files[1]!, config, 2);
      const cache = new GeneratorCache();
      const bird = [{ seed: 3, psi: 0.7, noiseMode: 'const' as const }];
      const held: { tensors: number; bytes: number; rss: number }[] = [];
      for (let i = 0; i < RELOADS; i++) {
        // Switching files reloads: the cache frees the last generator and loads the other.
        await renderBirds(await cache.get(files[i % 2]!), bird);
        cache.dispose();
        const m = tf.memory();
        held.push({ tensors: m.numTensors, bytes: m.numBytes, rss: process.memoryUsage().rss });
      }
      // Process-lifetime constants (FIR kernels) are made by the first draw; after that, nothing stays.
      const first = held[0]!;
      for (const [i, h] of held.entries()) {
        assert.equal(h.tensors, first.tensors, `tensors held after unload ${i + 1}`);
        assert.equal(h.bytes, first.bytes, `tensor bytes held after unload ${i + 1}`);
      }
      // The wasm heap keeps its high-water mark (it never shrinks) and the allocator fragments, so
      // RSS wanders by tens of MB on a loaded machine (a clean CI run saw +23 MB). A leak of one
      // model per reload would add 45 models here; refuse anything from a quarter of that up, so
      // a leak of even a quarter of a model per reload fails and allocator noise does not.
      const grownMB = (held.at(-1)!.rss - held[4]!.rss) / 2 ** 20;
      const modelMB = modelBytes / 2 ** 20;
      const leakMB = (RELOADS - 5) * modelMB;
      assert.ok(
        grownMB < leakMB / 4,
        `RSS grew ${grownMB.toFixed(0)} MB over ${RELOADS - 5} reloads of a ${modelMB.toFixed(1)} MB model ` +
          `(a leak of one model per reload adds ${leakMB.toFixed(0)} MB)`,
      );
    } finally {
      tmp.cleanup();
    }
  },
);
