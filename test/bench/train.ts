import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import {
  BACKEND_NAMES,
  initBackend,
  isBackendName,
  releaseBackend,
  type BackendName,
} from '../../main/core/runtime/backend.js';
import { PRESET_NAMES, presetConfig, type GanConfig, type PresetName } from '../../main/core/gan/config.js';
import { phaseFlops } from './flops.js';
import { GanTrainer, type PhaseName } from '../../main/core/gan/training.js';
import { fileURLToPath } from 'node:url';
import { runChild } from './child.js';
import { ParallelTrainer } from '../../main/core/parallel/parallel.js';
import { wasmHeapBytes } from '../../main/core/runtime/wasm-memory.js';
import { roundPlanner } from '../../main/core/runtime/round-plan.js';
import { summariseTally, tallyKernels, type KernelTally } from './kernels.js';
import { useFusedKernels } from '../../main/core/kernels/index.js';
import { networkOf } from './networks.js';
import { runReference, trainBeside } from './reference.js';

const SELF = fileURLToPath(import.meta.url);
const PHASES: PhaseName[] = ['Gmain', 'Greg', 'Dmain', 'Dreg'];
const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

interface PhaseTimes {
  /** Whether Plumage's fused kernels (and lean gradients) ran: `--fused on,off` measures both. */
  fused: boolean;
  backend: string;
  description: string;
  adapter: string | null;
  batch: number;
  /**
   * A phase alone: the median of steps running only it, less the median of the steps' own work
   * (G_ema's update, the counters, reading the statistics), which the reference's phase times
   * (its accumulate_gradients and Adam step) leave out too. The step's own is `msBookkeeping`.
   */
  msPerPhase: Record<PhaseName, number>;
  /** The same medians by this process's CPU time (user + system): a loaded machine inflates it least. */
  cpuMsPerPhase: Record<PhaseName, number>;
  /** A step that runs no phase: what every step adds to its phases. */
  msBookkeeping: number;
  cpuMsBookkeeping: number;
  peakRssMB: number;
  /** wasm: the instance's heap after every phase ran (it only grows: the peak), and the rounds it trained in. */
  wasmHeapMB: number | null;
  rounds: { perRound: number; plPerRound: number };
  /** Kernels dispatched by one step of each phase alone, less the step's own (G_ema's update, counters). */
  kernelsPerPhase: Record<PhaseName, Record<string, unknown>>;
  /** What every step dispatches besides its phases. */
  kernelsPerStepBookkeeping: Record<string, unknown>;
}

/**
 * Times each phase (median of `repeats` after a warm-up) in this process, once per side of
 * `fusedSides` (the fused kernels on or off): the sides alternate step by step on one trainer,
 * so a load that changes while the bench runs weighs on both alike.
 */
