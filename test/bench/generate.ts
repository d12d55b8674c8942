/**
 * `npm run bench -- generate [--resolutions tiny,64,256] [--repeats 3] [--batch 8] [--backend B]
 * [--screenful tiny,256] [--fused on,off] [--reference CHECKOUT [--python PATH]]`:
 * per preset, the arithmetic (FLOPs per bird; the GFLOP/s this backend's convolutions reach in a
 * real forward pass, and so the floor: the fewest ms a bird can take here on one core, and per
 * bird with two birds at once on two cores), then ms per bird as the gallery draws it
 * (the generator's weight-derived tensors kept) beside the path it took before (the training
 * forward, rebuilding them per bird), one at a time and batched; then the gallery's first
 * screenful through a Studio and its generator process, cold and warm. JSON lines. `--fused on,off`
 * measures each preset with Plumage's fused kernels and then with the composed ops, side by side.
 * `--reference` draws the same architecture's bird with the reference on one thread
 * (scripts/reference/step_time.py) before each preset and adds its ms and the ratio to the line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GALLERY_PAGE_SIZE as PAGE_SIZE } from '../../preload/contract.js';
import { initBackend, type BackendName } from '../../main/core/runtime/backend.js';
import {
  PRESET_NAMES,
  presetConfig,
  referenceArgs,
  type GanConfig,
  type PresetName,
} from '../../main/core/gan/config.js';
import { generatorMacs, sampleMacs } from './flops.js';
import { generatorSpecs } from '../../main/core/gan/generator.js';
import { WeightConstants, resampleFilter2d } from '../../main/core/gan/ops.js';
import { ParamSet, initialValues } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { writeSafetensors } from '../../main/core/netfile/safetensors.js';
import { defaultLanes } from '../../main/core/gallery/generator-client.js';
import { pngBytes } from '../../main/core/gallery/output.js';
import { renderBird, renderBirds, type Generator } from '../../main/core/gallery/render.js';
import { Studio } from '../../main/core/studio.js';
import { useFusedKernels } from '../../main/core/kernels/index.js';
import { summariseTally, tallyKernels } from './kernels.js';
import { ratios, runReference, type ReferenceTimes } from './reference.js';

const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;
const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timedAsync(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

export async function benchGenerate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      resolutions: { type: 'string', default: 'tiny,64,256' },
      repeats: { type: 'string', default: '3' },
      batch: { type: 'string', default: '8' },
      backend: { type: 'string' },
      screenful: { type: 'string', default: 'tiny' },
      fused: { type: 'string', default: 'on' },
      reference: { type: 'string' },
      python: { type: 'string' },
    },
  });
  const info = await initBackend(values.backend as BackendName | undefined, () => {});
  const repeats = Math.max(1, Number(values.repeats));
  const batch = Math.max(2, Number(values.batch));
  const presets = (list: string): PresetName[] =>
    list
      .split(',')
      .filter((p) => p !== '')
      .map((p) => {
        if (!PRESET_NAMES.includes(p as PresetName))
          throw new Error(`${p} is not one of the presets ${PRESET_NAMES.join(', ')}`);
        return p as PresetName;
      });
  const sides = values.fused!.split(',').map((side) => {
    if (side !== 'on' && side !== 'off') throw new Error(`--fused takes on, off or on,off, not ${side}`);
    return side;
  });
  for (const preset of presets(values.resolutions!)) {
    // The reference's bird of the same architecture, one thread, in a process of its own (step_time.py).
    const reference =
      values.reference === undefined
        ? undefined
        : await runReference(
            values.reference,
            [
              '--repeats',
              String(repeats),
              '--skip',
              'train,peaks',
              '--bird',
              JSON.stringify(referenceArgs(presetConfig(preset))),
            ],
            values.python,
          );
    for (const side of sides) {
      useFusedKernels(side === 'on');
      await drawPreset(preset, side, repeats, batch, info, reference);
    }
  }
  useFusedKernels(true);
  for (const preset of presets(values.screenful!)) await screenful(preset);
}

/** One preset's line: ms per bird before and now, one at a time and batched, and its kernels. */
async function drawPreset(
  preset: PresetName,
  fused: 'on' | 'off',
  repeats: number,
  batch: number,
  info: { backend: string; description: string },
  reference?: ReferenceTimes | { error: string },
): Promise<void> {
  const config = presetConfig(preset);
  const gen = randomGenerator(config);
  const bird = (seed: number, k?: WeightConstants): Promise<Uint8Array> =>
    renderBird({ ...gen, constants: k }, { seed, psi: 0.7, noiseMode: 'const' });
  const flops = 2 * sampleMacs(config);
  // Before: the training forward, which rebuilds the weight-derived tensors for every bird.
  await bird(0);
  const before: number[] = [];
  for (let i = 1; i <= Math.min(repeats, 2); i++) before.push(await timedAsync(() => bird(i)));
  const constants = new WeightConstants();
  const firstMs = await timedAsync(() => bird(0, constants)); // builds the constants; compiles
  const single: number[] = [];
  const singleCpu: number[] = [];
  const withPng: number[] = [];
  for (let i = 1; i <= repeats; i++) {
    const a = performance.now();
    const c0 = process.cpuUsage();
    const px = await bird(i, constants);
    single.push(performance.now() - a);
    const cpu = process.cpuUsage(c0);
    singleCpu.push((cpu.user + cpu.system) / 1000);
    await pngBytes(px, config.resolution);
    withPng.push(performance.now() - a);
  }
  const profile = await profileBird({ ...gen, constants });
  const floorMs = (flops / 1e9 / profile.convGflops) * 1000; // every FLOP at the convolutions' rate
  const batched: number[] = [];
  if (config.resolution <= 64) {
    const specs = Array.from({ length: batch }, (_, k) => ({ seed: 100 + k, psi: 0.7, noiseMode: 'const' as const }));
    for (let i = 0; i <= Math.max(1, Math.ceil(repeats / 2)); i++) {
      const ms = await timedAsync(() => renderBirds({ ...gen, constants }, specs));
      if (i > 0) batched.push(ms / batch); // the first batch size compiles anew
    }
  }
  constants.dispose();
  gen.G.dispose();
  const ms = median(single);
  const cpuMs = median(singleCpu);
  const beside: Record<string, unknown> = {};
  if (reference && 'error' in reference) beside.reference = { error: reference.error };
  else if (reference?.bird) {
    const b = reference.bird;
    beside.reference = { torch: reference.torch, threads: reference.threads, loadAverage: reference.loadAverage, ...b };
    beside.referenceRatio = ratios({ msPerImage: ms, cpuMsPerImage: cpuMs }, b as unknown as Record<string, number>);
  }
  console.log(
    JSON.stringify({
      bench: 'generate',
      backend: info.backend,
      description: info.description,
      preset,
      fused,
      resolution: config.resolution,
      gflopPerImage: round(flops / 1e9, 2),
      gflopPerImageTrainingPath: round((2 * generatorMacs(config)) / 1e9, 2),
      convGflops: round(profile.convGflops),
      msByKernel: profile.ms,
      kernelsPerImage: profile.kernels,
      floorMsOneCore: round(floorMs, 0),
      floorMsPerBirdTwoCores: round(floorMs / 2, 0),
      msPerImageBefore: round(median(before)),
      firstImageMs: round(firstMs),
      msPerImage: round(ms),
      cpuMsPerImage: round(cpuMs),
      msPerImageWithPng: round(median(withPng)),
      achievedGflops: round(flops / 1e9 / (ms / 1000)),
      ...(batched.length > 0 ? { batch, msPerImageBatched: round(median(batched)) } : {}),
      repeats,
      rssMB: Math.round(process.memoryUsage().rss / 2 ** 20),
      loadAverage: round(loadavg()[0]!), // other work on the machine makes every figure slower
      ...beside,
    }),
  );
}

