/**
 * `npm run bench -- insight [--preset 64] [--images 1000] [--steps 500] [--backend B]
 * [--skip kid,project]`: the costs of seeing into a model, as JSON lines —
 * - features: ms per image through the feature network (InceptionV3 to mixed5 at 299²), batched;
 * - kid: seconds for KID of `--images` birds of the preset (drawing them, their features, the
 *   score) against as many synthetic reals (features already cached, as a dataset's are);
 * - project: seconds for a `--steps`-step projection at the preset's side (default features and
 *   pixels, one w);
 * - slider: ms for one slider preview (a bird moved along a SeFa direction), warm, drawn here;
 * - slider-request: ms for one slider preview as the bird dialog gets it: a `generate` request
 *   with an edit through the Studio, drawn by its generator process and written as a PNG (what
 *   the page waits for), warm; the first preview (directions found, generator loaded) apart.
 * A generator of the preset with seeded random weights (the costs do not depend on training).
 * `--skip features` leaves the feature network unloaded (for the sliders alone).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Studio } from '../../main/core/studio.js';
import { CLI, REPO_ROOT } from '../helpers/paths.js';
import { parseArgs } from 'node:util';
import { initBackend, type BackendName } from '../../main/core/runtime/backend.js';
import { presetConfig, type PresetName } from '../../main/core/gan/config.js';
import { generatorSpecs } from '../../main/core/gan/generator.js';
import { WeightConstants, resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { renderBird, renderBirds, type Generator } from '../../main/core/gallery/render.js';
import { computeDirections } from '../../main/core/insight/directions.js';
import { FEATURE_DIM, featureNetwork } from '../../main/core/insight/feature-net.js';
import { kernelInceptionDistance } from '../../main/core/insight/kid.js';
import { birdFeatures } from '../../main/core/insight/metrics.js';
import { memorisation } from '../../main/core/insight/nearest.js';
import { project } from '../../main/core/insight/project.js';

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

export async function benchInsight(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: '64' },
      images: { type: 'string', default: '1000' },
      steps: { type: 'string', default: '500' },
      backend: { type: 'string' },
      skip: { type: 'string', default: '' },
    },
  });
  const info = await initBackend(values.backend as BackendName | undefined, () => {});
  const skip = new Set(values.skip!.split(',').filter(Boolean));
  const config = presetConfig(values.preset as PresetName);
  const filter = resampleFilter2d();
  const G = new ParamSet('G_ema', generatorSpecs(config), (s) => initialValues(s, new RandomState(0), filter));
  const gen: Generator = { config, G, constants: new WeightConstants() };
  const common = {
    backend: info.backend,
    description: info.description,
    preset: config.preset,
    resolution: config.resolution,
  };
  const line = (o: Record<string, unknown>) =>
    console.log(JSON.stringify({ ...o, ...common, loadAverage: round(loadavg()[0]!) }));

  let t0 = performance.now();
  if (!skip.has('features')) {
    const net = await featureNetwork();
    const loadS = (performance.now() - t0) / 1000;
    const birds = await renderBirds(
      gen,
      Array.from({ length: 16 }, (_, seed) => ({ seed, psi: 1, noiseMode: 'const' as const })),
    );
    await net.features(birds.slice(0, 8), config.resolution); // compiles the kernels
    t0 = performance.now();
    await net.features(birds, config.resolution);
    line({
      bench: 'insight-features',
      msPerImage: round((performance.now() - t0) / birds.length),
      loadSeconds: round(loadS, 2),
    });

    if (!skip.has('kid')) {
      const n = Math.max(2, Number(values.images));
      t0 = performance.now();
      const feats = await birdFeatures(
        gen,
        Array.from({ length: n }, (_, i) => i),
        net,
      );
      const drawAndEmbedS = (performance.now() - t0) / 1000;
      const rng = new RandomState(1);
      const reals = Float32Array.from({ length: n * FEATURE_DIM }, () => Math.abs(rng.gauss()) * 0.3);
      t0 = performance.now();
      await kernelInceptionDistance(feats, reals);
      await memorisation(feats, reals);
      const scoreS = (performance.now() - t0) / 1000;
      line({
        bench: 'insight-kid',
        images: n,
        seconds: round(drawAndEmbedS + scoreS),
        drawAndEmbedSeconds: round(drawAndEmbedS),
        scoreSeconds: round(scoreS, 2),
      });
    }

    if (!skip.has('project')) {
      const steps = Math.max(1, Number(values.steps));
      const target = await renderBird(gen, { seed: 3, psi: 1, noiseMode: 'const' });
      t0 = performance.now();
      const r = await project(gen, net, target, { steps });
      line({
        bench: 'insight-project',
        steps,
        seconds: round((performance.now() - t0) / 1000),
        psnr: round(r.psnr, 2),
      });
    }
  }

  if (!skip.has('slider')) {
    const dirs = await computeDirections(gen, 'sefa', `4-${config.resolution}`);
    const ms: number[] = [];
    for (let i = 0; i < 6; i++) {
      t0 = performance.now();
      await renderBird(gen, {
        seed: 1,
        psi: 0.7,
        noiseMode: 'const',
        edit: { vector: dirs.vectors[0]!, layers: dirs.layers, amount: i },
      });
      if (i > 0) ms.push(performance.now() - t0); // the first compiles
    }
    line({ bench: 'insight-slider', msPerPreview: round(ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)]!) });
  }
  if (!skip.has('slider-request')) line({ bench: 'insight-slider-request', ...(await sliderRequest(config.preset)) });
  gen.constants!.dispose();
  G.dispose();
}

/** Slider previews through the Studio's `generate` request, as the bird dialog asks for them. */
async function sliderRequest(preset: string): Promise<{ msPerPreview: number; firstMs: number; previews: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'plumage-bench-slider-'));
  try {
    const file = join(dir, 'g.safetensors');
    await promisify(execFile)(process.execPath, [CLI, 'init', '--preset', preset, '--seed', '0', '--out', file]);
    const studio = Studio.open({
      home: join(dir, 'home'),
      resourcesDir: join(REPO_ROOT, 'resources'),
      shell: 'server',
      watch: false,
    });
    try {
      const preview = async (amount: number): Promise<number> => {
        const t0 = performance.now();
        const r = await studio.generate({
          generator: { file },
          seeds: [1],
          psi: 0.7,
          noiseMode: 'const',
          edit: { method: 'sefa', layers: 'all', direction: 0, amount },
        });
        await studio.gallery.settle(r);
        return performance.now() - t0;
      };
      const firstMs = await preview(0.5);
      const ms: number[] = [];
      for (let i = 1; i <= 5; i++) ms.push(await preview(0.5 + i / 2));
      return { msPerPreview: round(ms.sort((a, b) => a - b)[2]!), firstMs: round(firstMs), previews: ms.length };
    } finally {
      await studio.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
