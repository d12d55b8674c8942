/**
 * The one way a user's generator file is opened (the gallery, a favourite, `generate
 * --checkpoint`, prints, the file a run fine-tunes from): checked for what it is (util/user-file),
 * its format sniffed from its first bytes and handed to that format's reader, its architecture
 * bounded and every tensor's shape checked against it, all before a single tensor is allocated.
 * Tensors are then read from the file one by one, by range.
 */
import { ARCH_KEYS, PRESET_NAMES, blockResolutions, presetConfig, whyBadArchitecture } from '../gan/config.js';
import { ARCH_LIMITS, type GanConfig } from '../gan/config.js';
import { generatorSpecs } from '../gan/generator.js';
import { ParamSet, type ParamSpec } from '../gan/params.js';
import { CorruptCheckpointError, MAX_HEADER_BYTES, openSafetensors, type SafetensorsFile } from './safetensors.js';
import { openUserFile, type UserFile } from '../util/user-file.js';
import { looksLikePickle, readNetworkPickle } from './pickle/index.js';

const WHAT = 'generator file';

/**
 * A generator file's tensors, whatever its format: names and shapes at once, values on demand,
 * as safetensors.ts reads them (path, metadata, read by name, verify, close), and what only some
 * formats say.
 */
export interface TensorSource extends SafetensorsFile {
  /**
   * The architecture, where the format states it whole (a network pickle's constructor arguments);
   * otherwise it comes from `plumage.config` or the tensor shapes. Checked like either.
   */
  config?: GanConfig;
  /** ADA's p the file was trained to, and its kimg, where the format says (a pickle's augment_pipe and name). */
  augmentP?: number | null;
  kimg?: number | null;
}

/** One format Plumage reads generators from. */
export interface GeneratorReader {
  format: string;
  /** True when a file's first bytes (up to 16) are this format's. */
  sniff(head: Buffer): boolean;
  /** Reads and checks the file's index (a header); reads no tensor. Errors name the file. */
  open(file: UserFile): Promise<TensorSource>;
}

const safetensorsReader: GeneratorReader = {
  format: 'safetensors',
  // An 8-byte little-endian header length, then the header's JSON object.
  sniff: (head) => head.length >= 9 && head[8] === 0x7b && head.readBigUInt64LE(0) <= BigInt(MAX_HEADER_BYTES),
  open: (file) => openSafetensors(file, WHAT),
};

/**
 * NVIDIA's network pickles, read by the restricted reader (netfile/pickle: no code in the file
 * runs). Parsing reads the opcodes and tensor headers; tensors are read by range when asked for.
 */
const pickleReader: GeneratorReader = {
  format: 'network pickle',
  sniff: (head) => looksLikePickle(head),
  async open(file) {
    await file.close(); // the reader opens the file itself, by range, once it is known to be a regular file
    const p = await readNetworkPickle(file.path);
    return {
      path: file.path,
      metadata: {},
      names: p.names,
      shape: (n) => p.shape(n),
      read: (n) => Promise.resolve(p.read(n)),
      verify: () => Promise.resolve(), // a pickle carries no checksum; every shape was checked as it was read
      close: () => Promise.resolve(),
      config: p.config,
      augmentP: p.augmentP,
      kimg: p.kimg,
    };
  },
};

/** Readers by format, tried in order on a file's first bytes. */
export const GENERATOR_READERS: GeneratorReader[] = [safetensorsReader, pickleReader];

/** What a file no reader took is, said so the user knows what to do. */
function unknownFormat(head: Buffer, size: number): string {
  if (size === 0) return 'it is empty';
  if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')))
    return 'it is a zip archive (like a PyTorch .pt file), not a network: export the generator as safetensors or a network pickle';
  return 'it is neither a safetensors file nor a network pickle (choose a generator Plumage wrote, a reference export, or one of NVIDIA\u2019s .pkl networks)';
}

/** Opens a generator file: the file checked, its format sniffed, its index read by that format's reader. */
export async function openGeneratorFile(path: string): Promise<TensorSource> {
  const f = await openUserFile(path, WHAT);
  try {
    const head = await f.read(0, Math.min(16, f.size));
    const reader = GENERATOR_READERS.find((r) => r.sniff(head));
    if (!reader) throw new CorruptCheckpointError(f.path, unknownFormat(head, f.size), WHAT);
    return await reader.open(f);
  } catch (err) {
    await f.close();
    throw err;
  }
}

/** Where a file's generator is and what it is: every tensor present with the shape the config gives it. */
export interface GeneratorLayout {
  config: GanConfig;
  /** `G_ema.`, `G.` or '' (bare names, as the reference's exports of G alone). */
  prefix: string;
  specs: ParamSpec[];
}

/**
 * The architecture of the generator in `src`, from its Plumage config or else read off the tensor
 * shapes, bounded (config.ts ARCH_LIMITS) and checked against every tensor's shape. Reads no values.
 */
