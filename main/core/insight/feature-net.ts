/**
 * The image feature network behind KID, the closest plates and projection: Keras InceptionV3
 * as the npm package `nsfwjs` ships it (MIT; weights inside the package, so nothing is fetched at
 * run time), cut at `mixed5` ([17,17,768]) and average-pooled to 768 numbers. Only the layers up
 * to mixed5 are built and only their weights decoded: those are the stock ImageNet weights (the
 * package marks them non-trainable); mixed6 onwards were fine-tuned for the package's own
 * classifier. Its classifier API is not used (it would build the whole network and its head).
 *
 * Input: a uint8 RGB square of any side, resized to 299² by the one Lanczos-3 resize
 * (resize.ts) and scaled to [-1, 1], Keras' `preprocess_input` for InceptionV3 (see
 * docs/DECISIONS.md for why not the package's [0, 1]). Runs on whichever backend
 * gan/backend.ts chose; every read is asynchronous (a GPU backend can only read that way).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resizeSquare } from './resize.js';

const require = createRequire(import.meta.url);

export const FEATURE_DIM = 768;
export const FEATURE_INPUT = 299;
/** Where the network is cut. */
export const FEATURE_LAYER = 'mixed5';
/** Names everything that decides a feature vector: a cache made under another id is stale. */
export const FEATURE_NET_ID = 'nsfwjs-4.4.0/inception_v3/mixed5/avg/lanczos3-299/pm1';
/** Images through the network at once: [8,149,149,64]-sized activations stay near 100 MB. */
export const FEATURE_BATCH = 8;

