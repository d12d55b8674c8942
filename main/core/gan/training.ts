/**
 * One StyleGAN2-ADA training iteration, as the reference's training loop runs it:
 *   Gmain every step, Greg (path length) every plInterval steps, Dmain every step,
 *   Dreg (R1) every r1Interval steps; then the G_ema update and, every ada.interval steps,
 *   the ADA p adjustment. The caller supplies real images; where they come from is not our affair.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Adam, lazyRegularised } from './adam.js';
import { applyAugment, planAugment } from './augment.js';
import { numWs, type GanConfig } from './config.js';
import { discriminate, discriminatorSpecs } from './discriminator.js';
import { discriminatorLoss, generatorLoss, pathLengths, r1Penalty } from './losses.js';
import { broadcastWs, generatorSpecs, mapping, synthesis } from './generator.js';
import { resampleFilter2d } from './ops.js';
import { ParamSet, initialValues } from './params.js';
import { RandomState } from './rng.js';

export type PhaseName = 'Gmain' | 'Greg' | 'Dmain' | 'Dreg';

export interface StepReport {
  step: number; // iterations finished
  imagesSeen: number; // real images shown to D so far
  kimg: number;
  phases: PhaseName[];
  lossG: number; // non-saturating G loss, mean
  lossD: number; // D loss on fakes + reals, mean
  r1Penalty: number | null; // mean ‖∇D(real)‖² when R1 ran
  plPenalty: number | null; // mean path-length penalty when it ran
  scoreReal: number; // mean D logit on reals
  scoreFake: number; // mean D logit on fakes
  augmentP: number; // ADA probability after this step
  ms: Partial<Record<PhaseName, number>>; // wall time per phase
}

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

/** [Σ sign(logit), count, mean logit] of one batch of real logits. */
function signStats(realLogits: tf.Tensor): [number, number, number] {
  const values = realLogits.dataSync() as Float32Array;
  let signs = 0;
  let sum = 0;
  for (const v of values) {
    signs += Math.sign(v);
    sum += v;
  }
  return [signs, values.length, sum / values.length];
}

export class GanTrainer {
  readonly config: GanConfig;
  readonly replica: ReplicaOptions | null;
  /** Images this trainer processes per step (the batch, or its share of it). */
  readonly localBatch: number;
  readonly G: ParamSet;
  readonly G_ema: ParamSet;
  readonly D: ParamSet;
  readonly optG: Adam;
  readonly optD: Adam;
  rng: RandomState;
  counters: TrainerCounters;
  #wMean: tf.Tensor1D | null = null;