async function measure(
  preset: PresetName,
  backend: BackendName | undefined,
  repeats: number,
  batchOverride?: number,
  fusedSides: boolean[] = [true],
  augmentP = 0.2,
  network: Partial<GanConfig> = {},
): Promise<PhaseTimes[]> {
  const info = await initBackend(backend);
  const config = presetConfig(preset, { ...network, ...(batchOverride ? { batchSize: batchOverride } : {}) });
  const trainer = new GanTrainer(config, 1, null, roundPlanner(info));
  const reals = tf.randomUniform(
    [config.batchSize, config.resolution, config.resolution, 3],
    -1,
    1,
    'float32',
    7,
  ) as tf.Tensor4D;
  // By default with augmentation on, as a run on a small dataset has it; off beside the reference (step_time.py).
  trainer.counters.augmentP = augmentP;
  const ms = fusedSides.map(() => ({}) as Record<PhaseName, number>);
  const cpuMs = fusedSides.map(() => ({}) as Record<PhaseName, number>);
  const median = (t: number[]): number => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]!;
  const own = fusedSides.map(() => ({ ms: 0, cpu: 0 }));
  // The steps' own work first ([] runs no phase), then each phase net of it.
  for (const phase of [null, ...PHASES]) {
    const times: number[][] = fusedSides.map(() => []);
    const cpuTimes: number[][] = fusedSides.map(() => []);
    for (let i = 0; i <= repeats; i++) {
      for (const [side, on] of fusedSides.entries()) {
        useFusedKernels(on);
        trainer.counters.step = 0;
        // Wall time to the phase's results: a GPU backend only queues work in trainStep.
        const t0 = performance.now();
        const c0 = process.cpuUsage();
        await trainer.trainStep(reals, phase ? [phase] : []);
        await trainer.takeStats();
        const cpu = process.cpuUsage(c0);
        // The first call pays for kernel set-up; --repeats 0 times it alone (a big preset on a CPU).
        if (i > 0 || repeats === 0) {
          times[side]!.push(performance.now() - t0);
          cpuTimes[side]!.push((cpu.user + cpu.system) / 1000);
        }
      }
    }
    for (const side of fusedSides.keys()) {
      const [wall, cpu] = [median(times[side]!), median(cpuTimes[side]!)];
      if (phase === null) own[side] = { ms: wall, cpu };
      else {
        ms[side]![phase] = Math.max(0, wall - own[side]!.ms);
        cpuMs[side]![phase] = Math.max(0, cpu - own[side]!.cpu);
      }
    }
  }
  // Kernel tallies in runs of their own (profiling adds a little to each kernel's time).
  const stepOf = async (only: PhaseName[]): Promise<KernelTally> => {
    trainer.counters.step = 0;
    return tallyKernels(async () => {
      await trainer.trainStep(reals, only);
      await trainer.takeStats();
    });
  };
  const tallies: { bookkeeping: KernelTally; kernelsPerPhase: Record<PhaseName, Record<string, unknown>> }[] = [];
  for (const on of fusedSides) {
    useFusedKernels(on);
    const bookkeeping = await stepOf([]);
    const kernelsPerPhase = {} as Record<PhaseName, Record<string, unknown>>;
    for (const phase of PHASES) {
      const t = await stepOf([phase]);
      kernelsPerPhase[phase] = { ...summariseTally(t), kernels: t.kernels - bookkeeping.kernels };
    }
    tallies.push({ bookkeeping, kernelsPerPhase });
  }
  useFusedKernels(true);
  const heap = wasmHeapBytes();
  const rounds = { perRound: trainer.perRound, plPerRound: trainer.plPerRound };
  trainer.dispose();
  return fusedSides.map((fused, side) => ({
    fused,
    wasmHeapMB: heap === null ? null : Math.round(heap / 2 ** 20),
    rounds,
    backend: info.backend,
    description: info.description,
    batch: config.batchSize,
    adapter: info.adapter ? `${info.adapter.vendor} ${info.adapter.description || info.adapter.device}` : null,
    msPerPhase: ms[side]!,
    cpuMsPerPhase: cpuMs[side]!,
    msBookkeeping: own[side]!.ms,
    cpuMsBookkeeping: own[side]!.cpu,
    kernelsPerPhase: tallies[side]!.kernelsPerPhase,
    kernelsPerStepBookkeeping: summariseTally(tallies[side]!.bookkeeping, 3),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
  }));
}

function summarise(preset: PresetName, t: PhaseTimes, network: Partial<GanConfig> = {}): Record<string, unknown> {
  const config = presetConfig(preset, { ...network, batchSize: t.batch });
  const flops = phaseFlops(config, t.batch);
  const ms = t.msPerPhase;
  // An average step: main phases every time, regularisation every plInterval / r1Interval steps,
  // and the step's own work once.
  const stepMs = ms.Gmain + ms.Dmain + ms.Greg / config.plInterval + ms.Dreg / config.r1Interval + t.msBookkeeping;
  const stepFlops = flops.Gmain + flops.Dmain + flops.Greg / config.plInterval + flops.Dreg / config.r1Interval;
  const imagesPerSec = (t.batch / stepMs) * 1000;
  const kernelsOf = (p: PhaseName): number => t.kernelsPerPhase[p].kernels as number;
  // An average step's kernels, as its time: each phase as often as it runs, and the bookkeeping.
  const kernelsPerStep =
    kernelsOf('Gmain') +
    kernelsOf('Dmain') +
    kernelsOf('Greg') / config.plInterval +
    kernelsOf('Dreg') / config.r1Interval +
    (t.kernelsPerStepBookkeeping.kernels as number);
  return {
    fused: t.fused,
    backend: t.backend,
    description: t.description,
    adapter: t.adapter,
    preset,
    resolution: config.resolution,
    batch: t.batch,
    msGStep: round(ms.Gmain),
    msDStep: round(ms.Dmain),
    msDR1Step: round(ms.Dmain + ms.Dreg),
    msGPLStep: round(ms.Gmain + ms.Greg),
    msPerPhase: Object.fromEntries(PHASES.map((p) => [p, round(ms[p])])),
    cpuMsPerPhase: Object.fromEntries(PHASES.map((p) => [p, round(t.cpuMsPerPhase[p])])),
    msBookkeeping: round(t.msBookkeeping),
    cpuMsBookkeeping: round(t.cpuMsBookkeeping),
    kernelsPerStep: Math.round(kernelsPerStep),
    kernelsPerPhase: t.kernelsPerPhase,
    kernelsPerStepBookkeeping: t.kernelsPerStepBookkeeping,
    loadAverage: round(loadavg()[0]!),
    imagesPerSec: round(imagesPerSec, 2),
    secondsPerKimg: round(1000 / imagesPerSec),
    gflopPerStep: round(stepFlops / 1e9, 2),
    achievedGflops: round(stepFlops / 1e6 / stepMs, 2),
    peakRssMB: t.peakRssMB,
    peakWasmHeapMB: t.wasmHeapMB,
    rounds: t.rounds,
  };
}