/** A generator of the preset with seeded random weights (every value counts: nothing is zero). */
function randomGenerator(config: GanConfig): Generator {
  const filter = resampleFilter2d();
  const G = new ParamSet('G_ema', generatorSpecs(config), (s) => initialValues(s, new RandomState(0), filter));
  return { config, G };
}

/**
 * One bird under tf.profile: the kernels it dispatched (count, the top ones by time with their
 * GFLOP/s), milliseconds by kernel kind (convolutions, the depthwise FIR filters, the rest), and
 * the GFLOP/s the convolutions reach inside a real forward pass (their multiply-adds from each
 * kernel's shapes over their time): the rate the floor is drawn from.
 */
async function profileBird(
  gen: Generator,
): Promise<{ convGflops: number; ms: Record<string, number>; kernels: Record<string, unknown> }> {
  const tally = await tallyKernels(() => renderBird(gen, { seed: 7, psi: 0.7, noiseMode: 'const' }));
  const ms: Record<string, number> = { conv: 0, fir: 0, other: 0 };
  let convFlops = 0;
  for (const row of tally.rows) {
    if (row.name === 'Conv2D' || row.name === 'FusedConv2D') {
      convFlops += row.flops ?? 0;
      ms.conv! += row.ms;
    } else if (row.name === 'DepthwiseConv2dNative') ms.fir! += row.ms;
    else ms.other! += row.ms;
  }
  for (const key of Object.keys(ms)) ms[key] = round(ms[key]!, 0);
  return { convGflops: convFlops / 1e9 / (ms.conv! / 1000), ms, kernels: summariseTally(tally, 8) };
}

