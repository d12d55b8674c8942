/**
 * Every hyper-parameter of the networks and of training, in one typed config.
 * Defaults follow stylegan2-ada-pytorch (config F networks, the 'auto' training heuristics);
 * presets size them for an 8 GB GPU, and `tiny` for tests on a CPU.
 */
import { PRESETS, type BackendChoice, type Preset } from '../../common/vocabulary.js';

export interface GanConfig {
  preset: PresetName;
  // ── networks (the reference's constructor arguments) ──
  resolution: number; // img_resolution: output / input image side, a power of two ≥ 4
  imgChannels: number; // img_channels: 3 for RGB
  zDim: number; // z_dim: input latent size
  wDim: number; // w_dim: intermediate latent size
  mappingLayers: number; // mapping_kwargs.num_layers: fully-connected layers z → w
  mappingLrMultiplier: number; // learning-rate multiplier of the mapping layers (equalised lr)
  wAvgBeta: number; // decay of the running average of w (truncation centre)
  channelBase: number; // channels at resolution r = min(channelBase / r, channelMax)
  channelMax: number; // upper bound on channels in any layer
  mbstdGroupSize: number; // minibatch-stddev group size (clamped to the batch)
  mbstdChannels: number; // minibatch-stddev feature channels
  // ── training ──
  batchSize: number; // images per step (for G and for D)
  /** Images per round (the reference's --batch-gpu): the batch's gradients add up over rounds of this many. */
  batchGpu?: number;
  lr: number; // Adam learning rate for G and D
  betas: [number, number]; // Adam β1, β2
  eps: number; // Adam ε
  r1Gamma: number; // R1 weight γ (0.0002·res²/batch, the 'auto' heuristic)
  r1Interval: number; // lazy R1: every this many D steps
  plWeight: number; // path-length regularisation weight
  plInterval: number; // lazy path length: every this many G steps
  plDecay: number; // decay of the running mean path length
  plBatchShrink: number; // path length runs on batch / this
  styleMixingProb: number; // probability of mixing two w's in a batch
  emaKimg: number; // G_ema half-life in thousands of images
  emaRampup: number; // EMA half-life ≤ images seen × this (early in training)
  ada: AdaConfig;
  /** Freeze-D: D's first this many layers keep their weights (the reference's --freezed; absent: 0). */
  freezeD?: number;
  /** The backend the run asked for (`--backend`, the form); absent: the best one present. */
  backend?: BackendChoice;
  /** Worker-thread replicas on a single-threaded CPU backend (parallel/replicas.ts); absent: one. */
  replicas?: number;
}

export interface AdaConfig {
  target: number; // wanted E[sign(D(real))]; p rises while D is more sure than this
  interval: number; // adjust p every this many steps
  kimg: number; // p can move 0 → 1 in this many thousand images
  initialP: number; // p at the start of a run
}

/** The presets are the vocabulary's; the GAN's own names for them. */
export const PRESET_NAMES = PRESETS;
export type PresetName = Preset;

const COMMON = {
  imgChannels: 3,
  zDim: 512,
  wDim: 512,
  mappingLrMultiplier: 0.01,
  wAvgBeta: 0.995,
  channelMax: 512,
  mbstdGroupSize: 4,
  mbstdChannels: 1,
  lr: 0.002,
  betas: [0, 0.99] as [number, number],
  eps: 1e-8,
  r1Interval: 16,
  plWeight: 2,
  plInterval: 4,
  plDecay: 0.01,
  plBatchShrink: 2,
  styleMixingProb: 0.9,
  emaKimg: 10,
  emaRampup: 0.05,
  ada: { target: 0.6, interval: 4, kimg: 500, initialP: 0 },
};

/** R1 γ from the reference's 'auto' config. */
export const autoGamma = (resolution: number, batch: number): number => (0.0002 * resolution * resolution) / batch;

function sized(
  preset: PresetName,
  resolution: number,
  channelBase: number,
  batchSize: number,
  mappingLayers: number,
): GanConfig {
  return {
    ...COMMON,
    ada: { ...COMMON.ada },
    betas: [...COMMON.betas],
    preset,
    resolution,
    channelBase,
    batchSize,
    mappingLayers,
    r1Gamma: autoGamma(resolution, batchSize),
  };
}