export function generatorLayout(src: TensorSource): GeneratorLayout {
  const bad = (why: string): CorruptCheckpointError => new CorruptCheckpointError(src.path, why, WHAT);
  const prefix = ['G_ema.', 'G.', ''].find((p) => src.names.includes(`${p}mapping.fc0.weight`));
  if (prefix === undefined) throw bad('it holds no generator (no mapping.fc0.weight under G_ema., G. or bare names)');
  const arch: Record<string, unknown> =
    (src.config as Record<string, unknown> | undefined) ??
    (src.metadata['plumage.config'] ? storedArchitecture(src, bad) : inferArchitecture(src, prefix, bad));
  const why = whyBadArchitecture(arch);
  if (why) throw bad(why);
  const resolution = arch.resolution as number;
  const preset = PRESET_NAMES.includes(String(resolution) as never)
    ? (String(resolution) as GanConfig['preset'])
    : 'tiny';
  const config =
    src.config ?? presetConfig(preset, Object.fromEntries(ARCH_KEYS.map((k) => [k, arch[k]])) as Partial<GanConfig>);
  const specs = generatorSpecs(config);
  const values = specs.reduce((a, s) => a + s.refShape.reduce((x, y) => x * y, 1), 0);
  if (values > ARCH_LIMITS.generatorValues)
    throw bad(
      `its generator would hold ${(values / 1e6).toFixed(0)} M values, over the ${ARCH_LIMITS.generatorValues / 1e6} M Plumage builds`,
    );
  const known = new Set(src.names);
  for (const spec of specs) {
    const name = `${prefix}${spec.name}`;
    if (!known.has(name)) throw bad(`it has no tensor ${name}, which a ${resolution}² generator of its settings needs`);
    const shape = src.shape(name);
    if (shape.join() !== spec.refShape.join())
      throw bad(
        `${name} has shape [${shape.join(', ')}]; its ${resolution}² generator needs [${spec.refShape.join(', ')}]`,
      );
  }
  return { config, prefix, specs };
}

/** The architecture a Plumage file's `plumage.config` states (bounded by the caller, checked against the tensors). */
function storedArchitecture(src: TensorSource, bad: (why: string) => Error): Record<string, unknown> {
  let stored: unknown;
  try {
    stored = (JSON.parse(src.metadata['plumage.config']!) as { plumage?: unknown }).plumage;
  } catch {
    throw bad('its plumage.config is not valid JSON');
  }
  if (typeof stored !== 'object' || stored === null) throw bad('its plumage.config holds no network settings');
  return stored as Record<string, unknown>;
}

/** Reads the architecture off a reference generator's tensor shapes (bounded before anything is sized by it). */
function inferArchitecture(src: TensorSource, prefix: string, bad: (why: string) => Error): Record<string, unknown> {
  const shapeOf = (name: string, rank: number): number[] => {
    if (!src.names.includes(name)) throw bad(`it has no tensor ${name}`);
    const s = src.shape(name);
    if (s.length !== rank) throw bad(`${name} has shape [${s.join(', ')}]; a generator's has ${rank} dimensions`);
    return s;
  };
  const fc0 = shapeOf(`${prefix}mapping.fc0.weight`, 2); // [w_dim, z_dim]
  let mappingLayers = 0;
  while (mappingLayers <= ARCH_LIMITS.mappingLayers && src.names.includes(`${prefix}mapping.fc${mappingLayers}.weight`))
    mappingLayers++;
  const block = new RegExp(`^${prefix.replace('.', '\\.')}synthesis\\.b(\\d+)\\.`);
  const resolutions = src.names.map((n) => block.exec(n)?.[1]).filter((r): r is string => r !== undefined);
  if (resolutions.length === 0) throw bad('it holds no synthesis blocks');
  const resolution = Math.max(...resolutions.map(Number));
  const why = whyBadArchitecture({
    resolution,
    imgChannels: 1,
    zDim: 1,
    wDim: 1,
    mappingLayers: 1,
    channelBase: resolution,
    channelMax: 1,
  });
  if (why) throw bad(why);
  const channels = blockResolutions(resolution).map((r) => shapeOf(`${prefix}synthesis.b${r}.conv1.weight`, 4)[0]!);
  const channelMax = Math.max(...channels);
  const belowMax = blockResolutions(resolution).filter((_, i) => channels[i]! < channelMax);
  const channelBase =
    belowMax.length > 0
      ? channels[blockResolutions(resolution).indexOf(belowMax[0]!)]! * belowMax[0]!
      : channelMax * resolution;
  return {
    resolution,
    zDim: fc0[1],
    wDim: fc0[0],
    mappingLayers,
    channelBase,
    channelMax,
    imgChannels: shapeOf(`${prefix}synthesis.b${resolution}.torgb.weight`, 4)[0],
  };
}

/** A generator file's layout, from its index alone (no tensor is read): what the gallery and createRun check. */
export async function describeGenerator(path: string): Promise<GeneratorLayout & { file: string }> {
  const src = await openGeneratorFile(path);
  try {
    return { ...generatorLayout(src), file: src.path };
  } finally {
    await src.close();
  }
}

/**
 * A generator for sampling or fine-tuning, from a Plumage checkpoint or a generator exported
 * from the reference (`G_ema.*`, else `G.*`, else bare names). Everything is checked before
 * the first tensor is allocated; the values are then read one tensor at a time.
 */
export async function loadGenerator(path: string): Promise<{ config: GanConfig; G: ParamSet }> {
  const src = await openGeneratorFile(path);
  try {
    const { config, prefix, specs } = generatorLayout(src);
    await src.verify();
    const G = await ParamSet.load('G_ema', specs, (spec) => src.read(`${prefix}${spec.name}`));
    return { config, G };
  } finally {
    await src.close();
  }
}
