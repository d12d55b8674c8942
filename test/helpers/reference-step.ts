/**
 * One training step held to fixed weights and inputs, as scripts/reference/step_fixture.py
 * feeds the reference's networks: every tensor is drawn by numpy's legacy RandomState seeded
 * with the FNV-1a hash of its name (RandomState here is the same generator), noise is 'const',
 * augmentation off, and the draws inside the loss (style-mixing partners, pl_noise) come from a
 * per-phase stream in the reference's order. The phases run through GanTrainer itself; only
 * what it draws at random is replaced.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { numWs, presetConfig, type GanConfig } from '../../main/core/gan/config.js';
import type { SynthesisOptions } from '../../main/core/gan/generator.js';
import { resampleFilter2d } from '../../main/core/gan/ops.js';
import { tfjsToRef, type ParamSet, type ParamSpec } from '../../main/core/gan/params.js';
import { RandomState } from '../../main/core/gan/rng.js';
import { GanTrainer, type MappingDraws, type PhaseName, type StepStats } from '../../main/core/gan/training.js';
import { FIXTURES } from './paths.js';

export const PHASES: PhaseName[] = ['Gmain', 'Greg', 'Dmain', 'Dreg'];

export interface GradSummary {
  norm: number;
  sum: number;
  entries: [number, number][]; // [index in the reference layout, value]
}

export interface ReferencePhase {
  cutoff: number; // style-mixing cutoff; num_ws where the reference drew "no mixing"
  stats: Record<string, number[]>; // what the reference's loss reported, per sample
  grads: Record<string, GradSummary>; // (not in a run's steps)
  pl_lengths?: number[];
  pl_mean_after?: number;
}

/** A fresh run of a few steps: each step's phases (stats as above, no gradients) and pl_mean after it. */
export interface ReferenceRun {
  config: { steps: number; lr: number; betas: [number, number]; eps: number; ema_kimg: number; ema_rampup: number };
  steps: { phases: Partial<Record<PhaseName, ReferencePhase>>; pl_mean: number }[];
  /** What the run changed in G, D and G_ema (from the weights G started with), buffers too, reference layout. */
  changes: Record<string, GradSummary>;
}

export interface ReferenceFixture {
  config: {
    resolution: number;
    img_channels: number;
    z_dim: number;
    w_dim: number;
    mapping_layers: number;
    channel_base: number;
    channel_max: number;
    mbstd_group_size: number;
    batch: number;
    r1_gamma: number;
    r1_interval: number;
    pl_weight: number;
    pl_interval: number;
    pl_decay: number;
    pl_batch_shrink: number;
    style_mixing_prob: number;
    pl_mean_before: number;
  };
  num_ws: number;
  phases: Record<PhaseName, ReferencePhase>;
  run: ReferenceRun;
}

export const referenceFixture = (): ReferenceFixture =>
  JSON.parse(readFileSync(join(FIXTURES, 'reference-step.json'), 'utf8')) as ReferenceFixture;

export function fnv1a(name: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(name, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}

/** The fixture's value of a named tensor, in the reference layout (step_fixture.py's `draw`). */
export function fixtureValues(name: string, size: number): Float32Array {
  const rs = new RandomState(fnv1a(name));
  const leaf = name.split('.').at(-1)!;
  const out = new Float32Array(size);
  const fill = (f: () => number): Float32Array => (out.forEach((_, i) => (out[i] = f())), out);
  if (name.startsWith('input.reals')) return fill(() => 2 * rs.random() - 1);
  if (name.includes('.mapping.') && leaf === 'weight') return fill(() => rs.gauss() / 0.01);
  if (name.endsWith('affine.bias')) return fill(() => 1 + 0.1 * rs.gauss());
  if (['bias', 'noise_strength', 'w_avg'].includes(leaf)) return fill(() => 0.1 * rs.gauss());
  return fill(() => rs.gauss());
}

/** [N,C,H,W] values → an NHWC tensor. */
function nhwc(data: Float32Array, [n, c, h, w]: number[]): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.tensor4d(data, [n!, c!, h!, w!]), [0, 2, 3, 1]));
}

export function heldConfig(f: ReferenceFixture, overrides: Partial<GanConfig> = {}): GanConfig {
  const c = f.config;
  return presetConfig('tiny', {
    resolution: c.resolution,
    imgChannels: c.img_channels,
    zDim: c.z_dim,
    wDim: c.w_dim,
    mappingLayers: c.mapping_layers,
    channelBase: c.channel_base,
    channelMax: c.channel_max,
    mbstdGroupSize: c.mbstd_group_size,
    batchSize: c.batch,
    r1Gamma: c.r1_gamma,
    r1Interval: c.r1_interval,
    plWeight: c.pl_weight,
    plInterval: c.pl_interval,
    plDecay: c.pl_decay,
    plBatchShrink: c.pl_batch_shrink,
    styleMixingProb: c.style_mixing_prob,
    ada: { target: 0.6, interval: 4, kimg: 500, initialP: 0 },
    ...overrides,
  });
}

/** What one phase draws: its latents' name, its stream's name and the reference's mixing cutoff. */
interface PhaseDraws {
  z: string;
  stream: string;
  cutoff: number;
}

/** GanTrainer with the fixture's draws in place of its RNG's. */
export class HeldTrainer extends GanTrainer {
  readonly fixture: ReferenceFixture;
  /** The draws of the phases still to run that use the mapping, in order (Dreg draws none). */
  pending: PhaseDraws[] = [];
  #stream: RandomState | null = null;

