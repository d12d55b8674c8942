/**
 * `npm run bench -- <name> [options]`: benchmarks that print JSON lines (never timed tests).
 *   ingest [--folder F] [--resolution N]   Plumage's ingest vs a naive decode-crop-resize-save loop
 *   train [--preset P] [--repeats N] [--backend B[,B…]] [--fused on,off] [--reference CHECKOUT]
 *                                          ms per phase, images/s, s/kimg, GFLOP/s, RSS, kernels per phase;
 *                                          the reference's phases beside them (step_time.py) and the ratios
 *   kernels [--preset 256] [--reference CHECKOUT]
 *                                          the roofline of wasm on this core (SIMD peak, bandwidth) and each
 *                                          phase's and a bird's top kernels against it
 *   run [--preset P] [--kimg K] [--replicas 1,2] [--network 128ch]
 *                                          a whole supervised run per replica count: s/kimg, images/s,
 *                                          overhead share, checkpoint time, RSS
 *   export [--prints N] [--upscaler U]     ESRGAN ×4 at 256²/512², an A4 300-DPI PDF of N upscaled prints
 *   generate [--resolutions 64,256,512] [--reference CHECKOUT]
 *                                          ms per gallery image, one at a time and batched (the reference's)
 *   pickle [--resolution 512]            opening a network pickle vs reading it twice; peak memory vs tensors
 *   insight [--preset 64] [--images 1000] [--project-presets 64,256] [--project-steps 10]
 *          [--steps 500] [--slider-preset 256] [--skip features,kid,project,slider,slider-request]
 *                                          feature network ms/image, KID of N birds (s), a projection (s),
 *                                          a slider preview (ms)
 *   kid-beside [--preset tiny] [--kimg K] [--images 1000] [--repeats 1]
 *                                          the trainer's images/s with and without each checkpoint
 *                                          scored beside it (nice-19 process): the slowdown ratio
 *   conv-grads [--repeats 9] [--batch 8] [--phases N]   the wasm conv gradients' GEMMs against their convolutions,
 *                                          side by side on D's shapes (CPU ms, GFLOP/s, ratio)
 */
import { benchIngest } from './ingest.js';
import { benchTrain } from './train.js';
import { benchRun } from './run.js';
import { benchExport } from './export.js';
import { benchGenerate } from './generate.js';
import { benchPickle } from './pickle.js';
import { benchInsight } from './insight.js';
import { benchKidBeside } from './kid-beside.js';
import { benchKernels } from './kernel-bench.js';
import { benchConvGrads } from './conv-grads.js';

const [name, ...rest] = process.argv.slice(2);
const benches: Record<string, (argv: string[]) => Promise<void>> = {
  ingest: benchIngest,
  train: benchTrain,
  run: benchRun,
  export: benchExport,
  generate: benchGenerate,
  pickle: benchPickle,
  insight: benchInsight,
  'kid-beside': benchKidBeside,
  kernels: benchKernels,
  'conv-grads': benchConvGrads,
};
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]`);
  process.exitCode = 2;
} else {
  await bench(rest);
}
