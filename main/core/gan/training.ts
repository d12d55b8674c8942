/**
 * One StyleGAN2-ADA training iteration, as the reference's training loop runs it:
 *   Gmain every step, Greg (path length) every plInterval steps, Dmain every step,
 *   Dreg (R1) every r1Interval steps; then the G_ema update and, every ada.interval steps,
 *   the ADA p adjustment. The caller supplies real images; where they come from is not our affair.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Adam, lazyRegularised } from './adam.js';
import { applyAugment, planAugment, type AugmentPlan } from './augment.js';
import { numWs, type GanConfig } from './config.js';
import { discriminate, discriminatorSpecs, frozenDParams } from './discriminator.js';
import { discriminatorLoss, generatorLoss, pathLengths, r1Penalty } from './losses.js';
import { broadcastWs, generatorSpecs, mapping, synthesis, type SynthesisOptions } from './generator.js';
import {
  RoundSums,
  hostRows,
  largestDivisor,
  planRows,
  roundIndices,
  rows,
  scaled,
  wholeBatch,
  type RoundPlanner,
  type Rounds,
} from './rounds.js';
import { resampleFilter2d } from './ops.js';
import { ParamSet, initialValues } from './params.js';
import { fusedHere } from '../kernels/fused.js';
import { LERP_KERNEL, lerpAll } from '../kernels/optimiser.js';
import { RandomState } from './rng.js';

export type PhaseName = 'Gmain' | 'Greg' | 'Dmain' | 'Dreg';

/** What the mapping draws for one batch: latents, and the style-mixing cutoff and partner latents. */
export interface MappingDraws {
  n: number;
  z: Float32Array;
  cutoff: number;
  mix: boolean;
  z2: Float32Array | null;
}

/**
 * What a step says at once. The losses are not in it: they stay on the device (a GPU backend
 * would otherwise stall its queue to read them every phase) and `takeStats()` reads their means
 * over many steps in one asynchronous read.
 */
export interface StepReport {
  step: number; // iterations finished
  imagesSeen: number; // real images shown to D so far
  kimg: number;
  phases: PhaseName[];
  augmentP: number; // ADA probability after this step
  ms: Partial<Record<PhaseName, number>>; // wall time per phase (on a GPU: the time to queue it)
}

export const STAT_NAMES = ['lossG', 'lossD', 'r1Penalty', 'plPenalty', 'scoreReal', 'scoreFake'] as const;
export type StatName = (typeof STAT_NAMES)[number];

/**
 * Means over the steps since the last `takeStats()`; null for a term that did not run.
 * lossG: non-saturating G loss; lossD: D loss on fakes + reals; r1Penalty: ‖∇D(real)‖²;
 * plPenalty: path-length penalty; scoreReal / scoreFake: mean D logits.
 */
export type StepStats = { steps: number } & Record<StatName, number | null>;

/** Everything a checkpoint must hold besides the three networks and the Adam moments. */
export interface TrainerCounters {
  step: number;
  imagesSeen: number;
  augmentP: number;
  adaSignSum: number; // Σ sign(D(real)) since the last p adjustment
  adaSignCount: number;
  plMean: number; // running mean path length
  adamStepG: number;
  adamStepD: number;
}

/**
 * Data parallelism: `count` replicas (worker threads) each run the step on batch/count images,
 * then average their gradients (and the few statistics the step keeps) with `allReduce`, which
 * returns the mean of every replica's payload, identical in each. Identical updates keep the
 * replicas bit-identical.
 */
export interface ReplicaOptions {
  index: number;
  count: number;
  allReduce: (payload: Float32Array) => Float32Array;
}

/** [Σ sign(logit), mean logit] of one batch of real logits, on the device. */
const signStats = (realLogits: tf.Tensor): [tf.Scalar, tf.Scalar] =>
  tf.tidy(() => [tf.sum(tf.sign(realLogits)), tf.mean(realLogits)]);