  constructor(fixture: ReferenceFixture, overrides: Partial<GanConfig> = {}) {
    super(heldConfig(fixture, overrides), 0);
    this.fixture = fixture;
  }

  protected override drawMapping(n: number): MappingDraws {
    const c = this.config;
    const draws = this.pending.shift();
    if (!draws) throw new Error('HeldTrainer: a phase drew latents that the test did not plan');
    const z = fixtureValues(draws.z, c.batchSize * c.zDim).slice(0, n * c.zDim); // Greg: the first n
    this.#stream = new RandomState(fnv1a(draws.stream));
    const z2 = this.#stream.randnF32(n * c.zDim);
    return { n, z, cutoff: draws.cutoff, mix: draws.cutoff < numWs(c.resolution), z2 };
  }

  protected override drawNoise(): (idx: Int32Array | null) => SynthesisOptions {
    return () => ({ noiseMode: 'const' });
  }

  protected override drawPlNoise(n: number): tf.Tensor4D {
    const c = this.config;
    const shape = [n, c.imgChannels, c.resolution, c.resolution];
    return nhwc(this.#stream!.randnF32(shape.reduce((a, b) => a * b)), shape);
  }

  /** Loads the fixture's weights into G and D (G_ema plays no part in a step's gradients). */
  loadWeights(): void {
    const filter = resampleFilter2d();
    const lookup = (full: string, spec: ParamSpec): Float32Array =>
      spec.init === 'filter'
        ? filter
        : fixtureValues(
            full,
            spec.refShape.reduce((a, b) => a * b, 1),
          );
    this.G.importRef(lookup);
    this.D.importRef(lookup);
  }

  /** The fixture's real images (`input.reals`, or a run's `input.step<k>.reals`), [N,res,res,C]. */
  reals(name = 'input.reals'): tf.Tensor4D {
    const c = this.config;
    const shape = [c.batchSize, c.imgChannels, c.resolution, c.resolution];
    return nhwc(
      fixtureValues(
        name,
        shape.reduce((a, b) => a * b, 1),
      ),
      shape,
    );
  }
}

export interface HeldPhase {
  /** The phase's summed gradient per parameter (`G.synthesis.b4.const`, …), in the reference layout. */
  grads: Map<string, Float32Array>;
  stats: StepStats;
  plMean: number;
}

/** Runs one phase on the fixture's weights and inputs, and captures what it hands the optimiser. */
export async function heldPhase(trainer: HeldTrainer, phase: PhaseName, reals: tf.Tensor4D): Promise<HeldPhase> {
  trainer.loadWeights();
  trainer.counters = { ...trainer.counters, augmentP: 0, plMean: trainer.fixture.config.pl_mean_before };
  trainer.pending = [{ z: 'input.z', stream: `input.${phase}`, cutoff: trainer.fixture.phases[phase].cutoff }];
  const [net, opt] = phase.startsWith('G') ? [trainer.G, trainer.optG] : [trainer.D, trainer.optD];
  const apply = opt.apply;
  let kept: tf.NamedTensorMap = {};
  opt.apply = (grads) => {
    kept = Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.keep(tf.clone(g))]));
    apply.call(opt, grads);
  };
  try {
    await trainer.trainStep(reals, [phase]);
  } finally {
    opt.apply = apply;
  }
  const grads = await refGrads(net, kept);
  tf.dispose(Object.values(kept));
  const stats = await trainer.takeStats();
  const { plMean } = await trainer.syncCounters();
  return { grads, stats, plMean };
}

async function refGrads(net: ParamSet, grads: tf.NamedTensorMap): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const spec of net.specs) {
    const g = grads[net.variable(spec.name).name];
    if (g) out.set(`${net.prefix}.${spec.name}`, tfjsToRef(spec, (await g.data()) as Float32Array));
  }
  return out;
}

export interface HeldRunStep {
  stats: StepStats;
  plMean: number;
}

/**
 * The fixture's fresh run: its steps through `trainStep` (every phase the step's number calls for),
 * from the fixture's weights, with Adam, w_avg and G_ema as they run in training. ADA stays off.
 */
export async function heldRun(fixture: ReferenceFixture): Promise<{ steps: HeldRunStep[]; trainer: HeldTrainer }> {
  const r = fixture.run.config;
  const trainer = new HeldTrainer(fixture, {
    lr: r.lr,
    betas: r.betas,
    eps: r.eps,
    emaKimg: r.ema_kimg,
    emaRampup: r.ema_rampup,
    ada: { target: 0.6, interval: Number.MAX_SAFE_INTEGER, kimg: 500, initialP: 0 },
  });
  trainer.loadWeights();
  trainer.G_ema.copyFrom(trainer.G);
  const steps: HeldRunStep[] = [];
  for (let k = 0; k < r.steps; k++) {
    const ref = fixture.run.steps[k]!;
    const phases = trainer.phasesAt(k);
    assert.deepEqual(phases, Object.keys(ref.phases), `step ${k} runs the reference's phases`);
    trainer.pending = phases
      .filter((p) => p !== 'Dreg')
      .map((p) => ({ z: `input.step${k}.z.${p}`, stream: `input.step${k}.${p}`, cutoff: ref.phases[p]!.cutoff }));
    const reals = trainer.reals(`input.step${k}.reals`);
    try {
      await trainer.trainStep(reals);
    } finally {
      reals.dispose();
    }
    steps.push({ stats: await trainer.takeStats(), plMean: (await trainer.syncCounters()).plMean });
  }
  return { steps, trainer };
}
