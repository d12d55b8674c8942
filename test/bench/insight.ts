/**
 * `npm run bench -- insight [--preset 64] [--images 1000] [--project-presets 64,256]
 * [--project-steps 10] [--steps 500] [--slider-preset 256] [--backend B] [--skip kid,project,…]`:
 * the costs of seeing into a model, as JSON lines —
 * - features: ms per image through the feature network (InceptionV3 to mixed5 at 299²), batched;
 * - kid: seconds for KID of `--images` birds of `--preset` (drawing them, their features, the
 *   score) against as many synthetic reals (features already cached, as a dataset's are);
 * - project: per preset of `--project-presets`, `--project-steps` steps of a projection (default
 *   features and pixels, one w) timed one by one: the set-up (w_avg from 10,000 w's, the first
 *   report), seconds per step (the median, the first step's kernel set-up apart), and from them
 *   the seconds a `--steps`-step projection takes, marked `extrapolated` when fewer were run;
 *   with the wasm heap and live tensors after the first and the last step (flat: no growth);
 * - slider: ms for one slider preview at `--slider-preset` (a bird moved along a SeFa
 *   direction), warm, drawn here;
 * - slider-request: ms for one slider preview as the bird dialog gets it: a `generate` request
 *   with an edit through the Studio, drawn by its generator process and written as a PNG (what
 *   the page waits for), warm; the first preview (directions found, generator loaded) apart.
 * Generators of the presets with seeded random weights (the costs do not depend on training).
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
import { wasmHeapBytes } from '../../main/core/runtime/wasm-memory.js';
import * as tf from '@tensorflow/tfjs-core';

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const at = (c: { preset: string; resolution: number }) => ({ preset: c.preset, resolution: c.resolution });
const mb = (bytes: number | null): number | null => (bytes === null ? null : Math.round(bytes / 2 ** 20));

/** A generator of the preset with seeded random weights; dispose() gives its tensors back. */
function randomGenerator(preset: PresetName): Generator & { dispose(): void } {
  const config = presetConfig(preset);
  const filter = resampleFilter2d();
  const G = new ParamSet('G_ema', generatorSpecs(config), (s) => initialValues(s, new RandomState(0), filter));
  const constants = new WeightConstants();
  return {
    config,
    G,
    constants,
    dispose: () => {
      constants.dispose();
      G.dispose();
    },
  };
}

export async function benchInsight(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: '64' },
      images: { type: 'string', default: '1000' },
      'project-presets': { type: 'string', default: '64,256' },
      'project-steps': { type: 'string', default: '10' },
      steps: { type: 'string', default: '500' },
      'slider-preset': { type: 'string', default: '256' },
      backend: { type: 'string' },
      skip: { type: 'string', default: '' },
    },
  });
  const info = await initBackend(values.backend as BackendName | undefined, () => {});
  const skip = new Set(values.skip!.split(',').filter(Boolean));
  const gen = randomGenerator(values.preset as PresetName);
  const config = gen.config;
  const common = { backend: info.backend, description: info.description };
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
      ...at(config),
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
        ...at(config),
        images: n,
        seconds: round(drawAndEmbedS + scoreS),
        drawAndEmbedSeconds: round(drawAndEmbedS),
        scoreSeconds: round(scoreS, 2),
        // The 1,000 birds from fewer: drawing and embedding cost the same per bird (the
        // score itself, kernel sums over 1,000², is well under a second either way).
        secondsFor1000: round((drawAndEmbedS / n) * 1000 + scoreS),
        extrapolated: n < 1000,
      });
    }

    if (!skip.has('project'))
      for (const preset of values['project-presets']!.split(',').filter(Boolean))
        line(await benchProject(preset as PresetName, net, Number(values['project-steps']), Number(values.steps)));
  }

  if (!skip.has('slider')) {
    const slider = randomGenerator(values['slider-preset'] as PresetName);
    const dirs = await computeDirections(slider, 'sefa', `4-${slider.config.resolution}`);
    const ms: number[] = [];
    for (let i = 0; i < 6; i++) {
      t0 = performance.now();
      await renderBird(slider, {
        seed: 1,
        psi: 0.7,
        noiseMode: 'const',
        edit: { vector: dirs.vectors[0]!, layers: dirs.layers, amount: i },
      });
      if (i > 0) ms.push(performance.now() - t0); // the first compiles
    }
    line({ bench: 'insight-slider', ...at(slider.config), msPerPreview: round(median(ms)) });
    slider.dispose();
  }
  if (!skip.has('slider-request'))
    line({
      bench: 'insight-slider-request',
      ...at(presetConfig(values['slider-preset'] as PresetName)),
      ...(await sliderRequest(values['slider-preset']!)),
    });
  gen.dispose();
}

/**
 * `measured` steps of a projection at the preset, each timed: a 500-step projection of the full
 * 256² preset is most of an hour on a 2-core CPU, so the bench runs a few and extrapolates
 * (the steps cost the same throughout: one forward and backward pass of a fixed size).
 */
async function benchProject(
  preset: PresetName,
  net: Awaited<ReturnType<typeof featureNetwork>>,
  measured: number,
  steps: number,
): Promise<Record<string, unknown>> {
  const gen = randomGenerator(preset);
  try {
    const target = await renderBird(gen, { seed: 3, psi: 1, noiseMode: 'const' });
    const k = Math.max(2, Math.min(measured, steps));
    const marks: { at: number; heap: number | null; tensors: number }[] = [];
    const t0 = performance.now();
    // Reported every step: the report's extra draw (no gradients) is timed with its step, as
    // the app's reports every 10 steps are not; so the per-step figure errs high, by under a third.
    const r = await project(gen, net, target, { steps: k, reportEvery: 1 }, () =>
      marks.push({ at: performance.now(), heap: wasmHeapBytes(), tensors: tf.memory().numTensors }),
    );
    const setupS = (marks[0]!.at - t0) / 1000;
    const perStep = marks.slice(2).map((m, i) => (m.at - marks[i + 1]!.at) / 1000);
    const secondsPerStep = median(perStep);
    const firstStepS = (marks[1]!.at - marks[0]!.at) / 1000;
    return {
      bench: 'insight-project',
      ...at(gen.config),
      measuredSteps: k,
      setupSeconds: round(setupS, 2),
      firstStepSeconds: round(firstStepS, 2),
      secondsPerStep: round(secondsPerStep, 3),
      steps,
      seconds: round(setupS + firstStepS + (steps - 1) * secondsPerStep),
      extrapolated: k < steps,
      psnr: round(r.psnr, 2),
      heapMB: { afterFirstStep: mb(marks[1]!.heap), afterLastStep: mb(marks.at(-1)!.heap) },
      tensors: { afterFirstStep: marks[1]!.tensors, afterLastStep: marks.at(-1)!.tensors },
    };
  } finally {
    gen.dispose();
  }
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
      return { msPerPreview: round(median(ms)), firstMs: round(firstMs), previews: ms.length };
    } finally {
      await studio.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