export class GanTrainer {
  readonly config: GanConfig;
  readonly replica: ReplicaOptions | null;
  /** Images this trainer processes per step (the batch, or its share of it). */
  readonly localBatch: number;
  /**
   * Images per round of gradient accumulation: the config's batchGpu, else what the caller's
   * `rounds` planner gives (the whole local batch unless it says otherwise).
   */
  readonly perRound: number;
  /** The same for path length, whose rounds need more memory per image (on wasm). */
  readonly plPerRound: number;
  readonly G: ParamSet;
  readonly G_ema: ParamSet;
  readonly D: ParamSet;
  readonly optG: Adam;
  readonly optD: Adam;
  rng: RandomState;
  #counters!: TrainerCounters;
  #wMean: tf.Tensor1D | null = null;
  /** The counters that change inside a step live on the device; `syncCounters()` copies them out. */
  #plMean: tf.Scalar | null = null;
  #adaSignSum: tf.Scalar | null = null;
  /** Running sums of each statistic since the last takeStats(), and how many steps added to each. */
  #sums = new Map<StatName, { sum: tf.Scalar; count: number }>();
  #stepsSinceStats = 0;

  /**
   * A freshly initialised trainer: weights drawn as the reference draws them, from a seeded RNG.
   * `rounds` sizes its gradient accumulation: the caller knows the memory it runs in.
   */
  constructor(
    config: GanConfig,
    seed: number,
    replica: ReplicaOptions | null = null,
    rounds: RoundPlanner = wholeBatch,
  ) {
    this.config = config;
    this.replica = replica;
    const count = replica?.count ?? 1;
    if (config.batchSize % count !== 0)
      throw new RangeError(`batch ${config.batchSize} does not split over ${count} replicas`);
    this.localBatch = config.batchSize / count;
    const sizes = rounds(config, this.localBatch);
    this.perRound = config.batchGpu ?? sizes.perRound;
    this.plPerRound = config.batchGpu ?? sizes.plPerRound;
    const init = new RandomState(seed);
    const filter = resampleFilter2d();
    this.G = new ParamSet('G', generatorSpecs(config), (s) => initialValues(s, init, filter));
    this.D = new ParamSet('D', discriminatorSpecs(config), (s) => initialValues(s, init, filter));
    this.G_ema = new ParamSet('G_ema', generatorSpecs(config), (s) => initialValues(s, new RandomState(0), filter));
    this.G_ema.copyFrom(this.G);
    const base = { lr: config.lr, betas: config.betas, eps: config.eps };
    this.optG = new Adam(this.G.trainable(), lazyRegularised(base, config.plInterval), 'G');
    this.optD = new Adam(this.D.trainable(), lazyRegularised(base, config.r1Interval), 'D');
    this.optD.frozen = new Set(frozenDParams(config, config.freezeD ?? 0).map((n) => this.D.variable(n).name));
    // Replica 0 draws what a single process would; the others draw their own latents, noise and augmentations.
    this.rng = new RandomState((seed + 1 + (replica?.index ?? 0) * 0x9e3779b9) >>> 0);
    this.counters = {
      step: 0,
      imagesSeen: 0,
      augmentP: config.ada.initialP,
      adaSignSum: 0,
      adaSignCount: 0,
      plMean: 0,
      adamStepG: 0,
      adamStepD: 0,
    };
  }

  /**
   * Steps, images, ADA p and its accumulators, the path-length mean, Adam steps. plMean and
   * adaSignSum are as of the last `syncCounters()` (they change on the device); setting the
   * counters (a resumed checkpoint) sets the device copies too.
   */
  get counters(): TrainerCounters {
    return this.#counters;
  }

  set counters(value: TrainerCounters) {
    this.#counters = value;
    this.#plMean?.dispose();
    this.#adaSignSum?.dispose();
    this.#plMean = tf.keep(tf.scalar(value.plMean));
    this.#adaSignSum = tf.keep(tf.scalar(value.adaSignSum));
  }