/** Full steps per second: one process against `replicas` worker-thread replicas, alternating, in this process. */
async function measureParallel(
  preset: PresetName,
  replicas: number,
  steps: number,
  batchOverride?: number,
  network: Partial<GanConfig> = {},
): Promise<{ single: number; parallel: number }> {
  const config = presetConfig(preset, { ...network, ...(batchOverride ? { batchSize: batchOverride } : {}) });
  const reals = new Float32Array(config.batchSize * config.resolution ** 2 * 3).map((_, i) => Math.sin(i));
  const single = new GanTrainer(config, 1, null, roundPlanner(await initBackend('wasm')));
  const realsTensor = tf.tensor4d(reals, [config.batchSize, config.resolution, config.resolution, 3]);
  const parallel = await ParallelTrainer.open({ kind: 'fresh', config, seed: 1 }, replicas, 'wasm');
  await single.trainStep(realsTensor);
  await parallel.trainStep(reals);
  let singleMs = 0;
  let parallelMs = 0;
  for (let i = 0; i < steps; i++) {
    let t = performance.now();
    await single.trainStep(realsTensor);
    await single.takeStats();
    singleMs += performance.now() - t;
    t = performance.now();
    await parallel.trainStep(reals);
    await parallel.takeStats(); // as the single side does: both read their statistics every step
    parallelMs += performance.now() - t;
  }
  single.dispose();
  realsTensor.dispose();
  await parallel.close();
  return {
    single: (config.batchSize * steps * 1000) / singleMs,
    parallel: (config.batchSize * steps * 1000) / parallelMs,
  };
}

/**
 * `npm run bench -- train [--preset P] [--repeats N] [--backend B[,B…]] [--batch B] [--replicas N] [--fused on,off]
 * [--reference CHECKOUT [--python PATH]] [--augment P] [--network 128ch]`
 * `--network` puts a benchmark network (networks.ts) in place of the preset's, on both sides.
 * `--reference` times the reference's phases too (scripts/reference/step_time.py, tiny, batch 8,
 * one thread, augmentation off: so Plumage's side runs with augmentation off as well) and adds
 * both and their ratios to the line. With several backends (`--backend wasm,webgpu,cpu`) each runs
 * in its own process, one after the other, and one JSON line holds them side by side.
 */