  /** A freshly initialised trainer: weights drawn as the reference draws them, from a seeded RNG. */
  constructor(config: GanConfig, seed: number, replica: ReplicaOptions | null = null) {
    this.config = config;
    this.replica = replica;
    const count = replica?.count ?? 1;
    if (config.batchSize % count !== 0)
      throw new RangeError(`batch ${config.batchSize} does not split over ${count} replicas`);
    this.localBatch = config.batchSize / count;
    const init = new RandomState(seed);
    const filter = resampleFilter2d();
    this.G = new ParamSet('G', generatorSpecs(config), (s) => initialValues(s, init, filter));
    this.D = new ParamSet('D', discriminatorSpecs(config), (s) => initialValues(s, init, filter));
    this.G_ema = new ParamSet('G_ema', generatorSpecs(config), (s) => initialValues(s, new RandomState(0), filter));
    this.G_ema.copyFrom(this.G);
    const base = { lr: config.lr, betas: config.betas, eps: config.eps };
    this.optG = new Adam(this.G.trainable(), lazyRegularised(base, config.plInterval), 'G');
    this.optD = new Adam(this.D.trainable(), lazyRegularised(base, config.r1Interval), 'D');
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

  /** The phases step `step` runs. */
  phasesAt(step: number): PhaseName[] {
    const out: PhaseName[] = ['Gmain'];
    if (this.config.plWeight > 0 && step % this.config.plInterval === 0) out.push('Greg');
    out.push('Dmain');
    if (this.config.r1Gamma > 0 && step % this.config.r1Interval === 0) out.push('Dreg');
    return out;
  }

  /** One iteration on a batch of real images [B,res,res,3] in [-1, 1] (not disposed). */
  trainStep(reals: tf.Tensor4D, only?: PhaseName[]): StepReport {
    const c = this.config;
    if (reals.shape[0] !== this.localBatch)
      throw new RangeError(`expected ${this.localBatch} real images, got ${reals.shape[0]}`);
    const phases = (only ?? this.phasesAt(this.counters.step)).filter(
      (p) => only || this.phasesAt(this.counters.step).includes(p),
    );
    const report: StepReport = {
      step: 0,
      imagesSeen: 0,
      kimg: 0,
      phases,
      lossG: NaN,
      lossD: NaN,
      r1Penalty: null,
      plPenalty: null,
      scoreReal: NaN,
      scoreFake: NaN,
      augmentP: 0,
      ms: {},
    };
    const timed = (name: PhaseName, fn: () => void): void => {
      const t0 = performance.now();
      fn();
      report.ms[name] = performance.now() - t0;
    };
    for (const phase of phases) {
      if (phase === 'Gmain') timed(phase, () => this.#gMain(report));
      if (phase === 'Greg') timed(phase, () => this.#gReg(report));
      if (phase === 'Dmain') timed(phase, () => this.#dMain(reals, report));
      if (phase === 'Dreg') timed(phase, () => this.#dReg(reals, report));
    }
    this.#updateEma();
    this.counters.imagesSeen += c.batchSize;
    this.counters.step += 1;
    this.#adjustAugment();
    this.counters.adamStepG = this.optG.step;
    this.counters.adamStepD = this.optD.step;
    report.step = this.counters.step;
    report.imagesSeen = this.counters.imagesSeen;
    report.kimg = this.counters.imagesSeen / 1000;
    report.augmentP = this.counters.augmentP;
    return report;
  }

  // ── phases ──

  #latents(n: number): tf.Tensor2D {
    return tf.tensor2d(this.rng.randnF32(n * this.config.zDim), [n, this.config.zDim]);
  }

  /** Mapping with style mixing (one cutoff for the batch, as the reference). Stashes mean(w) for w_avg. */
  #runMapping(n: number): tf.Tensor3D {
    const c = this.config;
    const w = mapping(this.G, c, this.#latents(n));
    this.#wMean?.dispose();
    this.#wMean = tf.keep(tf.mean(w, 0) as tf.Tensor1D);
    let ws = broadcastWs(c, w);
    const layers = numWs(c.resolution);
    if (c.styleMixingProb > 0) {
      const cutoff = this.rng.integer(1, layers);
      const mix = this.rng.random() < c.styleMixingProb;
      const other = broadcastWs(c, mapping(this.G, c, this.#latents(n))); // no w_avg update for this one
      if (mix) {
        ws = tf.concat(
          [tf.slice(ws, [0, 0, 0], [n, cutoff, c.wDim]), tf.slice(other, [0, cutoff, 0], [n, layers - cutoff, c.wDim])],
          1,
        );
      }
    }
    return ws;
  }

  #synthesis(ws: tf.Tensor3D): tf.Tensor4D {
    return synthesis(this.G, this.config, ws, { noiseMode: 'random', noiseSeed: () => this.rng.uint32() });
  }

  #augmented(img: tf.Tensor4D): tf.Tensor4D {
    const p = this.counters.augmentP;
    if (p <= 0) return img;
    return applyAugment(img, planAugment(this.rng, img.shape[0], this.config.resolution, p));
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
    scalars: number[],
  ): { grads: tf.NamedTensorMap; scalars: number[] } {
    if (!this.replica) return { grads, scalars };
    const wMeanSize = this.#wMean?.size ?? 0;
    const total = vars.reduce((a, v) => a + v.size, 0) + wMeanSize + scalars.length;
    const payload = new Float32Array(total);
    let at = 0;
    for (const v of vars) {
      const g = grads[v.name];
      if (g) payload.set(g.dataSync() as Float32Array, at);
      at += v.size;
    }
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
    return { grads: out, scalars: Array.from(mean.subarray(at, at + scalars.length)) };
  }

  #gMain(report: StepReport): void {
    const n = this.localBatch;
    let fake: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const logits = discriminate(this.D, this.config, this.#augmented(this.#synthesis(this.#runMapping(n)))); // [n,1]
      fake = tf.keep(tf.mean(logits));
      return generatorLoss(logits);
    }, this.G.trainable());
    const reduced = this.#reduce(this.G.trainable(), grads, [value.dataSync()[0]!, fake!.dataSync()[0]!]);
    this.optG.apply(reduced.grads);
    this.#updateWAvg();
    [report.lossG, report.scoreFake] = reduced.scalars as [number, number];
    tf.dispose([value, fake!, ...Object.values(reduced.grads)]);
  }

  #gReg(report: StepReport): void {
    const c = this.config;
    const n = Math.max(1, Math.floor(this.localBatch / c.plBatchShrink));
    let penaltyMean: tf.Tensor | null = null;
    let lengthMean: tf.Tensor | null = null;
    const { grads, value } = tf.variableGrads(() => {
      const ws = this.#runMapping(n);
      // pl_noise has the image's shape; scaled so the penalty does not depend on resolution.
      const noise: tf.Tensor4D = tf.div(
        tf.randomNormal([n, c.resolution, c.resolution, c.imgChannels], 0, 1, 'float32', this.rng.uint32()),
        c.resolution,
      );
      const lengths = pathLengths((w) => this.#synthesis(w), ws, noise); // [n]
      const batchMean = tf.mean(lengths);
      // lerp, not detached
      const plMean = tf.add(this.counters.plMean, tf.mul(tf.sub(batchMean, this.counters.plMean), c.plDecay));
      lengthMean = tf.keep(batchMean);
      const penalty = tf.square(tf.sub(lengths, plMean)); // [n]
      penaltyMean = tf.keep(tf.mean(penalty));
      return tf.mul(tf.mean(tf.mul(penalty, c.plWeight)), c.plInterval); // gain = interval (lazy regularisation)
    }, this.G.trainable());
    const reduced = this.#reduce(this.G.trainable(), grads, [lengthMean!.dataSync()[0]!, penaltyMean!.dataSync()[0]!]);
    this.optG.apply(reduced.grads);
    this.#updateWAvg();
    const [batchLength, penalty] = reduced.scalars as [number, number];
    this.counters.plMean += (batchLength - this.counters.plMean) * c.plDecay;
    report.plPenalty = penalty;
    tf.dispose([value, lengthMean!, penaltyMean!, ...Object.values(reduced.grads)]);
  }

  #dMain(reals: tf.Tensor4D, report: StepReport): void {
    const n = this.localBatch;
    const fakes = tf.tidy(() => this.#synthesis(this.#runMapping(n))); // no gradient to G
    let fakeMean: tf.Tensor | null = null;
    let realLogits: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const fakeLogits = discriminate(this.D, this.config, this.#augmented(fakes));
      const real = discriminate(this.D, this.config, this.#augmented(reals));
      fakeMean = tf.keep(tf.mean(fakeLogits));
      realLogits = tf.keep(real);
      return discriminatorLoss(fakeLogits, real); // the reference accumulates both halves, then steps once
    }, this.D.trainable());
    const reduced = this.#reduce(this.D.trainable(), grads, [
      value.dataSync()[0]!,
      fakeMean!.dataSync()[0]!,
      ...signStats(realLogits!),
    ]);
    this.optD.apply(reduced.grads);
    this.#updateWAvg(); // after the reduce: every replica moves w_avg by the whole batch's mean w
    const [lossD, fakeScore, signSum, signCount, realScore] = reduced.scalars as [
      number,
      number,
      number,
      number,
      number,
    ];
    report.lossD = lossD;
    if (Number.isNaN(report.scoreFake)) report.scoreFake = fakeScore;
    this.#collectSigns(signSum, signCount, realScore, report);
    tf.dispose([fakes, value, fakeMean!, realLogits!, ...Object.values(reduced.grads)]);
  }