/** Presets: the GPU ones fit training in 8 GB of GPU memory in float32. */
export function presetConfig(name: PresetName, overrides: Partial<GanConfig> = {}): GanConfig {
  let base: GanConfig;
  switch (name) {
    case 'tiny': // tests and CPU demos: 32², 16–64 channels, seconds per step
      base = { ...sized('tiny', 32, 512, 8, 2), zDim: 64, wDim: 64, channelMax: 64, emaKimg: 0.5 };
      break;
    case '64':
      base = sized('64', 64, 16384, 32, 2);
      break;
    case '128':
      base = sized('128', 128, 16384, 32, 2);
      break;
    case '256':
      base = sized('256', 256, 16384, 16, 2);
      break;
    case '512':
      base = sized('512', 512, 16384, 8, 8);
      break;
    case '1024':
      base = sized('1024', 1024, 16384, 4, 8);
      break;
  }
  const config = { ...base, ...overrides };
  if (overrides.resolution !== undefined && overrides.r1Gamma === undefined)
    config.r1Gamma = autoGamma(config.resolution, config.batchSize);
  validateConfig(config);
  return config;
}

export function validateConfig(c: GanConfig): void {
  if (!(c.resolution >= 4 && (c.resolution & (c.resolution - 1)) === 0))
    throw new RangeError(`resolution must be a power of two ≥ 4, got ${c.resolution}`);
  if (c.batchSize < 1 || !Number.isInteger(c.batchSize)) throw new RangeError(`batchSize must be a positive integer`);
  if (c.batchGpu !== undefined && (!Number.isInteger(c.batchGpu) || c.batchGpu < 1 || c.batchSize % c.batchGpu !== 0))
    throw new RangeError(`batchGpu must be a positive integer that divides the batch (${c.batchSize})`);
  if (c.mappingLayers < 1) throw new RangeError('mappingLayers must be ≥ 1');
  if (c.freezeD !== undefined && !(Number.isInteger(c.freezeD) && c.freezeD >= 0))
    throw new RangeError(`freezeD must be a whole number ≥ 0, got ${c.freezeD}`);
}

/** The fields that decide a network's tensors: a generator file fixes them, a fine-tune keeps them. */
export const ARCH_KEYS = [
  'resolution',
  'imgChannels',
  'zDim',
  'wDim',
  'mappingLayers',
  'channelBase',
  'channelMax',
] as const;
export type Architecture = Pick<GanConfig, (typeof ARCH_KEYS)[number]>;

/**
 * Bounds on an architecture read from a file, checked before anything is sized from it: wide
 * enough for every preset and the reference's published networks (1024², 8 mapping layers, 512
 * channels), narrow enough that no file can ask for more memory than such a network holds.
 */
export const ARCH_LIMITS = {
  resolution: 1024,
  imgChannels: 4,
  zDim: 2048,
  wDim: 2048,
  mappingLayers: 16,
  channelMax: 2048,
  /** Values in a generator's tensors (the reference's 1024² generator has 30 M). */
  generatorValues: 100e6,
} as const;

/** Why `a` is not an architecture Plumage will build (one phrase), or null. */
export function whyBadArchitecture(a: Record<string, unknown>): string | null {
  for (const k of ARCH_KEYS) {
    const v = a[k];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) return `its ${k} is ${JSON.stringify(v)}`;
  }
  const c = a as unknown as Architecture;
  if (c.resolution < 4 || (c.resolution & (c.resolution - 1)) !== 0 || c.resolution > ARCH_LIMITS.resolution)
    return `its resolution is ${c.resolution}; a generator is a power of two from 4 to ${ARCH_LIMITS.resolution}`;
  for (const k of ['imgChannels', 'zDim', 'wDim', 'mappingLayers', 'channelMax'] as const)
    if (c[k] > ARCH_LIMITS[k]) return `its ${k} is ${c[k]}, over the ${ARCH_LIMITS[k]} Plumage builds`;
  if (channelsAt(c, c.resolution) < 1) return `its channelBase ${c.channelBase} leaves no channels at ${c.resolution}²`;
  return null;
}

/** Channels of the feature maps at resolution `res`. */
export const channelsAt = (c: Pick<GanConfig, 'channelBase' | 'channelMax'>, res: number): number =>
  Math.min(Math.floor(c.channelBase / res), c.channelMax);

/** Block resolutions of the synthesis network, 4 … resolution. */
export function blockResolutions(resolution: number): number[] {
  const out: number[] = [];
  for (let r = 4; r <= resolution; r *= 2) out.push(r);
  return out;
}

/** w vectors the synthesis network consumes: two per block (one in the 4×4 block) plus the last toRGB. */
export const numWs = (resolution: number): number => blockResolutions(resolution).length * 2;

/** The reference's constructor arguments, stored in checkpoints so anyone can rebuild its networks. */
export function referenceArgs(c: GanConfig): Record<string, number> {
  return {
    z_dim: c.zDim,
    w_dim: c.wDim,
    img_resolution: c.resolution,
    img_channels: c.imgChannels,
    mapping_layers: c.mappingLayers,
    channel_base: c.channelBase,
    channel_max: c.channelMax,
  };
}