export async function benchTrain(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: 'string', default: 'tiny' },
      repeats: { type: 'string', default: '3' },
      backend: { type: 'string' },
      batch: { type: 'string' },
      worker: { type: 'boolean', default: false },
      'no-compare': { type: 'boolean', default: false },
      replicas: { type: 'string' },
      'parallel-worker': { type: 'boolean', default: false },
      fused: { type: 'string', default: 'on' },
      reference: { type: 'string' },
      python: { type: 'string' },
      augment: { type: 'string' },
      network: { type: 'string' },
    },
  });
  const network = networkOf(values.network);
  // Passed on to each child process and to the reference's step_time.py, which builds the same network.
  const networkArgs = values.network !== undefined ? ['--network', values.network] : [];
  const fusedSides = values.fused.split(',').map((v) => {
    if (v !== 'on' && v !== 'off') throw new Error(`--fused takes on, off or on,off (got ${v})`);
    return v === 'on';
  });
  const preset = values.preset as PresetName;
  if (!PRESET_NAMES.includes(preset)) throw new Error(`--preset must be one of ${PRESET_NAMES.join(', ')}`);
  const repeats = Number(values.repeats);
  const batch = values.batch ? Number(values.batch) : undefined;
  if (values.reference !== undefined && (preset !== 'tiny' || (batch !== undefined && batch !== 8)))
    throw new Error(
      '--reference times the reference at the tiny preset, batch 8 (step_time.py): drop --preset/--batch',
    );
  // Augmentation's probability: 0.2 by default, off beside the reference (which runs without it).
  const augment = values.augment ?? (values.reference !== undefined ? '0' : '0.2');
  if (!(Number(augment) >= 0 && Number(augment) <= 1)) throw new Error(`--augment takes 0 to 1, not ${augment}`);
  if (values['parallel-worker']) {
    console.log(JSON.stringify(await measureParallel(preset, Number(values.replicas ?? 2), repeats, batch, network)));
    return;
  }
  if (values.worker) {
    // One side of the comparison, in its own process (a process has one tfjs backend).
    const backend = values.backend as BackendName | undefined;
    const times = await measure(preset, backend, repeats, batch, fusedSides, Number(augment), network);
    releaseBackend(); // a live GPU device would keep the worker from exiting
    console.log(JSON.stringify(times));
    return;
  }
  const kinds = (values.backend ?? '').split(',').filter(Boolean);
  for (const k of kinds) if (!isBackendName(k)) throw new Error(`--backend must be among ${BACKEND_NAMES.join(', ')}`);
  if (kinds.length > 1) {
    const sideBySide: Record<string, unknown>[] = [];
    for (const kind of kinds) {
      try {
        const r = await runChild<PhaseTimes[]>(SELF.replace(/train\.js$/, 'index.js'), [
          'train',
          '--worker',
          '--preset',
          preset,
          '--repeats',
          String(kind === 'cpu' ? 1 : repeats), // pure JS is an order of magnitude slower
          '--backend',
          kind,
          ...(batch ? ['--batch', String(batch)] : []),
          ...networkArgs,
        ]);
        sideBySide.push({ kind, ...summarise(preset, r.result[0]!, network) });
      } catch (err) {
        sideBySide.push({ kind, error: (err as Error).message.split('\n').slice(0, 3).join(' ') });
      }
    }
    console.log(JSON.stringify({ bench: 'train', preset, backends: sideBySide }));
    return;
  }
  const sides = await runChild<PhaseTimes[]>(SELF.replace(/train\.js$/, 'index.js'), [
    'train',
    '--worker',
    '--preset',
    preset,
    '--repeats',
    String(repeats),
    '--fused',
    values.fused,
    '--augment',
    augment,
    ...(values.backend ? ['--backend', values.backend] : []),
    ...(batch ? ['--batch', String(batch)] : []),
    ...networkArgs,
  ]);
  const best = { result: sides.result[0]! };
  const line: Record<string, unknown> = {
    bench: 'train',
    augmentP: Number(augment),
    ...(values.network !== undefined ? { network: values.network } : {}),
    ...summarise(preset, best.result, network),
  };
  if (sides.result.length > 1) {
    // The other side, measured step by step alternating with the first in the same process.
    const other = summarise(preset, sides.result[1]!, network);
    line[best.result.fused ? 'fusedOff' : 'fusedOn'] = other;
    const [on, off] = best.result.fused ? [line, other] : [other, line];
    line.fusedSpeedup = round((off.secondsPerKimg as number) / (on.secondsPerKimg as number), 2);
    line.fusedKernelRatio = round((on.kernelsPerStep as number) / (off.kernelsPerStep as number), 2);
  }
  if (!values['no-compare'] && best.result.backend !== 'cpu' && preset === 'tiny') {
    // The pure-JS backend, side by side on one repeat (it is an order of magnitude slower).
    const cpu = await runChild<PhaseTimes[]>(SELF.replace(/train\.js$/, 'index.js'), [
      'train',
      '--worker',
      '--preset',
      preset,
      '--repeats',
      '1',
      '--backend',
      'cpu',
      ...(batch ? ['--batch', String(batch)] : []),
      ...networkArgs,
    ]);
    const cpuSummary = summarise(preset, cpu.result[0]!, network);
    line.cpuBackend = {
      msGStep: cpuSummary.msGStep,
      msDStep: cpuSummary.msDStep,
      imagesPerSec: cpuSummary.imagesPerSec,
    };
    line.speedupOverCpuBackend = round((line.imagesPerSec as number) / (cpuSummary.imagesPerSec as number), 1);
  }
  // Replicas by default on tiny only: on a bigger preset the comparison alone would take hours on a CPU.
  const replicas = Number(values.replicas ?? (preset === 'tiny' ? 2 : 1));
  if (replicas > 1 && best.result.backend === 'wasm') {
    // Both cores: worker-thread replicas splitting the batch, against one process, full steps alternating.
    const par = await runChild<{ single: number; parallel: number }>(SELF.replace(/train\.js$/, 'index.js'), [
      'train',
      '--parallel-worker',
      '--preset',
      preset,
      '--replicas',
      String(replicas),
      '--repeats',
      String(Math.max(4, repeats)),
      ...(batch ? ['--batch', String(batch)] : []),
      ...networkArgs,
    ]);
    line.parallel = {
      replicas,
      imagesPerSecSingle: round(par.result.single, 2),
      imagesPerSecParallel: round(par.result.parallel, 2),
      speedup: round(par.result.parallel / par.result.single, 2),
      note: 'full steps (Gmain+Dmain, with Greg/Dreg when due), alternating single and parallel',
    };
  }
  if (values.reference !== undefined) {
    // The reference's phases in a process of its own after Plumage's (one thread each, one after the other).
    trainBeside(
      line,
      await runReference(
        values.reference,
        ['--repeats', String(repeats), '--skip', 'bird,peaks', ...networkArgs],
        values.python,
      ),
    );
  }
  console.log(JSON.stringify(line));
}