  #dReg(reals: tf.Tensor4D, report: StepReport): void {
    const c = this.config;
    let realLogits: tf.Tensor | null = null;
    let penaltyMean: tf.Tensor | null = null;
    const { value, grads } = tf.variableGrads(() => {
      const penalty = r1Penalty(
        (x) => discriminate(this.D, c, this.#augmented(x)),
        reals,
        (logits) => (realLogits = tf.keep(logits)),
      ); // [n]
      penaltyMean = tf.keep(tf.mean(penalty));
      return tf.mul(tf.mean(tf.mul(penalty, c.r1Gamma / 2)), c.r1Interval); // gain = interval
    }, this.D.trainable());
    const reduced = this.#reduce(this.D.trainable(), grads, [penaltyMean!.dataSync()[0]!, ...signStats(realLogits!)]);
    this.optD.apply(reduced.grads);
    const [r1, signSum, signCount, realScore] = reduced.scalars as [number, number, number, number];
    report.r1Penalty = r1;
    this.#collectSigns(signSum, signCount, realScore, report);
    tf.dispose([value, realLogits!, penaltyMean!, ...Object.values(reduced.grads)]);
  }

  /** Adds (replica-averaged) sign statistics of D(real) to the ADA accumulators. */
  #collectSigns(signSum: number, signCount: number, realScore: number, report: StepReport): void {
    const count = this.replica?.count ?? 1;
    this.counters.adaSignSum += signSum * count;
    this.counters.adaSignCount += signCount * count;
    if (Number.isNaN(report.scoreReal)) report.scoreReal = realScore;
  }

  /** G_ema ← lerp(G, G_ema, β), β = 0.5^(batch / half-life), half-life ramped up early on. */
  #updateEma(): void {
    const c = this.config;
    const halfLife = Math.min(c.emaKimg * 1000, this.counters.imagesSeen * c.emaRampup);
    const beta = 0.5 ** (c.batchSize / Math.max(halfLife, 1e-8));
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

  /** Every ada.interval steps: p += sign(E[sign D(real)] − target) · batch·interval / (kimg·1000). */
  #adjustAugment(): void {
    const a = this.config.ada;
    if (this.counters.step % a.interval !== 0 || this.counters.adaSignCount === 0) return;
    const rt = this.counters.adaSignSum / this.counters.adaSignCount;
    const adjust = (Math.sign(rt - a.target) * (this.config.batchSize * a.interval)) / (a.kimg * 1000);
    this.counters.augmentP = Math.min(1, Math.max(0, this.counters.augmentP + adjust));
    this.counters.adaSignSum = 0;
    this.counters.adaSignCount = 0;
  }

  dispose(): void {
    this.#wMean?.dispose();
    this.G.dispose();
    this.G_ema.dispose();
    this.D.dispose();
    this.optG.dispose();
    this.optD.dispose();
  }
}
