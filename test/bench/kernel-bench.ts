/**
 * `npm run bench -- kernels [--backend B] [--preset 256] [--reference CHECKOUT [--python PATH]]`:
 * where the time of a training step and of a bird goes, against the roofline of this core. First
 * line: the roofline of wasm here, measured (test/bench/roofline.ts: the f32x4 SIMD peak, the
 * memory bandwidth), and with `--reference` the native rates PyTorch reaches on the same core
 * (scripts/reference/step_time.py: a oneDNN 3×3 convolution, a copy). Then one line per training
 * phase (tiny, batch 8) and one for a bird of `--preset`: its top kernels by time with their
 * GFLOP/s, GB/s, arithmetic intensity and the roofline's bound for each (kernels.ts).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, type BackendName } from '../../main/core/runtime/backend.js';
import { PRESET_NAMES, presetConfig, type PresetName } from '../../main/core/gan/config.js';
import { GanTrainer, type PhaseName } from '../../main/core/gan/training.js';
import { roundPlanner } from '../../main/core/runtime/round-plan.js';
import { generatorSpecs } from '../../main/core/gan/generator.js';
import { WeightConstants, resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { renderBird } from '../../main/core/gallery/render.js';
import { againstRoofline, tallyKernels } from './kernels.js';
import { measureRooflineInChild } from './roofline.js';
import { runReference } from './reference.js';

const PHASES: PhaseName[] = ['Gmain', 'Greg', 'Dmain', 'Dreg'];

export async function benchKernels(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      backend: { type: 'string' },
      preset: { type: 'string', default: '256' },
      top: { type: 'string', default: '8' },
      reference: { type: 'string' },
      python: { type: 'string' },
    },
  });
  const preset = values.preset as PresetName;
  if (!PRESET_NAMES.includes(preset)) throw new Error(`--preset must be one of ${PRESET_NAMES.join(', ')}`);
  const top = Math.max(1, Number(values.top));
  // The roofline first, in a process of its own, before tfjs loads anything here.
  const roof = await measureRooflineInChild();
  const native =
    values.reference === undefined
      ? undefined
      : await runReference(values.reference, ['--skip', 'train,bird'], values.python);
  console.log(
    JSON.stringify({
      bench: 'kernels',
      part: 'roofline',
      ...roof,
      // Intensity (FLOP/byte) past which a kernel can be compute-bound here rather than memory-bound.
      ridgeFlopsPerByte: Math.round((roof.simdPeakGflops / roof.copyGBs) * 100) / 100,
      ...(native ? { native: 'error' in native ? native : native.native } : {}),
      loadAverage: Math.round(loadavg()[0]! * 10) / 10,
    }),
  );
  const info = await initBackend(values.backend as BackendName | undefined, () => {});
  const against = (t: Awaited<ReturnType<typeof tallyKernels>>): Record<string, unknown> =>
    againstRoofline(t, roof.simdPeakGflops, roof.copyGBs, top);

  // Training, tiny, batch 8, augmentation off (as beside the reference): each phase warmed once, then tallied.
  const config = presetConfig('tiny');
  const trainer = new GanTrainer(config, 1, null, roundPlanner(info));
  trainer.counters.augmentP = 0;
  const reals = tf.randomUniform([config.batchSize, config.resolution, config.resolution, 3], -1, 1, 'float32', 7);
  for (const phase of PHASES) {
    const step = async (): Promise<void> => {
      trainer.counters.step = 0;
      await trainer.trainStep(reals as tf.Tensor4D, [phase]);
      await trainer.takeStats();
    };
    await step();
    const line = { bench: 'kernels', part: 'train', preset: 'tiny', phase, backend: info.backend };
    console.log(JSON.stringify({ ...line, ...against(await tallyKernels(step)) }));
  }
  trainer.dispose();
  reals.dispose();

  // One bird as the gallery draws it (weight-derived tensors kept), after a first that builds them.
  const bird = presetConfig(preset);
  const G = new ParamSet('G_ema', generatorSpecs(bird), (s) =>
    initialValues(s, new RandomState(0), resampleFilter2d()),
  );
  const constants = new WeightConstants();
  const draw = (seed: number): Promise<Uint8Array> =>
    renderBird({ config: bird, G, constants }, { seed, psi: 0.7, noiseMode: 'const' });
  await draw(0);
  const line = { bench: 'kernels', part: 'bird', preset, resolution: bird.resolution, backend: info.backend };
  console.log(JSON.stringify({ ...line, ...against(await tallyKernels(() => draw(1))) }));
  constants.dispose();
  G.dispose();
}