interface LayerJson {
  name: string;
  class_name: string;
  inbound_nodes: [string, number, number, unknown][][];
}
interface ModelJson {
  modelTopology: { model_config: { config: { layers: LayerJson[]; input_layers: unknown; output_layers: unknown } } };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

/** The package's folder: its `exports` map hides the model files, so walk up from its entry point. */
function packageDir(): string {
  let dir = dirname(require.resolve('nsfwjs'));
  while (!existsSync(join(dir, 'dist', 'models', 'inception_v3', 'model.min.js'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('the InceptionV3 model files are missing from the nsfwjs package');
    dir = up;
  }
  return join(dir, 'dist', 'models', 'inception_v3');
}

/** The package wraps each file as a CommonJS module: the model JSON, and each shard as base64. */
function loadModule<T>(file: string): T {
  const m = require(file) as { default?: T } & T;
  return (m.default ?? m) as T;
}

const bytesPerValue = (e: tf.io.WeightsManifestEntry): number => {
  const q = e.quantization?.dtype;
  return q === 'uint8' ? 1 : q === 'uint16' || q === 'float16' ? 2 : 4;
};

/**
 * The topology and weights of the layers `mixed5` depends on, and nothing else: the layer list
 * is walked back from mixed5 through its inbound nodes, and the weight bytes of every other
 * layer are left out of what tfjs decodes.
 */
export function mixed5Artifacts(): tf.io.ModelArtifacts {
  const dir = packageDir();
  const json = loadModule<ModelJson>(join(dir, 'model.min.js'));
  const config = json.modelTopology.model_config.config;
  const byName = new Map(config.layers.map((l) => [l.name, l]));
  const needed = new Set<string>();
  const stack = [FEATURE_LAYER];
  while (stack.length > 0) {
    const name = stack.pop()!;
    if (needed.has(name)) continue;
    const layer = byName.get(name);
    if (!layer) throw new Error(`InceptionV3 in nsfwjs has no layer ${name}`);
    needed.add(name);
    for (const node of layer.inbound_nodes) for (const [from] of node) stack.push(from);
  }
  const topology = structuredClone(json.modelTopology);
  topology.model_config.config.layers = config.layers.filter((l) => needed.has(l.name));
  topology.model_config.config.output_layers = [[FEATURE_LAYER, 0, 0]];
  delete (topology as { training_config?: unknown }).training_config;

  const specs: tf.io.WeightsManifestEntry[] = [];
  const parts: Buffer[] = [];
  for (const group of json.weightsManifest) {
    const data = Buffer.concat(
      group.paths.map((p) => Buffer.from(loadModule<string>(join(dir, `${p}.min.js`)), 'base64')),
    );
    let offset = 0;
    for (const w of group.weights) {
      const bytes = w.shape.reduce((a, b) => a * b, 1) * bytesPerValue(w);
      if (needed.has(w.name.split('/')[0]!)) {
        specs.push(w);
        parts.push(data.subarray(offset, offset + bytes));
      }
      offset += bytes;
    }
    if (offset !== data.length)
      throw new Error(`InceptionV3 weights: the manifest describes ${offset} bytes, the shards hold ${data.length}`);
  }
  const weights = Buffer.concat(parts);
  return {
    modelTopology: topology,
    weightSpecs: specs,
    weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
  };
}

interface LayerConfig {
  strides?: [number, number];
  pool_size?: [number, number];
  padding?: 'valid' | 'same';
  activation?: string;
  use_bias?: boolean;
  epsilon?: number;
  axis?: number;
}

/** One layer of the cut network as plain tfjs ops (kept tensors hold its weights). */
type Step =
  | { name: string; kind: 'input' }
  | {
      name: string;
      kind: 'conv';
      from: string;
      kernel: tf.Tensor4D;
      strides: [number, number];
      padding: 'valid' | 'same';
    }
  | { name: string; kind: 'affine'; from: string; scale: tf.Tensor1D; shift: tf.Tensor1D }
  | { name: string; kind: 'relu'; from: string }
  | {
      name: string;
      kind: 'maxPool' | 'avgPool';
      from: string;
      size: [number, number];
      strides: [number, number];
      padding: 'valid' | 'same';
    }
  | { name: string; kind: 'concat'; from: string[] };

/**
 * The network, loaded once per process and backend. tfjs decodes the package's weights (a
 * LayersModel); the forward pass is then run as plain ops over them, with each batch
 * normalisation as the affine map it is at inference (x·γ' + β'). That is differentiable all the
 * way (tfjs 4.22 cannot take gradients through its BatchNormalization layer without a learned
 * scale, which these layers have none of) and a little faster.
 */
export class FeatureNetwork {
  private constructor(readonly steps: Step[]) {}

  static async load(): Promise<FeatureNetwork> {
    const artifacts = mixed5Artifacts();
    const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
    try {
      const out = model.outputs[0]!.shape;
      if (out.join() !== [null, 17, 17, FEATURE_DIM].join())
        throw new Error(`InceptionV3 cut at ${FEATURE_LAYER} gives [${out}], expected [null,17,17,${FEATURE_DIM}]`);
      const layers = (artifacts.modelTopology as ModelJson['modelTopology']).model_config.config.layers;
      return new FeatureNetwork(layers.map((l) => step(l, model)));
    } finally {
      model.dispose();
    }
  }

  /** [N,S,S,3] in [-1, 1], already at the side wanted (≥ 75) → mixed5's maps [N,h,w,768]; differentiable. */
  maps(x: tf.Tensor4D): tf.Tensor4D {
    const values = new Map<string, tf.Tensor4D>();
    for (const s of this.steps) {
      const at = (name: string) => values.get(name)!;
      let y: tf.Tensor4D;
      switch (s.kind) {
        case 'input':
          y = x;
          break;
        case 'conv':
          y = tf.conv2d(at(s.from), s.kernel, s.strides, s.padding);
          break;
        case 'affine':
          y = tf.add(tf.mul(at(s.from), s.scale), s.shift);
          break;
        case 'relu':
          y = tf.relu(at(s.from));
          break;
        case 'maxPool':
          y = tf.maxPool(at(s.from), s.size, s.strides, s.padding);
          break;
        case 'avgPool':
          y = tf.avgPool(at(s.from), s.size, s.strides, s.padding);
          break;
        case 'concat':
          y = tf.concat(s.from.map(at), 3);
          break;
      }
      values.set(s.name, y);
    }
    return values.get(FEATURE_LAYER)!;
  }

  /**
   * [N,S,S,3] in [-1, 1] → [N,768], differentiable: the Lanczos resize to 299², the network up
   * to mixed5, the spatial mean.
   */
  embed(images: tf.Tensor4D): tf.Tensor2D {
    const maps = this.maps(resizeSquare(images, FEATURE_INPUT)); // [N,17,17,768]
    return tf.mean(maps, [1, 2]) as tf.Tensor2D; // [N,768]
  }

  /** Features of uint8 RGB squares of side `side` (row-major RGB): [n × 768], in batches. */
  async features(images: Uint8Array[], side: number, signal?: AbortSignal): Promise<Float32Array> {
    const out = new Float32Array(images.length * FEATURE_DIM);
    const px = side * side * 3;
    for (let first = 0; first < images.length; first += FEATURE_BATCH) {
      signal?.throwIfAborted();
      const batch = images.slice(first, first + FEATURE_BATCH);
      const flat = new Uint8Array(batch.length * px);
      batch.forEach((img, k) => {
        if (img.length !== px) throw new RangeError(`image ${first + k} has ${img.length} bytes, not ${side}²×3`);
        flat.set(img, k * px);
      });
      const f = tf.tidy(() => {
        const x = tf.sub(tf.div(tf.tensor4d(flat, [batch.length, side, side, 3], 'float32'), 127.5), 1);
        return this.embed(x as tf.Tensor4D);
      });
      try {
        out.set((await f.data()) as Float32Array, first * FEATURE_DIM);
      } finally {
        f.dispose();
      }
      // Let a cancel and other events through between batches.
      await new Promise((r) => setImmediate(r));
    }
    return out;
  }

  dispose(): void {
    for (const s of this.steps) {
      if (s.kind === 'conv') s.kernel.dispose();
      if (s.kind === 'affine') {
        s.scale.dispose();
        s.shift.dispose();
      }
    }
  }
}

/** The op of one Keras layer, with its weights copied out of the LayersModel. */
function step(l: LayerJson & { config?: LayerConfig }, model: tf.LayersModel): Step {
  const cfg = (l as { config: LayerConfig }).config;
  const from = l.inbound_nodes[0]?.map(([name]) => name) ?? [];
  const weights = l.class_name === 'InputLayer' ? [] : model.getLayer(l.name).getWeights();
  switch (l.class_name) {
    case 'InputLayer':
      return { name: l.name, kind: 'input' };
    case 'Conv2D':
      if (cfg.use_bias || cfg.activation !== 'linear') throw new Error(`${l.name}: unexpected bias or activation`);
      return {
        name: l.name,
        kind: 'conv',
        from: from[0]!,
        kernel: tf.keep(weights[0]!.clone()) as tf.Tensor4D,
        strides: cfg.strides!,
        padding: cfg.padding!,
      };
    case 'BatchNormalization': {
      // No γ (scale: false): the weights are β, the moving mean and the moving variance.
      const byName = new Map(
        weights.map((w, i) => [model.getLayer(l.name).weights[i]!.originalName.split('/').pop()!, w]),
      );
      const beta = byName.get('beta')!;
      const mean = byName.get('moving_mean')!;
      const variance = byName.get('moving_variance')!;
      const gamma = byName.get('gamma');
      return tf.tidy(() => {
        const scale = tf.mul(tf.rsqrt(tf.add(variance, cfg.epsilon ?? 1e-3)), gamma ?? 1) as tf.Tensor1D;
        const shift = tf.sub(beta, tf.mul(mean, scale)) as tf.Tensor1D;
        return { name: l.name, kind: 'affine' as const, from: from[0]!, scale: tf.keep(scale), shift: tf.keep(shift) };
      });
    }
    case 'Activation':
      if (cfg.activation !== 'relu') throw new Error(`${l.name}: unexpected activation ${cfg.activation}`);
      return { name: l.name, kind: 'relu', from: from[0]! };
    case 'MaxPooling2D':
    case 'AveragePooling2D':
      return {
        name: l.name,
        kind: l.class_name === 'MaxPooling2D' ? 'maxPool' : 'avgPool',
        from: from[0]!,
        size: cfg.pool_size!,
        strides: cfg.strides!,
        padding: cfg.padding!,
      };
    case 'Concatenate':
      return { name: l.name, kind: 'concat', from };
    default:
      throw new Error(`InceptionV3 layer ${l.name}: ${l.class_name} is not supported`);
  }
}

let shared: Promise<FeatureNetwork> | null = null;
let sharedBackend = '';

/** The process's network (built on first use; again after a backend change). */
export function featureNetwork(): Promise<FeatureNetwork> {
  if (!shared || sharedBackend !== tf.getBackend()) {
    sharedBackend = tf.getBackend();
    shared = FeatureNetwork.load();
    shared.catch(() => (shared = null));
  }
  return shared;
}
