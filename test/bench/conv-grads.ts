/**
 * `npm run bench -- conv-grads [--repeats N] [--batch N]`: the wasm filter gradient's two paths
 * side by side in one process, on the filter gradients one D pass of the tiny preset runs (its
 * shapes, strides and pads, batch 8): the GEMM over x's shifted runs (conv-filter-gemm.ts, forced),
 * the batch↔channel-swapped convolution (BF_BY_GEMM.maxBytes = 0) and what the thresholds choose,
 * alternating call by call, timed by this process's CPU time (a loaded machine inflates it
 * least). One JSON line per shape with each path's median ms and GFLOP/s and the convolution's
 * time over the others' (>1: faster than the convolution); a last line sums them.
 * Then D's strided input gradients, by GEMM (conv-input-gemm.ts) and by the dilated convolution.
 * `--phases N`: then D's two training phases (Dmain, D+R1; tiny, batch 8, augmentation off) on
 * one trainer, both gradients as chosen and both by convolution alternating step by step, N
 * steps each after a warm-up: median CPU ms per phase, and inside the two gradient kernels, and the ratios.
 */
import { parseArgs } from 'node:util';
import { loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../main/core/runtime/backend.js';
import {
  CONV_BF_KERNEL,
  CONV_BI_KERNEL,
  convBackpropFilter,
  convBackpropInput,
  type ConvGeometry,
} from '../../main/core/kernels/conv-grads.js';
import { BF_BY_GEMM } from '../../main/core/kernels/conv-filter-gemm.js';
import { BI_BY_GEMM } from '../../main/core/kernels/conv-input-gemm.js';
import { presetConfig } from '../../main/core/gan/config.js';
import { GanTrainer, type PhaseName } from '../../main/core/gan/training.js';
import { roundPlanner } from '../../main/core/runtime/round-plan.js';

/** [x's H=W, Cin, Cout, k, stride, pad]: D's filter gradients at the tiny preset (32², 16–64 channels). */
const TINY_D: [number, number, number, number, number, number][] = [
  [32, 3, 16, 1, 1, 0],
  [32, 16, 16, 3, 1, 1],
  [33, 16, 32, 3, 2, 0],
  [16, 16, 32, 1, 1, 0],
  [16, 32, 32, 3, 1, 1],
  [17, 32, 64, 3, 2, 0],
  [8, 32, 64, 1, 1, 0],
  [8, 64, 64, 3, 1, 1],
  [9, 64, 64, 3, 2, 0],
  [4, 64, 64, 1, 1, 0],
  [4, 65, 64, 3, 1, 1],
];

const median = (t: number[]): number => [...t].sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** This process's CPU ms for one call of `run`, its result read back, then disposed. */
async function cpuMsOf(run: () => tf.Tensor): Promise<number> {
  const c0 = process.cpuUsage();
  const t = run();
  await t.data();
  const cpu = process.cpuUsage(c0);
  t.dispose();
  return (cpu.user + cpu.system) / 1000;
}

export async function benchConvGrads(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { repeats: { type: 'string' }, batch: { type: 'string' }, phases: { type: 'string' } },
  });
  const repeats = Number(values.repeats ?? 9);
  const n = Number(values.batch ?? 8);
  const info = await initBackend('wasm');
  const defaults = { ...BF_BY_GEMM };
  const settings = {
    gemm: { ...defaults, maxWaste: Infinity },
    conv: { ...defaults, maxBytes: 0 },
    chosen: defaults,
  };
  const paths = Object.keys(settings) as (keyof typeof settings)[];
  const total = { gemm: 0, conv: 0, chosen: 0 };
  for (const [size, cin, cout, k, s, p] of TINY_D) {
    const out = Math.floor((size + 2 * p - k) / s) + 1;
    const x = tf.randomNormal([n, size, size, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
    const dy = tf.randomNormal([n, out, out, cout], 0, 1, 'float32', 2) as tf.Tensor4D;
    const g: ConvGeometry = { strides: [s, s], pads: [p, p, p, p] };
    const ms = { gemm: [] as number[], conv: [] as number[], chosen: [] as number[] };
    for (let i = 0; i <= repeats; i++)
      for (const path of paths) {
        Object.assign(BF_BY_GEMM, settings[path]);
        const cpu = await cpuMsOf(() => convBackpropFilter(x, dy, g, [k, k, cin, cout]));
        if (i > 0) ms[path].push(cpu);
      }
    Object.assign(BF_BY_GEMM, defaults);
    tf.dispose([x, dy]);
    const flop = 2 * n * out * out * k * k * cin * cout;
    const [gemm, conv, chosen] = paths.map((path) => median(ms[path]));
    total.gemm += gemm!;
    total.conv += conv!;
    total.chosen += chosen!;
    console.log(
      JSON.stringify({
        bench: 'conv-grads',
        shape: `x[${n},${size},${size},${cin}] ${k}×${k}/${s} pad ${p} → ${cout}`,
        gemmMs: round(gemm!),
        convMs: round(conv!),
        chosenMs: round(chosen!),
        gemmGflops: round(flop / gemm! / 1e6, 1),
        convGflops: round(flop / conv! / 1e6, 1),
        convOverGemm: round(conv! / gemm!),
        convOverChosen: round(conv! / chosen!),
      }),
    );
  }
  console.log(
    JSON.stringify({
      bench: 'conv-grads',
      shape: 'all of one D pass',
      gemmMs: round(total.gemm),
      convMs: round(total.conv),
      chosenMs: round(total.chosen),
      convOverGemm: round(total.conv / total.gemm),
      convOverChosen: round(total.conv / total.chosen),
      repeats,
      load: round(loadavg()[0]!),
    }),
  );
  await inputGradients(n, repeats);
  if (values.phases) await phasesSideBySide(info, Number(values.phases), n);
}

async function phasesSideBySide(info: Awaited<ReturnType<typeof initBackend>>, steps: number, n: number) {
  const config = presetConfig('tiny', { batchSize: n });
  const trainer = new GanTrainer(config, 1, null, roundPlanner(info));
  trainer.counters.augmentP = 0;
  const reals = tf.randomUniform([n, config.resolution, config.resolution, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const [defaults, biDefaults] = [{ ...BF_BY_GEMM }, { ...BI_BY_GEMM }];
  // The two gradient kernels' own CPU time inside the phase too: at a load of several the whole
  // step's CPU time wanders by ±50 % step to step, theirs much less.
  let inKernels = 0;
  const wrapped = [CONV_BI_KERNEL, CONV_BF_KERNEL].map((name) => {
    const config = tf.getKernel(name, 'wasm')! as { kernelFunc: tf.KernelFunc };
    const own = config.kernelFunc;
    config.kernelFunc = (args) => {
      const c0 = process.cpuUsage();
      try {
        return own(args);
      } finally {
        const cpu = process.cpuUsage(c0);
        inKernels += (cpu.user + cpu.system) / 1000;
      }
    };
    return { config, own };
  });
  for (const phase of ['Dmain', 'Dreg'] as PhaseName[]) {
    const ms = { chosen: [] as number[], conv: [] as number[] };
    const kernelMs = { chosen: [] as number[], conv: [] as number[] };
    for (let i = 0; i <= steps; i++)
      for (const path of ['chosen', 'conv'] as const) {
        Object.assign(BF_BY_GEMM, path === 'conv' ? { maxBytes: 0 } : defaults);
        Object.assign(BI_BY_GEMM, path === 'conv' ? { maxBytes: 0 } : biDefaults);
        trainer.counters.step = 0;
        inKernels = 0;
        const c0 = process.cpuUsage();
        await trainer.trainStep(reals, [phase]);
        await trainer.takeStats();
        const cpu = process.cpuUsage(c0);
        if (i > 0) ms[path].push((cpu.user + cpu.system) / 1000);
        if (i > 0) kernelMs[path].push(inKernels);
      }
    Object.assign(BF_BY_GEMM, defaults);
    Object.assign(BI_BY_GEMM, biDefaults);
    const [chosen, conv] = [median(ms.chosen), median(ms.conv)];
    console.log(
      JSON.stringify({
        bench: 'conv-grads',
        phase,
        chosenCpuMs: round(chosen, 1),
        convCpuMs: round(conv, 1),
        convOverChosen: round(conv / chosen),
        gradKernelsChosenCpuMs: round(median(kernelMs.chosen), 1),
        gradKernelsConvCpuMs: round(median(kernelMs.conv), 1),
        gradKernelsConvOverChosen: round(median(kernelMs.conv) / median(kernelMs.chosen)),
        steps,
        load: round(loadavg()[0]!),
      }),
    );
  }
  for (const { config, own } of wrapped) config.kernelFunc = own;
  tf.dispose(reals);
  trainer.dispose();
}

/** D's strided input gradients (tiny): [dy's H=W, Cin, Cout] of a 3×3 stride-2 convolution from 2·H+1. */
const TINY_D_BI: [number, number, number][] = [
  [16, 16, 32],
  [8, 32, 64],
  [4, 64, 64],
];

async function inputGradients(n: number, repeats: number) {
  const defaults = { ...BI_BY_GEMM };
  for (const [size, cin, cout] of TINY_D_BI) {
    const dy = tf.randomNormal([n, size, size, cout], 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, cin, cout], 0, 1, 'float32', 2) as tf.Tensor4D;
    const g: ConvGeometry = { strides: [2, 2], pads: [0, 0, 0, 0] };
    const inShape = [n, 2 * size + 1, 2 * size + 1, cin];
    const ms = { gemm: [] as number[], conv: [] as number[] };
    for (let i = 0; i <= repeats; i++)
      for (const path of ['gemm', 'conv'] as const) {
        Object.assign(BI_BY_GEMM, path === 'conv' ? { maxBytes: 0 } : defaults);
        const cpu = await cpuMsOf(() => convBackpropInput(dy, f, g, inShape));
        if (i > 0) ms[path].push(cpu);
      }
    Object.assign(BI_BY_GEMM, defaults);
    tf.dispose([dy, f]);
    const [gemm, conv] = [median(ms.gemm), median(ms.conv)];
    console.log(
      JSON.stringify({
        bench: 'conv-grads',
        inputGradient: `dy[${n},${size},${size},${cout}] 3×3/2 → x[${inShape.join(',')}]`,
        gemmMs: round(gemm),
        convMs: round(conv),
        convOverGemm: round(conv / gemm),
      }),
    );
  }
}