/** The generator alone, as a reference export is: G_ema's tensors and the config. */
async function writeGenerator(config: GanConfig, file: string): Promise<void> {
  const { G } = randomGenerator(config);
  const values = await G.exportRef();
  G.dispose();
  await writeSafetensors(
    file,
    [...values].map(([name, v]) => ({ name, shape: v.spec.refShape, data: () => v.data })),
    { format: 'pt', 'plumage.config': JSON.stringify({ reference: referenceArgs(config), plumage: config }) },
  );
}

/**
 * The gallery's first screenful, as the app sees it: a Studio with its generator process, a
 * page of birds of a generator file asked for and all written. Cold includes starting the
 * process and its lanes and loading the file; afterWarmUp is a fresh home's first page once
 * the process was started ahead (as the app and `serve` do at start-up); warm is the next page.
 * firstBird*: when the first bird of the page landed.
 */
async function screenful(preset: PresetName): Promise<void> {
  const tmp = mkdtempSync(join(tmpdir(), 'plumage-bench-gallery-'));
  try {
    const config = presetConfig(preset);
    const file = join(tmp, `${preset}.safetensors`);
    await writeGenerator(config, file);
    let studio = Studio.open({ home: join(tmp, 'home'), resourcesDir: tmp, shell: 'server', watch: false });
    try {
      const page = async (first: number): Promise<{ ms: number; firstBirdMs: number }> => {
        const t0 = performance.now();
        let firstBirdMs = 0;
        const onImage = (): void => void (firstBirdMs ||= performance.now() - t0);
        studio.on('galleryImage', onImage);
        const seeds = Array.from({ length: PAGE_SIZE }, (_, i) => first + i);
        await studio.gallery.settle(
          await studio.generate({ generator: { file }, seeds, psi: 0.7, noiseMode: 'const' }),
        );
        studio.off('galleryImage', onImage);
        return { ms: performance.now() - t0, firstBirdMs };
      };
      const cold = await page(0);
      await studio.close();
      studio = Studio.open({ home: join(tmp, 'home'), resourcesDir: tmp, shell: 'server', watch: false });
      const warmUpMs = await timedAsync(() => studio.gallery.warmUp());
      const prestarted = await page(0);
      const warm = await page(PAGE_SIZE);
      console.log(
        JSON.stringify({
          bench: 'gallery-screenful',
          preset,
          resolution: config.resolution,
          birds: PAGE_SIZE,
          lanes: defaultLanes(),
          coldMs: round(cold.ms),
          coldFirstBirdMs: round(cold.firstBirdMs),
          warmUpMs: round(warmUpMs),
          afterWarmUpMs: round(prestarted.ms),
          afterWarmUpFirstBirdMs: round(prestarted.firstBirdMs),
          warmMs: round(warm.ms),
          warmFirstBirdMs: round(warm.firstBirdMs),
          warmMsPerBird: round(warm.ms / PAGE_SIZE),
          loadAverage: round(loadavg()[0]!),
        }),
      );
    } finally {
      await studio.close();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