  /** Copies the device-side counters into `counters` (before a checkpoint is written). */
  async syncCounters(): Promise<TrainerCounters> {
    const [pl, signs] = await Promise.all([this.#plMean!.data(), this.#adaSignSum!.data()]);
    this.#counters.plMean = pl[0]!;
    this.#counters.adaSignSum = signs[0]!;
    return this.#counters;
  }

  /** Adds one step's value of a statistic (a scalar, disposed by the caller) to its running sum. */
  #addStat(name: StatName, value: tf.Tensor): void {
    const entry = this.#sums.get(name);
    if (!entry) {
      this.#sums.set(name, { sum: tf.keep(tf.clone(value) as tf.Scalar), count: 1 });
      return;
    }
    const next = tf.keep(tf.add(entry.sum, value) as tf.Scalar);
    entry.sum.dispose();
    entry.sum = next;
    entry.count += 1;
  }

  /**
   * Means of every statistic over the steps since the last call, read from the device in one
   * asynchronous read (once per tick, not once per phase).
   */
  async takeStats(): Promise<StepStats> {
    const entries = [...this.#sums.entries()];
    this.#sums = new Map();
    const stats = { steps: this.#stepsSinceStats } as StepStats;
    this.#stepsSinceStats = 0;
    for (const name of STAT_NAMES) stats[name] = null;
    if (entries.length === 0) return stats;
    const packed = tf.stack(entries.map(([, e]) => e.sum));
    try {
      const values = await packed.data();
      entries.forEach(([name, e], i) => (stats[name] = values[i]! / e.count));
    } finally {
      packed.dispose();
      for (const [, e] of entries) e.sum.dispose();
    }
    return stats;
  }

  /** The phases step `step` runs. */
  phasesAt(step: number): PhaseName[] {
    const out: PhaseName[] = ['Gmain'];
    if (this.config.plWeight > 0 && step % this.config.plInterval === 0) out.push('Greg');
    out.push('Dmain');
    if (this.config.r1Gamma > 0 && step % this.config.r1Interval === 0) out.push('Dreg');
    return out;
  }

  /**
   * One iteration on a batch of real images [B,res,res,3] in [-1, 1] (not disposed). Returns as
   * soon as the work is queued, except every ada.interval steps, where ADA's p is adjusted from
   * the signs of D(real) and so waits for them (one read of one number, as the reference does).
   */
  async trainStep(reals: tf.Tensor4D, only?: PhaseName[]): Promise<StepReport> {
    const c = this.config;
    if (reals.shape[0] !== this.localBatch)
      throw new RangeError(`expected ${this.localBatch} real images, got ${reals.shape[0]}`);
    const phases = (only ?? this.phasesAt(this.counters.step)).filter(
      (p) => only || this.phasesAt(this.counters.step).includes(p),
    );
    const report: StepReport = { step: 0, imagesSeen: 0, kimg: 0, phases, augmentP: 0, ms: {} };
    const timed = (name: PhaseName, fn: () => void): void => {
      const t0 = performance.now();
      fn();
      report.ms[name] = performance.now() - t0;
    };
    // D's scores are reported from the first phase that computes them this step.
    const fakeFromG = phases.includes('Gmain');
    const realFromDmain = phases.includes('Dmain');
    for (const phase of phases) {
      if (phase === 'Gmain') timed(phase, () => this.#gMain());
      if (phase === 'Greg') timed(phase, () => this.#gReg());
      if (phase === 'Dmain') timed(phase, () => this.#dMain(reals, !fakeFromG));
      if (phase === 'Dreg') timed(phase, () => this.#dReg(reals, !realFromDmain));
    }
    this.#updateEma();
    this.counters.imagesSeen += c.batchSize;
    this.counters.step += 1;
    this.#stepsSinceStats += 1;
    await this.#adjustAugment();
    this.counters.adamStepG = this.optG.step;
    this.counters.adamStepD = this.optD.step;
    report.step = this.counters.step;
    report.imagesSeen = this.counters.imagesSeen;
    report.kimg = this.counters.imagesSeen / 1000;
    report.augmentP = this.counters.augmentP;
    return report;
  }

  // ── what the phases draw at random (a subclass may fix it: the test that holds a step to the reference) ──

  /** Everything the mapping draws for a batch of n, in the order a single round draws it. */
  protected drawMapping(n: number): MappingDraws {
    const c = this.config;
    const z = this.rng.randnF32(n * c.zDim);
    if (c.styleMixingProb <= 0) return { n, z, cutoff: 0, mix: false, z2: null };
    const cutoff = this.rng.integer(1, numWs(c.resolution));
    const mix = this.rng.random() < c.styleMixingProb;
    return { n, z, cutoff, mix, z2: this.rng.randnF32(n * c.zDim) };
  }

  /**
   * Mapping with style mixing (one cutoff for the batch, as the reference) for rows `idx` of the
   * drawn batch. Adds this round's share of mean(w) to the running mean for w_avg.
   */
  #mapRound(d: MappingDraws, idx: Int32Array | null, trackMean = true): tf.Tensor3D {
    const c = this.config;
    const m = idx?.length ?? d.n;
    const latents = (z: Float32Array): tf.Tensor2D => tf.tensor2d(hostRows(z, c.zDim, idx), [m, c.zDim]);
    const w = mapping(this.G, c, latents(d.z));
    if (trackMean) {
      const share = scaled(tf.mean(w, 0) as tf.Tensor1D, m / d.n);
      const old = this.#wMean;
      this.#wMean = tf.keep(old ? (tf.add(old, share) as tf.Tensor1D) : share);
      old?.dispose();
    }
    let ws = broadcastWs(c, w);
    if (d.z2) {
      const layers = numWs(c.resolution);
      const other = broadcastWs(c, mapping(this.G, c, latents(d.z2))); // no w_avg update for this one
      if (d.mix) {
        ws = tf.concat(
          [
            tf.slice(ws, [0, 0, 0], [m, d.cutoff, c.wDim]),
            tf.slice(other, [0, d.cutoff, 0], [m, layers - d.cutoff, c.wDim]),
          ],
          1,
        );
      }
    }
    return ws;
  }

  /**
   * Synthesis options for rows `idx` of a batch of n: each noisy layer's seed is drawn once (in
   * the first round, where a single round draws it) and its noise made for the whole batch.
   */
  protected drawNoise(n: number): (idx: Int32Array | null) => SynthesisOptions {
    const seeds: number[] = [];
    return (idx) => {
      let layer = 0;
      return {
        noiseMode: 'random',
        noise: (res) => {
          const seed = (seeds[layer] ??= this.rng.uint32());
          layer += 1;
          return rows(tf.randomNormal([n, res, res, 1], 0, 1, 'float32', seed) as tf.Tensor4D, idx);
        },
      };
    };
  }

  /** Path length's pl_noise before its scaling: N(0, 1) in the images' shape, [n,res,res,C]. */
  protected drawPlNoise(n: number): tf.Tensor4D {
    const c = this.config;
    const seed = this.rng.uint32();
    return tf.randomNormal([n, c.resolution, c.resolution, c.imgChannels], 0, 1, 'float32', seed);
  }

  // ── phases ──

  /** The augmentation of rows `idx`, from a plan drawn for the whole batch of n on first use. */
  #augment(n: number): (img: tf.Tensor4D, idx: Int32Array | null) => tf.Tensor4D {
    let plan: AugmentPlan | null = null;
    return (img, idx) => {
      const p = this.counters.augmentP;
      if (p <= 0) return img;
      plan ??= planAugment(this.rng, n, this.config.resolution, p);
      return applyAugment(img, planRows(plan, this.config.resolution, idx));
    };
  }

  /** Rounds for a batch of n that D sees (whole minibatch-stddev groups each). */
  #dRounds(n: number): Rounds {
    return roundIndices(n, Math.min(n, this.perRound), this.config.mbstdGroupSize);
  }

  /** w_avg ← lerp(mean w of the batch, w_avg, β), after every phase that ran the mapping for training. */
  #updateWAvg(): void {
    if (!this.#wMean) return;
    const avg = this.G.variable('mapping.w_avg');
    const mean = this.#wMean;
    tf.tidy(() => avg.assign(tf.add(mean, tf.mul(tf.sub(avg, mean), this.config.wAvgBeta))));
    mean.dispose();
    this.#wMean = null;
  }

  /**
   * Averages gradients (and scalar statistics) over the replicas; a no-op in a single process.
   * Missing gradients count as zero, as in Adam.apply. Returns the averaged grads and scalars.
   */
  #reduce(
    vars: tf.Variable[],
    grads: tf.NamedTensorMap,
    scalarTensors: tf.Tensor[],
  ): { grads: tf.NamedTensorMap; scalars: tf.Scalar[] } {
    if (!this.replica) return { grads, scalars: scalarTensors.map((t) => tf.clone(t) as tf.Scalar) };
    // Synchronous reads are safe here: replicas run only on the single-threaded CPU backends
    // (REPLICA_BACKENDS, wasm and cpu: effectiveReplicas gives every other backend one process),
    // where a synchronous read costs nothing, and allReduce is synchronous (Atomics.wait).
    // eslint-disable-next-line no-restricted-properties -- replicas run on wasm/cpu only (replicas.ts)
    const scalars = scalarTensors.map((t) => t.dataSync()[0]!);
    const wMeanSize = this.#wMean?.size ?? 0;
    const total = vars.reduce((a, v) => a + v.size, 0) + wMeanSize + scalars.length;
    const payload = new Float32Array(total);
    let at = 0;
    for (const v of vars) {
      const g = grads[v.name];
      // eslint-disable-next-line no-restricted-properties -- replicas run on wasm/cpu only (see above)
      if (g) payload.set(g.dataSync() as Float32Array, at);
      at += v.size;
    }
    // eslint-disable-next-line no-restricted-properties -- replicas run on wasm/cpu only (see above)
    if (this.#wMean) payload.set(this.#wMean.dataSync() as Float32Array, at);
    at += wMeanSize;
    payload.set(scalars, at);
    const mean = this.replica.allReduce(payload);
    tf.dispose(Object.values(grads));
    const out: tf.NamedTensorMap = {};
    at = 0;
    for (const v of vars) {
      out[v.name] = tf.tensor(mean.subarray(at, at + v.size), v.shape);
      at += v.size;
    }
    if (this.#wMean) {
      this.#wMean.dispose();
      this.#wMean = tf.keep(tf.tensor1d(mean.slice(at, at + wMeanSize)));
    }
    at += wMeanSize;
    return { grads: out, scalars: Array.from(mean.subarray(at, at + scalars.length), (v) => tf.scalar(v)) };
  }

  #gMain(): void {
    const n = this.localBatch;
    const draws = this.drawMapping(n);
    const noise = this.drawNoise(n);
    const augment = this.#augment(n);
    const sums = new RoundSums();
    for (const idx of this.#dRounds(n) ?? [null]) {
      const share = (idx?.length ?? n) / n;
      let fake: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const img = synthesis(this.G, this.config, this.#mapRound(draws, idx), noise(idx));
        const logits = discriminate(this.D, this.config, augment(img, idx)); // [m,1]
        fake = tf.keep(scaled(tf.mean(logits), share));
        return scaled(generatorLoss(logits), share);
      }, this.G.trainable());
      sums.add(grads, [value, fake!]);
    }
    const reduced = this.#reduce(this.G.trainable(), sums.grads, sums.scalars);
    this.optG.apply(reduced.grads);
    this.#updateWAvg();
    const [lossG, scoreFake] = reduced.scalars as [tf.Scalar, tf.Scalar];
    this.#addStat('lossG', lossG);
    this.#addStat('scoreFake', scoreFake);
    tf.dispose([...sums.scalars, ...reduced.scalars, ...Object.values(reduced.grads)]);
  }

  /**
   * Path-length regularisation. In rounds, the penalty's batch mean (the lerped pl_mean, not
   * detached) couples every sample, so a first pass measures every path length and the second
   * differentiates Σ wⱼ·lⱼ with each sample's exact weight in the batch's gradient:
   * wⱼ = K/n·(2(lⱼ − m) − 2d·mean(l − m)), m = pl_mean after the lerp, K = weight·interval.
   */
  #gReg(): void {
    const c = this.config;
    const n = Math.max(1, Math.floor(this.localBatch / c.plBatchShrink));
    const draws = this.drawMapping(n);
    const plDraw = this.drawPlNoise(n);
    const noise = this.drawNoise(n);
    // pl_noise has the image's shape; scaled by 1/√(H·W) so the penalty does not depend on resolution.
    const plNoise = (idx: Int32Array | null): tf.Tensor4D => rows(tf.div(plDraw, c.resolution), idx);
    const lengthsOf = (idx: Int32Array | null, trackMean: boolean): tf.Tensor1D =>
      pathLengths((w) => synthesis(this.G, c, w, noise(idx)), this.#mapRound(draws, idx, trackMean), plNoise(idx));
    const gain = c.plWeight * c.plInterval; // gain = interval (lazy regularisation)
    const rounds = roundIndices(n, largestDivisor(n, this.plPerRound), 0);
    let lengthMean: tf.Scalar;
    let penaltyMean: tf.Scalar;
    const sums = new RoundSums();
    if (!rounds) {
      let lm: tf.Scalar | null = null;
      let pm: tf.Scalar | null = null;
      const { grads, value } = tf.variableGrads(() => {
        const lengths = lengthsOf(null, true); // [n]
        const batchMean = tf.mean(lengths);
        // lerp, not detached
        const plMean = tf.add(this.#plMean!, tf.mul(tf.sub(batchMean, this.#plMean!), c.plDecay));
        lm = tf.keep(batchMean) as tf.Scalar;
        const penalty = tf.square(tf.sub(lengths, plMean)); // [n]
        pm = tf.keep(tf.mean(penalty)) as tf.Scalar;
        return tf.mul(tf.mean(tf.mul(penalty, c.plWeight)), c.plInterval);
      }, this.G.trainable());
      value.dispose();
      sums.add(grads, []);
      [lengthMean, penaltyMean] = [lm!, pm!];
    } else {
      const lengths = tf.tidy(() => tf.concat(rounds.map((idx) => lengthsOf(idx, false)))); // pass 1, round order
      const m = tf.tidy(() => tf.add(this.#plMean!, tf.mul(tf.sub(tf.mean(lengths), this.#plMean!), c.plDecay)));
      const weights = tf.tidy(() => {
        const dev = tf.sub(lengths, m);
        return tf.mul(tf.sub(tf.mul(dev, 2), tf.mul(tf.mean(dev), 2 * c.plDecay)), gain / n);
      });
      rounds.forEach((idx, r) => {
        const { grads, value } = tf.variableGrads(() => {
          const w = tf.slice(weights, [r * idx.length], [idx.length]);
          return tf.sum(tf.mul(w, lengthsOf(idx, true)));
        }, this.G.trainable());
        value.dispose();
        sums.add(grads, []);
      });
      lengthMean = tf.mean(lengths);
      penaltyMean = tf.tidy(() => tf.mean(tf.square(tf.sub(lengths, m))));
      tf.dispose([lengths, m, weights]);
    }
    const reduced = this.#reduce(this.G.trainable(), sums.grads, [lengthMean, penaltyMean]);
    this.optG.apply(reduced.grads);
    this.#updateWAvg();
    const [batchLength, penalty] = reduced.scalars as [tf.Scalar, tf.Scalar];
    const old = this.#plMean!;
    this.#plMean = tf.keep(tf.tidy(() => tf.add(old, tf.mul(tf.sub(batchLength, old), c.plDecay)) as tf.Scalar));
    old.dispose();
    this.#addStat('plPenalty', penalty);
    tf.dispose([plDraw, lengthMean, penaltyMean, ...reduced.scalars, ...Object.values(reduced.grads)]);
  }

  #dMain(reals: tf.Tensor4D, reportFake: boolean): void {
    const n = this.localBatch;
    const draws = this.drawMapping(n);
    const noise = this.drawNoise(n);
    const augmentFakes = this.#augment(n);
    const augmentReals = this.#augment(n);
    const sums = new RoundSums();
    for (const idx of this.#dRounds(n) ?? [null]) {
      const share = (idx?.length ?? n) / n;
      // No gradient to G: the fakes are made outside D's tape.
      const fakes = tf.tidy(() => synthesis(this.G, this.config, this.#mapRound(draws, idx), noise(idx)));
      const realRows = tf.tidy(() => rows(reals, idx));
      let fakeMean: tf.Tensor | null = null;
      let realLogits: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const fakeLogits = discriminate(this.D, this.config, augmentFakes(fakes, idx));
        const real = discriminate(this.D, this.config, augmentReals(realRows, idx));
        fakeMean = tf.keep(scaled(tf.mean(fakeLogits), share));
        realLogits = tf.keep(real);
        // The reference accumulates both halves, then steps once.
        return scaled(discriminatorLoss(fakeLogits, real), share);
      }, this.D.trainable());
      const [signSum, realMean] = signStats(realLogits!);
      sums.add(grads, [value, fakeMean!, signSum, scaled(realMean, share)]);
      if (share !== 1) realMean.dispose();
      tf.dispose(realRows === reals ? [fakes, realLogits!] : [fakes, realRows, realLogits!]);
    }
    const reduced = this.#reduce(this.D.trainable(), sums.grads, sums.scalars);
    this.optD.apply(reduced.grads);
    this.#updateWAvg(); // after the reduce: every replica moves w_avg by the whole batch's mean w
    const [lossD, fakeScore, signSum, realScore] = reduced.scalars as [tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar];
    this.#addStat('lossD', lossD);
    if (reportFake) this.#addStat('scoreFake', fakeScore);
    this.#collectSigns(signSum, n, realScore, true);
    tf.dispose([...sums.scalars, ...reduced.scalars, ...Object.values(reduced.grads)]);
  }

  #dReg(reals: tf.Tensor4D, reportReal: boolean): void {
    const c = this.config;
    const n = this.localBatch;
    const augment = this.#augment(n);
    const sums = new RoundSums();
    for (const idx of this.#dRounds(n) ?? [null]) {
      const share = (idx?.length ?? n) / n;
      const realRows = tf.tidy(() => rows(reals, idx));
      let realLogits: tf.Tensor | null = null;
      let penaltyMean: tf.Tensor | null = null;
      const { value, grads } = tf.variableGrads(() => {
        const penalty = r1Penalty(
          (x) => discriminate(this.D, c, augment(x, idx)),
          realRows,
          (logits) => (realLogits = tf.keep(logits)),
        ); // [m]
        penaltyMean = tf.keep(scaled(tf.mean(penalty), share));
        return scaled(tf.mul(tf.mean(tf.mul(penalty, c.r1Gamma / 2)), c.r1Interval), share); // gain = interval
      }, this.D.trainable());
      value.dispose();
      const [signSum, realMean] = signStats(realLogits!);
      sums.add(grads, [penaltyMean!, signSum, scaled(realMean, share)]);
      if (share !== 1) realMean.dispose();
      tf.dispose(realRows === reals ? [realLogits!] : [realRows, realLogits!]);
    }
    const reduced = this.#reduce(this.D.trainable(), sums.grads, sums.scalars);
    this.optD.apply(reduced.grads);
    const [r1, signSum, realScore] = reduced.scalars as [tf.Scalar, tf.Scalar, tf.Scalar];
    this.#addStat('r1Penalty', r1);
    this.#collectSigns(signSum, n, realScore, reportReal);
    tf.dispose([...sums.scalars, ...reduced.scalars, ...Object.values(reduced.grads)]);
  }

  /**
   * Adds (replica-averaged) sign statistics of D(real) to the ADA accumulators: the sum stays on
   * the device; the count (local logits × replicas) is known here.
   */
  #collectSigns(signSum: tf.Scalar, localCount: number, realScore: tf.Scalar, reportReal: boolean): void {
    const count = this.replica?.count ?? 1;
    const old = this.#adaSignSum!;
    this.#adaSignSum = tf.keep(tf.tidy(() => tf.add(old, tf.mul(signSum, count)) as tf.Scalar));
    old.dispose();
    this.counters.adaSignCount += localCount * count;
    if (reportReal) this.#addStat('scoreReal', realScore);
  }

  /** G_ema ← lerp(G, G_ema, β), β = 0.5^(batch / half-life), half-life ramped up early on. */
  #updateEma(): void {
    const c = this.config;
    const halfLife = Math.min(c.emaKimg * 1000, this.counters.imagesSeen * c.emaRampup);
    const beta = 0.5 ** (c.batchSize / Math.max(halfLife, 1e-8));
    if (fusedHere(LERP_KERNEL)) {
      const trainable = this.G.specs.filter((s) => s.trainable).map((s) => s.name);
      const dst = trainable.map((n) => this.G_ema.variable(n));
      tf.tidy(() =>
        lerpAll(
          trainable.map((n) => this.G.variable(n)),
          dst,
          beta,
        ).forEach((t, i) => dst[i]!.assign(t)),
      );
      for (const spec of this.G.specs)
        if (!spec.trainable) this.G_ema.variable(spec.name).assign(this.G.variable(spec.name));
      return;
    }
    for (const spec of this.G.specs) {
      const src = this.G.variable(spec.name);
      const dst = this.G_ema.variable(spec.name);
      if (!spec.trainable) {
        dst.assign(src);
        continue;
      }
      tf.tidy(() => dst.assign(tf.add(src, tf.mul(tf.sub(dst, src), beta))));
    }
  }

  /**
   * Every ada.interval steps: p += sign(E[sign D(real)] − target) · batch·interval / (kimg·1000).
   * p must be known here: the next step's augmentations are drawn on the CPU with it.
   */
  async #adjustAugment(): Promise<void> {
    const a = this.config.ada;
    if (this.counters.step % a.interval !== 0 || this.counters.adaSignCount === 0) return;
    const signSum = (await this.#adaSignSum!.data())[0]!;
    this.#adaSignSum!.dispose();
    this.#adaSignSum = tf.keep(tf.scalar(0));
    const rt = signSum / this.counters.adaSignCount;
    const adjust = (Math.sign(rt - a.target) * (this.config.batchSize * a.interval)) / (a.kimg * 1000);
    this.counters.augmentP = Math.min(1, Math.max(0, this.counters.augmentP + adjust));
    this.counters.adaSignSum = 0;
    this.counters.adaSignCount = 0;
  }

  dispose(): void {
    this.#wMean?.dispose();
    this.#plMean?.dispose();
    this.#adaSignSum?.dispose();
    for (const { sum } of this.#sums.values()) sum.dispose();
    this.#sums.clear();
    this.G.dispose();
    this.G_ema.dispose();
    this.D.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
