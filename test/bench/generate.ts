/**
 * `npm run bench -- generate [--resolutions 64,256,512 (or tiny)] [--repeats 5] [--batch 8] [--backend B]`:
 * ms per image on the active backend, one bird at a time (what the gallery does: every bird
 * exactly as `generate` draws it) and batched (N birds in one pass, const noise), after a
 * warm-up. One JSON line per resolution.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { GALLERY_PAGE_SIZE as PAGE_SIZE } from '../../preload/contract.js';
import { initBackend, type BackendName } from '../../main/core/gan/backend.js';
import { PRESET_NAMES, presetConfig, type PresetName } from '../../main/core/gan/config.js';
import { generate, generatorSpecs } from '../../main/core/gan/generator.js';
import { resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState, seedToZ } from '../../main/core/gan/rng.js';
import { pngBytes } from '../../main/core/gallery/output.js';
import { renderBird } from '../../main/core/gallery/render.js';
import { saveCheckpoint } from '../../main/core/gan/checkpoint.js';
import { GanTrainer } from '../../main/core/gan/training.js';
import { Studio } from '../../main/core/studio.js';

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchGenerate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      resolutions: { type: 'string', default: '64,256,512' },
      repeats: { type: 'string', default: '5' },
      batch: { type: 'string', default: '8' },
      backend: { type: 'string' },
    },
  });
  const info = await initBackend(values.backend as BackendName | undefined, () => {});
  await screenful();
  const repeats = Math.max(1, Number(values.repeats));
  const batch = Math.max(2, Number(values.batch));
  // Resolutions name the GPU presets at that size; 'tiny' (32²) is the one a CPU trains.
  for (const preset of values.resolutions!.split(',') as PresetName[]) {
    if (!PRESET_NAMES.includes(preset))
      throw new Error(`--resolutions: ${preset} is not one of ${PRESET_NAMES.join(', ')}`);
    const config = presetConfig(preset);
    const res = config.resolution;
    const filter = resampleFilter2d();
    const G = new ParamSet('G_ema', generatorSpecs(config), (s) => initialValues(s, new RandomState(0), filter));
    const gen = { config, G };
    const t0 = performance.now();
    await renderBird(gen, { seed: 0, psi: 0.7, noiseMode: 'const' }); // warm-up: kernels, weights upload
    const firstMs = performance.now() - t0;
    const single: number[] = [];
    const withPng: number[] = [];
    for (let i = 1; i <= repeats; i++) {
      const a = performance.now();
      const px = await renderBird(gen, { seed: i, psi: 0.7, noiseMode: 'const' });
      const b = performance.now();
      await pngBytes(px, res);
      single.push(b - a);
      withPng.push(performance.now() - a);
    }
    const batched: number[] = [];
    for (let i = 0; i <= Math.max(1, Math.ceil(repeats / 2)); i++) {
      const a = performance.now();
      tf.tidy(() => {
        const zs = new Float32Array(batch * config.zDim);
        for (let k = 0; k < batch; k++) zs.set(seedToZ(100 + k, config.zDim), k * config.zDim);
        const img = generate(G, config, tf.tensor2d(zs, [batch, config.zDim]), 0.7, { noiseMode: 'const' });
        img.dataSync();
      });
      if (i > 0) batched.push((performance.now() - a) / batch); // the first batch size compiles anew
    }
    G.dispose();
    console.log(
      JSON.stringify({
        bench: 'generate',
        backend: info.backend,
        description: info.description,
        preset,
        resolution: res,
        firstImageMs: round(firstMs),
        msPerImage: round(median(single)),
        msPerImageWithPng: round(median(withPng)),
        batch,
        msPerImageBatched: round(median(batched)),
        repeats,
        rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      }),
    );
  }
}

/**
 * The gallery's first screenful, as the app sees it: a Studio with its generator process, 24
 * birds of a tiny checkpoint asked for and all written. Cold includes starting the process and
 * loading the file; afterWarmUp is a fresh home's first page once the process was started ahead
 * (as the app and `serve` do at start-up); warm is the next page.
 */
async function screenful(): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'plumage-bench-gallery-'));
  try {
    const file = join(tmp, 'tiny.safetensors');
    const trainer = new GanTrainer(presetConfig('tiny'), 1);
    await saveCheckpoint(trainer, file);
    trainer.dispose();
    let studio = Studio.open({ home: join(tmp, 'home'), resourcesDir: tmp, shell: 'server', watch: false });
    try {
      const page = async (first: number): Promise<number> => {
        const t0 = performance.now();
        const seeds = Array.from({ length: PAGE_SIZE }, (_, i) => first + i);
        await studio.gallery.settle(
          await studio.generate({ generator: { file }, seeds, psi: 0.7, noiseMode: 'const' }),
        );
        return performance.now() - t0;
      };
      const cold = await page(0);
      await studio.close();
      studio = Studio.open({ home: join(tmp, 'home'), resourcesDir: tmp, shell: 'server', watch: false });
      const t0 = performance.now();
      await studio.gallery.warmUp();
      const warmUpMs = performance.now() - t0;
      const prestarted = await page(0);
      const warm = await page(PAGE_SIZE);
      console.log(
        JSON.stringify({
          bench: 'gallery-screenful',
          preset: 'tiny',
          birds: PAGE_SIZE,
          coldMs: round(cold),
          warmUpMs: round(warmUpMs),
          afterWarmUpMs: round(prestarted),
          warmMs: round(warm),
          warmMsPerBird: round(warm / PAGE_SIZE),
        }),
      );
    } finally {
      await studio.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
